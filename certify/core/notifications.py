"""Telling people what happened: one in-app notification and one mail, in the same transaction.

``notify`` adds the notification row and queues the mail through ``core.mail``,
so both exist exactly when the change that caused them is committed.  The mail
is rendered from templates/emails/notification.txt/.html with the same title,
body and link as the in-app entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from certify.core import mail
from certify.core.models import Notification
from certify.core.types import utcnow

KINDS = {
    "submission_received": "Submission received",
    "decision_released": "Decision released",
    "resubmission_requested": "Resubmission requested",
    "sample_waiting": "Sampled decision waiting",
    "verification_disagreed": "Decision sent back by verification",
    "appeal_lodged": "Appeal lodged",
    "appeal_assigned": "Appeal assigned",
    "appeal_decided": "Appeal decided",
    "certificate_issued": "Certificate issued",
    "certificate_revoked": "Certificate revoked",
    "certificate_reissued": "Certificate reissued",
    "issue_job_finished": "Bulk issue finished",
}


def notify(
    session: Session,
    user: Any,
    kind: str,
    title: str,
    *,
    body: str = "",
    endpoint: str | None = None,
    provider: Any = None,
    **values: Any,
) -> Notification:
    """Notify ``user`` in the application and by mail.  ``endpoint`` and ``values`` name the
    page the notification links to.  Flushes; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    path = None
    if endpoint is not None:
        from flask import current_app

        path = current_app.url_map.bind("localhost").build(endpoint, values)
    notification = Notification(
        user_id=user.id, provider_id=getattr(provider, "id", None), kind=kind, title=title,
        body=body, url=path,
    )
    session.add(notification)
    session.flush()
    address = mail.link(endpoint, **values) if endpoint is not None else None
    mail.send(session, mail.render(
        "notification", user.email, f"certify: {title}", name=user.name, title=title,
        body=body, address=address, provider_name=getattr(provider, "name", None),
    ))
    return notification


def unread_count(session: Session, user: Any) -> int:
    return session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(session: Session, user: Any, notification_ids: list[int] | None = None) -> int:
    """Mark ``user``'s notifications read (all of them, or the ids given); returns how many."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(notification_ids))
    return session.execute(statement).rowcount or 0
