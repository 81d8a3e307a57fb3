"""The conflicts of interest page: assessors and verifiers declare their own, admins record
anyone's and see them all, and declarations are withdrawn with a confirmation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from certify.assessors.models import AssessmentStatus, ConflictOfInterest
from certify.assessors.operations import conflicts
from tests.assessors.conftest import assessment_of
from tests.evidence.test_submissions import text
from tests.people import csrf_token

URL = "/assessment/conflicts"


def withdraw_url(conflict) -> str:
    return f"{URL}/{conflict.id}/withdraw"


@pytest.fixture
def sign_in_as(client, login):
    def run(user) -> str:
        """Sign ``user`` in (signing out first) and answer a CSRF token of their session."""
        home = client.get("/account")
        if home.status_code == 200:
            client.post("/logout", data={"csrf_token": csrf_token(home.get_data(as_text=True))})
        assert login(user).status_code in (302, 303)
        return csrf_token(client.get("/account").get_data(as_text=True))

    return run


def declared(app, session, team, staff, candidate, reason="My cousin", actor=None):
    with app.app_context():
        conflict = conflicts.declare_conflict(session, team.provider, staff, candidate,
                                              reason=reason, actor=actor or staff)
        session.commit()
    return conflict


def options(html: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_html, f"no select {name}"
    return [" ".join(o.split()) for o in re.findall(r"<option[^>]*>(.*?)</option>",
                                                     select_html.group(1))]


def test_an_assessor_declares_a_conflict_for_themself(app, client, session, team, submit,
                                                     sign_in_as, make_user):
    submission = submit(team)
    draft = assessment_of(session, submission)
    assessor = draft.assessor
    other = next(a for a in team.assessors if a.id != assessor.id)
    token = sign_in_as(assessor)
    html = client.get(URL).get_data(as_text=True)
    assert "Declare a conflict of interest" in html and 'name="staff_id"' not in html
    assert options(html, "candidate_id") == ["Choose a candidate",
                                             "Chen Candidate (cand@north.example)"]
    assert "You have not declared a conflict of interest" in text(client.get(URL))
    response = client.post(URL, data={"csrf_token": token, "candidate_id": team.candidate.id,
                                      "reason": "  She is my sister.  "})
    assert response.status_code == 303 and response.headers["Location"].endswith(URL)
    session.expire_all()
    conflict = session.scalar(select(ConflictOfInterest))
    assert (conflict.staff_id, conflict.candidate_id, conflict.reason) == (
        assessor.id, team.candidate.id, "She is my sister.")
    assert conflict.declared_by_id == assessor.id
    # The draft the assessor held for that candidate went to somebody else.
    assert draft.status == AssessmentStatus.DISCARDED
    assert assessment_of(session, submission).assessor_id == other.id
    page = text(client.get(URL))
    assert "Conflict of interest recorded: " in page
    assert "Chen Candidate" in page and "She is my sister." in page and "In force" in page


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"reason": "Cousin"}, 422, "Choose the candidate."),
    ({"candidate_id": "{candidate}"}, 422, "Say what the conflict of interest is."),
    ({"candidate_id": "{candidate}", "reason": " "}, 422, "Say what the conflict of interest is."),
    ({"candidate_id": "{candidate}", "reason": "x" * 2001}, 422,
     "Keep the reason under 2,000 characters."),
    ({"candidate_id": "999999", "reason": "Cousin"}, 422, "Choose a candidate of this provider."),
    ({"candidate_id": "abc", "reason": "Cousin"}, 422, "Choose a candidate from the list."),
    ({"candidate_id": "{verifier}", "reason": "Cousin"}, 422,
     "Choose a candidate of this provider."),
    ({"candidate_id": "{candidate}", "staff_id": "{verifier}", "reason": "Not for me"}, 303, ""),
])
def test_broken_declarations_are_refused_and_change_nothing(client, session, team,
                                                            sign_in_as, data, status, message):
    token = sign_in_as(team.assessors[0])
    values = {k: v.format(candidate=team.candidate.id, verifier=team.verifier.id)
              for k, v in data.items()}
    response = client.post(URL, data={"csrf_token": token, **values})
    assert response.status_code == status
    session.expire_all()
    found = session.scalars(select(ConflictOfInterest)).all()
    if status == 303:
        # A non-admin's staff_id is ignored: they only ever declare for themselves.
        assert [(c.staff_id, c.candidate_id) for c in found] == [
            (team.assessors[0].id, team.candidate.id)]
        return
    assert message in text(response)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert found == []


def test_a_second_declaration_for_the_same_candidate_is_refused(app, client, session, team,
                                                                sign_in_as):
    declared(app, session, team, team.verifier, team.candidate)
    token = sign_in_as(team.verifier)
    response = client.post(URL, data={"csrf_token": token, "candidate_id": team.candidate.id,
                                      "reason": "Again"})
    assert response.status_code == 409
    assert "is already recorded" in text(response)
    session.expire_all()
    assert len(session.scalars(select(ConflictOfInterest)).all()) == 1


def test_an_admin_records_anyones_conflict_and_sees_every_declaration(
        app, client, session, team, sign_in_as, make_user):
    declared(app, session, team, team.verifier, team.candidate, reason="Verifier's cousin")
    token = sign_in_as(team.admin)
    html = client.get(URL).get_data(as_text=True)
    assert "Record a conflict of interest" in html
    assert options(html, "staff_id") == [
        "Choose a staff member", "Ann Assessor (assessor1@north.example)",
        "Bob Assessor (assessor2@north.example)", "Vera Verifier (verifier@north.example)"]
    assert "Verifier's cousin" in text(client.get(URL))
    assert "Every declaration at North College" in html
    # Staff must be an assessor or verifier; the admin and the candidate are not offered.
    response = client.post(URL, data={"csrf_token": token, "staff_id": team.admin.id,
                                      "candidate_id": team.candidate.id, "reason": "Me"})
    assert response.status_code == 422
    assert "Choose an assessor or internal verifier of this provider." in text(response)
    response = client.post(URL, data={"csrf_token": token, "candidate_id": team.candidate.id,
                                      "reason": "Nobody chosen"})
    assert response.status_code == 422
    assert "Choose the assessor or internal verifier." in text(response)
    bob = team.assessors[1]
    response = client.post(URL, data={"csrf_token": token, "staff_id": bob.id,
                                      "candidate_id": team.candidate.id,
                                      "reason": "Bob manages her at work"})
    assert response.status_code == 303
    session.expire_all()
    recorded = session.scalar(select(ConflictOfInterest).where(
        ConflictOfInterest.staff_id == bob.id))
    assert recorded.declared_by_id == team.admin.id
    page = text(client.get(URL))
    assert "Bob manages her at work" in page and "by Ada Admin" in page
    # Assessors see only their own declarations.
    sign_in_as(bob)
    page = text(client.get(URL))
    assert "Bob manages her at work" in page and "Verifier's cousin" not in page


def test_a_declaration_is_withdrawn_after_confirming(app, client, session, team, sign_in_as):
    conflict = declared(app, session, team, team.verifier, team.candidate)
    token = sign_in_as(team.verifier)
    html = client.get(URL).get_data(as_text=True)
    assert f'action="{withdraw_url(conflict)}"' in html
    # Withdrawing asks once more, inside a disclosure that works without script.
    confirm = html[html.index('<details class="confirm">'):html.index("</details>")]
    assert "Yes, withdraw it" in confirm and "may then be given" in confirm
    response = client.post(withdraw_url(conflict), data={"csrf_token": token})
    assert response.status_code == 303
    session.expire_all()
    assert conflict.withdrawn_at is not None
    page = text(client.get(URL))
    assert "Declaration withdrawn" in page and "Withdrawn" in page
    assert f'action="{withdraw_url(conflict)}"' not in client.get(URL).get_data(as_text=True)
    response = client.post(withdraw_url(conflict), data={"csrf_token": token})
    assert response.status_code == 409
    assert "already been withdrawn" in text(response)


def test_an_admin_withdraws_anyones_declaration(app, client, session, team, sign_in_as):
    conflict = declared(app, session, team, team.verifier, team.candidate)
    token = sign_in_as(team.admin)
    assert client.post(withdraw_url(conflict), data={"csrf_token": token}).status_code == 303
    session.expire_all()
    assert conflict.withdrawn_at is not None


@pytest.mark.parametrize("who", ["other_assessor", "candidate", "other_admin"])
def test_others_cannot_withdraw_a_declaration(app, client, session, team, sign_in_as,
                                              make_provider, make_user, who):
    conflict = declared(app, session, team, team.verifier, team.candidate)
    if who == "other_admin":
        south = make_provider("South Institute", "south", "SOUTH")
        person = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    else:
        person = team.assessors[0] if who == "other_assessor" else team.candidate
    token = sign_in_as(person)
    assert client.post(withdraw_url(conflict), data={"csrf_token": token}).status_code == 404
    assert client.post(f"{URL}/999999/withdraw", data={"csrf_token": token}).status_code == 404
    session.expire_all()
    assert conflict.withdrawn_at is None


def test_candidates_have_no_conflicts_page(client, session, team, sign_in_as):
    token = sign_in_as(team.candidate)
    assert client.get(URL).status_code == 403
    response = client.post(URL, data={"csrf_token": token, "candidate_id": team.candidate.id,
                                      "reason": "x"})
    assert response.status_code == 403
    assert session.scalars(select(ConflictOfInterest)).all() == []


def test_another_providers_admin_sees_their_own_providers_page(app, client, session, team,
                                                               sign_in_as, make_provider,
                                                               make_user):
    declared(app, session, team, team.verifier, team.candidate, reason="North only")
    south = make_provider("South Institute", "south", "SOUTH")
    admin = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    token = sign_in_as(admin)
    response = client.get(URL)
    assert response.status_code == 200
    page = text(response)
    assert "Conflicts of interest at South Institute" in page and "North only" not in page
    assert "Chen Candidate" not in page
    # North's people cannot be chosen from South.
    response = client.post(URL, data={"csrf_token": token, "staff_id": team.verifier.id,
                                      "candidate_id": team.candidate.id, "reason": "x"})
    assert response.status_code == 422
    session.expire_all()
    assert len(session.scalars(select(ConflictOfInterest)).all()) == 1


def test_the_list_reads_in_the_same_number_of_queries_however_long(
        app, client, session, team, sign_in_as, make_user, count_queries):
    candidates = [make_user(f"c{n}@north.example", name=f"Cand {n}", roles=["candidate"],
                            provider=team.provider) for n in range(6)]
    for person in candidates[:2]:
        declared(app, session, team, team.verifier, person, actor=team.admin)
    sign_in_as(team.admin)

    def measure() -> int:
        client.get(URL)
        with count_queries() as counter:
            assert client.get(URL).status_code == 200
        return counter.count

    few = measure()
    for person in candidates[2:]:
        declared(app, session, team, team.assessors[0], person, actor=team.admin)
    assert measure() == few
    assert len(re.findall(r"<tr>", client.get(URL).get_data(as_text=True))) == 7
