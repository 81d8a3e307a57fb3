"""Appeals: lodged by the candidate within the provider's window with a statement, given by an
admin to a different authorised assessor, and decided when the new decision is confirmed (which
supersedes the old one; both stay in the history)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certify.accounts.models import EnrolmentStatus, Role
from certify.accounts.operations.auth import disable_user
from certify.accounts.operations.authorisations import authorise, revoke_authorisation, today
from certify.assessors.errors import AssessmentError
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    Outcome,
)
from certify.assessors.operations import appeals, conflicts, decisions, marking, quality
from certify.core.types import utcnow
from certify.evidence.models import SubmissionStatus
from certify.evidence.operations import submissions
from tests.assessors.conftest import ALL_RULES, Always, Never, all_marks, assessment_of
from tests.assessors.test_assign import (
    chain_intact,
    entries,
    grant_of,
    kinds,
    notices,
)
from tests.people import PASSWORD

STATEMENT = "The second file shows criterion one in a real workplace."


@pytest.fixture
def appealable(app, session, team, submit, decide):
    """Ann's confirmed not yet competent decision on attempt 1."""
    made = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                  feedback="Show criterion one at work.")
    assert made.status == AssessmentStatus.CONFIRMED
    return made


def lodge(app, session, assessment, actor, statement=STATEMENT):
    with app.app_context():
        return appeals.lodge_appeal(session, assessment, actor=actor, statement=statement)


def give(app, session, appeal, assessor, actor):
    with app.app_context():
        return appeals.assign_appeal(session, appeal, assessor, actor=actor)


def test_lodging_an_appeal_tells_every_admin_of_the_provider(app, session, team, appealable,
                                                             make_user, make_provider):
    second_admin = make_user("admin2@north.example", name="Abe Admin",
                             roles=["provider_admin"], provider=team.provider)
    gone = make_user("admin3@north.example", name="Gus Gone", roles=["provider_admin"],
                     provider=team.provider)
    south = make_provider("South College", "south-college", "SCOL")
    stranger = make_user("admin@south.example", name="Sue South", roles=["provider_admin"],
                         provider=south)
    with app.app_context():
        disable_user(session, gone, actor=team.admin)
        session.commit()
    appeal = lodge(app, session, appealable, team.candidate, statement=f"  {STATEMENT}  ")
    session.commit()
    assert (appeal.status, appeal.statement, appeal.candidate_id) == (
        AppealStatus.LODGED, STATEMENT, team.candidate.id)
    assert appeal.lodged_at is not None and appeal.new_assessment_id is None
    # The attempt waits for reassessment again; the decision stands meanwhile.
    assert appealable.submission.status == SubmissionStatus.SUBMITTED
    assert appealable.status == AssessmentStatus.CONFIRMED
    for admin in (team.admin, second_admin):
        (notice,) = notices(session, admin)
        assert notice.kind == "appeal_lodged"
        assert notice.title == f"Chen Candidate appealed the decision on {team.unit.code}"
        assert notice.body == STATEMENT
        assert notice.url == "/assessment/appeals"
    assert kinds(session, gone) == kinds(session, stranger) == []
    assert kinds(session, team.assessors[0]).count("appeal_lodged") == 0
    (entry,) = entries(session, "appeal.lodged")
    assert entry.changes == {"assessment_id": appealable.id, "outcome": "not_yet_competent",
                             "statement": STATEMENT}
    assert entry.actor_id == team.candidate.id
    # Meanwhile the candidate cannot submit another attempt.
    with pytest.raises(submissions.SubmissionError, match="waiting for assessment"):
        submissions.check_can_submit(session, team.enrolment, team.candidate)


@pytest.mark.parametrize(("statement", "message"), [
    ("", "at least 20 characters"), ("Too short, sorry.", "at least 20 characters"),
    (" " * 30, "at least 20 characters"), ("s" * 10001, "under 10,000 characters")])
def test_the_statement_must_say_enough_and_not_too_much(app, session, team, appealable,
                                                        statement, message):
    with pytest.raises(AssessmentError, match=message) as refused:
        lodge(app, session, appealable, team.candidate, statement=statement)
    assert refused.value.field == "statement"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Appeal)) == 0
    assert appealable.submission.status == SubmissionStatus.RETURNED


def test_the_window_is_the_providers_and_a_late_appeal_names_the_date(app, session, team,
                                                                      appealable):
    assert team.provider.appeal_window_days == 14
    appealable.confirmed_at = utcnow() - timedelta(days=14, minutes=1)
    session.commit()
    deadline = appealable.confirmed_at + timedelta(days=14)
    assert appeals.appeal_deadline(appealable) == deadline
    reason = appeals.why_no_appeal(session, appealable, team.candidate)
    assert reason == (f"The time to appeal this decision ended on {deadline:%d %B %Y} "
                      "(14 days after it was confirmed).")
    with pytest.raises(AssessmentError, match="The time to appeal this decision ended on"):
        lodge(app, session, appealable, team.candidate)
    # A longer window set by the provider lets it through.
    team.provider.appeal_window_days = 30
    session.commit()
    assert appeals.why_no_appeal(session, appealable, team.candidate) is None
    assert lodge(app, session, appealable, team.candidate).status == AppealStatus.LODGED


def test_just_inside_the_window_is_allowed(app, session, team, appealable):
    appealable.confirmed_at = utcnow() - timedelta(days=13, hours=23)
    session.commit()
    assert lodge(app, session, appealable, team.candidate).status == AppealStatus.LODGED


def test_one_appeal_per_decision(app, session, team, appealable):
    lodge(app, session, appealable, team.candidate)
    session.commit()
    with pytest.raises(AssessmentError, match="You have already appealed this decision"):
        lodge(app, session, appealable, team.candidate)
    assert session.scalar(select(func.count()).select_from(Appeal)) == 1


def test_no_appeal_once_a_later_attempt_exists(app, session, team, submit, appealable):
    submit(team)
    with pytest.raises(AssessmentError,
                       match="You have submitted a later attempt since this decision"):
        lodge(app, session, appealable, team.candidate)


def test_only_the_candidate_appeals(app, session, team, appealable, make_user):
    other = make_user("other@north.example", name="Olive Other", roles=["candidate"],
                      provider=team.provider)
    for person in (other, team.admin, team.assessors[0], team.verifier):
        with pytest.raises(AssessmentError, match="Only the candidate can appeal"):
            lodge(app, session, appealable, person)
    assert session.scalar(select(func.count()).select_from(Appeal)) == 0


def test_only_a_confirmed_decision_is_appealed(app, session, team, submit, decide):
    team.provider.sample_percent = 100
    session.commit()
    draft = assessment_of(session, submit(team))
    with pytest.raises(AssessmentError, match="Only a confirmed decision can be appealed"):
        lodge(app, session, draft, team.candidate)
    decide(draft, team.criteria, not_yet={0}, feedback="No.", rng=Always())
    assert draft.status == AssessmentStatus.AWAITING_VERIFICATION
    with pytest.raises(AssessmentError, match="Only a confirmed decision can be appealed"):
        lodge(app, session, draft, team.candidate)


def test_assigning_to_the_original_or_an_unauthorised_assessor_is_refused(
        app, session, team, appealable, make_user):
    ann, bob = team.assessors
    appeal = lodge(app, session, appealable, team.candidate)
    session.commit()
    with pytest.raises(AssessmentError) as refused:
        give(app, session, appeal, ann, team.admin)
    assert str(refused.value) == ("Ann Assessor made the decision under appeal; choose a "
                                  "different assessor.")
    assert refused.value.field == "assessor"
    newcomer = make_user("new@north.example", name="Ned New", roles=["assessor"],
                         provider=team.provider)
    with pytest.raises(AssessmentError, match="Ned New is not authorised to assess"):
        give(app, session, appeal, newcomer, team.admin)
    with app.app_context():
        conflicts.declare_conflict(session, team.provider, bob, team.candidate,
                                   reason="Same football team", actor=bob)
        session.commit()
    with pytest.raises(AssessmentError, match="Bob Assessor has declared a conflict"):
        give(app, session, appeal, bob, team.admin)
    session.rollback()
    assert appeal.status == AppealStatus.LODGED
    assert session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_the_appeal_decision_supersedes_the_old_one_once_confirmed(app, session, team,
                                                                   appealable, decide):
    bob = team.assessors[1]
    appeal = lodge(app, session, appealable, team.candidate)
    reassessment = give(app, session, appeal, bob, team.admin)
    session.commit()
    assert (reassessment.kind, reassessment.status, reassessment.assessor_id) == (
        AssessmentKind.APPEAL, AssessmentStatus.DRAFT, bob.id)
    assert reassessment.replaces_id == appealable.id
    # Reassessed from scratch: nothing is copied from the decision under appeal.
    assert reassessment.judgements == [] and reassessment.feedback == ""
    assert (appeal.status, appeal.new_assessment_id) == (AppealStatus.ASSIGNED, reassessment.id)
    (notice,) = notices(session, bob)
    assert notice.kind == "appeal_assigned"
    (entry,) = entries(session, "appeal.assigned")
    assert entry.changes == {"assessor": bob.email, "assessment_id": reassessment.id}
    with pytest.raises(AssessmentError, match="it has an assessor already"):
        give(app, session, appeal, team.assessors[1], team.admin)
    # Competent after not yet competent: sampled, then agreed.
    decide(reassessment, team.criteria, feedback="Criterion one is in the second file.")
    assert reassessment.status == AssessmentStatus.AWAITING_VERIFICATION
    assert appeal.status == AppealStatus.ASSIGNED
    assert appealable.status == AssessmentStatus.CONFIRMED
    with app.app_context():
        quality.verify(session, reassessment, actor=team.verifier, agree=True, comment="")
        session.commit()
    session.expire_all()
    assert reassessment.status == AssessmentStatus.CONFIRMED
    assert appealable.status == AssessmentStatus.SUPERSEDED
    assert (appeal.status, appeal.new_assessment_id) == (AppealStatus.DECIDED, reassessment.id)
    assert appeal.decided_at is not None
    assert appealable.submission.status == SubmissionStatus.COMPLETED
    assert team.enrolment.status == EnrolmentStatus.COMPLETED
    # Both decisions stay in the history; only the new one counts.
    history = session.scalars(select(Assessment).where(
        Assessment.submission_id == appealable.submission_id).order_by(Assessment.id)).all()
    assert [(a.id, a.status) for a in history] == [
        (appealable.id, AssessmentStatus.SUPERSEDED), (reassessment.id,
                                                       AssessmentStatus.CONFIRMED)]
    assert decisions.counted_decisions(session, team.enrolment) == [reassessment]
    decided = notices(session, team.candidate, "appeal_decided")
    assert [n.title for n in decided] == [f"Your appeal on {team.unit.code} is decided: "
                                          "competent"]
    assert kinds(session, team.candidate) == ["resubmission_requested", "appeal_decided"]
    (confirmed,) = [e for e in entries(session, "assessment.confirmed")
                    if e.object_id == str(reassessment.id)]
    assert confirmed.changes["appeal_id"] == appeal.id
    assert confirmed.changes["supersedes"] == appealable.id
    # A superseded decision is not appealed again.
    with pytest.raises(AssessmentError, match="Only a confirmed decision"):
        lodge(app, session, appealable, team.candidate)
    assert chain_intact(session)


def test_an_appeal_upheld_as_not_yet_competent_returns_the_attempt(app, session, team,
                                                                   appealable, decide):
    appeal = lodge(app, session, appealable, team.candidate)
    reassessment = give(app, session, appeal, team.assessors[1], team.admin)
    session.commit()
    decide(reassessment, team.criteria, not_yet={0, 1}, feedback="Two gaps, not one.")
    assert reassessment.status == AssessmentStatus.CONFIRMED
    assert reassessment.outcome == Outcome.NOT_YET_COMPETENT
    assert appeal.status == AppealStatus.DECIDED
    assert appealable.status == AssessmentStatus.SUPERSEDED
    assert appealable.submission.status == SubmissionStatus.RETURNED
    (notice,) = notices(session, team.candidate, "appeal_decided")
    assert notice.title == f"Your appeal on {team.unit.code} is decided: not yet competent"
    # The candidate may submit attempt 2 now.
    submissions.check_can_submit(session, team.enrolment, team.candidate)


def test_a_sent_back_appeal_decision_still_decides_the_appeal_when_confirmed(
        app, session, team, appealable, decide):
    bob = team.assessors[1]
    appeal = lodge(app, session, appealable, team.candidate)
    reassessment = give(app, session, appeal, bob, team.admin)
    session.commit()
    decide(reassessment, team.criteria, feedback="All there.")
    assert reassessment.status == AssessmentStatus.AWAITING_VERIFICATION
    with app.app_context():
        quality.verify(session, reassessment, actor=team.verifier, agree=False,
                       comment="Criterion one is still not shown.")
        session.commit()
    assert reassessment.status == AssessmentStatus.SENT_BACK
    rework = assessment_of(session, appealable.submission)
    assert (rework.kind, rework.assessor_id, rework.replaces_id) == (
        AssessmentKind.REWORK, bob.id, reassessment.id)
    assert appeal.status == AppealStatus.ASSIGNED
    assert appealable.status == AssessmentStatus.CONFIRMED
    assert kinds(session, team.candidate) == ["resubmission_requested"]
    with app.app_context():
        marking.save_marking(session, rework, marks={
            c.id: marking.Mark(i != 0, "" if i else "Not shown") for i, c in
            enumerate(team.criteria)}, rules=rework.rules, feedback="Upheld.",
            expected_version=rework.version, actor=bob)
        marking.sign(session, rework, actor=bob, password=PASSWORD)
        session.commit()
    # A rework is always sampled.
    assert rework.sample_reason == "Remade after an internal verifier disagreed"
    with app.app_context():
        quality.verify(session, rework, actor=team.verifier, agree=True, comment="")
        session.commit()
    session.expire_all()
    assert rework.status == AssessmentStatus.CONFIRMED
    assert reassessment.status == AssessmentStatus.SENT_BACK
    assert appealable.status == AssessmentStatus.SUPERSEDED
    assert (appeal.status, appeal.new_assessment_id) == (AppealStatus.DECIDED, rework.id)
    assert kinds(session, team.candidate) == ["resubmission_requested", "appeal_decided"]
    assert decisions.counted_decisions(session, team.enrolment) == [rework]
    assert chain_intact(session)


def test_a_rework_on_an_appeal_never_goes_back_to_the_original_assessor(
        app, session, team, appealable, decide, make_user):
    """Bob's appeal decision is sent back when Bob may no longer assess: the rework goes to
    another assessor, never to Ann whose decision is under appeal."""
    ann, bob = team.assessors
    appeal = lodge(app, session, appealable, team.candidate)
    reassessment = give(app, session, appeal, bob, team.admin)
    session.commit()
    decide(reassessment, team.criteria, feedback="All there.")
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, bob), actor=team.admin)
        session.commit()
    # Only Ann is left: the disagreement cannot be reworked by anyone allowed.
    with app.app_context(), pytest.raises(AssessmentError, match="nobody else is authorised"):
        quality.verify(session, reassessment, actor=team.verifier, agree=False,
                       comment="Look again.")
    session.rollback()
    cy = make_user("cy@north.example", name="Cy Assessor", roles=["assessor"],
                   provider=team.provider)
    authorise(session, team.provider, cy, Role.ASSESSOR, unit=team.unit, valid_from=today(),
              actor=team.admin)
    session.commit()
    with app.app_context():
        quality.verify(session, reassessment, actor=team.verifier, agree=False,
                       comment="Look again.")
        session.commit()
    rework = assessment_of(session, appealable.submission)
    assert (rework.kind, rework.assessor_id) == (AssessmentKind.REWORK, cy.id)
    assert ann.id not in {a.assessor_id for a in session.scalars(select(Assessment).where(
        Assessment.kind != AssessmentKind.INITIAL))}


def test_a_second_appeal_goes_to_someone_who_has_not_decided_it(app, session, team, make_user):
    """Appealing the appeal decision: neither the first assessor nor the appeal's assessor may
    take it; a third authorised assessor may."""
    third = make_user("assessor3@north.example", name="Cleo Assessor", roles=["assessor"],
                      provider=team.provider)
    with app.app_context():
        authorise(session, team.provider, third, Role.ASSESSOR, unit=team.unit,
                  valid_from=today() - timedelta(days=1), actor=team.admin)
        submission = submissions.submit_attempt(session, team.enrolment,
                                                declaration_text="Mine.", actor=team.candidate)
        first = assessment_of(session, submission)

        def decide(assessment):
            marking.save_marking(session, assessment,
                                 marks=all_marks(team.criteria, not_yet={0}), rules=ALL_RULES,
                                 feedback="More.", expected_version=assessment.version,
                                 actor=assessment.assessor)
            marking.sign(session, assessment, actor=assessment.assessor, password=PASSWORD,
                         rng=Never())

        decide(first)
        appeal = appeals.lodge_appeal(session, first, actor=team.candidate,
                                                statement="The report on page 2 shows it.")
        other = next(a for a in team.assessors if a.id != first.assessor_id)
        second = appeals.assign_appeal(session, appeal, other, actor=team.admin)
        decide(second)
        again = appeals.lodge_appeal(session, second, actor=team.candidate,
                                               statement="Still, page 2 shows it clearly.")
        for barred in team.assessors:
            with pytest.raises(AssessmentError, match="made the decision under appeal"):
                appeals.assign_appeal(session, again, barred, actor=team.admin)
        third_decision = appeals.assign_appeal(session, again, third, actor=team.admin)
        session.commit()
    assert third_decision.assessor_id == third.id
