"""Signing in and out, the forgotten-password link and changing a password, through the pages."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from certify.accounts.models import AuthToken, LoginAttempt, TokenPurpose, User, UserSession
from certify.accounts.operations import auth as operations
from certify.accounts.passwords import check_password
from certify.core.models import AuditEntry, OutboxMessage
from certify.core.types import utcnow
from tests.accounts.conftest import PASSWORD, csrf_token

NEW_PASSWORD = "violet kettle under the stairs"
FORGOT_ANSWER = "If an account exists for that address, we have sent a link"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def sign_in(client, user, password: str = PASSWORD, **kwargs):
    page = client.get("/login", **kwargs)
    return client.post("/login", data={"email": user.email, "password": password,
                                       "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def post_form(client, url: str, data: dict, **kwargs):
    """POST ``data`` to ``url`` with the CSRF token of the form served at ``url``."""
    page = client.get(url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def actions(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def outbox(session, recipient: str) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == recipient)
        .order_by(OutboxMessage.id)
    ))


def reset_link(message: OutboxMessage) -> str:
    match = re.search(r"http://127\.0\.0\.1:5000(/password/reset/[A-Za-z0-9_-]+)", message.text)
    assert match, message.text
    return match.group(1)


def ask_for_reset(client, email: str):
    return post_form(client, "/password/forgot", {"email": email})


# --- Signing in and out -----------------------------------------------------------------------

def test_sign_in_and_out(client, admin, login):
    response = login(admin, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Signed in as admin@north.example" in page
    assert "Acting for <strong>North College</strong>" in page
    response = client.post("/logout", data={"csrf_token": csrf_token(page)},
                           follow_redirects=True)
    assert "You have signed out" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_wrong_password(client, admin, login):
    response = login(admin, password="wrong password here")
    assert response.status_code == 422
    assert "The email address or password is not right." in response.get_data(as_text=True)
    assert not signed_in(client)


def test_sign_in_is_case_insensitive_about_the_email(client, admin):
    page = client.get("/login")
    response = client.post("/login", data={
        "email": "  ADMIN@North.Example ", "password": PASSWORD,
        "csrf_token": csrf_token(page.get_data(as_text=True)),
    })
    assert response.status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize(("email", "password", "message"), [
    ("", PASSWORD, "Enter your email address."),
    ("not-an-address", PASSWORD, "Enter an email address like name@example.com."),
    ("admin@north.example", "", "Enter your password."),
    ("a" * 300 + "@example.org", PASSWORD, "Field cannot be longer than 254 characters."),
])
def test_sign_in_form_names_the_field(client, admin, email, password, message):
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 422
    assert message in text(response)
    assert not signed_in(client)


def test_login_page_offers_the_forgotten_password_link(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<a href="/password/forgot">Forgot your password?</a>' in page


def test_signed_in_visitor_is_sent_on_from_the_login_page(client, admin, login):
    login(admin)
    response = client.get("/login?next=/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


def test_a_disabled_account_cannot_sign_in(client, session, admin, make_user):
    root = make_user(platform_admin=True)
    operations.disable_user(session, admin, actor=root)
    session.commit()
    response = sign_in(client, admin)
    assert response.status_code == 422
    assert "The email address or password is not right." in text(response)


# --- Forgotten password -----------------------------------------------------------------------

def test_forgot_password_page(client):
    response = client.get("/password/forgot")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<label class="field__label" for="email">Email address</label>' in page
    assert 'name="csrf_token"' in page


def test_forgot_password_answers_the_same_for_unknown_addresses(client, session, admin):
    known = ask_for_reset(client, admin.email)
    unknown = ask_for_reset(client, "nobody@north.example")
    assert known.status_code == unknown.status_code == 200
    assert FORGOT_ANSWER in text(known)
    assert known.get_data() == unknown.get_data()
    assert len(outbox(session, admin.email)) == 1
    assert outbox(session, "nobody@north.example") == []
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "password.reset_requested")
        .order_by(AuditEntry.seq)
    ).all()
    assert [(e.changes["email"], e.changes["sent"]) for e in entries] == [
        (admin.email, True), ("nobody@north.example", False)]
    assert entries[0].object_id == str(admin.id)
    assert entries[1].object_id is None


def test_the_reset_mail_carries_a_link_built_from_base_url(app, client, session, admin):
    ask_for_reset(client, admin.email)
    (message,) = outbox(session, admin.email)
    assert message.subject == "Reset your certify password"
    assert "Hello Ada Admin" in message.text
    assert f"for {app.config['RESET_TOKEN_HOURS']} hours" in message.text
    link = reset_link(message)
    # The HTML part has the same link, escaped as HTML should be.
    assert f'<a href="http://127.0.0.1:5000{link}">' in message.html
    token = link.rsplit("/", 1)[1]
    row = session.scalar(select(AuthToken).where(AuthToken.user_id == admin.id))
    assert row.purpose == TokenPurpose.PASSWORD_RESET
    assert row.token_hash == operations.digest(token) != token
    hours = (row.expires_at - row.created_at) / timedelta(hours=1)
    assert hours == pytest.approx(app.config["RESET_TOKEN_HOURS"], abs=0.01)


def test_forgot_password_refuses_a_malformed_address(client, session):
    response = ask_for_reset(client, "not an address")
    assert response.status_code == 422
    assert "Email address</a>: Enter an email address like name@example.com." in text(response)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_no_reset_mail_for_a_disabled_account(client, session, admin, make_user):
    operations.disable_user(session, admin, actor=make_user(platform_admin=True))
    session.commit()
    response = ask_for_reset(client, admin.email)
    assert FORGOT_ANSWER in text(response)
    assert outbox(session, admin.email) == []


def test_reset_mails_are_limited_per_hour(client, session, admin):
    for _ in range(operations.RESET_MAILS_PER_HOUR + 2):
        response = ask_for_reset(client, admin.email)
        assert FORGOT_ANSWER in text(response)
    assert len(outbox(session, admin.email)) == operations.RESET_MAILS_PER_HOUR
    # Only the newest link works.
    tokens = session.scalars(select(AuthToken).order_by(AuthToken.id)).all()
    assert [t.used_at is None for t in tokens] == [False, False, True]


def test_reset_password_through_the_link(client, session, admin):
    ask_for_reset(client, admin.email)
    link = reset_link(outbox(session, admin.email)[0])
    form = client.get(link)
    assert form.status_code == 200
    page = text(form)
    assert "For the account <strong>admin@north.example</strong>" in page
    assert "At least 12 characters" in page
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(form.get_data(as_text=True))})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "Your password has been changed" in text(client.get("/login"))
    session.expire_all()
    user = session.get(User, admin.id)
    assert check_password(user.password_hash, NEW_PASSWORD)
    assert sign_in(client, admin).status_code == 422
    assert sign_in(client, admin, NEW_PASSWORD).status_code == 302
    notices = [m for m in outbox(session, admin.email) if "changed" in m.subject]
    assert len(notices) == 1
    assert "was changed with a reset link" in notices[0].text
    assert "http://127.0.0.1:5000/password/forgot" in notices[0].text
    assert "password.reset" in actions(session)


def test_a_reset_ends_every_session_of_the_account(app, client, session, admin):
    elsewhere = app.test_client()
    sign_in(elsewhere, admin)
    assert signed_in(elsewhere)
    ask_for_reset(client, admin.email)
    link = reset_link(outbox(session, admin.email)[0])
    post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not signed_in(elsewhere)
    session.expire_all()
    assert session.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.ended_at.is_(None))
    ) == 0


@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("short one", "short one", "Use at least 12 characters (this has 9)."),
    ("x" * 129, "x" * 129, "Use at most 128 characters (this has 129)."),
    ("password1234", "password1234", "commonly used passwords"),
    ("admin@north.example", "admin@north.example", "Do not use your email address or name"),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords do not match."),
    ("", "", "Enter a new password."),
])
def test_reset_refuses_a_bad_password_and_keeps_the_link(client, session, admin, password,
                                                        confirm, message):
    ask_for_reset(client, admin.email)
    link = reset_link(outbox(session, admin.email)[0])
    response = post_form(client, link, {"password": password, "confirm": confirm})
    assert response.status_code == 422
    assert message in text(response)
    assert 'class="field__error"' in response.get_data(as_text=True)
    session.expire_all()
    assert check_password(session.get(User, admin.id).password_hash, PASSWORD)
    # The link still works after a mistake.
    assert client.get(link).status_code == 200


def test_a_reset_link_works_once(client, session, admin):
    ask_for_reset(client, admin.email)
    link = reset_link(outbox(session, admin.email)[0])
    form = client.get(link)
    token = csrf_token(form.get_data(as_text=True))
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}
    assert client.post(link, data=data).status_code == 302
    # Signing out cleared the browser's session, and with it the form's CSRF secret.
    token = csrf_token(client.get("/login").get_data(as_text=True))
    again = client.post(link, data={"password": "another long pass phrase",
                                     "confirm": "another long pass phrase", "csrf_token": token})
    assert again.status_code == 410
    assert "already been used" in text(again)
    assert '<a class="button" href="/password/forgot">Ask for a new link</a>' in text(again)
    assert client.get(link).status_code == 410
    session.expire_all()
    assert check_password(session.get(User, admin.id).password_hash, NEW_PASSWORD)


def test_an_expired_reset_link_is_refused(client, session, admin):
    ask_for_reset(client, admin.email)
    link = reset_link(outbox(session, admin.email)[0])
    session.execute(update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = client.get(link)
    assert response.status_code == 410
    assert "This password reset link has expired." in text(response)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(text(client.get("/login")))})
    assert response.status_code == 410
    session.expire_all()
    assert check_password(session.get(User, admin.id).password_hash, PASSWORD)


@pytest.mark.parametrize("token", ["nonsense", "a" * 43, "x" * 500, "%00", "%E2%80%AE", "'"])
def test_an_unknown_reset_link_is_not_found(client, token):
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 404
    assert "This password reset link is not valid." in text(response)
    assert "Ask for a new link" in text(response)


def test_a_new_reset_link_replaces_the_old_one(client, session, admin):
    ask_for_reset(client, admin.email)
    ask_for_reset(client, admin.email)
    first, second = (reset_link(m) for m in outbox(session, admin.email))
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_a_reset_link_stops_working_when_the_account_is_disabled(client, session, admin,
                                                                 make_user):
    ask_for_reset(client, admin.email)
    link = reset_link(outbox(session, admin.email)[0])
    form = client.get(link)
    operations.disable_user(session, admin, actor=make_user(platform_admin=True))
    session.commit()
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(form.get_data(as_text=True))})
    assert response.status_code == 404
    session.expire_all()
    assert check_password(session.get(User, admin.id).password_hash, PASSWORD)


def test_redeem_token_refuses_a_second_use(session, admin):
    token = operations.issue_token(session, admin, TokenPurpose.PASSWORD_RESET, timedelta(hours=1))
    assert operations.peek_token(session, token, TokenPurpose.PASSWORD_RESET) is not None
    assert operations.redeem_token(session, token, TokenPurpose.INVITATION) is None
    assert operations.redeem_token(session, token, TokenPurpose.PASSWORD_RESET).user_id == admin.id
    assert operations.redeem_token(session, token, TokenPurpose.PASSWORD_RESET) is None
    assert operations.peek_token(session, token, TokenPurpose.PASSWORD_RESET) is None


# --- Changing the password --------------------------------------------------------------------

def change(client, current: str, new: str, confirm: str | None = None):
    return post_form(client, "/account/password",
                     {"current_password": current, "password": new,
                      "confirm": new if confirm is None else confirm})


def test_change_password_needs_a_signed_in_user(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/account/password")


def test_change_password(app, client, session, admin, login):
    login(admin)
    elsewhere = app.test_client()
    sign_in(elsewhere, admin)
    old_cookie = client.get_cookie("certify_session", domain="certify.test").value
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert "signed out everywhere else" in text(client.get("/account"))
    # This browser stays signed in, with a new session; the other one is signed out.
    assert signed_in(client)
    assert client.get_cookie("certify_session", domain="certify.test").value != old_cookie
    assert not signed_in(elsewhere)
    session.expire_all()
    rows = session.scalars(select(UserSession).where(UserSession.user_id == admin.id)).all()
    assert sum(row.ended_at is None for row in rows) == 1
    assert check_password(session.get(User, admin.id).password_hash, NEW_PASSWORD)
    assert "password.changed" in actions(session)
    (notice,) = outbox(session, admin.email)
    assert "was changed from the account page" in notice.text


def test_the_old_cookie_does_not_survive_a_password_change(app, client, admin, login):
    login(admin)
    old_cookie = client.get_cookie("certify_session", domain="certify.test").value
    change(client, PASSWORD, NEW_PASSWORD)
    replay = app.test_client()
    replay.set_cookie("certify_session", old_cookie, domain="certify.test")
    assert not signed_in(replay)


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("not my password at all", NEW_PASSWORD, None, "current_password",
     "Your current password is not right."),
    ("", NEW_PASSWORD, None, "current_password", "Enter your current password."),
    (PASSWORD, "tiny", None, "password", "Use at least 12 characters (this has 4)."),
    (PASSWORD, "1qaz2wsx3edc4rfv", None, "password", "commonly used passwords"),
    (PASSWORD, PASSWORD, None, "password", "Choose a password different from your current one."),
    (PASSWORD, NEW_PASSWORD, "something else entirely", "confirm",
     "The two passwords do not match."),
])
def test_change_password_refusals_name_the_field(client, session, admin, login, current, new,
                                                 confirm, field, message):
    login(admin)
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    page = text(response)
    assert f'<p class="field__error" id="{field}-error">' in page
    assert message in page
    assert signed_in(client)
    session.expire_all()
    assert check_password(session.get(User, admin.id).password_hash, PASSWORD)
    assert "password.changed" not in actions(session)


def test_wrong_current_passwords_are_throttled(client, session, admin, login):
    login(admin)
    for _ in range(5):
        assert change(client, "not my password at all", NEW_PASSWORD).status_code == 422
    assert actions(session).count("password.change_failed") == 5
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429
    assert "Too many wrong passwords. Try again in 15 minutes." in text(response)
    session.expire_all()
    assert check_password(session.get(User, admin.id).password_hash, PASSWORD)
    # When the window has passed, the right password works again.
    session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
    session.commit()
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 302


def test_account_page(client, admin, login):
    assert client.get("/account").status_code == 302
    login(admin)
    page = text(client.get("/account"))
    assert "Ada Admin" in page and "admin@north.example" in page
    assert 'href="/account/password"' in page
    assert 'href="/account/sessions"' in page
    # Only platform administrators are offered the platform pages.
    assert "/admin/users" not in page
