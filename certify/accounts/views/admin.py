"""Platform administration: the local mail outbox and every account on the platform.

Only platform administrators reach these pages; anyone else is told there is
nothing here (404), so the pages are not confirmed to exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from certify.accounts import bp, permissions
from certify.accounts.forms.auth import AccountActionForm
from certify.accounts.models import Membership, User
from certify.accounts.operations import auth as operations
from certify.accounts.operations.people import AccountError
from certify.accounts.views.auth import client_address
from certify.core.models import OutboxMessage
from certify.core.web import paginate, requested_page
from certify.extensions import db


def _only(rule: Callable[[Any], bool]) -> None:
    if not rule(current_user):
        abort(404)


def _search_term() -> str:
    return request.args.get("q", "").strip()[:200]


def _contains(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@bp.get("/admin/outbox")
@login_required
def outbox():
    """Mail written to the local outbox (no SMTP server configured), newest first."""
    _only(permissions.can_read_outbox)
    term = _search_term()
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(),
                                           OutboxMessage.id.desc())
    if term:
        query = query.where(
            func.lower(OutboxMessage.recipient).like(_contains(term), escape="\\")
        )
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    return render_template("accounts/admin/outbox.html", page=page, term=term,
                           smtp=bool(current_app.config.get("SMTP_URL")))


@bp.get("/admin/outbox/<int:message_id>")
@login_required
def outbox_message(message_id: int):
    """One message: its text, and its HTML part as source (never rendered)."""
    _only(permissions.can_read_outbox)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    return render_template("accounts/admin/outbox_message.html", message=message)


@bp.get("/admin/users")
@login_required
def users():
    """Every account on the platform, searchable by email or name."""
    _only(permissions.can_disable_accounts)
    term = _search_term()
    query = (
        select(User)
        .options(selectinload(User.memberships).joinedload(Membership.provider))
        .order_by(func.lower(User.email), User.id)
    )
    if term:
        pattern = _contains(term)
        query = query.where(or_(func.lower(User.email).like(pattern, escape="\\"),
                                func.lower(User.name).like(pattern, escape="\\")))
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    return render_template("accounts/admin/users.html", page=page, term=term)


_ACTIONS = {
    "disable": (operations.disable_user, "{email} is disabled and signed out everywhere."),
    "enable": (operations.enable_user, "{email} can sign in again."),
}


def _account_action(user_id: int, action: str):
    _only(permissions.can_disable_accounts)
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    form = AccountActionForm()
    if action == "disable" and not permissions.can_disable_user(current_user, person):
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("accounts.users"))
    if form.validate_on_submit():
        operation, done = _ACTIONS[action]
        try:
            operation(db.session, person, actor=current_user, reason=form.reason.data or "",
                      ip=client_address())
        except AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("accounts.users"))
        db.session.commit()
        flash(done.format(email=person.email), "success")
        return redirect(url_for("accounts.users", q=person.email))
    status = 422 if form.errors else 200
    return render_template("accounts/admin/confirm_account.html", form=form, person=person,
                           action=action), status


@bp.route("/admin/users/<int:user_id>/disable", methods=["GET", "POST"])
@login_required
def disable_user(user_id: int):
    """Confirm, then disable an account: its sessions end at once."""
    return _account_action(user_id, "disable")


@bp.route("/admin/users/<int:user_id>/enable", methods=["GET", "POST"])
@login_required
def enable_user(user_id: int):
    """Confirm, then let a disabled account sign in again."""
    return _account_action(user_id, "enable")
