"""The security baseline every page inherits, tested through the application itself.

Passwords (Argon2id, length, common passwords), sign-in errors and throttling,
sessions (new identifier at sign-in, server-side invalidation, timeouts, cookie
flags), CSRF on every POST route, no state change on any GET route, security
headers and open redirects.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, update
from werkzeug.routing import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    UUIDConverter,
)
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from certify import create_app
from certify.accounts import passwords
from certify.accounts.models import LoginAttempt, TokenPurpose, User, UserSession
from certify.accounts.operations import auth as operations
from certify.core.database import Base
from certify.core.models import AuditEntry, OutboxMessage
from certify.core.types import utcnow
from certify.extensions import db
from tests.accounts.conftest import PASSWORD, csrf_token

COOKIE = "certify_session"
GENERIC = "The email address or password is not right."


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def sign_in(client, email: str, password: str = PASSWORD, *, query: str = "", **kwargs):
    page = client.get("/login", **kwargs)
    return client.post(f"/login{query}",
                       data={"email": email, "password": password,
                             "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def cookie(client) -> str | None:
    found = client.get_cookie(COOKIE, domain="certify.test")
    return found.value if found else None


def replay(app, value: str):
    """A new browser presenting a copied cookie."""
    fresh = app.test_client()
    fresh.set_cookie(COOKIE, value, domain="certify.test")
    return fresh


def page_token(client) -> str:
    return csrf_token(client.get("/account").get_data(as_text=True))


# --- Passwords --------------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id(session, admin):
    session.expire_all()
    stored = session.get(User, admin.id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert passwords.hash_password(PASSWORD) != passwords.hash_password(PASSWORD)  # salted
    assert passwords.check_password(stored, PASSWORD)
    assert not passwords.check_password(stored, PASSWORD + " ")
    assert not passwords.check_password(None, PASSWORD)
    assert not passwords.check_password("not a hash", PASSWORD)


@pytest.mark.parametrize(("password", "problems"), [
    ("a" * 11 + "Z", []),
    ("eleven char", ["Use at least 12 characters (this has 11)."]),
    ("", ["Use at least 12 characters (this has 0)."]),
    ("k" * 127 + "q", []),
    ("k" * 128 + "q", ["Use at most 128 characters (this has 129)."]),
    # No composition rules: lower-case words alone are fine.
    ("purple monkey dishwasher", []),
])
def test_password_length_rules(password, problems):
    assert passwords.password_problems(password) == problems


@pytest.mark.parametrize("password", ["password1234", "PASSWORD1234", "1qaz2wsx3edc4rfv",
                                      "qwerty123456", " 123qweasdzxc "])
def test_common_passwords_are_refused(password):
    assert password.strip().lower() in FREQUENCY_LISTS["passwords"]
    assert passwords.password_problems(password) == [
        "This password is on a list of commonly used passwords; choose another."]


def test_a_common_password_is_refused_where_passwords_are_chosen(client, session, admin, login):
    login(admin)
    page = client.get("/account/password")
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": "password1234", "confirm": "password1234",
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 422
    assert "commonly used passwords" in text(response)


# --- Sign-in errors and throttling ------------------------------------------------------------

def _normalised(response, email: str) -> str:
    body = response.get_data(as_text=True).replace(email, "EMAIL")
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "CSRF", body)


def test_sign_in_errors_do_not_say_whether_the_account_exists(client, admin, monkeypatch):
    verified = []
    real = passwords._hasher

    class Counting:
        def verify(self, hashed, password):
            verified.append(hashed)
            return real.verify(hashed, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    wrong = sign_in(client, admin.email, "not the right password")
    unknown = sign_in(client, "nobody@north.example", "not the right password")
    assert wrong.status_code == unknown.status_code == 422
    assert GENERIC in text(wrong) and GENERIC in text(unknown)
    assert _normalised(wrong, admin.email) == _normalised(unknown, "nobody@north.example")
    # An unknown address still costs one Argon2 verification, so timing does not tell either.
    assert len(verified) == 2


def test_failures_are_throttled_per_account(client, session, admin):
    for _ in range(5):
        assert sign_in(client, admin.email, "not the right password").status_code == 422
    response = sign_in(client, admin.email)  # the right password, too late
    assert response.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in text(response)
    assert not signed_in(client)
    # The same account is throttled from any address.
    response = sign_in(client, admin.email, environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert response.status_code == 429
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 5


def test_failures_are_throttled_per_address(client, session, admin):
    address = {"REMOTE_ADDR": "203.0.113.9"}
    for n in range(20):
        response = sign_in(client, f"guess{n}@north.example", "not the right password",
                           environ_base=address)
        assert response.status_code == 422
    response = sign_in(client, admin.email, environ_base=address)
    assert response.status_code == 429
    assert "Try again in 15 minutes." in text(response)
    # Another address is not held up by this one.
    other = client.application.test_client()
    assert sign_in(other, admin.email, environ_base={"REMOTE_ADDR": "198.51.100.1"}
                   ).status_code == 302


def test_throttling_lifts_after_the_window(client, session, admin):
    for _ in range(5):
        sign_in(client, admin.email, "not the right password")
    session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=10)))
    session.commit()
    response = sign_in(client, admin.email)
    assert response.status_code == 429
    assert "Try again in 5 minutes." in text(response)
    session.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=15, seconds=1)))
    session.commit()
    assert sign_in(client, admin.email).status_code == 302
    assert signed_in(client)


def test_throttled_and_failed_sign_ins_are_audited(client, session, admin):
    for _ in range(6):
        sign_in(client, admin.email, "not the right password")
    session.expire_all()
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("sign_in.failed") == 5
    assert actions.count("sign_in.throttled") == 1


# --- Sessions ---------------------------------------------------------------------------------

def test_a_new_session_identifier_at_each_sign_in(app, client, session, admin):
    client.get("/login")
    before = cookie(client)
    assert before is not None  # the CSRF secret, before anyone signed in
    sign_in(client, admin.email)
    first = cookie(client)
    assert first != before
    client.post("/logout", data={"csrf_token": page_token(client)})
    sign_in(client, admin.email)
    second = cookie(client)
    assert second not in (before, first)
    session.expire_all()
    hashes = session.scalars(select(UserSession.token_hash)).all()
    assert len(set(hashes)) == 2


def test_a_cookie_from_before_sign_in_gains_nothing(app, client, admin):
    """Session fixation: a cookie planted before sign-in is not the one that gets signed in."""
    client.get("/login")
    planted = cookie(client)
    sign_in(client, admin.email)
    assert signed_in(client)
    assert not signed_in(replay(app, planted))


def test_logout_ends_the_session_on_the_server(app, client, session, admin):
    sign_in(client, admin.email)
    copied = cookie(client)
    assert signed_in(replay(app, copied))
    client.post("/logout", data={"csrf_token": page_token(client)})
    assert not signed_in(client)
    assert not signed_in(replay(app, copied))
    session.expire_all()
    row = session.scalars(select(UserSession)).one()
    assert row.ended_reason == "signed out"


def test_password_change_ends_other_sessions_on_the_server(app, client, admin):
    sign_in(client, admin.email)
    elsewhere = app.test_client()
    sign_in(elsewhere, admin.email)
    copied = cookie(client)
    page = client.get("/account/password")
    new = "violet kettle under the stairs"
    client.post("/account/password", data={
        "current_password": PASSWORD, "password": new, "confirm": new,
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert signed_in(client)
    assert not signed_in(elsewhere)
    assert not signed_in(replay(app, copied))


def test_disabling_ends_sessions_on_the_server(app, client, session, admin, make_user, login):
    theirs = app.test_client()
    sign_in(theirs, admin.email)
    copied = cookie(theirs)
    root = make_user(platform_admin=True)
    login(root)
    page = client.get(f"/admin/users/{admin.id}/disable")
    client.post(f"/admin/users/{admin.id}/disable",
                data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert not signed_in(theirs)
    assert not signed_in(replay(app, copied))


def test_a_raised_session_version_alone_signs_the_browser_out(app, client, session, admin):
    sign_in(client, admin.email)
    session.execute(update(User).where(User.id == admin.id)
                    .values(session_version=User.session_version + 1))
    session.commit()
    assert not signed_in(client)


def test_inactivity_timeout(app, client, session, admin):
    sign_in(client, admin.email)
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    session.execute(update(UserSession).values(last_seen_at=utcnow() - idle - timedelta(seconds=5)))
    session.commit()
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    session.expire_all()
    row = session.scalars(select(UserSession)).one()
    assert row.ended_reason == "expired"


def test_absolute_lifetime(app, client, session, admin):
    sign_in(client, admin.email)
    lifetime = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    # Used a moment ago, but opened too long ago.
    session.execute(update(UserSession).values(created_at=utcnow() - lifetime
                                               - timedelta(seconds=5)))
    session.commit()
    assert not signed_in(client)


def _set_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert headers, "no session cookie was set"
    return headers[-1]


def test_cookie_flags(app, client, admin):
    response = sign_in(client, admin.email)
    header = _set_cookie_header(response)
    assert "; HttpOnly" in header
    assert "; SameSite=Lax" in header
    # Plain HTTP in development and tests; see the production test below.
    assert "; Secure" not in header
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_cookies_are_secure_in_production(app, tmp_path):
    production = create_app({
        "ENV": "production",
        "SECRET_KEY": "a production secret of decent length for this test",
        "KEY_PASSPHRASE": "a production key passphrase of decent length for this test",
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INSTANCE_PATH": str(tmp_path),
    })
    try:
        assert production.config["SESSION_COOKIE_SECURE"] is True
        assert production.config["SESSION_COOKIE_HTTPONLY"] is True
        assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        response = production.test_client().get("/login")
        header = _set_cookie_header(response)
        assert "; Secure" in header
        assert "; HttpOnly" in header
        assert "; SameSite=Lax" in header
    finally:
        db.state(production).engine.dispose()


# --- CSRF and GET ------------------------------------------------------------------------------

def _value_for(name: str, converter, known: dict[str, object]) -> object:
    if name in known:
        return known[name]
    if isinstance(converter, IntegerConverter):
        return known["_int"]
    if isinstance(converter, FloatConverter):
        return 1.0
    if isinstance(converter, UUIDConverter):
        return uuid.uuid4()
    if isinstance(converter, AnyConverter):
        return next(iter(converter.items))
    return "x"


def _urls(app, method: str, known: dict[str, object]) -> list[str]:
    adapter = app.url_map.bind("certify.test")
    urls = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.endpoint == "static":
            continue
        values = {name: _value_for(name, rule._converters.get(name), known)
                  for name in rule.arguments}
        urls.append(adapter.build(rule.endpoint, values, method=method))
    return sorted(set(urls))


def _snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table (user_sessions without last_seen_at, which requests touch)."""
    session.expire_all()
    state = {}
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns
                   if not (table.name == "user_sessions" and c.name == "last_seen_at")]
        rows = session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
        state[table.name] = [tuple(row) for row in rows]
    return state


@pytest.fixture
def everything(session, make_user, provider, admin, candidate):
    """A signed-in platform admin who also runs a provider, and one of each object."""
    root = make_user("root@platform.example", name="Rita Root", platform_admin=True,
                     roles=["provider_admin", "assessor"], provider=provider)
    session.add(OutboxMessage(recipient=candidate.email, subject="Hello", text="Hello"))
    session.commit()
    token = operations.issue_token(session, candidate, TokenPurpose.PASSWORD_RESET,
                                   timedelta(hours=1))
    session.commit()
    return {"root": root, "candidate": candidate, "token": token}


def test_every_post_route_refuses_a_request_without_a_csrf_token(app, client, session,
                                                                 everything, login):
    login(everything["root"])
    known = {"_int": everything["candidate"].id, "token": everything["token"]}
    urls = _urls(app, "POST", known)
    for expected in ("/logout", "/login", "/password/forgot", "/account/password",
                     "/account/sessions/end-others",
                     f"/admin/users/{everything['candidate'].id}/disable"):
        assert expected in urls
    before = _snapshot(session)
    answers = {}
    for url in urls:
        missing = client.post(url, data={"email": "x@example.org", "password": PASSWORD})
        forged = client.post(url, data={"csrf_token": "forged"})
        answers[url] = (missing.status_code, forged.status_code)
    assert {url: codes for url, codes in answers.items() if codes != (400, 400)} == {}
    assert _snapshot(session) == before
    assert signed_in(client)


def test_no_get_route_changes_anything(app, client, session, everything, login):
    login(everything["root"])
    (row,) = session.scalars(select(UserSession)).all()
    known = {"_int": everything["candidate"].id, "token": everything["token"],
             "session_id": row.id,
             "message_id": session.scalar(select(OutboxMessage.id))}
    urls = _urls(app, "GET", known)
    for expected in ("/admin/outbox", "/admin/users", "/account/sessions",
                     f"/password/reset/{everything['token']}"):
        assert expected in urls
    before = _snapshot(session)
    failures = {}
    for url in urls:
        try:
            status = client.get(url).status_code
        except Exception as error:  # every route is reported, not only the first
            failures[url] = repr(error)
        else:
            if status >= 500:
                failures[url] = status
    assert failures == {}
    assert _snapshot(session) == before
    # Looking at the reset form did not use up the link.
    assert operations.peek_token(session, everything["token"], TokenPurpose.PASSWORD_RESET)


# --- Headers and redirects ----------------------------------------------------------------------

def assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    directives = dict(
        ([*part.strip().split(" ", 1), ""])[:2] for part in csp.split(";") if part.strip()
    )
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer",
                                                   "strict-origin-when-cross-origin")


def test_security_headers(client, admin):
    login_page = client.get("/login")
    assert login_page.status_code == 200
    assert_security_headers(login_page)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert_security_headers(missing)
    refused = client.post("/login", data={})
    assert refused.status_code == 400
    assert_security_headers(refused)
    failed = sign_in(client, "nobody@north.example")
    assert failed.status_code == 422
    assert_security_headers(failed)
    posted = sign_in(client, admin.email)
    assert posted.status_code == 302
    assert_security_headers(posted)


def test_no_inline_script_or_style_on_the_account_pages(client, admin, login):
    login(admin)
    for url in ("/login", "/password/forgot", "/account", "/account/password",
                "/account/sessions"):
        page = client.get(url).get_data(as_text=True)
        assert "<script" not in page, url
        assert "<style" not in page, url
        assert " style=" not in page, url
        assert not re.search(r"\son[a-z]+=", page), url


HOSTILE_NEXT = ["//evil.example", "https://evil.example", "http://evil.example/path",
                "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
                "javascript:alert(1)", "%2F%2Fevil.example", "///evil.example",
                "https:evil.example"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_no_open_redirect_after_sign_in(client, admin, target):
    response = sign_in(client, admin.email, query=f"?next={quote(target, safe='')}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_no_open_redirect_when_already_signed_in(client, admin, login, target):
    login(admin)
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_local_next_is_followed(client, admin):
    response = sign_in(client, admin.email, query="?next=%2Faccount%2Fsessions%3Fx%3D1")
    assert response.headers["Location"] == "/account/sessions?x=1"
