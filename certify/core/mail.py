"""Outgoing mail: SMTP when CERTIFY_SMTP_URL is set, otherwise a local outbox in the database.

Operations call ``send``.  An outbox message is a row written in the same
transaction, so it exists exactly when the change that caused it is committed.
SMTP mail waits in the session until the transaction commits and is then
delivered; a rollback discards it.  Nothing is mailed for work that was undone.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import event
from sqlalchemy.orm import Session

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
    """smtp://host:25, smtp+starttls://user:pass@host:587, smtps://user:pass@host:465."""
    parts = urlsplit(url)
    tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "implicit"}.get(parts.scheme)
    if tls is None or not parts.hostname:
        raise ValueError(
            f"CERTIFY_SMTP_URL must look like smtp://host:port, smtp+starttls://user:pass@host:587 "
            f"or smtps://user:pass@host:465, not {url!r}"
        )
    default_port = {"none": 25, "starttls": 587, "implicit": 465}[tls]
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def render(template: str, recipient: str, subject: str, **context) -> Mail:
    """A mail from templates/emails/<template>.txt (and .html when it exists)."""
    text = render_template(f"emails/{template}.txt", subject=subject, **context)
    try:
        html = render_template(f"emails/{template}.html", subject=subject, **context)
    except TemplateNotFound:
        html = None
    return Mail(recipient=recipient, subject=subject, text=text, html=html)


def send(session: Session, mail: Mail) -> None:
    """Deliver ``mail`` when the session's transaction commits (outbox: in it)."""
    if current_app.config.get("SMTP_URL"):
        session.info.setdefault(PENDING, []).append((current_app._get_current_object(), mail))
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
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    app = pending[0][0]
    sender = formataddr(("certify", app.config["MAIL_FROM"]))
    try:
        deliver(
            parse_smtp_url(app.config["SMTP_URL"]),
            [to_message(mail, sender) for _, mail in pending],
        )
    except (OSError, smtplib.SMTPException):
        # The change is committed; a mail server that is down must not undo it.
        log.exception("could not deliver %d mail(s) through SMTP", len(pending))


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
