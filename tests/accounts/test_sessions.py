"""The user's own sessions: listing them and ending one, or all but this browser."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from certify.accounts.models import UserSession
from certify.accounts.views.auth import browser_label
from certify.core.models import AuditEntry
from certify.core.types import utcnow
from tests.accounts.conftest import PASSWORD, csrf_token

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def sign_in(client, user, password: str = PASSWORD, **kwargs):
    page = client.get("/login", **kwargs)
    return client.post("/login", data={"email": user.email, "password": password,
                                       "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def open_rows(session, user) -> list[UserSession]:
    session.expire_all()
    return list(session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.id)
    ))


def post(client, url: str, **kwargs):
    token = csrf_token(client.get("/account/sessions").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token}, **kwargs)


@pytest.fixture
def browsers(app, admin):
    """The admin signed in from a laptop (the test's client) and from a phone."""
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, admin, headers={"User-Agent": FIREFOX},
            environ_base={"REMOTE_ADDR": "198.51.100.7"})
    sign_in(phone, admin, headers={"User-Agent": SAFARI_IPHONE},
            environ_base={"REMOTE_ADDR": "203.0.113.20"})
    return laptop, phone


def test_sessions_page_needs_a_signed_in_user(client):
    response = client.get("/account/sessions")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_sessions_are_listed_with_this_browser_marked(browsers):
    laptop, _phone = browsers
    response = laptop.get("/account/sessions")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td class=\"code\">(.*?)</td>", page)
    assert sorted(rows) == [
        ("Firefox on Linux <strong>(this browser)</strong>", "198.51.100.7"),
        ("Safari on iOS", "203.0.113.20"),
    ]
    assert page.count("<time datetime=") == 4
    assert "Sign out everywhere else" in page


def test_ended_and_stale_sessions_are_not_listed(app, session, browsers, admin):
    laptop, _phone = browsers
    rows = open_rows(session, admin)
    session.execute(update(UserSession).where(UserSession.id == rows[1].id)
                    .values(last_seen_at=utcnow() - timedelta(hours=1)))
    session.commit()
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Safari on iOS" not in page
    assert "Sign out everywhere else" not in page


def test_end_another_of_my_sessions(session, browsers, admin):
    laptop, phone = browsers
    phone_row = open_rows(session, admin)[1]
    response = post(laptop, f"/account/sessions/{phone_row.id}/end")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/sessions"
    assert not signed_in(phone)
    assert signed_in(laptop)
    session.expire_all()
    assert session.get(UserSession, phone_row.id).ended_reason == "ended by owner"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "session.ended")).one()
    assert entry.actor_id == admin.id
    assert entry.changes == {"session": phone_row.id, "reason": "ended by owner"}


def test_end_this_session_signs_this_browser_out(session, browsers, admin):
    laptop, phone = browsers
    laptop_row = open_rows(session, admin)[0]
    response = post(laptop, f"/account/sessions/{laptop_row.id}/end")
    assert response.headers["Location"] == "/login"
    assert not signed_in(laptop)
    assert signed_in(phone)


def test_another_users_session_is_not_found(app, session, browsers, candidate):
    laptop, _phone = browsers
    theirs = app.test_client()
    sign_in(theirs, candidate)
    (their_row,) = open_rows(session, candidate)
    response = post(laptop, f"/account/sessions/{their_row.id}/end")
    assert response.status_code == 404
    assert signed_in(theirs)
    assert post(laptop, "/account/sessions/999999/end").status_code == 404


def test_an_ended_session_cannot_be_ended_twice(session, browsers, admin):
    laptop, _phone = browsers
    phone_row = open_rows(session, admin)[1]
    assert post(laptop, f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert post(laptop, f"/account/sessions/{phone_row.id}/end").status_code == 404


def test_end_every_other_session(app, session, browsers, admin):
    laptop, phone = browsers
    tablet = app.test_client()
    sign_in(tablet, admin)
    response = post(laptop, "/account/sessions/end-others", follow_redirects=True)
    assert "Signed out everywhere else (2 sessions ended)." in response.get_data(as_text=True)
    assert signed_in(laptop)
    assert not signed_in(phone)
    assert not signed_in(tablet)
    assert len(open_rows(session, admin)) == 1
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "session.ended_others")
    ).one()
    assert entry.changes == {"sessions": 2}


def test_ending_sessions_needs_a_signed_in_user(app, session, browsers, admin):
    _laptop, phone = browsers
    stranger = app.test_client()
    token = csrf_token(stranger.get("/login").get_data(as_text=True))
    row = open_rows(session, admin)[1]
    for url in (f"/account/sessions/{row.id}/end", "/account/sessions/end-others"):
        response = stranger.post(url, data={"csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert signed_in(phone)


def test_a_session_in_use_is_kept_and_touched(app, session, client, admin):
    sign_in(client, admin)
    (row,) = open_rows(session, admin)
    idle = app.config["SESSION_IDLE_MINUTES"]
    session.execute(update(UserSession).values(
        last_seen_at=utcnow() - timedelta(minutes=idle - 1)))
    session.commit()
    assert signed_in(client)  # still within the idle limit, and touched again
    session.expire_all()
    assert session.get(UserSession, row.id).last_seen_at > utcnow() - timedelta(minutes=1)


@pytest.mark.parametrize(("agent", "label"), [
    (FIREFOX, "Firefox on Linux"),
    (SAFARI_IPHONE, "Safari on iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome on macOS"),
    ("curl/8.5.0", "curl/8.5.0"),
    ("", "Unknown browser"),
    (None, "Unknown browser"),
    ("x" * 300, "x" * 80),
])
def test_browser_labels(agent, label):
    assert browser_label(agent) == label


def test_hostile_user_agent_is_shown_escaped(app, session, client, admin):
    sign_in(client, admin, headers={"User-Agent": '<script>alert("x")</script>'})
    page = client.get("/account/sessions").get_data(as_text=True)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
