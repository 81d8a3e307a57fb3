"""Training providers: the platform administrator's list and the form that creates one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from certify.accounts.models import AuthToken, Provider, Role
from certify.accounts.operations.auth import find_user
from certify.core.models import AuditEntry, OutboxMessage
from tests.accounts.conftest import csrf_token
from tests.accounts.test_people import invitation_token, outbox_to, signed_in


@pytest.fixture
def platform_admin(make_user):
    return make_user("root@platform.example", name="Pat Platform", platform_admin=True)


def _form(client, **values):
    page = client.get("/admin/providers/new")
    assert page.status_code == 200
    data = {"name": "South Academy", "slug": "south-academy", "certificate_prefix": "SACA",
            "admin_email": "boss@south.example", "admin_name": "Sam South",
            "csrf_token": csrf_token(page.get_data(as_text=True))}
    data.update(values)
    return client.post("/admin/providers/new", data=data)


def test_list_shows_each_provider_with_its_member_count(app, session, platform_admin, provider,
                                                        admin, candidate, make_provider):
    make_provider("Empty Institute", "empty-institute", "EMPTY")
    page = signed_in(app, platform_admin).get("/admin/providers")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "North College" in html and "north-college" in html and "NCOL" in html
    rows = {line.strip() for line in html.splitlines()}
    assert '<td class="num">2</td>' in rows  # North College: an admin and a candidate
    assert '<td class="num">0</td>' in rows  # the empty institute
    assert 'href="/admin/providers/new"' in html


def test_list_is_one_query_however_many_providers(app, session, platform_admin, make_provider,
                                                  make_user, count_queries):
    client = signed_in(app, platform_admin)

    def grow(n):
        for _ in range(n):
            provider = make_provider()
            make_user(password=None, roles=["candidate"], provider=provider)

    grow(2)
    with count_queries() as few:
        assert client.get("/admin/providers").status_code == 200
    grow(10)
    with count_queries() as many:
        assert client.get("/admin/providers").status_code == 200
    assert many.count == few.count


def test_create_provider_and_invite_its_first_admin(app, session, platform_admin):
    client = signed_in(app, platform_admin)
    response = _form(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/providers")
    session.expire_all()
    created = session.scalar(select(Provider).where(Provider.slug == "south-academy"))
    assert (created.name, created.certificate_prefix) == ("South Academy", "SACA")
    boss = find_user(session, "boss@south.example")
    assert boss.name == "Sam South" and boss.password_hash is None
    assert {(m.provider_id, m.role) for m in boss.memberships} == {
        (created.id, Role.PROVIDER_ADMIN)
    }
    [message] = outbox_to(session, "boss@south.example")
    assert "South Academy" in message.subject
    assert "Pat Platform has invited you to South Academy" in message.text
    # The link works: the new admin sets a password and lands signed in.
    token = invitation_token(message.text)
    page = app.test_client().get(f"/invitation/{token}")
    assert page.status_code == 200
    assert "South Academy" in page.get_data(as_text=True)
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.provider_id == created.id)
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == ["provider.created", "role.granted", "person.invited", "invitation.issued"]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "provider.created"))
    assert entry.actor_email == "root@platform.example"
    assert entry.changes == {"name": "South Academy", "slug": "south-academy",
                             "certificate_prefix": "SACA"}


def test_an_existing_account_is_made_admin_without_a_new_invitation(app, session, platform_admin,
                                                                    admin):
    client = signed_in(app, platform_admin)
    response = _form(client, admin_email="ADMIN@north.example ", admin_name="")
    assert response.status_code == 302
    session.expire_all()
    created = session.scalar(select(Provider).where(Provider.slug == "south-academy"))
    assert Role.PROVIDER_ADMIN in {m.role for m in admin.memberships
                                   if m.provider_id == created.id}
    assert session.scalar(select(func.count(AuthToken.id))
                          .where(AuthToken.user_id == admin.id)) == 0
    [message] = outbox_to(session, "admin@north.example")
    assert "/invitation/" not in message.text
    assert "provider admin" in message.text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"slug": "north-college"}, "Another provider already has the short name north-college."),
        ({"certificate_prefix": "ncol"},
         "Another provider already has the certificate prefix NCOL."),
        ({"name": "North College"}, "Another provider already has the name North College."),
        ({"slug": "Not a slug!"}, "The short name may use lower-case letters, digits and hyphens"),
        ({"certificate_prefix": "S-1"}, "The certificate prefix is 2 to 12 capital letters"),
        ({"admin_email": "not-an-address"}, "Enter an email address like name@example.com."),
        ({"admin_email": "x@localhost"}, "Enter an email address like name@example.com."),
        ({"admin_email": ""}, "Enter the person&#39;s email address."),
        ({"admin_name": ""}, "Enter the admin&#39;s name (they do not have an account yet)."),
        ({"name": "   "}, "Enter the provider&#39;s name."),
        ({"name": "Bad\nName"}, "Use only printable characters in the provider&#39;s name"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(app, session, platform_admin, provider, values,
                                                message):
    client = signed_in(app, platform_admin)
    before = session.scalar(select(func.count(Provider.id)))
    audit_before = session.scalar(select(func.count(AuditEntry.id)))
    response = _form(client, **values)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count(Provider.id))) == before
    assert session.scalar(select(func.count(OutboxMessage.id))) == 0
    # Signing in is the only thing recorded.
    assert session.scalar(select(func.count(AuditEntry.id))) == audit_before


def test_without_a_csrf_token_nothing_is_created(app, session, platform_admin):
    client = signed_in(app, platform_admin)
    response = client.post("/admin/providers/new", data={
        "name": "Forged", "slug": "forged", "certificate_prefix": "FORGE",
        "admin_email": "f@forged.example", "admin_name": "F"})
    assert response.status_code == 400
    session.expire_all()
    assert session.scalar(select(Provider).where(Provider.slug == "forged")) is None


def test_only_platform_administrators_reach_the_provider_pages(app, session, admin, candidate,
                                                               make_user, provider):
    assessor = make_user(roles=["assessor"], provider=provider)
    for path in ("/admin/providers", "/admin/providers/new"):
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        for user in (admin, candidate, assessor):
            assert signed_in(app, user).get(path).status_code == 404
    client = signed_in(app, admin)
    token = csrf_token(client.get("/people").get_data(as_text=True))
    response = client.post("/admin/providers/new", data={
        "name": "Sneaky", "slug": "sneaky", "certificate_prefix": "SNEAK",
        "admin_email": "s@sneaky.example", "admin_name": "S", "csrf_token": token})
    assert response.status_code == 404
    session.expire_all()
    assert session.scalar(select(Provider).where(Provider.slug == "sneaky")) is None


def test_empty_list(app, session, platform_admin):
    html = signed_in(app, platform_admin).get("/admin/providers").get_data(as_text=True)
    assert "No training providers yet" in html
