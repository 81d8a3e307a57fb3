"""Conflicts of interest: declaring one releases the declarer's drafts for that candidate at
once (to someone else, or back to be assigned), what is refused, and withdrawing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Role
from certify.accounts.operations import people
from certify.accounts.operations.authorisations import authorise, revoke_authorisation, today
from certify.assessors.errors import AssessmentError
from certify.assessors.models import (
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    ConflictOfInterest,
)
from certify.assessors.operations import appeals, assignment, conflicts, marking, quality
from tests.assessors.conftest import Always, all_marks, assessment_of
from tests.assessors.test_assign import (
    chain_intact,
    enrol_another,
    entries,
    grant_of,
    kinds,
    submit_enrolment,
)

STATEMENT = "The second file shows criterion one in a real workplace."


def declare(app, session, team, staff, candidate, *, reason="My cousin", actor=None):
    with app.app_context():
        return conflicts.declare_conflict(session, team.provider, staff, candidate,
                                          reason=reason, actor=actor or staff)


def test_declaring_releases_the_draft_to_another_assessor(app, session, team, submit,
                                                          make_user):
    ann, bob = team.assessors
    draft = assessment_of(session, submit(team))
    assert draft.assessor_id == ann.id
    with app.app_context():
        marking.save_marking(session, draft, marks=all_marks(team.criteria, not_yet={0}),
                             rules={}, feedback="", expected_version=1, actor=ann)
        session.commit()
    # Ann's draft for another candidate is not touched.
    other = enrol_another(session, make_user, team, "o@north.example", "Otto Other")
    with app.app_context():
        kept = assessment_of(session, submit_enrolment(app, session, other))
        if kept.assessor_id != ann.id:
            kept = assignment.assign(session, kept.submission, ann, actor=team.admin)
        session.commit()
    conflict = declare(app, session, team, ann, team.candidate, reason="  My cousin  ")
    session.commit()
    assert (conflict.staff_id, conflict.candidate_id, conflict.reason) == (
        ann.id, team.candidate.id, "My cousin")
    assert conflict.declared_by_id == ann.id and conflict.withdrawn_at is None
    assert draft.status == AssessmentStatus.DISCARDED
    again = assessment_of(session, draft.submission)
    assert (again.assessor_id, again.kind, again.status) == (bob.id, AssessmentKind.INITIAL,
                                                             AssessmentStatus.DRAFT)
    # Bob starts afresh: Ann's judgements are not his.
    assert again.judgements == []
    assert kept.status == AssessmentStatus.DRAFT and kept.assessor_id == ann.id
    assert kinds(session, bob)[-1] == "submission_received"
    (declared,) = entries(session, "conflict.declared")
    assert declared.changes == {"staff": ann.email, "candidate": team.candidate.email,
                                "reason": "My cousin"}
    (released,) = entries(session, "assessment.released_for_conflict")
    assert released.object_id == str(draft.id)
    assert released.changes == {"assessor": ann.email, "kind": "initial"}
    assert released.seq > declared.seq
    assert chain_intact(session)


def test_with_nobody_else_the_submission_waits_unassigned(app, session, team, submit):
    ann, bob = team.assessors
    draft = assessment_of(session, submit(team))
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, bob), actor=team.admin)
        session.commit()
    declare(app, session, team, ann, team.candidate)
    session.commit()
    assert draft.status == AssessmentStatus.DISCARDED
    assert assignment.open_assessment(session, draft.submission) is None
    assert session.scalars(assignment.unassigned_submissions_query(team.provider.id)).all() == [
        draft.submission]
    # And Ann cannot be given it back.
    with app.app_context(), pytest.raises(AssessmentError, match="conflict of interest"):
        assignment.assign(session, draft.submission, ann, actor=team.admin)


def test_an_appeal_draft_returns_the_appeal_to_lodged(app, session, team, submit, decide):
    bob = team.assessors[1]
    original = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                      feedback="Not yet.")
    with app.app_context():
        appeal = appeals.lodge_appeal(session, original, actor=team.candidate,
                                      statement=STATEMENT)
        reassessment = appeals.assign_appeal(session, appeal, bob, actor=team.admin)
        session.commit()
    declare(app, session, team, bob, team.candidate, reason="Met at a wedding")
    session.commit()
    assert reassessment.status == AssessmentStatus.DISCARDED
    assert (appeal.status, appeal.new_assessment_id) == (AppealStatus.LODGED, None)
    # It is not given to anyone automatically (Ann made the decision under appeal).
    assert assignment.open_assessment(session, original.submission) is None
    assert original.status == AssessmentStatus.CONFIRMED


def test_a_correction_draft_is_discarded_and_the_decision_stands(app, session, team, submit,
                                                                 decide, make_user):
    ann = team.assessors[0]
    confirmed = decide(assessment_of(session, submit(team)), team.criteria)
    with app.app_context():
        correction = marking.start_correction(session, confirmed, actor=ann, reason="Typo")
        session.commit()
    declare(app, session, team, ann, team.candidate)
    session.commit()
    assert correction.status == AssessmentStatus.DISCARDED
    assert confirmed.status == AssessmentStatus.CONFIRMED
    assert session.scalar(select(func.count()).select_from(Assessment)) == 2


def test_a_rework_draft_goes_to_someone_else_as_a_rework(app, session, team, submit, decide):
    ann, bob = team.assessors
    team.provider.sample_percent = 100
    session.commit()
    sent = decide(assessment_of(session, submit(team)), team.criteria, rng=Always())
    with app.app_context():
        quality.verify(session, sent, actor=team.verifier, agree=False, comment="Redo.")
        session.commit()
    rework = assessment_of(session, sent.submission)
    assert rework.assessor_id == ann.id
    declare(app, session, team, ann, team.candidate)
    session.commit()
    assert rework.status == AssessmentStatus.DISCARDED
    moved = assessment_of(session, sent.submission)
    assert (moved.assessor_id, moved.kind, moved.replaces_id) == (bob.id, AssessmentKind.REWORK,
                                                                  sent.id)


def test_a_rework_on_an_appeal_nobody_may_take_returns_the_appeal(app, session, team, submit,
                                                                  decide):
    ann, bob = team.assessors
    original = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                      feedback="Not yet.")
    team.provider.sample_percent = 100
    session.commit()
    with app.app_context():
        appeal = appeals.lodge_appeal(session, original, actor=team.candidate,
                                      statement=STATEMENT)
        reassessment = appeals.assign_appeal(session, appeal, bob, actor=team.admin)
        session.commit()
    decide(reassessment, team.criteria, rng=Always())
    with app.app_context():
        quality.verify(session, reassessment, actor=team.verifier, agree=False,
                       comment="Look again.")
        session.commit()
    rework = assessment_of(session, original.submission)
    assert (rework.assessor_id, rework.kind) == (bob.id, AssessmentKind.REWORK)
    # Bob declares a conflict; only Ann, whose decision is appealed, is left.
    declare(app, session, team, bob, team.candidate)
    session.commit()
    assert rework.status == AssessmentStatus.DISCARDED
    assert assignment.open_assessment(session, original.submission) is None
    assert (appeal.status, appeal.new_assessment_id) == (AppealStatus.LODGED, None)
    # Not listed as an ordinary unassigned submission: the appeals page has it.
    assert session.scalars(assignment.unassigned_submissions_query(team.provider.id)).all() == []
    with app.app_context(), pytest.raises(AssessmentError, match="made the decision under"):
        appeals.assign_appeal(session, appeal, ann, actor=team.admin)


def test_signed_decisions_and_verifier_declarations_release_nothing(app, session, team, submit,
                                                                    decide):
    ann = team.assessors[0]
    team.provider.sample_percent = 100
    session.commit()
    waiting = decide(assessment_of(session, submit(team)), team.criteria, rng=Always())
    declare(app, session, team, team.verifier, team.candidate)
    declare(app, session, team, ann, team.candidate)
    session.commit()
    assert waiting.status == AssessmentStatus.AWAITING_VERIFICATION
    assert entries(session, "assessment.released_for_conflict") == []
    # The verifier may not verify it any more.
    with app.app_context(), pytest.raises(AssessmentError, match="conflict of interest"):
        quality.verify(session, waiting, actor=team.verifier, agree=True, comment="")


def test_an_admin_records_a_conflict_for_a_staff_member(app, session, team, submit):
    ann = team.assessors[0]
    submit(team)
    conflict = declare(app, session, team, ann, team.candidate, reason="Her manager",
                       actor=team.admin)
    assert conflict.declared_by_id == team.admin.id
    assert entries(session, "conflict.declared")[-1].actor_id == team.admin.id


def test_what_a_declaration_refuses(app, session, team, make_user, make_provider):
    ann = team.assessors[0]
    cases = []
    for reason, message, field in (("", "Say what the conflict of interest is", "reason"),
                                   ("   ", "Say what the conflict of interest is", "reason"),
                                   ("r" * 2001, "under 2,000 characters", "reason")):
        cases.append((ann, team.candidate, reason, message, field))
    other_candidate = make_user("o@north.example", name="Olive Other", roles=["candidate"],
                                provider=team.provider)
    south = make_provider("South College", "south-college", "SCOL")
    southerner = make_user("s@south.example", name="Sam South", roles=["candidate"],
                           provider=south)
    cases += [
        # Neither an assessor nor a verifier: a candidate, an admin.
        (other_candidate, team.candidate, "Friends",
         "Olive Other is neither an assessor nor an internal verifier in North College",
         "staff"),
        (team.admin, team.candidate, "Friends",
         "Ada Admin is neither an assessor nor an internal verifier", "staff"),
        # Not a candidate here: staff, another provider's candidate.
        (ann, team.assessors[1], "Married", "Bob Assessor is not a candidate of North College",
         "candidate"),
        (ann, southerner, "Neighbours", "Sam South is not a candidate of North College",
         "candidate"),
    ]
    for staff, candidate, reason, message, field in cases:
        with pytest.raises(AssessmentError, match=message) as refused:
            declare(app, session, team, staff, candidate, reason=reason)
        assert refused.value.field == field
    # Oneself: Ann is also a candidate of the provider.
    with app.app_context():
        people.add_role(session, ann, team.provider, Role.CANDIDATE)
        session.commit()
    with pytest.raises(AssessmentError, match="Nobody assesses their own work"):
        declare(app, session, team, ann, ann)
    # Twice.
    declare(app, session, team, ann, team.candidate)
    with pytest.raises(AssessmentError, match="already recorded") as refused:
        declare(app, session, team, ann, team.candidate, reason="Again")
    assert refused.value.field == "candidate"
    assert session.scalar(select(func.count()).select_from(ConflictOfInterest)) == 1


def test_withdrawing_lets_the_person_assess_the_candidate_again(app, session, team, submit):
    ann, bob = team.assessors
    conflict = declare(app, session, team, ann, team.candidate)
    session.commit()
    submission = submit(team)
    assert ann.id not in {p.id for p in assignment.allowed_people(session, submission,
                                                                  Role.ASSESSOR)}
    with app.app_context():
        conflicts.withdraw_conflict(session, conflict, actor=ann)
        session.commit()
    assert conflict.withdrawn_at is not None
    (entry,) = entries(session, "conflict.withdrawn")
    assert entry.changes == {"staff": ann.email, "candidate": team.candidate.email}
    assert [p.id for p in assignment.allowed_people(session, submission, Role.ASSESSOR)] == [
        ann.id, bob.id]
    assert not assignment.has_conflict(session, team.provider.id, ann.id, team.candidate.id)
    with app.app_context(), pytest.raises(AssessmentError, match="already been withdrawn"):
        conflicts.withdraw_conflict(session, conflict, actor=ann)
    # A new declaration may follow a withdrawn one; both stay listed.
    declare(app, session, team, ann, team.candidate, reason="Again after all")
    session.commit()
    assert session.scalar(select(func.count()).select_from(ConflictOfInterest)) == 2
    assert chain_intact(session)


def test_a_verifier_is_authorised_and_unconflicted_before_and_after(app, session, team,
                                                                    submit):
    submission = submit(team)
    allowed = assignment.allowed_people(session, submission, Role.VERIFIER)
    assert [p.id for p in allowed] == [team.verifier.id]
    declare(app, session, team, team.verifier, team.candidate)
    assert assignment.allowed_people(session, submission, Role.VERIFIER) == []
    assert assignment.why_not(session, submission, team.verifier, Role.VERIFIER) == (
        "Vera Verifier has declared a conflict of interest with Chen Candidate and cannot "
        "verify their work.")


def test_an_admins_flag_moves_with_a_released_draft(app, session, team, submit):
    ann, bob = team.assessors
    draft = assessment_of(session, submit(team))
    with app.app_context():
        quality.flag(session, draft, actor=team.admin, reason="First on this unit")
        session.commit()
    declare(app, session, team, ann, team.candidate)
    session.commit()
    again = assessment_of(session, draft.submission)
    assert again.assessor_id == bob.id
    assert (again.flagged_at, again.flagged_by_id, again.flag_reason) == (
        draft.flagged_at, team.admin.id, "First on this unit")


def test_a_released_rework_nobody_could_take_stays_a_rework_when_an_admin_assigns_it(
        app, session, team, submit, decide, make_user):
    ann, bob = team.assessors
    team.provider.sample_percent = 100
    session.commit()
    sent = decide(assessment_of(session, submit(team)), team.criteria, rng=Always())
    with app.app_context():
        quality.verify(session, sent, actor=team.verifier, agree=False, comment="Redo.")
        revoke_authorisation(session, grant_of(session, team, bob), actor=team.admin)
        session.commit()
    declare(app, session, team, ann, team.candidate)
    session.commit()
    assert assignment.open_assessment(session, sent.submission) is None
    assert session.scalars(assignment.unassigned_submissions_query(team.provider.id)).all() == [
        sent.submission]
    cy = make_user("cy@north.example", name="Cy Assessor", roles=["assessor"],
                   provider=team.provider)
    authorise(session, team.provider, cy, Role.ASSESSOR, unit=team.unit, valid_from=today(),
              actor=team.admin)
    session.commit()
    with app.app_context():
        given = assignment.assign(session, sent.submission, cy, actor=team.admin)
        session.commit()
    assert (given.kind, given.replaces_id, given.assessor_id) == (AssessmentKind.REWORK,
                                                                  sent.id, cy.id)
    team.provider.sample_percent = 0
    session.commit()
    decide(given, team.criteria)
    assert given.sample_reason == "Remade after an internal verifier disagreed"
