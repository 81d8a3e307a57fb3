"""Who is asking: the signed-in user from the server-side session, and the provider they act for.

The cookie (signed by Flask) carries only a random session secret.  Each
request looks it up; the session is refused when it was ended, when the user's
session version moved on (password changed, account disabled, signed out
everywhere), after CERTIFY_SESSION_IDLE_MINUTES without a request, or after
CERTIFY_SESSION_MAX_HOURS in all.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from certify.accounts import permissions
from certify.accounts.models import Membership, Provider, User, UserSession
from certify.accounts.operations.auth import digest
from certify.core.types import utcnow
from certify.extensions import db, login_manager

SESSION_KEY = "sid"
PROVIDER_KEY = "provider_id"
# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _load_user_from_session(_request) -> User | None:
    token = session.get(SESSION_KEY)
    if not token:
        return None
    row = db.session.scalar(
        select(UserSession)
        .options(
            joinedload(UserSession.user)
            .selectinload(User.memberships)
            .joinedload(Membership.provider)
        )
        .where(UserSession.token_hash == digest(token))
    )
    now = utcnow()
    config = current_app.config
    if (
        row is None
        or row.ended_at is not None
        or row.user.is_disabled
        or row.session_version != row.user.session_version
        or now - row.last_seen_at > timedelta(minutes=config["SESSION_IDLE_MINUTES"])
        or now - row.created_at > timedelta(hours=config["SESSION_MAX_HOURS"])
    ):
        if row is not None and row.ended_at is None:
            row.ended_at, row.ended_reason = now, "expired"
            db.session.commit()
        session.clear()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    g.user_session = row
    return row.user


def current_session() -> UserSession | None:
    _ = current_user.is_authenticated  # loads the user, and with it g.user_session
    return g.get("user_session")


def current_provider() -> Provider | None:
    """The provider the signed-in user acts for: the one they chose, else their first."""
    if "current_provider" in g:
        return g.current_provider
    providers = permissions.providers_of(current_user)
    chosen = session.get(PROVIDER_KEY)
    provider = next((p for p in providers if p.id == chosen), providers[0] if providers else None)
    g.current_provider = provider
    return provider


def provider_choices() -> list[Provider]:
    return permissions.providers_of(current_user)


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "PERMANENT_SESSION_LIFETIME", timedelta(hours=app.config["SESSION_MAX_HOURS"])
    )
    login_manager.init_app(app)
    login_manager.request_loader(_load_user_from_session)
    # Flask-Login's own "remember me" cookie is not used; sessions live on the server.
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def _unauthorized():
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("accounts.login", next=target))

    @app.context_processor
    def _who():
        return {
            "current_provider": current_provider(),
            "provider_choices": provider_choices(),
            "permissions": permissions,
        }


def safe_next(target: str | None) -> str | None:
    """A redirect target only when it is a path on this site (no open redirects)."""
    # Browsers drop tabs and newlines inside URLs: "/\t/evil.example" is "//evil.example".
    if not target or any(ch < " " or ch == "\x7f" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


__all__ = ["current_provider", "current_session", "init_app", "safe_next"]
