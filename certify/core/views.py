"""The home page, the health check, the signed-in user's notifications, and template helpers
every page shares."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import contains_eager

from certify.accounts import permissions
from certify.accounts.models import Enrolment, EnrolmentStatus, Provider, User
from certify.accounts.sessions import current_provider, safe_next
from certify.core import bp
from certify.core import notifications as notices
from certify.core.models import Notification
from certify.core.web import paginate, requested_page
from certify.extensions import db
from certify.units import queries
from certify.units.models import Unit


def enrolments_of(candidate: User, provider: Provider) -> list[Enrolment]:
    """``candidate``'s enrolments in ``provider``, active ones first, with their units."""
    rows = db.session.scalars(
        select(Enrolment)
        .join(Enrolment.unit)
        .join(Unit.framework)
        .options(contains_eager(Enrolment.unit).contains_eager(Unit.framework))
        .where(Enrolment.candidate_id == candidate.id, Enrolment.provider_id == provider.id)
        .order_by(Unit.code, Unit.version)
    )
    order = {EnrolmentStatus.ACTIVE: 0, EnrolmentStatus.COMPLETED: 1, EnrolmentStatus.WITHDRAWN: 2}
    return sorted(rows, key=lambda e: order[e.status])


# (label, endpoint, rule) for the staff's shortcuts; shown when the endpoint exists.
STAFF_SHORTCUTS = [
    ("People", "accounts.people", permissions.can_view_people),
    ("Invite a person", "accounts.invite", permissions.can_invite),
    ("Enrolments", "accounts.enrolments", permissions.can_view_people),
    ("Enrol a candidate", "accounts.new_enrolment", permissions.can_enrol),
    ("Enrol from a CSV file", "accounts.import_enrolments", permissions.can_enrol),
    ("Authorisations", "accounts.authorisations", permissions.can_authorise_assessors),
    ("Audit trail", "accounts.audit", permissions.can_view_audit),
]


@bp.get("/")
def home():
    """What certify is and where to start; for candidates their units, for staff shortcuts."""
    context: dict[str, Any] = {"counts": queries.catalogue_counts(db.session)}
    if current_user.is_authenticated:
        provider = current_provider()
        if permissions.can_view_own_units(current_user, provider):
            context["my_enrolments"] = enrolments_of(current_user, provider)
        context["shortcuts"] = [
            (label, endpoint)
            for label, endpoint, rule in STAFF_SHORTCUTS
            if endpoint in current_app.view_functions and rule(current_user, provider)
        ]
    return render_template("core/home.html", **context)


@bp.get("/healthz")
def health():
    """Liveness for load balancers: the application answers and the database does too."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.app_template_global()
def url_with(**changes: Any) -> str:
    """This page's address with some query arguments changed (None removes one).

    Pagination and language links keep the visitor's search and filters.
    """
    args = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    # Path arguments win over a query argument of the same name.
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})


@bp.app_template_global()
def unread_notifications() -> int:
    """How many unread notifications the signed-in user has (0 when signed out).

    Read only when a template asks, and once per request: the account bar shows it on every
    page, so it costs one query on a signed-in page and none on an anonymous one."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = notices.unread_count(db.session, current_user)
        except SQLAlchemyError:
            # The error page of a failed request still renders (its transaction may be
            # aborted); the count is shown again on the next page.
            current_app.logger.warning("unread notifications could not be counted",
                                       exc_info=True)
            g.unread_notifications = 0
    return g.unread_notifications


# Notification ids are 32-bit integers on every database.
MAX_ID = 2**31 - 1


@bp.get("/notifications")
@login_required
def notifications():
    """The signed-in user's notifications, newest first, unread ones marked, paginated."""
    query = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    return render_template("core/notifications.html", page=page, kinds=notices.KINDS,
                           link_of=lambda n: safe_next(n.url))


@bp.post("/notifications/read")
@login_required
def read_notifications():
    """Mark the signed-in user's notifications read: those whose ``id`` values are posted, or
    all of them when none is.  Ids of other people's notifications change nothing."""
    posted = request.form.getlist("id")
    ids = None
    if posted:
        # A value that is not an id (not a number, or beyond the column's range) names no
        # notification; it is ignored, not guessed at.
        ids = [int(v) for v in posted
               if v.isascii() and v.isdigit() and len(v) <= 10 and 0 < int(v) <= MAX_ID]
    marked = notices.mark_read(db.session, current_user, ids)
    db.session.commit()
    if marked:
        flash(f"{marked} notification{'s' if marked != 1 else ''} marked as read.", "success")
    else:
        flash("There was nothing unread to mark.", "info")
    return redirect(url_for("core.notifications"), code=303)
