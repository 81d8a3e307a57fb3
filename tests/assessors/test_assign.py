"""Who assesses a submission: automatic assignment to the allowed assessor with the fewest open
drafts, the people who are never allowed (the candidate, a conflict, no live authorisation, a
disabled account), admin assignment and reassignment, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from certify.accounts.models import Authorisation, Role
from certify.accounts.operations import people
from certify.accounts.operations.auth import disable_user
from certify.accounts.operations.authorisations import authorise, revoke_authorisation, today
from certify.accounts.operations.enrolments import enrol_candidate
from certify.assessors.errors import AssessmentError
from certify.assessors.models import Assessment, AssessmentKind, AssessmentStatus
from certify.assessors.operations import appeals, assignment, conflicts, marking
from certify.core import audit
from certify.core.models import AuditEntry, Notification
from certify.evidence.models import SubmissionStatus
from certify.evidence.operations import submissions
from certify.units.models import Unit
from tests.assessors.conftest import ALL_RULES, Always, all_marks, assessment_of
from tests.evidence.test_submissions import make_item, map_item
from tests.people import PASSWORD
from tests.units.conftest import SFIA_CEXP

# --- helpers, also used by the other operation tests -----------------------------------------


def entries(session, prefix: str = "") -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                                .order_by(AuditEntry.seq)))


def actions(session, prefix: str = "") -> list[str]:
    return [e.action for e in entries(session, prefix)]


def notices(session, user, kind: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(session.scalars(query.order_by(Notification.id)))


def kinds(session, user) -> list[str]:
    return [n.kind for n in notices(session, user)]


def enrol_another(session, make_user, team, email: str, name: str, *, person=None):
    """Another candidate of the team's provider, enrolled on the unit with evidence mapped to
    every criterion (or ``person``, who may hold other roles too)."""
    person = person or make_user(email, name=name, roles=["candidate"], provider=team.provider)
    enrolment = enrol_candidate(session, team.provider, person, team.unit, starts_on=today(),
                                actor=team.admin)
    item = make_item(session, enrolment, f"{name}'s report")
    for criterion in team.criteria:
        map_item(session, item, enrolment, criterion, f"Shows {criterion.ref}")
    session.commit()
    return enrolment


def submit_enrolment(app, session, enrolment):
    with app.app_context():
        submission = submissions.submit_attempt(session, enrolment, declaration_text="Mine.",
                                                actor=enrolment.candidate)
        session.commit()
    return submission


def grant_of(session, team, person) -> Authorisation:
    return session.scalar(select(Authorisation).where(
        Authorisation.provider_id == team.provider.id, Authorisation.user_id == person.id,
        Authorisation.unit_id == team.unit.id, Authorisation.revoked_at.is_(None)))


def chain_intact(session) -> bool:
    return audit.verify(session).ok


# --- automatic assignment --------------------------------------------------------------------


def test_automatic_goes_to_the_fewest_open_drafts_then_by_name(app, session, team, make_user):
    ann, bob = team.assessors
    others = [enrol_another(session, make_user, team, f"c{n}@north.example", f"Cand {n}")
              for n in range(4)]
    chosen = []
    for enrolment in others[:3]:
        chosen.append(assessment_of(session, submit_enrolment(app, session, enrolment)))
    # 0/0 → Ann (by name); 1/0 → Bob; 1/1 → Ann again.
    assert [a.assessor_id for a in chosen] == [ann.id, bob.id, ann.id]
    assert all(a.assigned_via == "automatic" and a.kind == AssessmentKind.INITIAL
               and a.status == AssessmentStatus.DRAFT for a in chosen)
    assert assignment.open_counts(session, team.provider.id, [ann.id, bob.id]) == {
        ann.id: 2, bob.id: 1}
    # Only drafts count as open work: once Ann's two are signed (one waiting for
    # verification, one confirmed), she has fewer than Bob.
    team.provider.sample_percent = 100
    session.commit()
    with app.app_context():
        for assessment, rng in ((chosen[0], Always()), (chosen[2], None)):
            marking.save_marking(session, assessment, marks=all_marks(team.criteria),
                                 rules=ALL_RULES, feedback="", expected_version=1, actor=ann)
            if rng is None:
                team.provider.sample_percent = 0
            marking.sign(session, assessment, actor=ann, password=PASSWORD, rng=rng)
        session.commit()
    assert chosen[0].status == AssessmentStatus.AWAITING_VERIFICATION
    assert chosen[2].status == AssessmentStatus.CONFIRMED
    assert assignment.open_counts(session, team.provider.id, [ann.id, bob.id]) == {
        ann.id: 0, bob.id: 1}
    fourth = assessment_of(session, submit_enrolment(app, session, others[3]))
    assert fourth.assessor_id == ann.id


def test_the_assessor_is_told_and_the_assignment_audited(app, session, team, submit):
    assessment = assessment_of(session, submit(team))
    ann = team.assessors[0]
    (notice,) = notices(session, ann)
    assert notice.kind == "submission_received"
    assert notice.title == (f"{team.unit.code} attempt 1 of Chen Candidate is waiting for "
                            "your assessment")
    assert notice.url == f"/assessment/assessments/{assessment.id}"
    assert notice.provider_id == team.provider.id
    (entry,) = entries(session, "assessment.assigned")
    assert entry.object_id == str(assessment.id)
    assert entry.actor_id == team.candidate.id
    assert entry.changes["assessor"] == ann.email
    assert entry.changes["via"] == "automatic"
    assert entry.changes["kind"] == "initial"
    assert chain_intact(session)


def test_the_candidate_is_never_their_own_assessor(app, session, team, make_user):
    """Ann assesses and is also a candidate of the provider: her own submission goes to Bob,
    though he is busier and she comes first by name."""
    ann, bob = team.assessors
    other = enrol_another(session, make_user, team, "other@north.example", "Other Candidate")
    with app.app_context():
        busy = assessment_of(session, submit_enrolment(app, session, other))
        assignment.assign(session, busy.submission, bob, actor=team.admin)
        session.commit()
    assert assignment.open_counts(session, team.provider.id, [ann.id, bob.id]) == {
        ann.id: 0, bob.id: 1}
    own = enrol_another(session, make_user, team, "", "", person=ann)
    submission = submit_enrolment(app, session, own)
    assert assessment_of(session, submission).assessor_id == bob.id
    assert [p.id for p in assignment.allowed_people(session, submission, Role.ASSESSOR)] == [
        bob.id]
    with app.app_context(), pytest.raises(AssessmentError) as refused:
        assignment.assign(session, submission, ann, actor=team.admin)
    assert str(refused.value) == ("Ann Assessor is the candidate of this submission and cannot "
                                  "assess it.")
    assert refused.value.field == "assessor"


def test_a_declared_conflict_keeps_the_assessor_away(app, session, team, submit):
    ann, bob = team.assessors
    with app.app_context():
        conflicts.declare_conflict(session, team.provider, ann, team.candidate,
                                   reason="My cousin", actor=ann)
        session.commit()
    submission = submit(team)
    assert assessment_of(session, submission).assessor_id == bob.id
    bob_draft = assessment_of(session, submission)
    with app.app_context(), pytest.raises(AssessmentError) as refused:
        assignment.assign(session, submission, ann, actor=team.admin)
    assert str(refused.value) == ("Ann Assessor has declared a conflict of interest with Chen "
                                  "Candidate and cannot assess their work.")
    session.rollback()
    assert bob_draft.assessor_id == bob.id


def _future(session, team, ann, import_seed):
    revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
    authorise(session, team.provider, ann, Role.ASSESSOR, unit=team.unit,
              valid_from=today() + timedelta(days=1), actor=team.admin)


def _expired(session, team, ann, import_seed):
    revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
    authorise(session, team.provider, ann, Role.ASSESSOR, unit=team.unit,
              valid_from=today() - timedelta(days=60), valid_to=today() - timedelta(days=1),
              actor=team.admin)


def _revoked(session, team, ann, import_seed):
    revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)


def _other_unit(session, team, ann, import_seed):
    revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
    report = import_seed(SFIA_CEXP)
    other = session.get(Unit, report.outcomes[0].unit_id)
    assert other.id != team.unit.id
    authorise(session, team.provider, ann, Role.ASSESSOR, unit=other, valid_from=today(),
              actor=team.admin)
    authorise(session, team.provider, ann, Role.ASSESSOR, framework=other.framework,
              valid_from=today(), actor=team.admin)


def _disabled(session, team, ann, import_seed):
    disable_user(session, ann, actor=team.admin, reason="Left the college")


def _no_role(session, team, ann, import_seed):
    # The authorisation stays, but she no longer holds the assessor role.
    people.set_roles(session, ann, team.provider, {Role.VERIFIER}, actor=team.admin)


@pytest.mark.parametrize("change", [_future, _expired, _revoked, _other_unit, _disabled,
                                    _no_role],
                         ids=["from tomorrow", "ended yesterday", "revoked", "other unit",
                              "disabled account", "role taken away"])
def test_only_a_live_authorisation_for_the_unit_counts(app, session, team, submit, import_seed,
                                                       change):
    ann, bob = team.assessors
    with app.app_context():
        change(session, team, ann, import_seed)
        session.commit()
    submission = submit(team)
    # Ann would win on name; she is not allowed today, so Bob gets it.
    assert assessment_of(session, submission).assessor_id == bob.id
    assert [p.id for p in assignment.allowed_people(session, submission, Role.ASSESSOR)] == [
        bob.id]
    reason = assignment.why_not(session, submission, ann, Role.ASSESSOR)
    assert reason == f"Ann Assessor is not authorised to assess {team.unit.code} on " \
                     f"{today():%d %B %Y}."
    with app.app_context(), pytest.raises(AssessmentError, match="not authorised to assess"):
        assignment.assign(session, submission, ann, actor=team.admin)


def test_authorised_on_the_last_day_and_from_today_both_count(app, session, team, submit):
    ann, bob = team.assessors
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
        authorise(session, team.provider, ann, Role.ASSESSOR, unit=team.unit,
                  valid_from=today() - timedelta(days=5), valid_to=today(), actor=team.admin)
        revoke_authorisation(session, grant_of(session, team, bob), actor=team.admin)
        authorise(session, team.provider, bob, Role.ASSESSOR, framework=team.unit.framework,
                  valid_from=today(), actor=team.admin)
        session.commit()
    submission = submit(team)
    assert [p.id for p in assignment.allowed_people(session, submission, Role.ASSESSOR)] == [
        ann.id, bob.id]
    tomorrow = today() + timedelta(days=1)
    assert [p.id for p in assignment.allowed_people(session, submission, Role.ASSESSOR,
                                                    tomorrow)] == [bob.id]


def test_nobody_allowed_leaves_it_unassigned_for_an_admin(app, session, team, submit):
    ann, bob = team.assessors
    with app.app_context():
        for person in (ann, bob):
            revoke_authorisation(session, grant_of(session, team, person), actor=team.admin)
        session.commit()
    submission = submit(team)
    assert submission.status == SubmissionStatus.SUBMITTED
    assert assignment.open_assessment(session, submission) is None
    assert session.scalars(select(Assessment)).all() == []
    waiting = session.scalars(assignment.unassigned_submissions_query(team.provider.id)).all()
    assert waiting == [submission]
    assert actions(session, "assessment.") == []
    assert kinds(session, ann) == kinds(session, bob) == []
    with app.app_context():
        assert assignment.assign_automatically(session, submission, actor=team.admin) is None
    assert session.scalars(select(Assessment)).all() == []
    # The automatic choice an admin can ask for is refused with the reason.
    with app.app_context(), pytest.raises(AssessmentError, match="authorise an assessor first"):
        assignment.assign_fewest_open(session, submission, actor=team.admin)
    # Bob is authorised again; the admin gives it to him.
    with app.app_context():
        authorise(session, team.provider, bob, Role.ASSESSOR, unit=team.unit,
                  valid_from=today(), actor=team.admin)
        assessment = assignment.assign(session, submission, bob, actor=team.admin)
        session.commit()
    assert (assessment.assessor_id, assessment.assigned_via, assessment.assigned_by_id) == (
        bob.id, "admin", team.admin.id)
    assert assessment.status == AssessmentStatus.DRAFT
    assert session.scalars(assignment.unassigned_submissions_query(team.provider.id)).all() == []
    (entry,) = entries(session, "assessment.assigned")
    assert (entry.actor_id, entry.changes["via"]) == (team.admin.id, "admin")
    assert kinds(session, bob) == ["submission_received"]
    assert chain_intact(session)


def test_an_admin_reassigning_discards_the_former_assessors_judgements(
        app, session, team, submit):
    ann, bob = team.assessors
    assessment = assessment_of(session, submit(team))
    with app.app_context():
        marking.save_marking(session, assessment,
                             marks=dict(list(all_marks(team.criteria, not_yet={0}).items())[:3]),
                             rules={"valid": True}, feedback="Half way.",
                             expected_version=1, actor=ann)
        session.commit()
        version = assessment.version
        moved = assignment.assign(session, assessment.submission, bob, actor=team.admin)
        session.commit()
    session.expire_all()
    assert moved.id == assessment.id
    assert (moved.assessor_id, moved.assigned_via, moved.assigned_by_id) == (
        bob.id, "admin", team.admin.id)
    assert moved.judgements == []
    assert moved.rules == dict.fromkeys(("valid", "sufficient", "authentic", "current"), False)
    assert moved.feedback == ""
    assert moved.version > version
    (entry,) = entries(session, "assessment.reassigned")
    assert entry.changes == {"assessor": [ann.email, bob.email], "judgements_discarded": 3}
    assert entry.actor_id == team.admin.id
    assert kinds(session, bob) == ["submission_received"]
    # Ann can no longer mark it, Bob can.
    with app.app_context(), pytest.raises(AssessmentError, match="Only the assessor"):
        marking.save_marking(session, moved, marks={}, rules={}, feedback="",
                             expected_version=moved.version, actor=ann)
    with app.app_context():
        marking.save_marking(session, moved, marks=all_marks(team.criteria), rules=ALL_RULES,
                             feedback="", expected_version=moved.version, actor=bob)
    # Giving it to the one who has it is refused.
    with app.app_context(), pytest.raises(AssessmentError) as refused:
        assignment.assign(session, moved.submission, bob, actor=team.admin)
    assert str(refused.value) == "Bob Assessor is already assessing this submission."
    assert chain_intact(session)


def test_the_admins_automatic_choice_moves_a_draft_to_someone_else(app, session, team, submit,
                                                                   make_user):
    ann, bob = team.assessors
    assessment = assessment_of(session, submit(team))
    assert assessment.assessor_id == ann.id
    with app.app_context():
        moved = assignment.assign_fewest_open(session, assessment.submission, actor=team.admin)
        session.commit()
    assert moved.id == assessment.id and moved.assessor_id == bob.id
    with app.app_context():
        revoke_authorisation(session, grant_of(session, team, ann), actor=team.admin)
        session.commit()
        with pytest.raises(AssessmentError, match="Nobody else is authorised"):
            assignment.assign_fewest_open(session, assessment.submission, actor=team.admin)


def test_a_signed_decision_cannot_be_given_to_another_assessor(app, session, team, submit,
                                                               decide):
    ann, bob = team.assessors
    team.provider.sample_percent = 100
    session.commit()
    assessment = decide(assessment_of(session, submit(team)), team.criteria, rng=Always())
    assert assessment.status == AssessmentStatus.AWAITING_VERIFICATION
    with app.app_context(), pytest.raises(AssessmentError) as refused:
        assignment.assign(session, assessment.submission, bob, actor=team.admin)
    assert "signed and waiting for internal verification" in str(refused.value)
    with app.app_context(), pytest.raises(AssessmentError):
        assignment.assign_fewest_open(session, assessment.submission, actor=team.admin)
    session.rollback()
    assert assessment.assessor_id == ann.id


def test_a_decided_attempt_cannot_be_assigned(app, session, team, submit, decide):
    assessment = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                        feedback="More please.")
    assert assessment.submission.status == SubmissionStatus.RETURNED
    with app.app_context(), pytest.raises(AssessmentError) as refused:
        assignment.assign(session, assessment.submission, team.assessors[1], actor=team.admin)
    assert str(refused.value).startswith("Attempt 1 is returned;")


def test_an_appealed_attempt_is_assigned_from_the_appeals_page_only(app, session, team, submit,
                                                                    decide):
    ann, bob = team.assessors
    assessment = decide(assessment_of(session, submit(team)), team.criteria, not_yet={0},
                        feedback="More please.")
    with app.app_context():
        appeal = appeals.lodge_appeal(session, assessment, actor=team.candidate,
                                      statement="The report shows criterion one clearly.")
        session.commit()
    assert assessment.submission.status == SubmissionStatus.SUBMITTED
    # Not listed as unassigned (the appeals page lists it).
    assert session.scalars(assignment.unassigned_submissions_query(team.provider.id)).all() == []
    with app.app_context(), pytest.raises(AssessmentError, match="This is an appeal"):
        assignment.assign(session, assessment.submission, bob, actor=team.admin)
    with app.app_context():
        appeals.assign_appeal(session, appeal, bob, actor=team.admin)
        session.commit()
        with pytest.raises(AssessmentError, match="This is an appeal"):
            assignment.assign(session, assessment.submission, ann, actor=team.admin)


def test_assigning_outside_the_provider_is_refused(app, session, team, submit, make_user,
                                                   make_provider):
    south = make_provider("South College", "south-college", "SCOL")
    stranger = make_user("s@south.example", name="Sam South", roles=["assessor"],
                         provider=south)
    authorise(session, south, stranger, Role.ASSESSOR, unit=team.unit, valid_from=today(),
              actor=None)
    session.commit()
    submission = submit(team)
    with app.app_context(), pytest.raises(AssessmentError, match="Sam South is not authorised"):
        assignment.assign(session, submission, stranger, actor=team.admin)
    assert stranger.id not in {p.id for p in assignment.allowed_people(session, submission,
                                                                       Role.ASSESSOR)}
