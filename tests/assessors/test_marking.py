"""Marking: drafts of judgements and what is refused in them, the derived outcome, signing and
its refusals, and corrections (a new decision that supersedes the old one once confirmed)."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import func, select

from certify.accounts.models import EnrolmentStatus, Role
from certify.accounts.operations.authorisations import authorise, revoke_authorisation, today
from certify.assessors.errors import AssessmentError, InvalidMarking
from certify.assessors.models import (
    RULES_OF_EVIDENCE,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    Judgement,
    Outcome,
)
from certify.assessors.operations import appeals, marking, quality
from certify.core.models import AuditEntry
from certify.evidence.models import Submission, SubmissionStatus
from certify.evidence.operations import submissions
from certify.units.models import Criterion
from tests.assessors.conftest import ALL_RULES, Always, Never, all_marks, assessment_of
from tests.assessors.test_assign import (
    actions,
    chain_intact,
    entries,
    grant_of,
    kinds,
    notices,
)
from tests.people import PASSWORD
from tests.units.conftest import SFIA_CEXP

Mark = marking.Mark


def save(app, session, assessment, marks, *, rules=None, feedback="", actor=None):
    with app.app_context():
        return marking.save_marking(session, assessment, marks=marks,
                                    rules=ALL_RULES if rules is None else rules,
                                    feedback=feedback, expected_version=assessment.version,
                                    actor=actor or assessment.assessor)


def sign(app, session, assessment, *, password=PASSWORD, actor=None, rng=None):
    with app.app_context():
        return marking.sign(session, assessment, actor=actor or assessment.assessor,
                            password=password, rng=rng or Never())


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def assert_untouched(session, assessment, *, version: int, audited: int) -> None:
    session.rollback()
    session.expire_all()
    assert assessment.version == version
    assert assessment.status == AssessmentStatus.DRAFT
    assert assessment.signed_at is None and assessment.outcome is None
    assert audit_count(session) == audited


@pytest.fixture
def draft(team, submit, session):
    return assessment_of(session, submit(team))


# --- drafts ------------------------------------------------------------------------------------


def test_not_yet_satisfactory_needs_a_comment_per_field_and_nothing_is_saved(
        app, session, team, draft):
    c = team.criteria
    marks = all_marks(c)
    marks[c[0].id] = Mark(False, "")
    marks[c[2].id] = Mark(False, "   ")
    marks[c[3].id] = Mark(False, "Missing the workplace sign-off")
    audited = audit_count(session)
    with pytest.raises(InvalidMarking) as refused:
        save(app, session, draft, marks, feedback="Something")
    errors = refused.value.errors
    assert set(errors) == {f"comment-{c[0].id}", f"comment-{c[2].id}"}
    assert errors[f"comment-{c[0].id}"].startswith(f"Criterion {c[0].ref}: say what is missing")
    assert refused.value.field is None
    assert_untouched(session, draft, version=1, audited=audited)
    assert draft.judgements == [] and draft.feedback == ""


def test_unknown_criteria_rules_and_long_text_are_refused_together(app, session, team, draft,
                                                                   import_seed):
    c = team.criteria
    marks = all_marks(c)
    marks[999999] = Mark(True, "")
    marks[c[1].id] = Mark(True, "x" * (marking.COMMENT_LIMIT + 1))
    audited = audit_count(session)
    with pytest.raises(InvalidMarking) as refused:
        save(app, session, draft, marks, rules={**ALL_RULES, "relevant": True},
             feedback="y" * (marking.COMMENT_LIMIT + 1))
    errors = refused.value.errors
    assert set(errors) == {"criterion-999999", f"comment-{c[1].id}", "feedback", "rules"}
    assert errors["criterion-999999"] == "Criterion 999999 is not a criterion of this unit."
    assert "keep the comment under 10,000 characters" in errors[f"comment-{c[1].id}"]
    assert errors["rules"] == "Unknown rule of evidence: relevant."
    assert_untouched(session, draft, version=1, audited=audited)
    assert session.scalar(select(func.count()).select_from(Judgement)) == 0


def test_a_criterion_of_another_unit_is_not_this_units(app, session, team, draft,
                                                      import_seed):
    other = import_seed(SFIA_CEXP).outcomes[0].unit_id
    foreign = session.scalars(select(Criterion).where(Criterion.unit_id == other)).first()
    marks = {team.criteria[0].id: Mark(True, ""), foreign.id: Mark(True, "")}
    with pytest.raises(InvalidMarking) as refused:
        save(app, session, draft, marks)
    assert list(refused.value.errors) == [f"criterion-{foreign.id}"]
    session.rollback()
    assert draft.judgements == []


def test_the_comment_limit_itself_is_allowed_and_text_is_trimmed(app, session, team, draft):
    c = team.criteria
    marks = {c[0].id: Mark(False, "  " + "z" * marking.COMMENT_LIMIT),
             c[1].id: Mark(True, "  fine  ")}
    save(app, session, draft, marks, feedback="  Keep going.  ")
    session.commit()
    assert draft.judgement_for(c[0].id).comment == "z" * marking.COMMENT_LIMIT
    assert draft.judgement_for(c[1].id).comment == "fine"
    assert draft.feedback == "Keep going."


def test_a_draft_may_leave_criteria_unjudged_and_unjudge_them_again(app, session, team, draft):
    c = team.criteria
    save(app, session, draft, {c[0].id: Mark(True, ""), c[1].id: Mark(False, "Needs a date")},
         rules={"valid": True})
    session.commit()
    assert {j.criterion_id: j.satisfactory for j in draft.judgements} == {c[0].id: True,
                                                                          c[1].id: False}
    assert draft.rules == {"valid": True, "sufficient": False, "authentic": False,
                           "current": False}
    first = entries(session, "assessment.draft_saved")[-1]
    assert first.changes["judged"] == 2
    assert first.changes["criteria"] == len(c)
    assert first.changes["judgements"] == {
        str(c[0].id): ["not judged", "satisfactory"],
        str(c[1].id): ["not judged", "not yet satisfactory: Needs a date"]}
    # Back to "not judged" for c[1] (None), c[0] left out altogether: both removed.
    save(app, session, draft, {c[1].id: Mark(None, "ignored")}, rules={})
    session.commit()
    session.expire_all()
    assert draft.judgements == []
    assert draft.status == AssessmentStatus.DRAFT and draft.version == 3
    assert session.scalar(select(func.count()).select_from(Judgement)) == 0
    assert actions(session, "assessment.draft_saved") == ["assessment.draft_saved"] * 2
    assert chain_intact(session)


def test_only_the_assigned_assessor_saves_a_draft(app, session, team, draft):
    bob = team.assessors[1]
    with pytest.raises(AssessmentError, match="Only the assessor this submission is assigned"):
        save(app, session, draft, all_marks(team.criteria), actor=bob)
    with pytest.raises(AssessmentError, match="Only the assessor"):
        save(app, session, draft, all_marks(team.criteria), actor=team.admin)


def test_a_draft_of_an_assessor_no_longer_authorised_cannot_be_saved(app, session, team,
                                                                     draft):
    ann = team.assessors[0]
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
        session.commit()
    with pytest.raises(AssessmentError, match="Ann Assessor is not authorised to assess"):
        save(app, session, draft, all_marks(team.criteria))


# --- the derived outcome -----------------------------------------------------------------------


def _transient(criteria, verdicts, rules) -> Assessment:
    assessment = Assessment(**{f"rule_{r}": rules[r] for r in RULES_OF_EVIDENCE})
    assessment.judgements = [Judgement(criterion_id=c.id, satisfactory=v)
                             for c, v in zip(criteria, verdicts, strict=True) if v is not None]
    return assessment


RULE_CASES = list(product((True, False), repeat=4))


@pytest.mark.parametrize("rules", RULE_CASES, ids=["".join("1" if r else "0" for r in case)
                                                   for case in RULE_CASES])
@pytest.mark.parametrize("criteria_case", ["all satisfactory", "one not yet", "one unjudged",
                                           "all not yet"])
def test_the_outcome_truth_table(team, rules, criteria_case):
    criteria = team.criteria
    verdicts = {
        "all satisfactory": [True] * len(criteria),
        "one not yet": [True] * (len(criteria) - 1) + [False],
        "one unjudged": [None] + [True] * (len(criteria) - 1),
        "all not yet": [False] * len(criteria),
    }[criteria_case]
    assessment = _transient(criteria, verdicts, dict(zip(RULES_OF_EVIDENCE, rules, strict=True)))
    expected = (Outcome.COMPETENT if criteria_case == "all satisfactory" and all(rules)
                else Outcome.NOT_YET_COMPETENT)
    assert marking.derive_outcome(assessment, criteria) == expected


def test_a_unit_without_criteria_is_never_competent(team):
    assert marking.derive_outcome(_transient([], [], dict.fromkeys(RULES_OF_EVIDENCE, True)),
                                  []) == Outcome.NOT_YET_COMPETENT


# --- signing -----------------------------------------------------------------------------------


def test_signing_competent_confirms_when_not_sampled(app, session, team, draft):
    save(app, session, draft, all_marks(team.criteria), feedback="Well evidenced.")
    sign(app, session, draft)
    session.commit()
    assert draft.outcome == Outcome.COMPETENT
    assert draft.status == AssessmentStatus.CONFIRMED
    assert draft.signed_at is not None and draft.confirmed_at is not None
    assert draft.signature_method == "password"
    assert draft.sampled is False and draft.sample_reason is None
    assert draft.submission.status == SubmissionStatus.COMPLETED
    assert draft.submission.enrolment.status == EnrolmentStatus.COMPLETED
    signed = entries(session, "assessment.signed")[-1]
    assert signed.changes["outcome"] == "competent"
    assert signed.changes["satisfactory"] == len(team.criteria)
    assert signed.changes["not_yet_satisfactory"] == 0
    assert signed.changes["sampled"] is False
    assert signed.changes["signature"] == "password re-entered"
    assert actions(session, "assessment.")[-2:] == ["assessment.signed", "assessment.confirmed"]
    assert kinds(session, team.candidate) == ["decision_released"]
    assert chain_intact(session)


def test_signing_not_yet_competent_returns_the_attempt(app, session, team, draft):
    save(app, session, draft, all_marks(team.criteria), rules={**ALL_RULES, "current": False},
         feedback="Your evidence is from 2015; show recent work.")
    sign(app, session, draft)
    session.commit()
    assert draft.outcome == Outcome.NOT_YET_COMPETENT
    assert draft.status == AssessmentStatus.CONFIRMED
    assert draft.submission.status == SubmissionStatus.RETURNED
    assert draft.submission.enrolment.status == EnrolmentStatus.ACTIVE
    assert kinds(session, team.candidate) == ["resubmission_requested"]


def test_a_wrong_password_is_refused(app, session, team, draft):
    save(app, session, draft, all_marks(team.criteria))
    session.commit()
    audited = audit_count(session)
    for wrong in ("not my password", "", None):
        with pytest.raises(AssessmentError) as refused:
            sign(app, session, draft, password=wrong)
        assert str(refused.value) == "That is not your password; re-enter it to sign."
        assert refused.value.field == "password"
    assert_untouched(session, draft, version=2, audited=audited)


def test_every_criterion_must_be_judged_and_the_message_names_them(app, session, team, draft):
    c = team.criteria
    marks = all_marks(c)
    del marks[c[1].id]
    save(app, session, draft, marks)
    session.commit()
    with pytest.raises(AssessmentError) as refused:
        sign(app, session, draft)
    assert str(refused.value) == (f"Judge every criterion before signing: Criterion {c[1].ref} "
                                  "is not judged yet.")
    assert refused.value.field == "judgements"
    # Many missing: the first five are named, and how many more.
    save(app, session, draft, {c[0].id: Mark(True, "")})
    session.commit()
    with pytest.raises(AssessmentError) as refused:
        sign(app, session, draft)
    missing = [f"Criterion {x.ref}" for x in c[1:]]
    expected = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                         if len(missing) > 5 else "")
    assert str(refused.value) == (f"Judge every criterion before signing: {expected} are not "
                                  "judged yet.")
    assert_untouched(session, draft, version=3, audited=audit_count(session))


def test_not_yet_competent_needs_overall_feedback(app, session, team, draft):
    save(app, session, draft, all_marks(team.criteria, not_yet={0}), feedback="   ")
    session.commit()
    with pytest.raises(AssessmentError) as refused:
        sign(app, session, draft)
    assert refused.value.field == "feedback"
    assert "required when the decision is not yet competent" in str(refused.value)
    # A competent decision may go without.
    save(app, session, draft, all_marks(team.criteria), feedback="")
    sign(app, session, draft)
    assert draft.outcome == Outcome.COMPETENT


def test_only_the_assigned_assessor_signs(app, session, team, draft, make_user):
    save(app, session, draft, all_marks(team.criteria))
    session.commit()
    for other in (team.assessors[1], team.admin, team.verifier):
        with pytest.raises(AssessmentError, match="Only the assessor"):
            sign(app, session, draft, actor=other)
    assert_untouched(session, draft, version=2, audited=audit_count(session))


def test_an_assessor_no_longer_authorised_on_the_day_cannot_sign(app, session, team, draft):
    ann = team.assessors[0]
    save(app, session, draft, all_marks(team.criteria))
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
        # Authorised again, but only from tomorrow.
        authorise(session, team.provider, ann, Role.ASSESSOR, unit=team.unit,
                  valid_from=today() + timedelta(days=1), actor=team.admin)
        session.commit()
    with pytest.raises(AssessmentError) as refused:
        sign(app, session, draft)
    assert str(refused.value) == (f"Ann Assessor is not authorised to assess {team.unit.code} "
                                  f"on {today():%d %B %Y}.")
    session.rollback()
    assert draft.status == AssessmentStatus.DRAFT


def test_a_signed_decision_is_never_saved_or_signed_again(app, session, team, draft):
    team.provider.sample_percent = 100
    session.commit()
    save(app, session, draft, all_marks(team.criteria))
    sign(app, session, draft, rng=Always())
    session.commit()
    for status in (AssessmentStatus.AWAITING_VERIFICATION, AssessmentStatus.CONFIRMED):
        if status == AssessmentStatus.CONFIRMED:
            with app.app_context():
                quality.verify(session, draft, actor=team.verifier, agree=True, comment="")
                session.commit()
        assert draft.status == status
        with pytest.raises(AssessmentError) as refused:
            save(app, session, draft, all_marks(team.criteria, not_yet={0}),
                 feedback="Changed after signing")
        assert "can no longer be changed; a correction is made as a new decision" in str(
            refused.value)
        with pytest.raises(AssessmentError, match="can no longer be changed"):
            sign(app, session, draft)
    session.rollback()
    session.expire_all()
    assert all(j.satisfactory for j in draft.judgements)


# --- corrections -------------------------------------------------------------------------------


@pytest.fixture
def confirmed(app, session, team, draft):
    """Ann's confirmed not yet competent decision on attempt 1."""
    save(app, session, draft, all_marks(team.criteria, not_yet={0}),
         rules={**ALL_RULES, "authentic": False}, feedback="Show it at work.")
    sign(app, session, draft)
    session.commit()
    assert draft.status == AssessmentStatus.CONFIRMED
    return draft


def correct(app, session, assessment, reason="I misread the second report.", actor=None):
    with app.app_context():
        return marking.start_correction(session, assessment, actor=actor or assessment.assessor,
                                        reason=reason)


def test_a_correction_starts_from_the_decision_and_supersedes_it_once_confirmed(
        app, session, team, confirmed):
    correction = correct(app, session, confirmed)
    session.commit()
    assert (correction.kind, correction.status) == (AssessmentKind.CORRECTION,
                                                    AssessmentStatus.DRAFT)
    assert correction.replaces_id == confirmed.id
    assert correction.assessor_id == confirmed.assessor_id
    assert correction.reason == "I misread the second report."
    assert correction.assigned_via == "correction"
    assert {j.criterion_id: (j.satisfactory, j.comment) for j in correction.judgements} == {
        j.criterion_id: (j.satisfactory, j.comment) for j in confirmed.judgements}
    assert {j.id for j in correction.judgements}.isdisjoint({j.id for j in confirmed.judgements})
    assert correction.rules == confirmed.rules and correction.feedback == confirmed.feedback
    (entry,) = entries(session, "assessment.correction_started")
    assert entry.changes == {"corrects": confirmed.id, "reason": "I misread the second report."}
    # Until it is confirmed the old decision stands.
    assert confirmed.status == AssessmentStatus.CONFIRMED
    save(app, session, correction, all_marks(team.criteria), feedback="Corrected.")
    # Competent after not yet competent: sampled, so it waits and nothing is superseded yet.
    sign(app, session, correction)
    session.commit()
    assert correction.status == AssessmentStatus.AWAITING_VERIFICATION
    assert correction.sample_reason == "Competent after a not yet competent decision"
    assert confirmed.status == AssessmentStatus.CONFIRMED
    with app.app_context():
        quality.verify(session, correction, actor=team.verifier, agree=True, comment="")
        session.commit()
    session.expire_all()
    assert correction.status == AssessmentStatus.CONFIRMED
    assert confirmed.status == AssessmentStatus.SUPERSEDED
    assert session.scalar(select(func.count()).select_from(Assessment)) == 2
    assert confirmed.submission.status == SubmissionStatus.COMPLETED
    assert confirmed.submission.enrolment.status == EnrolmentStatus.COMPLETED
    (confirmation,) = [e for e in entries(session, "assessment.confirmed")
                       if e.object_id == str(correction.id)]
    assert confirmation.changes["supersedes"] == confirmed.id
    assert chain_intact(session)


def test_a_correction_that_takes_competence_away_reopens_the_enrolment(app, session, team,
                                                                       draft):
    save(app, session, draft, all_marks(team.criteria), feedback="Good.")
    sign(app, session, draft)
    session.commit()
    assert draft.submission.enrolment.status == EnrolmentStatus.COMPLETED
    correction = correct(app, session, draft, reason="The report was not authentic.")
    save(app, session, correction, all_marks(team.criteria),
         rules={**ALL_RULES, "authentic": False}, feedback="Not your own work.")
    sign(app, session, correction)
    session.commit()
    assert correction.status == AssessmentStatus.CONFIRMED
    assert draft.status == AssessmentStatus.SUPERSEDED
    assert draft.submission.status == SubmissionStatus.RETURNED
    assert draft.submission.enrolment.status == EnrolmentStatus.ACTIVE


def test_only_the_assessor_corrects_and_only_a_confirmed_decision(app, session, team, draft,
                                                                  confirmed):
    with pytest.raises(AssessmentError, match="Only the assessor who made a decision"):
        correct(app, session, confirmed, actor=team.assessors[1])
    for reason in ("", "   ", None):
        with pytest.raises(AssessmentError, match="Say why") as refused:
            correct(app, session, confirmed, reason=reason)
        assert refused.value.field == "reason"
    with pytest.raises(AssessmentError, match="under 2,000 characters"):
        correct(app, session, confirmed, reason="r" * 2001)
    correction = correct(app, session, confirmed)
    # A second one while the first is open; a draft cannot be corrected.
    with pytest.raises(AssessmentError, match="already has a decision in progress"):
        correct(app, session, confirmed)
    with pytest.raises(AssessmentError, match="Only a confirmed decision can be corrected"):
        correct(app, session, correction)
    assert actions(session, "assessment.correction_started") == [
        "assessment.correction_started"]


def test_no_correction_once_a_later_attempt_or_an_appeal_exists(app, session, team, submit,
                                                                confirmed):
    with app.app_context():
        appeal = appeals.lodge_appeal(session, confirmed, actor=team.candidate,
                                      statement="My report covers every criterion in full.")
        session.commit()
    with pytest.raises(AssessmentError, match="The candidate has appealed this decision"):
        correct(app, session, confirmed)
    session.rollback()
    session.delete(appeal)
    confirmed.submission.status = SubmissionStatus.RETURNED
    session.commit()
    submit(team)
    with pytest.raises(AssessmentError, match="submitted a later attempt since"):
        correct(app, session, confirmed)


def test_a_correction_cannot_be_signed_once_a_later_attempt_was_submitted(
        app, session, team, submit, confirmed):
    correction = correct(app, session, confirmed)
    session.commit()
    # The attempt was returned, so the candidate may submit attempt 2 meanwhile.
    later = submit(team)
    assert later.attempt == 2
    save(app, session, correction, all_marks(team.criteria), feedback="Fine after all.")
    with pytest.raises(AssessmentError, match="later attempt"):
        sign(app, session, correction)
    session.rollback()
    assert confirmed.status == AssessmentStatus.CONFIRMED
    assert correction.status == AssessmentStatus.DRAFT
    with app.app_context():
        marking.discard_draft(session, correction, actor=correction.assessor)
        session.commit()
    assert correction.status == AssessmentStatus.DISCARDED


def test_discarding_a_correction_keeps_the_decision(app, session, team, draft, confirmed):
    correction = correct(app, session, confirmed)
    session.commit()
    with app.app_context(), pytest.raises(AssessmentError, match="Only the assessor making"):
        marking.discard_draft(session, correction, actor=team.assessors[1])
    with app.app_context():
        marking.discard_draft(session, correction, actor=confirmed.assessor)
        session.commit()
    assert correction.status == AssessmentStatus.DISCARDED
    assert confirmed.status == AssessmentStatus.CONFIRMED
    (entry,) = entries(session, "assessment.discarded")
    assert entry.changes == {"kind": "correction", "replaces": confirmed.id}
    # Discarded once is enough; an initial draft or a confirmed decision is not discarded.
    with app.app_context():
        for target in (correction, confirmed):
            with pytest.raises(AssessmentError, match="Only a correction that is not signed"):
                marking.discard_draft(session, target, actor=confirmed.assessor)
    # A new correction can be started after a discarded one.
    assert correct(app, session, confirmed).kind == AssessmentKind.CORRECTION


def test_an_initial_draft_is_not_discarded(app, session, team, draft):
    with app.app_context(), pytest.raises(AssessmentError):
        marking.discard_draft(session, draft, actor=draft.assessor)
    assert draft.status == AssessmentStatus.DRAFT


# --- attempts ----------------------------------------------------------------------------------


def test_the_provider_limits_the_attempts(app, session, team, submit, decide):
    team.provider.max_attempts = 2
    session.commit()
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    (first,) = notices(session, team.candidate)
    assert first.kind == "resubmission_requested"
    assert first.body.endswith("You have 1 more attempt.")
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    last = notices(session, team.candidate)[-1]
    assert last.kind == "decision_released"
    assert last.title == f"{team.unit.code} attempt 2: not yet competent"
    assert "This was your last attempt" in last.body
    with app.app_context(), pytest.raises(submissions.SubmissionError) as refused:
        submissions.submit_attempt(session, team.enrolment, declaration_text="Mine.",
                                   actor=team.candidate)
    assert str(refused.value) == ("You have used all 2 attempts North College allows for this "
                                  "unit; you may appeal the last decision or contact your "
                                  "provider.")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Submission)) == 2
    # Raising the limit lets the candidate go on; lowering it below what was used stops them.
    team.provider.max_attempts = 3
    session.commit()
    submissions.check_can_submit(session, team.enrolment, team.candidate)
    team.provider.max_attempts = 1
    session.commit()
    with pytest.raises(submissions.SubmissionError, match="used all 1 attempts"):
        submissions.check_can_submit(session, team.enrolment, team.candidate)


def test_nothing_more_is_submitted_after_a_competent_decision(app, session, team, submit,
                                                             decide):
    decide(assessment_of(session, submit(team)), team.criteria)
    assert team.enrolment.status == EnrolmentStatus.COMPLETED
    with app.app_context(), pytest.raises(submissions.SubmissionError,
                                          match="This enrolment is completed"):
        submissions.submit_attempt(session, team.enrolment, declaration_text="Mine.",
                                   actor=team.candidate)
    session.rollback()
    # Even were the enrolment reopened by hand, the competent attempt stops a new one.
    team.enrolment.status = EnrolmentStatus.ACTIVE
    session.commit()
    with pytest.raises(submissions.SubmissionError) as refused:
        submissions.check_can_submit(session, team.enrolment, team.candidate)
    assert str(refused.value) == ("Attempt 1 of this unit was assessed competent; there is "
                                  "nothing more to submit.")
    assert session.scalar(select(func.count()).select_from(Submission)) == 1


def test_an_attempt_waiting_for_its_decision_blocks_the_next(app, session, team, submit,
                                                            decide):
    team.provider.sample_percent = 100
    session.commit()
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.",
           rng=Always())
    # Not yet competent but sampled: not released, so not returned yet.
    with pytest.raises(submissions.SubmissionError, match="waiting for assessment"):
        submissions.check_can_submit(session, team.enrolment, team.candidate)
