"""Inviting people, accepting invitations, the people list, a person's page and their roles."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from certify.accounts.models import (
    AuthToken,
    Enrolment,
    EnrolmentStatus,
    Membership,
    Role,
    TokenPurpose,
    User,
    UserSession,
)
from certify.accounts.operations import people
from certify.accounts.operations.auth import digest, find_user
from certify.core.models import AuditEntry, OutboxMessage
from certify.core.types import utcnow
from certify.units.models import Unit
from tests.accounts.conftest import PASSWORD, csrf_token
from tests.units.conftest import HKQF, import_bytes, import_seed  # noqa: F401 - fixtures

NEW_PASSWORD = "lantern orchard pebble quarry"


# Helpers shared by the other test modules of these pages ----------------------------------------


def signed_in(app, user, password: str = PASSWORD):
    """A test client of its own, signed in as ``user`` through the real form."""
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={
        "email": user.email, "password": password,
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def outbox_to(session, recipient: str) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == recipient)
        .order_by(OutboxMessage.id)
    ))


def invitation_token(text: str) -> str:
    match = re.search(r"^http://127\.0\.0\.1:5000/invitation/([A-Za-z0-9_-]+)$", text, re.M)
    assert match, f"no invitation link in:\n{text}"
    return match.group(1)


def post_form(client, path: str, data: dict, form_path: str | None = None):
    """POST ``data`` to ``path`` with the CSRF token of the page at ``form_path``."""
    page = client.get(form_path or path)
    return client.post(path, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def actions(session, provider=None) -> list[str]:
    session.expire_all()
    query = select(AuditEntry.action).order_by(AuditEntry.seq)
    if provider is not None:
        query = query.where(AuditEntry.provider_id == provider.id)
    return list(session.scalars(query))


# Inviting ------------------------------------------------------------------------------------


def test_invite_a_new_person_who_accepts_and_is_signed_in(app, session, provider, admin):
    client = signed_in(app, admin)
    page = client.get("/people/invite")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Invite a person to North College" in html
    assert '<legend class="field__label">Roles</legend>' in html
    response = post_form(client, "/people/invite", {
        "email": " Asha.Assessor@North.Example ", "name": "Asha Assessor",
        "roles": ["assessor", "verifier"]})
    assert response.status_code == 302
    asha = find_user(session, "asha.assessor@north.example")
    assert response.headers["Location"].endswith(f"/people/{asha.id}")
    assert asha.name == "Asha Assessor" and asha.password_hash is None
    assert people.roles_of(asha, provider) == {Role.ASSESSOR, Role.VERIFIER}

    [message] = outbox_to(session, "asha.assessor@north.example")
    assert message.subject == "You are invited to certify by North College"
    assert "Ada Admin has invited you to North College on certify, as assessor, internal " \
           "verifier." in message.text
    assert "for 14 days" in message.text
    token = invitation_token(message.text)
    assert f'href="http://127.0.0.1:5000/invitation/{token}"' in message.html
    assert actions(session, provider)[-4:] == [
        "role.granted", "role.granted", "person.invited", "invitation.issued"]

    visitor = app.test_client()
    page = visitor.get(f"/invitation/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Welcome, Asha Assessor" in html
    assert "North College, as assessor" in html and "North College, as internal verifier" in html
    response = visitor.post(f"/invitation/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_token(html)})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://certify.test/")
    home = visitor.get("/").get_data(as_text=True)
    assert "Asha Assessor" in home and "Acting for <strong>North College</strong>" in home

    session.expire_all()
    assert asha.password_hash is not None
    row = session.scalar(select(AuthToken).where(AuthToken.token_hash == digest(token)))
    assert row.used_at is not None
    assert session.scalar(select(func.count(UserSession.id))
                          .where(UserSession.user_id == asha.id)) == 1
    assert "invitation.accepted" in actions(session, provider)
    assert actions(session)[-3:] == ["password.set", "invitation.accepted", "sign_in"]

    # The link works once; the person now signs in with the password they chose.
    again = app.test_client().get(f"/invitation/{token}")
    assert again.status_code == 410
    assert "Ask North College to send you a new invitation" in again.get_data(as_text=True)
    signed_in(app, asha, NEW_PASSWORD)


def test_an_account_with_a_password_gets_the_roles_and_a_notice(app, session, provider, admin,
                                                                make_user, make_provider):
    elsewhere = make_provider("East School", "east-school", "EAST")
    bo = make_user("bo@east.example", name="Bo Elsewhere", roles=["assessor"], provider=elsewhere)
    client = signed_in(app, admin)
    response = post_form(client, "/people/invite", {
        "email": "bo@east.example", "name": "", "roles": ["assessor", "candidate"]})
    assert response.status_code == 302
    session.expire_all()
    assert people.roles_of(bo, provider) == {Role.ASSESSOR, Role.CANDIDATE}
    assert people.roles_of(bo, elsewhere) == {Role.ASSESSOR}
    assert session.scalar(select(func.count(AuthToken.id)).where(AuthToken.user_id == bo.id)) == 0
    [notice] = outbox_to(session, "bo@east.example")
    assert notice.subject == "New roles at North College on certify"
    assert "new roles at North College on certify: assessor, candidate." in notice.text
    assert "http://127.0.0.1:5000/login" in notice.text
    assert "/invitation/" not in notice.text
    # Bo keeps his name: the form's name is only for new accounts.
    assert bo.name == "Bo Elsewhere"

    # Asking again for roles Bo holds is refused on the page, and nothing is sent.
    response = post_form(client, "/people/invite", {
        "email": "bo@east.example", "name": "", "roles": ["candidate"]})
    assert response.status_code == 422
    assert "Bo Elsewhere already holds every role you ticked in North College." in \
        response.get_data(as_text=True)
    assert len(outbox_to(session, "bo@east.example")) == 1


def test_inviting_again_before_acceptance_replaces_the_link(app, session, provider, admin):
    client = signed_in(app, admin)
    post_form(client, "/people/invite", {"email": "new@north.example", "name": "New Person",
                                         "roles": ["candidate"]})
    post_form(client, "/people/invite", {"email": "new@north.example", "name": "",
                                         "roles": ["candidate", "assessor"]})
    first, second = outbox_to(session, "new@north.example")
    old, new = invitation_token(first.text), invitation_token(second.text)
    assert old != new
    assert app.test_client().get(f"/invitation/{old}").status_code == 410
    assert app.test_client().get(f"/invitation/{new}").status_code == 200
    # Re-sending alone (the same role again) is allowed while no password is set.
    response = post_form(client, "/people/invite", {"email": "new@north.example", "name": "",
                                                    "roles": ["candidate"]})
    assert response.status_code == 302
    assert len(outbox_to(session, "new@north.example")) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "no-at-sign", "name": "X", "roles": ["candidate"]},
         "Enter an email address like name@example.com."),
        ({"email": "two@@example.org", "name": "X", "roles": ["candidate"]},
         "Enter an email address like name@example.com."),
        ({"email": "", "name": "X", "roles": ["candidate"]}, "Enter the person&#39;s email"),
        ({"email": "a" * 250 + "@example.org", "name": "X", "roles": ["candidate"]},
         "An email address has at most 254 characters."),
        ({"email": "x@example.org", "name": "X"}, "Tick at least one role."),
        ({"email": "x@example.org", "name": "", "roles": ["candidate"]},
         "Enter the person&#39;s name."),
        ({"email": "x@example.org", "name": "X", "roles": ["owner"]},
         "owner is not one of the choices."),
        ({"email": "x@example.org", "name": "Line\r\nBcc: evil@example.org",
          "roles": ["candidate"]}, "Use only printable characters in the person&#39;s name"),
        ({"email": "x@example.org", "name": "N" * 201, "roles": ["candidate"]},
         "Use at most 200 characters."),
    ],
)
def test_invalid_invitations_are_refused_and_change_nothing(app, session, provider, admin, data,
                                                            message):
    client = signed_in(app, admin)
    users_before = session.scalar(select(func.count(User.id)))
    response = post_form(client, "/people/invite", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count(User.id))) == users_before
    assert session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_a_disabled_account_is_not_invited(app, session, provider, admin, make_user):
    gone = make_user("gone@example.org", name="Gone")
    gone.disabled_at = utcnow()
    session.commit()
    response = post_form(signed_in(app, admin), "/people/invite", {
        "email": "gone@example.org", "roles": ["candidate"]})
    assert response.status_code == 422
    assert "The account for gone@example.org is disabled" in response.get_data(as_text=True)
    with app.app_context(), pytest.raises(people.AccountError, match="is disabled"):
        people.invite_person(session, provider, "gone@example.org", "", [Role.CANDIDATE], admin,
                             "http://x")


def test_invite_person_repeats_safely(app, session, provider, admin):
    with app.app_context():
        first = people.invite_person(session, provider, "rep@example.org", "Rep", [Role.CANDIDATE],
                                     admin, "https://certify.example/")
        first.password_hash = "set elsewhere"
        again = people.invite_person(session, provider, "rep@example.org", "Rep",
                                     [Role.CANDIDATE], admin, "https://certify.example/")
    assert again is first
    assert len(outbox_to(session, "rep@example.org")) == 1
    session.rollback()


def test_only_provider_admins_invite(app, session, provider, candidate, make_user, make_provider):
    assessor = make_user(roles=["assessor"], provider=provider)
    other_admin = make_user(roles=["provider_admin"], provider=make_provider())
    anonymous = app.test_client().get("/people/invite")
    assert anonymous.status_code == 302 and "/login?next=/people/invite" in \
        anonymous.headers["Location"]
    for user in (candidate, assessor):
        client = signed_in(app, user)
        assert client.get("/people/invite").status_code == 404
        token = csrf_token(client.get("/").get_data(as_text=True))
        response = client.post("/people/invite", data={
            "email": "sneak@example.org", "name": "S", "roles": ["provider_admin"],
            "csrf_token": token})
        assert response.status_code == 404
    # An admin of another provider invites into their own provider only.
    post_form(signed_in(app, other_admin), "/people/invite", {
        "email": "sneak@example.org", "name": "S", "roles": ["provider_admin"]})
    session.expire_all()
    sneak = find_user(session, "sneak@example.org")
    assert people.roles_of(sneak, provider) == set()


# Invitation links ----------------------------------------------------------------------------


@pytest.fixture
def invited(app, session, provider, admin):
    with app.app_context():
        person = people.invite_person(session, provider, "inv@north.example", "Ivy Invited",
                                      [Role.CANDIDATE], admin, "http://127.0.0.1:5000")
    session.commit()
    [message] = outbox_to(session, "inv@north.example")
    return person, invitation_token(message.text)


def test_garbage_and_unknown_tokens_answer_404(client, invited):
    for token in ("nonsense", "x" * 500, invited[1][:-1] + "A", "%00%0a"):
        response = client.get(f"/invitation/{token}")
        assert response.status_code == 404
        assert "This invitation link is not known" in response.get_data(as_text=True)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/invitation/nonsense", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})
    assert response.status_code == 404


def test_an_expired_invitation_answers_410(client, session, invited):
    person, token = invited
    session.execute(update(AuthToken).where(AuthToken.user_id == person.id)
                    .values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = client.get(f"/invitation/{token}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "This invitation link has expired." in html
    assert "Ask North College to send you a new invitation" in html
    response = client.post(f"/invitation/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))})
    assert response.status_code == 410
    session.expire_all()
    assert person.password_hash is None


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "Use at least 12 characters (this has 5)."),
        ("password1234", "password1234", "This password is on a list of commonly used"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords are not the same."),
        ("inv@north.example", "inv@north.example", "Do not use your email address or name"),
        ("", "", "Choose a password."),
        ("x" * 129, "x" * 129, "Use at most 128 characters (this has 129)."),
    ],
)
def test_a_bad_password_keeps_the_invitation_usable(client, session, invited, password, confirm,
                                                    message):
    person, token = invited
    page = client.get(f"/invitation/{token}")
    response = client.post(f"/invitation/{token}", data={
        "password": password, "confirm": confirm,
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert person.password_hash is None
    assert client.get(f"/invitation/{token}").status_code == 200


def test_accepting_needs_the_csrf_token(client, session, invited):
    person, token = invited
    response = client.post(f"/invitation/{token}", data={"password": NEW_PASSWORD,
                                                         "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    session.expire_all()
    assert person.password_hash is None


def test_a_link_for_an_account_that_has_a_password_is_spent(client, session, invited):
    person, token = invited
    person.password_hash = "set through a reset"
    session.commit()
    assert client.get(f"/invitation/{token}").status_code == 410


def test_accepting_replaces_whoever_was_signed_in(app, session, invited, admin):
    _person, token = invited
    client = signed_in(app, admin)
    html = client.get(f"/invitation/{token}").get_data(as_text=True)
    client.post(f"/invitation/{token}", data={
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_token(html)})
    home = client.get("/").get_data(as_text=True)
    assert "Ivy Invited" in home and "Ada Admin" not in home


# The people list -------------------------------------------------------------------------------


@pytest.fixture
def unit(import_seed, session):  # noqa: F811 - the fixture imported above
    import_seed(HKQF)
    return session.scalar(select(Unit).where(Unit.code == "ITCSCR405A"))


def enrol(session, provider, person, unit, status=EnrolmentStatus.ACTIVE):
    session.add(Enrolment(provider_id=provider.id, candidate_id=person.id, unit_id=unit.id,
                          status=status, enrolled_on=date(2025, 1, 6)))
    session.commit()


def test_people_lists_members_of_the_current_provider_only(app, session, provider, admin,
                                                           candidate, make_user, make_provider,
                                                           unit):
    east = make_provider("East School", "east-school", "EAST")
    make_user("outsider@east.example", name="Olga Outsider", roles=["candidate"], provider=east,
              password=None)
    both = make_user("both@example.org", name="Bea Both", roles=["assessor"], provider=provider,
                     password=None)
    from certify.accounts.operations.people import add_role

    add_role(session, both, east, Role.PROVIDER_ADMIN)
    session.commit()
    enrol(session, provider, candidate, unit)
    enrol(session, east, both, unit)

    page = signed_in(app, admin).get("/people")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "People at North College" in html
    assert "Ada Admin" in html and "Chen Candidate" in html and "Bea Both" in html
    assert "Olga Outsider" not in html
    assert "Showing 1–3 of 3 people" in html
    row = html[html.index("Bea Both"):]
    row = row[:row.index("</tr>")]
    # Bea's roles and enrolments at North College only, not her East School ones.
    assert "Assessor" in row and "Provider admin" not in row and '<td class="num">0</td>' in row
    row = html[html.index("Chen Candidate"):]
    assert '<td class="num">1</td>' in row[:row.index("</tr>")]
    assert 'href="/people/invite"' in html


def test_search_role_filter_and_pagination(app, session, provider, admin, make_user):
    for n in range(30):
        make_user(f"learner{n:02}@north.example", name=f"Learner {n:02}", roles=["candidate"],
                  provider=provider, password=None)
    make_user("zed@north.example", name="Zed Verifier", roles=["verifier"], provider=provider,
              password=None)
    client = signed_in(app, admin)
    first = client.get("/people").get_data(as_text=True)
    assert "Showing 1–25 of 32 people" in first
    assert "Page 1 of 2" in first and 'href="/people?page=2"' in first
    second = client.get("/people?page=2").get_data(as_text=True)
    assert "Showing 26–32 of 32 people" in second and "Zed Verifier" in second
    found = client.get("/people?q=zed").get_data(as_text=True)
    assert "Zed Verifier" in found and "Learner" not in found
    assert "Showing 1–1 of 1 people" in client.get("/people?q=NORTH.EXAMPLE&role=verifier") \
        .get_data(as_text=True)
    by_role = client.get("/people?role=provider_admin").get_data(as_text=True)
    assert "Ada Admin" in by_role and "Learner" not in by_role
    # LIKE wildcards are searched for literally.
    assert "No people found" in client.get("/people?q=%25_").get_data(as_text=True)
    # Nonsense filters are ignored rather than failing.
    assert client.get("/people?role=owner&page=-3").status_code == 200


def test_people_list_query_count_is_flat(app, session, provider, admin, make_user, unit,
                                         count_queries):
    client = signed_in(app, admin)

    def add(n):
        for _ in range(n):
            person = make_user(roles=["candidate", "assessor"], provider=provider, password=None)
            enrol(session, provider, person, unit)

    add(4)
    with count_queries() as few:
        assert client.get("/people").status_code == 200
    add(35)
    with count_queries() as many:
        html = client.get("/people").get_data(as_text=True)
    assert "of 40 people" in html
    assert many.count == few.count


def test_staff_see_people_and_others_do_not(app, session, provider, admin, candidate, make_user,
                                            make_provider):
    assessor = make_user(roles=["assessor"], provider=provider)
    verifier = make_user(roles=["verifier"], provider=provider)
    for user in (assessor, verifier):
        html = signed_in(app, user).get("/people").get_data(as_text=True)
        assert "Chen Candidate" in html
        # Staff who are not admins are not offered the invitation.
        assert 'href="/people/invite"' not in html
    assert signed_in(app, candidate).get("/people").status_code == 404
    anonymous = app.test_client().get("/people")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    platform = make_user(platform_admin=True)
    assert signed_in(app, platform).get("/people").status_code == 404
    other_admin = make_user(roles=["provider_admin"], provider=make_provider())
    html = signed_in(app, other_admin).get("/people").get_data(as_text=True)
    assert "Chen Candidate" not in html and "Ada Admin" not in html


# A person's page and their roles -----------------------------------------------------------


def test_person_page_shows_roles_enrolments_and_authorisations(app, session, provider, admin,
                                                               candidate, unit, make_user):
    enrol(session, provider, candidate, unit)
    assessor = make_user("ash@north.example", name="Ash Assessor", roles=["assessor"],
                         provider=provider)
    from certify.accounts.operations.authorisations import authorise

    authorise(session, provider, assessor, Role.ASSESSOR, unit=unit,
              valid_from=date(2025, 1, 1), valid_to=None, actor=admin)
    session.commit()
    client = signed_in(app, admin)
    html = client.get(f"/people/{candidate.id}").get_data(as_text=True)
    assert "<h1>Chen Candidate</h1>" in html and "cand@north.example" in html
    assert "ITCSCR405A" in html and "Active" in html
    assert '<input checked id="roles-3" name="roles" type="checkbox" value="candidate">' in html
    assert '<input id="roles-0" name="roles" type="checkbox" value="provider_admin">' in html
    html = client.get(f"/people/{assessor.id}").get_data(as_text=True)
    assert "Authorisations at North College" in html and "open-ended" in html
    assert "status--active" in html


def test_person_pages_of_other_providers_answer_404(app, session, provider, admin, candidate,
                                                    make_user, make_provider):
    east = make_provider("East School", "east-school", "EAST")
    outsider = make_user(roles=["candidate"], provider=east)
    east_admin = make_user(roles=["provider_admin"], provider=east)
    client = signed_in(app, admin)
    assert client.get(f"/people/{outsider.id}").status_code == 404
    assert client.get("/people/999999").status_code == 404
    assert signed_in(app, east_admin).get(f"/people/{candidate.id}").status_code == 404
    assert signed_in(app, candidate).get(f"/people/{admin.id}").status_code == 404
    anonymous = app.test_client().get(f"/people/{candidate.id}")
    assert anonymous.status_code == 302
    # Changing the roles of another provider's person: 404, nothing changes.
    response = post_form(client, f"/people/{outsider.id}/roles", {"roles": ["provider_admin"]},
                         form_path="/people")
    assert response.status_code == 404
    session.expire_all()
    assert people.roles_of(outsider, provider) == set()


def test_admin_changes_roles_with_an_audit_entry(app, session, provider, admin, candidate):
    client = signed_in(app, admin)
    response = post_form(client, f"/people/{candidate.id}/roles",
                         {"roles": ["assessor", "candidate"]}, form_path=f"/people/{candidate.id}")
    assert response.status_code == 302
    session.expire_all()
    assert people.roles_of(candidate, provider) == {Role.ASSESSOR, Role.CANDIDATE}
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "roles.changed"))
    assert entry.changes == {"roles": [["candidate"], ["assessor", "candidate"]]}
    assert entry.provider_id == provider.id and entry.actor_id == admin.id
    assert entry.object_type == "User" and entry.object_id == str(candidate.id)

    response = post_form(client, f"/people/{candidate.id}/roles", {"roles": ["assessor"]},
                         form_path=f"/people/{candidate.id}")
    assert response.status_code == 302
    session.expire_all()
    assert people.roles_of(candidate, provider) == {Role.ASSESSOR}
    assert session.scalar(select(func.count(Membership.id))
                          .where(Membership.user_id == candidate.id)) == 1


def test_role_changes_that_are_refused(app, session, provider, admin, candidate, make_user):
    client = signed_in(app, admin)
    response = post_form(client, f"/people/{candidate.id}/roles", {},
                         form_path=f"/people/{candidate.id}")
    assert response.status_code == 422
    assert "Tick at least one role." in response.get_data(as_text=True)
    response = post_form(client, f"/people/{admin.id}/roles", {"roles": ["assessor"]},
                         form_path=f"/people/{admin.id}")
    assert response.status_code == 422
    assert "You cannot remove your own provider admin role" in response.get_data(as_text=True)
    response = post_form(client, f"/people/{candidate.id}/roles", {"roles": ["root"]},
                         form_path=f"/people/{candidate.id}")
    assert response.status_code == 422
    session.expire_all()
    assert people.roles_of(admin, provider) == {Role.PROVIDER_ADMIN}
    assert people.roles_of(candidate, provider) == {Role.CANDIDATE}
    assert "roles.changed" not in actions(session)

    # Staff who are not admins cannot change roles.
    assessor = make_user(roles=["assessor"], provider=provider)
    other = signed_in(app, assessor)
    html = other.get(f"/people/{candidate.id}").get_data(as_text=True)
    assert "Change roles" not in html
    response = post_form(other, f"/people/{candidate.id}/roles", {"roles": ["provider_admin"]},
                         form_path="/people")
    assert response.status_code == 404


def test_the_last_active_admin_keeps_the_role(session, provider, admin, make_user):
    with pytest.raises(people.AccountError, match="last provider admin of North College"):
        people.set_roles(session, admin, provider, [Role.ASSESSOR], actor=None)
    second = make_user(roles=["provider_admin"], provider=provider)
    second.disabled_at = utcnow()
    session.flush()
    # A disabled admin cannot manage the provider, so does not count.
    with pytest.raises(people.AccountError, match="last provider admin"):
        people.set_roles(session, admin, provider, [Role.ASSESSOR], actor=None)
    second.disabled_at = None
    old, new = people.set_roles(session, admin, provider, [Role.ASSESSOR], actor=second)
    assert (old, new) == ({Role.PROVIDER_ADMIN}, {Role.ASSESSOR})


def test_set_roles_refuses_a_non_member(session, provider, make_user):
    stranger = make_user()
    with pytest.raises(people.AccountError, match="is not a member of North College"):
        people.set_roles(session, stranger, provider, [Role.CANDIDATE], actor=None)


def test_invitation_token_purpose_is_checked(client, session, invited):
    person, token = invited
    session.execute(update(AuthToken).where(AuthToken.user_id == person.id)
                    .values(purpose=TokenPurpose.PASSWORD_RESET))
    session.commit()
    assert client.get(f"/invitation/{token}").status_code == 404
