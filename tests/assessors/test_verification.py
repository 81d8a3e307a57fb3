"""Internal verification: agreeing confirms a sampled decision, disagreeing sends it back to the
assessor as a rework while the candidate is told nothing; who may verify what; and the
decisions that count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certify.accounts.models import EnrolmentStatus, Role
from certify.accounts.operations import people
from certify.accounts.operations.authorisations import authorise, revoke_authorisation, today
from certify.assessors import permissions
from certify.assessors.errors import AssessmentError, InvalidMarking
from certify.assessors.models import (
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    Outcome,
    Verification,
)
from certify.assessors.operations import (
    appeals,
    assignment,
    conflicts,
    decisions,
    marking,
    quality,
)
from certify.evidence.models import SubmissionStatus
from tests.assessors.conftest import Always, assessment_of
from tests.assessors.test_assign import (
    actions,
    chain_intact,
    enrol_another,
    entries,
    grant_of,
    kinds,
    notices,
    submit_enrolment,
)
from tests.people import PASSWORD


@pytest.fixture
def sampled(app, session, team, submit, decide):
    """Every decision is sampled; returns a function making one (competent unless told)."""
    team.provider.sample_percent = 100
    session.commit()

    def make(**kwargs):
        made = decide(assessment_of(session, submit(team)), team.criteria, rng=Always(),
                      **kwargs)
        assert made.status == AssessmentStatus.AWAITING_VERIFICATION
        return made

    return make


def verify(app, session, assessment, actor, *, agree=True, comment=""):
    with app.app_context():
        return quality.verify(session, assessment, actor=actor, agree=agree, comment=comment)


def test_agreeing_confirms_a_competent_decision_and_tells_the_candidate(app, session, team,
                                                                        sampled):
    made = sampled()
    assert kinds(session, team.candidate) == []
    assert not permissions.is_released(made)
    verification = verify(app, session, made, team.verifier, comment="  Sound.  ")
    session.commit()
    assert (verification.agreed, verification.comment, verification.verifier_id) == (
        True, "Sound.", team.verifier.id)
    assert verification.at is not None
    assert made.status == AssessmentStatus.CONFIRMED and made.confirmed_at is not None
    assert permissions.is_released(made)
    assert made.submission.status == SubmissionStatus.COMPLETED
    assert made.submission.enrolment.status == EnrolmentStatus.COMPLETED
    (notice,) = notices(session, team.candidate)
    assert notice.kind == "decision_released"
    assert notice.title == f"{team.unit.code} attempt 1: competent"
    assert notice.url == f"/assessment/enrolments/{team.enrolment.id}/decisions"
    verified, confirmed = entries(session, "assessment.verified")[-1], entries(
        session, "assessment.confirmed")[-1]
    assert verified.changes == {"agreed": True, "comment": "Sound.", "outcome": "competent"}
    assert verified.actor_id == confirmed.actor_id == team.verifier.id
    assert confirmed.seq > verified.seq
    assert chain_intact(session)


def test_agreeing_with_not_yet_competent_returns_the_attempt(app, session, team, sampled):
    made = sampled(not_yet={0}, feedback="Show it at work.")
    verify(app, session, made, team.verifier)
    session.commit()
    assert (made.status, made.outcome) == (AssessmentStatus.CONFIRMED,
                                           Outcome.NOT_YET_COMPETENT)
    assert made.submission.status == SubmissionStatus.RETURNED
    assert made.submission.enrolment.status == EnrolmentStatus.ACTIVE
    (notice,) = notices(session, team.candidate)
    assert notice.kind == "resubmission_requested"
    assert "You have 2 more attempts" in notice.body


def test_disagreeing_needs_a_comment_and_changes_nothing_without_one(app, session, team,
                                                                     sampled):
    made = sampled()
    for comment in ("", "   ", None):
        with pytest.raises(InvalidMarking) as refused:
            verify(app, session, made, team.verifier, agree=False, comment=comment)
        assert set(refused.value.errors) == {"comment"}
    with pytest.raises(InvalidMarking, match="under 10,000"):
        verify(app, session, made, team.verifier, agree=False, comment="c" * 10001)
    session.rollback()
    assert made.status == AssessmentStatus.AWAITING_VERIFICATION
    assert session.scalar(select(func.count()).select_from(Verification)) == 0
    assert actions(session, "assessment.verified") == []


def test_disagreeing_sends_it_back_as_a_rework_and_the_candidate_is_told_nothing(
        app, session, team, sampled):
    ann = team.assessors[0]
    made = sampled(not_yet={2}, feedback="Nearly.")
    verify(app, session, made, team.verifier, agree=False,
           comment="Criterion 3 is shown in the second file.")
    session.commit()
    assert made.status == AssessmentStatus.SENT_BACK
    rework = assessment_of(session, made.submission)
    assert (rework.kind, rework.status, rework.assessor_id, rework.replaces_id) == (
        AssessmentKind.REWORK, AssessmentStatus.DRAFT, ann.id, made.id)
    assert {j.criterion_id: (j.satisfactory, j.comment) for j in rework.judgements} == {
        j.criterion_id: (j.satisfactory, j.comment) for j in made.judgements}
    assert rework.rules == made.rules and rework.feedback == "Nearly."
    # The candidate hears nothing and sees no result; the submission still waits.
    assert kinds(session, team.candidate) == []
    assert not permissions.is_released(made) and not permissions.is_released(rework)
    assert not permissions.can_read_decision(team.candidate, made)
    assert made.submission.status == SubmissionStatus.SUBMITTED
    assert decisions.counted_decisions(session, team.enrolment) == []
    # The assessor is told, with the verifier's comment.
    disagreed = notices(session, ann, "verification_disagreed")
    assert [(n.body, n.url) for n in disagreed] == [
        ("Criterion 3 is shown in the second file.", f"/assessment/assessments/{rework.id}")]
    (assigned,) = [e for e in entries(session, "assessment.assigned")
                   if e.object_id == str(rework.id)]
    assert assigned.changes["kind"] == "rework" and assigned.changes["replaces"] == made.id
    # The rework is remarked, signed, sampled again, and agreed: now the candidate is told.
    with app.app_context():
        marking.save_marking(session, rework,
                             marks={j.criterion_id: marking.Mark(True, "")
                                    for j in rework.judgements},
                             rules=rework.rules, feedback="Now complete.",
                             expected_version=rework.version, actor=ann)
        marking.sign(session, rework, actor=ann, password=PASSWORD)
        session.commit()
    assert rework.status == AssessmentStatus.AWAITING_VERIFICATION
    verify(app, session, rework, team.verifier)
    session.commit()
    assert rework.status == AssessmentStatus.CONFIRMED
    assert made.status == AssessmentStatus.SENT_BACK  # never released, so never superseded
    assert kinds(session, team.candidate) == ["decision_released"]
    assert decisions.counted_decisions(session, team.enrolment) == [rework]
    assert chain_intact(session)


def test_a_rework_goes_to_another_assessor_when_the_first_may_no_longer(app, session, team,
                                                                        sampled):
    ann, bob = team.assessors
    made = sampled()
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
        session.commit()
    verify(app, session, made, team.verifier, agree=False, comment="Look again.")
    session.commit()
    rework = assessment_of(session, made.submission)
    assert rework.assessor_id == bob.id and rework.kind == AssessmentKind.REWORK
    assert kinds(session, bob)[-1] == "verification_disagreed"


def test_a_disagreement_nobody_could_rework_is_refused(app, session, team, sampled):
    made = sampled()
    with app.app_context():
        for person in team.assessors:
            revoke_authorisation(session, grant_of(session, team, person), actor=team.admin)
        session.commit()
    with pytest.raises(AssessmentError, match="nobody else is authorised"):
        verify(app, session, made, team.verifier, agree=False, comment="Look again.")
    session.rollback()
    session.expire_all()
    assert made.status == AssessmentStatus.AWAITING_VERIFICATION
    assert made.verifications == []


def test_the_verifier_must_be_authorised_for_the_unit(app, session, team, sampled, make_user):
    made = sampled()
    newcomer = make_user("v2@north.example", name="Nia Newcomer", roles=["verifier"],
                         provider=team.provider)
    with pytest.raises(AssessmentError) as refused:
        verify(app, session, made, newcomer)
    assert str(refused.value) == (f"Nia Newcomer is not authorised to verify {team.unit.code} "
                                  f"on {today():%d %B %Y}.")
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, team.verifier), actor=team.admin)
        authorise(session, team.provider, team.verifier, Role.VERIFIER, unit=team.unit,
                  valid_from=today() - timedelta(days=9), valid_to=today() - timedelta(days=1),
                  actor=team.admin)
        session.commit()
    with pytest.raises(AssessmentError, match="Vera Verifier is not authorised to verify"):
        verify(app, session, made, team.verifier)
    # An assessor (not a verifier) and an admin are not verifiers at all.
    for other in (team.assessors[1], team.admin):
        with pytest.raises(AssessmentError, match="is not authorised to verify"):
            verify(app, session, made, other)
    session.rollback()
    assert made.status == AssessmentStatus.AWAITING_VERIFICATION


def test_nobody_verifies_their_own_decision(app, session, team, sampled):
    ann = team.assessors[0]
    with app.app_context():
        people.add_role(session, ann, team.provider, Role.VERIFIER)
        authorise(session, team.provider, ann, Role.VERIFIER, unit=team.unit,
                  valid_from=today(), actor=team.admin)
        session.commit()
    made = sampled()
    assert made.assessor_id == ann.id
    # Ann, who verifies too, was not told of her own sample.
    assert "sample_waiting" not in kinds(session, ann)
    assert "sample_waiting" in kinds(session, team.verifier)
    with pytest.raises(AssessmentError, match="You made this decision"):
        verify(app, session, made, ann)


def test_a_conflicted_verifier_or_the_candidate_cannot_verify(app, session, team, sampled,
                                                              make_user):
    made = sampled()
    with app.app_context():
        conflicts.declare_conflict(session, team.provider, team.verifier, team.candidate,
                                   reason="My nephew", actor=team.verifier)
        session.commit()
    with pytest.raises(AssessmentError) as refused:
        verify(app, session, made, team.verifier)
    assert str(refused.value) == ("Vera Verifier has declared a conflict of interest with Chen "
                                  "Candidate and cannot verify their work.")
    with app.app_context():
        people.add_role(session, team.candidate, team.provider, Role.VERIFIER)
        authorise(session, team.provider, team.candidate, Role.VERIFIER, unit=team.unit,
                  valid_from=today(), actor=team.admin)
        session.commit()
    with pytest.raises(AssessmentError, match="is the candidate of this submission and cannot "
                                              "verify it"):
        verify(app, session, made, team.candidate)


@pytest.mark.parametrize("state", ["draft", "confirmed", "sent back"])
def test_only_a_decision_waiting_for_verification_is_verified(app, session, team, submit,
                                                              sampled, state):
    if state == "draft":
        target = assessment_of(session, submit(team))
    else:
        target = sampled()
        verify(app, session, target, team.verifier, agree=state == "confirmed",
               comment="" if state == "confirmed" else "Redo.")
        session.commit()
    before = len(target.verifications)
    with pytest.raises(AssessmentError, match="only a sampled decision waiting for "
                                              "verification can be verified"):
        verify(app, session, target, team.verifier)
    session.rollback()
    assert len(target.verifications) == before


# --- what counts -------------------------------------------------------------------------------


def test_only_confirmed_decisions_count(app, session, team, submit, decide, make_user):
    ann = team.assessors[0]
    team.provider.sample_percent = 0
    session.commit()
    first = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                   feedback="Not yet.")
    assert decisions.counted_decisions(session, team.enrolment) == [first]
    # Attempt 2 is competent after not yet competent: sampled, so not counted yet.
    second = decide(assessment_of(session, submit(team)), team.criteria)
    assert second.status == AssessmentStatus.AWAITING_VERIFICATION
    assert decisions.counted_decisions(session, team.enrolment) == [first]
    verify(app, session, second, team.verifier)
    session.commit()
    assert decisions.counted_decisions(session, team.enrolment) == [first, second]
    # A correction in progress does not count; once confirmed it replaces attempt 2's.
    with app.app_context():
        correction = marking.start_correction(session, second, actor=ann,
                                              reason="Wrong rules ticked.")
        session.commit()
    assert decisions.counted_decisions(session, team.enrolment) == [first, second]
    with app.app_context():
        marking.sign(session, correction, actor=ann, password=PASSWORD)
        session.commit()
    assert correction.status == AssessmentStatus.CONFIRMED
    assert second.status == AssessmentStatus.SUPERSEDED
    counted = decisions.counted_decisions(session, team.enrolment)
    assert counted == [first, correction]
    assert [a.submission.attempt for a in counted] == [1, 2]
    # Another candidate's decisions are theirs.
    other = enrol_another(session, make_user, team, "o@north.example", "Otto Other")
    with app.app_context():
        theirs = assessment_of(session, submit_enrolment(app, session, other))
    decide(theirs, team.criteria)
    assert decisions.counted_decisions(session, other) == [theirs]
    assert decisions.counted_decisions(session, team.enrolment) == [first, correction]


def test_an_appealed_decision_counts_until_the_appeal_decision_replaces_it(app, session, team,
                                                                           submit, decide):
    bob = team.assessors[1]
    original = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                      feedback="Not yet.")
    with app.app_context():
        appeal = appeals.lodge_appeal(session, original, actor=team.candidate,
                                      statement="My first report shows criterion one.")
        reassessment = appeals.assign_appeal(session, appeal, bob, actor=team.admin)
        session.commit()
    assert decisions.counted_decisions(session, team.enrolment) == [original]
    decide(reassessment, team.criteria, not_yet={1}, feedback="Another gap.")
    assert reassessment.status == AssessmentStatus.CONFIRMED
    assert decisions.counted_decisions(session, team.enrolment) == [reassessment]
    assert session.scalar(select(func.count()).select_from(Assessment)) == 2


def test_counted_decisions_is_one_query(app, session, team, submit, decide, count_queries):
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    decide(assessment_of(session, submit(team)), team.criteria, not_yet={0}, feedback="No.")
    session.expire_all()
    enrolment = session.get(type(team.enrolment), team.enrolment.id)
    with count_queries() as counter:
        counted = decisions.counted_decisions(session, enrolment)
        attempts = [a.submission.attempt for a in counted]
    assert attempts == [1, 2]
    assert counter.count == 1


# --- the verifier report -----------------------------------------------------------------------


def test_the_verifier_report_per_assessor(app, session, team, make_user, count_queries):
    ann, bob = team.assessors
    others = [enrol_another(session, make_user, team, f"c{n}@north.example", f"Cand {n}")
              for n in range(4)]
    team.provider.sample_percent = 100
    session.commit()
    made = []
    for enrolment, person, rng in ((others[0], ann, Always()), (others[1], ann, Always()),
                                   (others[2], ann, None), (others[3], bob, Always())):
        with app.app_context():
            assessment = assessment_of(session, submit_enrolment(app, session, enrolment))
            if assessment.assessor_id != person.id:
                assessment = assignment.assign(session, assessment.submission, person,
                                               actor=team.admin)
            team.provider.sample_percent = 0 if rng is None else 100
            marking.save_marking(session, assessment,
                                 marks={c.id: marking.Mark(True, "") for c in team.criteria},
                                 rules=dict.fromkeys(("valid", "sufficient", "authentic",
                                                      "current"), True),
                                 feedback="", expected_version=assessment.version,
                                 actor=person)
            marking.sign(session, assessment, actor=person, password=PASSWORD,
                         rng=rng or Always())
            session.commit()
        made.append(assessment)
    verify(app, session, made[0], team.verifier)
    verify(app, session, made[1], team.verifier, agree=False, comment="Redo.")
    session.commit()
    with count_queries() as counter:
        rows = quality.verifier_report(session, team.provider)
    assert counter.count == 2
    assert [(r.name, r.decisions, r.sampled, r.agreed, r.disagreed) for r in rows] == [
        ("Ann Assessor", 3, 2, 1, 1), ("Bob Assessor", 1, 1, 0, 0)]
    assert rows[0].agreement_rate == 0.5
    assert rows[1].agreement_rate is None
