"""The provider admin's appeals list and giving an appeal to a different assessor."""

from __future__ import annotations

from sqlalchemy import select

from certify.accounts.models import Enrolment, Role
from certify.accounts.operations.authorisations import authorise, today
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
)
from certify.assessors.operations import appeals, quality
from certify.assessors.operations.conflicts import declare_conflict
from certify.core.models import AuditEntry
from tests.assessors.conftest import assessment_of
from tests.assessors.test_assignment_views import (
    add_candidate,
    other_provider_admin,
    submit_enrolment,
    token,
)
from tests.evidence.test_submissions import text

STATEMENT = "The plan was used at work; page three shows the campaign results."


def lodged_appeal(app, session, decide, team, enrolment: Enrolment, *,
                  statement: str = STATEMENT) -> Appeal:
    """A confirmed not yet competent decision on ``enrolment``, appealed by its candidate."""
    submission = submit_enrolment(app, session, enrolment)
    decided = decide(assessment_of(session, submission), team.criteria, not_yet={0})
    session.expire_all()
    assert decided.status == AssessmentStatus.CONFIRMED
    with app.app_context():
        appeal = appeals.lodge_appeal(session, decided, actor=enrolment.candidate,
                                      statement=statement)
        session.commit()
    return appeal


def assign_post(client, appeal_id: int, query: str = "", **data):
    return client.post(f"/assessment/appeals/{appeal_id}/assign{query}",
                       data={"csrf_token": token(client), **data})


def reload(session, appeal: Appeal) -> Appeal:
    session.expire_all()
    return session.get(Appeal, appeal.id)


def test_appeals_list_shows_the_statement_decision_and_the_other_assessors(
        app, session, client, login, team, decide):
    appeal = lodged_appeal(app, session, decide, team, team.enrolment)
    original = appeal.assessment
    other = next(a for a in team.assessors if a.id != original.assessor_id)
    login(team.admin)
    response = client.get("/assessment/appeals")
    assert response.status_code == 200
    page = text(response)
    assert STATEMENT in page
    assert f"Not yet competent, by {original.assessor.name}, confirmed" in page
    assert "Lodged, waiting for an assessor" in page
    body = response.get_data(as_text=True)
    form = body.split(f"/assessment/appeals/{appeal.id}/assign")[1].split("</form>")[0]
    assert f"{other.name} (0 open)" in form
    assert original.assessor.name not in form
    assert f'href="/assessment/assessments/{original.id}"' in body


def test_admin_assigns_an_appeal_to_a_different_assessor(app, session, client, login, team,
                                                         decide):
    appeal = lodged_appeal(app, session, decide, team, team.enrolment)
    original = appeal.assessment
    other = next(a for a in team.assessors if a.id != original.assessor_id)
    login(team.admin)
    response = assign_post(client, appeal.id, "?status=lodged", assessor_id=str(other.id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/assessment/appeals?status=lodged")
    appeal = reload(session, appeal)
    assert appeal.status == AppealStatus.ASSIGNED
    new = appeal.new_assessment
    assert new.assessor_id == other.id and new.kind == AssessmentKind.APPEAL
    assert new.replaces_id == original.id and new.status == AssessmentStatus.DRAFT
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "appeal.assigned")).one()
    assert entry.actor_id == team.admin.id
    page = text(client.get("/assessment/appeals"))
    assert f"appeal on {team.unit.code} is assigned to {other.name}" in page
    assert f"Reassessed by{other.name}, being marked" in page  # <dt>…</dt><dd>…
    # An assigned appeal has no form any more, and posting again is refused.
    assert f"/assessment/appeals/{appeal.id}/assign" not in client.get(
        "/assessment/appeals").get_data(as_text=True)
    response = assign_post(client, appeal.id, assessor_id=str(other.id))
    assert response.status_code == 409
    assert "This appeal is assigned; it has an assessor already." in text(response)


def test_assigning_the_original_assessor_or_someone_not_allowed_is_409(
        app, session, client, login, make_user, team, decide):
    appeal = lodged_appeal(app, session, decide, team, team.enrolment)
    original = appeal.assessment
    other = next(a for a in team.assessors if a.id != original.assessor_id)
    with app.app_context():
        declare_conflict(session, team.provider, other, team.candidate, reason="Neighbour",
                         actor=team.admin)
        session.commit()
    unauthorised = make_user("assessor9@north.example", name="Una Unauthorised",
                             roles=["assessor"], provider=team.provider)
    login(team.admin)
    for person, message in (
        (original.assessor, "made the decision under appeal; choose a different assessor."),
        (other, "has declared a conflict of interest with Chen Candidate"),
        (unauthorised, f"is not authorised to assess {team.unit.code}"),
        (team.candidate, "is the candidate of this submission"),
    ):
        response = assign_post(client, appeal.id, assessor_id=str(person.id))
        assert response.status_code == 409, person
        page = text(response)
        assert message in page and "The appeal was not assigned" in page
        assert reload(session, appeal).status == AppealStatus.LODGED
    # Nobody is left to offer: the row says so instead of an empty list.
    page = text(client.get("/assessment/appeals"))
    assert "who made the decision, is authorised to assess" in page


def test_assign_appeal_bad_input_is_422(app, session, client, login, make_user, make_provider,
                                        team, decide):
    appeal = lodged_appeal(app, session, decide, team, team.enrolment)
    south_admin = other_provider_admin(make_provider, make_user)
    login(team.admin)
    for data, message in (({}, "Choose the assessor who reassesses this appeal."),
                          ({"assessor_id": ""}, "Choose the assessor who reassesses this appeal."),
                          ({"assessor_id": "automatic"}, "Choose an assessor from the list."),
                          ({"assessor_id": str(south_admin.id)},
                           "Choose an assessor from the list.")):
        response = assign_post(client, appeal.id, **data)
        assert response.status_code == 422, data
        page = text(response)
        assert message in page
        assert south_admin.name not in page
    assert reload(session, appeal).status == AppealStatus.LODGED


def test_appeals_status_filter_and_empty_states(app, session, client, login, team, decide):
    login(team.admin)
    page = text(client.get("/assessment/appeals"))
    assert "No candidate at North College has appealed a decision." in page
    lodged_appeal(app, session, decide, team, team.enrolment)
    page = text(client.get("/assessment/appeals?status=decided"))
    assert "No appeal at North College is decided." in page
    assert STATEMENT in text(client.get("/assessment/appeals?status=lodged"))
    # An unknown status is ignored; nonsense page numbers too.
    response = client.get("/assessment/appeals?status=<script>&page=abc")
    assert response.status_code == 200
    assert STATEMENT in text(response)


def test_decided_appeal_shows_the_new_decision(app, session, client, login, team, decide):
    appeal = lodged_appeal(app, session, decide, team, team.enrolment)
    other = next(a for a in team.assessors if a.id != appeal.assessment.assessor_id)
    login(team.admin)
    assign_post(client, appeal.id, assessor_id=str(other.id))
    appeal = reload(session, appeal)
    # Competent after not yet competent: sampled, and confirmed by the verifier.
    reassessment = decide(appeal.new_assessment, team.criteria)
    with app.app_context():
        quality.verify(session, reassessment, actor=team.verifier, agree=True, comment="")
        session.commit()
    appeal = reload(session, appeal)
    assert appeal.status == AppealStatus.DECIDED
    page = text(client.get("/assessment/appeals?status=decided"))
    assert f"Reassessed by{other.name}, confirmed: Competent, decided" in page
    assert "Decided" in page


def test_appeals_are_for_admins_and_404_across_providers(app, session, client, login, make_user,
                                                         make_provider, team, decide):
    appeal = lodged_appeal(app, session, decide, team, team.enrolment)
    other = next(a for a in team.assessors if a.id != appeal.assessment.assessor_id)
    assert client.get("/assessment/appeals").status_code == 302
    for person in (team.assessors[0], team.verifier, team.candidate):
        login(person)
        assert client.get("/assessment/appeals").status_code == 403
        assert assign_post(client, appeal.id, assessor_id=str(other.id)).status_code == 404
        client.post("/logout", data={"csrf_token": token(client)})
    south_admin = other_provider_admin(make_provider, make_user)
    login(south_admin)
    page = text(client.get("/assessment/appeals"))
    assert STATEMENT not in page and "South Institute" in page
    assert assign_post(client, appeal.id, assessor_id=str(other.id)).status_code == 404
    assert assign_post(client, 999999, assessor_id=str(other.id)).status_code == 404
    assert reload(session, appeal).status == AppealStatus.LODGED


def test_appeals_query_count_stays_flat(app, session, client, login, make_user, team, decide,
                                        count_queries):
    def assign_to_other(appeal: Appeal) -> None:
        other = next(a for a in team.assessors if a.id != appeal.assessment.assessor_id)
        assert assign_post(client, appeal.id, assessor_id=str(other.id)).status_code == 303

    login(team.admin)
    # One appeal of each kind on the page: lodged and being reassessed.
    assign_to_other(lodged_appeal(app, session, decide, team, team.enrolment))
    lodged_appeal(app, session, decide, team, add_candidate(session, make_user, team, 50))
    client.get("/assessment/appeals")
    with count_queries() as few:
        client.get("/assessment/appeals")
    extra = make_user("assessor3@north.example", name="Cy Assessor", roles=["assessor"],
                      provider=team.provider)
    authorise(session, team.provider, extra, Role.ASSESSOR, unit=team.unit, valid_from=today(),
              actor=team.admin)
    session.commit()
    for n in range(51, 55):
        appeal = lodged_appeal(app, session, decide, team,
                               add_candidate(session, make_user, team, n))
        if n % 2:
            assign_to_other(appeal)
    with count_queries() as many:
        response = client.get("/assessment/appeals")
    assert text(response).count(STATEMENT) == 6
    assert "Cy Assessor (" in text(response)
    assert few.count == many.count
    assert session.scalar(select(Assessment.id).where(Assessment.kind == AssessmentKind.APPEAL))
