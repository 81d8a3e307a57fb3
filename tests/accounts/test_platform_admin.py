"""Platform administration: the mail outbox and every account, with disabling and enabling."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from certify.accounts.models import User, UserSession
from certify.core.models import AuditEntry, OutboxMessage
from tests.accounts.conftest import PASSWORD, csrf_token

ADMIN_PAGES = ["/admin/outbox", "/admin/users"]


def sign_in(client, user, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"email": user.email, "password": password,
                                       "csrf_token": csrf_token(page.get_data(as_text=True))})


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def root(make_user):
    return make_user("root@platform.example", name="Rita Root", platform_admin=True)


@pytest.fixture
def root_client(client, root, login):
    login(root)
    return client


def add_messages(session, count: int, recipient: str = "someone@example.org") -> None:
    for n in range(count):
        session.add(OutboxMessage(recipient=recipient, subject=f"Message {n}", text=f"Body {n}"))
    session.commit()


# --- Who may see the pages --------------------------------------------------------------------

@pytest.mark.parametrize("url", [*ADMIN_PAGES, "/admin/outbox/1", "/admin/users/1/disable",
                                 "/admin/users/1/enable"])
def test_anonymous_visitors_are_asked_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", [*ADMIN_PAGES, "/admin/outbox/{message}",
                                 "/admin/users/{user}/disable", "/admin/users/{user}/enable"])
def test_other_people_are_told_there_is_nothing_here(session, client, admin, candidate, login,
                                                     url):
    add_messages(session, 1)
    message = session.scalar(select(OutboxMessage.id))
    login(admin)  # a provider admin, not a platform admin
    response = client.get(url.format(message=message, user=candidate.id))
    assert response.status_code == 404
    if "{user}" in url:
        token = csrf_token(client.get("/account").get_data(as_text=True))
        response = client.post(url.format(user=candidate.id), data={"csrf_token": token})
        assert response.status_code == 404
        session.expire_all()
        assert session.get(User, candidate.id).disabled_at is None


def test_navigation_offers_the_outbox_to_platform_admins_only(client, root, admin, login):
    login(admin)
    assert 'href="/admin/outbox"' not in client.get("/account").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account").get_data(
        as_text=True))})
    login(root)
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/admin/outbox"' in page
    assert 'href="/admin/users"' in page


# --- Outbox -----------------------------------------------------------------------------------

def test_empty_outbox(root_client):
    page = text(root_client.get("/admin/outbox"))
    assert "No mail has been written to the outbox yet." in page


def test_outbox_lists_newest_first_a_page_at_a_time(app, session, root_client):
    add_messages(session, app.config["PAGE_SIZE"] + 3)
    first = text(root_client.get("/admin/outbox"))
    subjects = re.findall(r">(Message \d+)</a>", first)
    assert len(subjects) == app.config["PAGE_SIZE"]
    assert subjects[0] == f"Message {app.config['PAGE_SIZE'] + 2}"
    assert f"Showing 1–{app.config['PAGE_SIZE']} of {app.config['PAGE_SIZE'] + 3} messages" in first
    second = text(root_client.get("/admin/outbox?page=2"))
    assert re.findall(r">(Message \d+)</a>", second) == ["Message 2", "Message 1", "Message 0"]
    # A page beyond the end shows the last one; nonsense shows the first.
    assert "Message 0" in text(root_client.get("/admin/outbox?page=99"))
    assert "Message 0" not in text(root_client.get("/admin/outbox?page=-1"))


def test_outbox_search_by_recipient(session, root_client):
    add_messages(session, 2, "ann@north.example")
    add_messages(session, 1, "bob@south.example")
    page = text(root_client.get("/admin/outbox?q=NORTH"))
    assert "ann@north.example" in page and "bob@south.example" not in page
    page = text(root_client.get("/admin/outbox?q=%25"))
    assert "No message was written to an address containing “%”." in page
    page = text(root_client.get("/admin/outbox?q=_"))
    assert "No message was written" in page


def test_outbox_message_shows_text_and_html_only_as_source(session, root_client):
    message = OutboxMessage(
        recipient="ann@north.example", subject="Hello <b>there</b>",
        text="Line one\n<script>alert(1)</script>",
        html='<p onclick="steal()">Hi</p><script>alert(2)</script><img src="https://evil.example/x">',
    )
    session.add(message)
    session.commit()
    response = root_client.get(f"/admin/outbox/{message.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page
    assert "<b>there</b>" not in page
    assert '<p onclick' not in page
    assert "<img src=\"https://evil.example" not in page
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in page
    assert "Line one\n&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;p onclick=&#34;steal()&#34;&gt;Hi&lt;/p&gt;" in page
    assert root_client.get("/admin/outbox/999999").status_code == 404


def test_outbox_list_query_count_stays_flat(session, root_client, count_queries):
    add_messages(session, 2)
    with count_queries() as few:
        root_client.get("/admin/outbox")
    add_messages(session, 20)
    with count_queries() as many:
        root_client.get("/admin/outbox")
    assert many.count == few.count


# --- Accounts ---------------------------------------------------------------------------------

def test_users_lists_everyone_with_their_roles(root_client, admin, candidate, root):
    page = text(root_client.get("/admin/users"))
    assert "admin@north.example" in page and "cand@north.example" in page
    assert "North College: Provider admin" in page
    assert "North College: Candidate" in page
    assert "Platform administrator" in page
    assert f'href="/admin/users/{admin.id}/disable"' in page
    # No button to disable oneself.
    assert f'href="/admin/users/{root.id}/disable"' not in page


def test_users_search_by_email_or_name(root_client, admin, candidate):
    page = text(root_client.get("/admin/users?q=chen"))
    assert "cand@north.example" in page and "admin@north.example" not in page
    page = text(root_client.get("/admin/users?q=ADMIN@"))
    assert "admin@north.example" in page and "cand@north.example" not in page
    page = text(root_client.get("/admin/users?q=nobody-matches-this"))
    assert "No account's email address or name contains “nobody-matches-this”." in page


def test_users_are_paginated(app, root_client, make_user, make_provider):
    for n in range(app.config["PAGE_SIZE"] + 1):
        make_user(f"user{n:03}@many.example")
    first = text(root_client.get("/admin/users?q=many.example"))
    assert f"of {app.config['PAGE_SIZE'] + 1} accounts" in first
    assert "user000@many.example" in first
    second = text(root_client.get("/admin/users?q=many.example&page=2"))
    assert f"user{app.config['PAGE_SIZE']:03}@many.example" in second
    assert "user000@many.example" not in second


def test_users_list_query_count_stays_flat(root_client, make_user, make_provider, count_queries):
    def people(n: int) -> None:
        provider = make_provider()
        for _ in range(n):
            make_user(roles=["candidate", "assessor"], provider=provider)

    people(2)
    with count_queries() as few:
        root_client.get("/admin/users")
    people(10)
    with count_queries() as many:
        root_client.get("/admin/users")
    assert many.count == few.count


# --- Disabling and enabling -------------------------------------------------------------------

def confirm(client, url: str, **data):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_disable_asks_for_confirmation_first(session, root_client, admin):
    response = root_client.get(f"/admin/users/{admin.id}/disable")
    page = text(response)
    assert "Disable admin@north.example?" in page
    assert "will be signed out of every browser at once" in page
    assert '<button type="submit" class="button button--danger">Disable the account</button>' \
        in page
    session.expire_all()
    assert session.get(User, admin.id).disabled_at is None


def test_disabling_signs_the_person_out_at_once(app, session, root_client, root, admin):
    theirs = app.test_client()
    sign_in(theirs, admin)
    assert signed_in(theirs)
    response = confirm(root_client, f"/admin/users/{admin.id}/disable", reason="Left the college")
    assert response.status_code == 302
    assert "admin@north.example is disabled and signed out everywhere." in text(
        root_client.get(response.headers["Location"]))
    assert not signed_in(theirs)
    assert sign_in(theirs, admin).status_code == 422
    session.expire_all()
    person = session.get(User, admin.id)
    assert person.disabled_at is not None
    assert person.session_version == 2
    assert session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == admin.id, UserSession.ended_at.is_(None))) == 0
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.disabled")).one()
    assert entry.actor_id == root.id
    assert entry.object_id == str(admin.id)
    assert entry.changes == {"disabled": [False, True], "sessions_ended": 1,
                             "reason": "Left the college"}
    assert "Disabled" in text(root_client.get("/admin/users"))


def test_enabling_lets_the_person_sign_in_again(app, session, root_client, root, admin):
    confirm(root_client, f"/admin/users/{admin.id}/disable")
    response = confirm(root_client, f"/admin/users/{admin.id}/enable")
    assert response.status_code == 302
    theirs = app.test_client()
    assert sign_in(theirs, admin).status_code == 302
    assert signed_in(theirs)
    session.expire_all()
    assert session.get(User, admin.id).disabled_at is None
    assert session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("user.%abled")).order_by(AuditEntry.seq)).all() == [
        "user.disabled", "user.enabled"]


def test_a_platform_admin_cannot_disable_themself(session, root_client, root):
    token = csrf_token(root_client.get("/account").get_data(as_text=True))
    response = root_client.post(f"/admin/users/{root.id}/disable", data={"csrf_token": token})
    assert response.status_code == 302
    assert "You cannot disable your own account." in text(
        root_client.get(response.headers["Location"]))
    assert signed_in(root_client)
    session.expire_all()
    assert session.get(User, root.id).disabled_at is None


def test_disabling_twice_or_enabling_an_active_account_changes_nothing(session, root_client,
                                                                      admin):
    assert "is not disabled" in text(root_client.get(f"/admin/users/{admin.id}/enable"))
    token = csrf_token(root_client.get("/account").get_data(as_text=True))
    response = root_client.post(f"/admin/users/{admin.id}/enable", data={"csrf_token": token},
                                follow_redirects=True)
    assert "admin@north.example is not disabled." in text(response)
    confirm(root_client, f"/admin/users/{admin.id}/disable")
    assert "is already disabled" in text(root_client.get(f"/admin/users/{admin.id}/disable"))
    response = root_client.post(f"/admin/users/{admin.id}/disable", data={"csrf_token": token},
                                follow_redirects=True)
    assert "admin@north.example is already disabled." in text(response)
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "user.disabled")) == 1


def test_disable_refuses_an_overlong_reason(session, root_client, admin):
    response = confirm(root_client, f"/admin/users/{admin.id}/disable", reason="x" * 201)
    assert response.status_code == 422
    assert "Keep the reason under 200 characters." in text(response)
    session.expire_all()
    assert session.get(User, admin.id).disabled_at is None


def test_unknown_account_is_not_found(root_client):
    assert root_client.get("/admin/users/999999/disable").status_code == 404
