"""Outgoing mail: SMTP when CERTIFY_SMTP_URL is set, otherwise a local outbox in the database.

Operations call ``send``.  An outbox message is a row written in the same
transaction, so it exists exactly when the change that caused it is committed.
SMTP mail waits in the session until the transaction commits and is then
delivered; a rollback discards it.  Nothing is mailed for work that was undone.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app
from jinja2 import TemplateNotFound
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from certify.core.models import OutboxMessage

log = logging.getLogger(__name__)
PENDING = "certify.mail.pending"


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: str  # "none", "starttls" or "implicit"


def parse_smtp_url(url: str) -> SmtpSettings:
    """smtp://host:25, smtp+starttls://user:pass@host:587, smtps://user:pass@host:465.

    Raises ValueError naming CERTIFY_SMTP_URL and the expected shapes for anything else.
    """
    parts = urlsplit(url.strip())
    # The message may be logged: it shows the URL without its password.
    shown = re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", url)
    problem = (
        "CERTIFY_SMTP_URL must look like smtp://host:port, smtp+starttls://user:pass@host:587 "
        f"or smtps://user:pass@host:465, not {shown!r}"
    )
    tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "implicit"}.get(parts.scheme)
    if tls is None or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(problem)
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        raise ValueError(f"{problem}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"{problem}: the port must be a number from 1 to 65535")
    if parts.password is not None and tls == "none":
        # A password would cross the network in the clear.
        raise ValueError(f"{problem}: use smtp+starttls:// or smtps:// to send a password")
    default_port = {"none": 25, "starttls": 587, "implicit": 465}[tls]
    return SmtpSettings(
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def link(endpoint: str, **values) -> str:
    """An absolute address for a mail: CERTIFY_BASE_URL and the endpoint's path.

    Built from the setting, never from the request's Host header (which a visitor
    controls), and it works outside a request too (commands, jobs).
    """
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def render(template: str, recipient: str, subject: str, **context) -> Mail:
    """A mail from templates/emails/<template>.txt (and .html when it exists).

    The templates get the values passed, ``subject``, ``config`` and ``link``, but
    not the page context (signed-in user, provider): a mail may be rendered by a
    command, with no request at all.  The .html part is autoescaped, the .txt is not.
    """
    env = current_app.jinja_env
    context = {"subject": subject, "link_to": link, **context}
    text = env.get_template(f"emails/{template}.txt").render(context)
    try:
        html = env.get_template(f"emails/{template}.html").render(context)
    except TemplateNotFound:
        html = None
    return Mail(recipient=recipient, subject=subject, text=text, html=html)


def send(session: Session | scoped_session, mail: Mail) -> None:
    """Deliver ``mail`` when the session's transaction commits (outbox: in it)."""
    if isinstance(session, scoped_session):
        session = session()
    if current_app.config.get("SMTP_URL"):
        # A malformed setting fails here, before the commit, not after it.
        parse_smtp_url(current_app.config["SMTP_URL"])
        # Remember the (innermost) transaction, so that rolling back a savepoint
        # discards exactly the mail queued inside it.
        # (Beginning one now if need be: a rollback with none begun would tell nobody.)
        transaction = (session.get_nested_transaction() or session.get_transaction()
                       or session.begin())
        session.info.setdefault(PENDING, []).append(
            (current_app._get_current_object(), mail, transaction)
        )
    else:
        session.add(
            OutboxMessage(
                recipient=mail.recipient, subject=mail.subject, text=mail.text, html=mail.html
            )
        )


def to_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def deliver(settings: SmtpSettings, messages: list[EmailMessage], timeout: int = 30) -> None:
    if settings.tls == "implicit":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with client:
        if settings.tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.username:
            client.login(settings.username, settings.password or "")
        for message in messages:
            client.send_message(message)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    # A savepoint's commit also lands here; only the outermost commit makes mail real.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    app = pending[0][0]
    sender = formataddr(("certify", app.config["MAIL_FROM"]))
    try:
        deliver(
            parse_smtp_url(app.config["SMTP_URL"]),
            [to_message(mail, sender) for _, mail, _ in pending],
        )
    except (OSError, smtplib.SMTPException, ValueError):
        # The change is committed; a mail server that is down must not undo it.
        log.exception("could not deliver %d mail(s) through SMTP", len(pending))


def _within(transaction: SessionTransaction, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _discard_after_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(PENDING)
    if not pending:
        return
    if previous.nested:
        kept = [entry for entry in pending if not _within(entry[2], previous)]
        session.info[PENDING] = kept
    else:
        session.info.pop(PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _discard_when_closed(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit (closed, or rolled back).
    if transaction.parent is None:
        session.info.pop(PENDING, None)
