"""Outgoing mail: delivered by a real SMTP server after commit, or kept in the local outbox."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from certify import create_app
from certify.accounts.models import AuthToken, User
from certify.accounts.operations import people
from certify.accounts.passwords import check_password
from certify.config import ConfigError
from certify.core import mail
from certify.core.models import OutboxMessage
from certify.extensions import db
from tests.accounts.conftest import PASSWORD, csrf_token

NEW_PASSWORD = "violet kettle under the stairs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)
                for e in self.envelopes]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Collector]]:
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def app_with_smtp(app, session, tmp_path, smtp_url: str):
    """A second application on the test's database and transaction, sending through SMTP."""
    other = create_app({
        "ENV": "testing",
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SMTP_URL": smtp_url,
        "INSTANCE_PATH": str(tmp_path),
        "SERVER_NAME": "certify.test",
    })
    db.bind_session(other, session.bind, join_transaction_mode="create_savepoint")
    return other


@pytest.fixture
def smtp_app(app, session, smtp_server, tmp_path):
    controller, _ = smtp_server
    other = app_with_smtp(app, session, tmp_path, f"smtp://127.0.0.1:{controller.port}")
    yield other
    db.state(other).engine.dispose()


@pytest.fixture
def person(make_user):
    return make_user("ann@north.example", name="Ann Person")


def post_form(client, url: str, data: dict):
    page = client.get(url)
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


def outbox_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(OutboxMessage))


# --- Through a real SMTP server -----------------------------------------------------------------

def test_password_reset_arrives_by_smtp_and_works(smtp_app, smtp_server, session, person):
    _, received = smtp_server
    client = smtp_app.test_client()
    response = post_form(client, "/password/forgot", {"email": person.email})
    assert response.status_code == 200
    (envelope,) = received.envelopes
    assert envelope.mail_from == "no-reply@certify.localhost"
    assert envelope.rcpt_tos == [person.email]
    (message,) = received.messages()
    assert message["To"] == person.email
    assert message["From"] == "certify <no-reply@certify.localhost>"
    assert message["Subject"] == "Reset your certify password"
    assert message["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:5000(/password/reset/[\w-]+)", text).group(1)
    assert f'href="http://127.0.0.1:5000{link}"' in html
    # Nothing went to the outbox: the mail was sent.
    assert outbox_count(session) == 0

    response = post_form(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    session.expire_all()
    assert check_password(session.get(User, person.id).password_hash, NEW_PASSWORD)
    notice = received.messages()[1]
    assert notice["Subject"] == "Your certify password was changed"
    assert "was changed with a reset link" in notice.get_content()
    assert len(received.envelopes) == 2


def test_nothing_is_sent_for_an_unknown_address(smtp_app, smtp_server, session):
    _, received = smtp_server
    client = smtp_app.test_client()
    response = post_form(client, "/password/forgot", {"email": "nobody@north.example"})
    assert "If an account exists for that address" in response.get_data(as_text=True)
    assert received.envelopes == []


def test_a_rollback_sends_nothing(smtp_app, smtp_server, person):
    _, received = smtp_server
    with smtp_app.app_context():
        mail.send(db.session, mail.render("password_changed", person.email, "Undone",
                                          user=person, how="in a test"))
        db.session.rollback()
        assert received.envelopes == []
        # The same, committed, is delivered: the harness itself works.
        mail.send(db.session, mail.render("password_changed", person.email, "Kept",
                                          user=person, how="in a test"))
        mail.send(db.session, mail.render("password_changed", "bo@north.example", "Kept too",
                                          user=person, how="in a test"))
        assert received.envelopes == []  # not before the commit
        db.session.commit()
    assert [m["Subject"] for m in received.messages()] == ["Kept", "Kept too"]
    assert [e.rcpt_tos for e in received.envelopes] == [[person.email], ["bo@north.example"]]


def _queue(person, subject: str, to: str | None = None) -> None:
    mail.send(db.session, mail.render("password_changed", to or person.email, subject,
                                      user=person, how="in a test"))


def test_savepoints_hold_mail_until_the_outer_commit(smtp_app, smtp_server, person):
    _, received = smtp_server
    with smtp_app.app_context():
        _queue(person, "Outer")
        with db.session.begin_nested():
            _queue(person, "Kept savepoint")
        assert received.envelopes == []  # a savepoint's commit sends nothing
        savepoint = db.session.begin_nested()
        _queue(person, "Undone savepoint")
        savepoint.rollback()
        db.session.commit()
    assert [m["Subject"] for m in received.messages()] == ["Outer", "Kept savepoint"]


def test_mail_queued_in_a_closed_session_is_never_sent(smtp_app, smtp_server, person):
    _, received = smtp_server
    with smtp_app.app_context():
        db.session.connection()
        _queue(person, "Abandoned")
        db.session.close()
        _queue(person, "Later")
        db.session.commit()
    assert [m["Subject"] for m in received.messages()] == ["Later"]


def test_a_refused_form_sends_nothing(smtp_app, smtp_server, session, person):
    _, received = smtp_server
    client = smtp_app.test_client()
    post_form(client, "/password/forgot", {"email": person.email})
    link = re.search(r"(/password/reset/[\w-]+)", received.messages()[0].get_body(
        ("plain",)).get_content()).group(1)
    response = post_form(client, link, {"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert len(received.envelopes) == 1


def test_a_mail_server_that_is_down_does_not_break_the_request(app, session, tmp_path, person,
                                                               caplog):
    down = app_with_smtp(app, session, tmp_path, f"smtp://127.0.0.1:{free_port()}")
    try:
        client = down.test_client()
        with caplog.at_level(logging.ERROR, logger="certify.core.mail"):
            response = post_form(client, "/password/forgot", {"email": person.email})
        assert response.status_code == 200
        assert "If an account exists for that address" in response.get_data(as_text=True)
        # The link was committed even though its mail could not be sent.
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(AuthToken)
                              .where(AuthToken.user_id == person.id)) == 1
        assert "could not deliver 1 mail(s) through SMTP" in caplog.text
        assert outbox_count(session) == 0
    finally:
        db.state(down).engine.dispose()


def test_a_password_change_survives_a_mail_server_that_is_down(app, session, tmp_path, person,
                                                               caplog):
    down = app_with_smtp(app, session, tmp_path, f"smtp://127.0.0.1:{free_port()}")
    try:
        client = down.test_client()
        page = client.get("/login")
        client.post("/login", data={"email": person.email, "password": PASSWORD,
                                    "csrf_token": csrf_token(page.get_data(as_text=True))})
        with caplog.at_level(logging.ERROR, logger="certify.core.mail"):
            response = post_form(client, "/account/password", {
                "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert response.status_code == 302
        session.expire_all()
        assert check_password(session.get(User, person.id).password_hash, NEW_PASSWORD)
        assert "could not deliver" in caplog.text
        assert client.get("/account").status_code == 200
    finally:
        db.state(down).engine.dispose()


# --- The local outbox ---------------------------------------------------------------------------

def test_without_smtp_mail_goes_to_the_outbox_for_the_platform_admin(app, client, session,
                                                                     person, make_user, login):
    assert not app.config["SMTP_URL"]
    post_form(client, "/password/forgot", {"email": person.email})
    session.expire_all()
    (message,) = session.scalars(select(OutboxMessage)).all()
    assert message.recipient == person.email
    assert message.subject == "Reset your certify password"
    assert "/password/reset/" in message.text
    assert message.html and "<a href=" in message.html

    root = make_user("root@platform.example", name="Rita Root", platform_admin=True)
    login(root)
    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert person.email in listing
    assert f'href="/admin/outbox/{message.id}"' in listing
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    link = re.search(r"/password/reset/[\w-]+", message.text).group(0)
    assert link in detail
    assert "&lt;a href=" in detail  # the HTML part, as source


def test_outbox_rows_follow_the_transaction(app, session, person):
    with app.app_context():
        mail.send(db.session, mail.render("password_changed", person.email, "Undone",
                                          user=person, how="in a test"))
        db.session.rollback()
    assert outbox_count(session) == 0


def test_render_uses_text_and_optional_html(app, person):
    with app.test_request_context():
        both = mail.render("password_reset", person.email, "Reset", user=person,
                           link="https://certify.example/password/reset/abc", hours=2)
        only_text = mail.render("password_changed", person.email, "Changed", user=person,
                                how="in a test")
    assert "https://certify.example/password/reset/abc" in both.text
    assert "for 2 hours" in both.text
    assert both.html is not None and '<a href="https://certify.example/password/reset/abc">' \
        in both.html
    assert only_text.html is None
    assert "was changed in a test" in only_text.text


def test_html_mail_escapes_what_people_typed(session, app):
    person = people.create_user(session, "eve@north.example", 'Eve <img src=x onerror="x()">',
                                password=PASSWORD)
    with app.test_request_context():
        rendered = mail.render("password_reset", person.email, "Reset", user=person,
                               link="https://certify.example/r", hours=2)
    assert "<img" not in rendered.html
    assert "Eve &lt;img" in rendered.html


def test_a_malformed_smtp_url_stops_the_application_from_starting(tmp_path):
    with pytest.raises(ConfigError, match=r"CERTIFY_SMTP_URL must look like smtp://host:port"):
        create_app({"ENV": "testing", "DATABASE_URL": "sqlite://",
                    "INSTANCE_PATH": str(tmp_path), "SMTP_URL": "smpt://mail.example"})


# --- parse_smtp_url -----------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://localhost", mail.SmtpSettings("localhost", 25, None, None, "none")),
    ("smtp://127.0.0.1:2525", mail.SmtpSettings("127.0.0.1", 2525, None, None, "none")),
    ("smtp://mail.example:25/", mail.SmtpSettings("mail.example", 25, None, None, "none")),
    ("smtp+starttls://ann:s3cret@mail.example",
     mail.SmtpSettings("mail.example", 587, "ann", "s3cret", "starttls")),
    ("smtp+starttls://ann%40north.example:p%40ss%3Aword@mail.example:2587",
     mail.SmtpSettings("mail.example", 2587, "ann@north.example", "p@ss:word", "starttls")),
    ("smtps://ann:pw@mail.example", mail.SmtpSettings("mail.example", 465, "ann", "pw",
                                                      "implicit")),
    ("smtps://[::1]:1465", mail.SmtpSettings("::1", 1465, None, None, "implicit")),
    ("  smtp://mail.example  ", mail.SmtpSettings("mail.example", 25, None, None, "none")),
])
def test_parse_smtp_url(url, expected):
    assert mail.parse_smtp_url(url) == expected


@pytest.mark.parametrize(("url", "detail"), [
    ("", ""),
    ("mail.example:25", ""),
    ("http://mail.example", ""),
    ("smtp://", ""),
    ("smtp:///no-host", ""),
    ("smtp://:25", ""),
    ("smtp://mail.example:notaport", "the port must be a number from 1 to 65535"),
    ("smtp://mail.example:70000", "the port must be a number from 1 to 65535"),
    ("smtp://mail.example:0", "the port must be a number from 1 to 65535"),
    ("smtp://mail.example/some/path", ""),
    ("smtp://mail.example?tls=yes", ""),
    ("smtp://ann:pw@mail.example", "use smtp+starttls:// or smtps:// to send a password"),
])
def test_parse_smtp_url_refuses_bad_urls(url, detail):
    with pytest.raises(ValueError, match="CERTIFY_SMTP_URL must look like") as error:
        mail.parse_smtp_url(url)
    assert detail in str(error.value)
    assert repr(url) in str(error.value) or "***" in str(error.value)


def test_a_refused_smtp_url_does_not_show_its_password():
    with pytest.raises(ValueError, match="CERTIFY_SMTP_URL") as error:
        mail.parse_smtp_url("smtp://ann:hunter2-secret@mail.example:notaport")
    assert "hunter2" not in str(error.value)
    assert "smtp://ann:***@mail.example:notaport" in str(error.value)
