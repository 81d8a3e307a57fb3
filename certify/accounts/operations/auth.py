"""Signing in and out, server-side sessions, throttling, single-use email tokens."""

from __future__ import annotations

import enum
import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from certify.accounts.models import (
    AuthToken,
    LoginAttempt,
    TokenPurpose,
    User,
    UserSession,
)
from certify.accounts.passwords import check_password, hash_password, needs_rehash
from certify.core import audit, mail
from certify.core.types import utcnow

GENERIC_FAILURE = "The email address or password is not right."


def normalise_email(email: str) -> str:
    return email.strip().lower()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


@dataclass(frozen=True)
class ThrottleRules:
    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ThrottleRules:
        return cls(
            per_account=config["LOGIN_FAILURES_PER_ACCOUNT"],
            per_address=config["LOGIN_FAILURES_PER_ADDRESS"],
            window=timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"]),
        )


def minutes_to_wait(
    session: Session, email: str, ip: str, rules: ThrottleRules, now: datetime | None = None
) -> int:
    """0 when a sign-in may be tried now, else the whole minutes until it may."""
    now = now or utcnow()
    since = now - rules.window
    waits = []
    for column, value, limit in (
        (LoginAttempt.email, normalise_email(email), rules.per_account),
        (LoginAttempt.ip, ip, rules.per_address),
    ):
        failures = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.at > since, LoginAttempt.succeeded.is_(False)
            )
        ).one()
        if failures[0] >= limit:
            # The oldest failure in the window leaves it first and frees a try.
            oldest = failures[1]
            waits.append((oldest + rules.window - now).total_seconds())
    return max((math.ceil(w / 60) for w in waits if w > 0), default=0)


@dataclass
class SignIn:
    user: User | None = None
    token: str | None = None
    error: str | None = None


def sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    ip: str,
    user_agent: str | None,
    rules: ThrottleRules,
) -> SignIn:
    """Check a password and open a session; the error never says whether the account exists."""
    email = normalise_email(email)
    wait = minutes_to_wait(session, email, ip, rules)
    if wait:
        audit.record(session, "sign_in.throttled", changes={"email": email}, ip=ip)
        unit = "minute" if wait == 1 else "minutes"
        return SignIn(error=f"Too many failed sign-ins. Try again in {wait} {unit}.")
    user = find_user(session, email)
    valid = check_password(user.password_hash if user else None, password)
    if not valid or user is None or user.is_disabled:
        session.add(LoginAttempt(email=email, ip=ip, succeeded=False))
        audit.record(session, "sign_in.failed", actor=user, target=user,
                     changes={"email": email}, ip=ip)
        return SignIn(error=GENERIC_FAILURE)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(LoginAttempt(email=email, ip=ip, succeeded=True))
    user.last_login_at = utcnow()
    token = open_session(session, user, ip=ip, user_agent=user_agent)
    audit.record(session, "sign_in", actor=user, target=user, ip=ip)
    return SignIn(user=user, token=token)


def open_session(session: Session, user: User, *, ip: str | None, user_agent: str | None) -> str:
    """A new server-side session for ``user``; returns the secret for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user=user,
            token_hash=digest(token),
            session_version=user.session_version,
            ip=ip,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    session.flush()
    return token


def end_session(session: Session, user_session: UserSession, reason: str, actor: User) -> None:
    """Sign one browser out, on the server, whatever its cookie says later."""
    if user_session.ended_at is None:
        user_session.ended_at = utcnow()
        user_session.ended_reason = reason
        audit.record(session, "session.ended", actor=actor, target=user_session.user,
                     changes={"session": user_session.id, "reason": reason})
    session.flush()


def end_all_sessions(session: Session, user: User, reason: str, *, keep: UserSession | None = None
                     ) -> int:
    """End every open session of ``user`` except ``keep``; returns how many were ended."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    result = session.execute(
        query.values(ended_at=utcnow(), ended_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    session.flush()
    return result.rowcount or 0


def session_for_token(session: Session, token: str) -> UserSession | None:
    return session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))


def issue_token(session: Session, user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
    """A single-use link secret for ``user``; earlier unused ones of that purpose stop working."""
    now = utcnow()
    session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.purpose == purpose,
               AuthToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    session.add(AuthToken(user=user, purpose=purpose, token_hash=digest(token),
                          expires_at=now + lifetime))
    session.flush()
    return token


def redeem_token(session: Session, token: str, purpose: TokenPurpose) -> AuthToken | None:
    """The unused, unexpired token, marked used; None for anything else."""
    now = utcnow()
    # One conditional UPDATE, so that two requests racing with one link cannot both use it.
    result = session.execute(
        update(AuthToken)
        .where(AuthToken.token_hash == digest(token), AuthToken.purpose == purpose,
               AuthToken.used_at.is_(None), AuthToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    row = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == digest(token))
        .execution_options(populate_existing=True)
    )
    session.flush()
    return row


def peek_token(session: Session, token: str, purpose: TokenPurpose) -> AuthToken | None:
    """The token if it could be redeemed now, without using it (to show the form)."""
    row = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == digest(token), AuthToken.purpose == purpose)
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def set_password(session: Session, user: User, password: str, *, reason: str,
                 actor: User | None = None, ip: str | None = None) -> None:
    """Store a new password and end every session made with the old one."""
    user.password_hash = hash_password(password)
    user.session_version += 1
    end_all_sessions(session, user, reason)
    audit.record(session, f"password.{reason}", actor=actor or user, target=user, ip=ip)


# --- Forgotten and changed passwords -------------------------------------------------------

# More reset mails than this per account and hour are not sent: the page still gives its
# usual answer, so nobody can use it to flood someone's mailbox.
RESET_MAILS_PER_HOUR = 3


def request_password_reset(
    session: Session,
    email: str,
    *,
    lifetime: timedelta,
    link_for: Callable[[str], str],
    ip: str | None = None,
) -> bool:
    """Mail a single-use reset link to ``email`` if it names an active account.

    ``link_for(token)`` builds the absolute address of the reset page.  The caller
    answers the same whatever this returns (True when a mail was sent), so that
    the page does not tell who has an account.
    """
    email = normalise_email(email)
    user = find_user(session, email)
    if user is None or user.is_disabled:
        audit.record(session, "password.reset_requested", changes={"email": email, "sent": False},
                     ip=ip)
        return False
    recent = session.scalar(
        select(func.count()).select_from(AuthToken).where(
            AuthToken.user_id == user.id,
            AuthToken.purpose == TokenPurpose.PASSWORD_RESET,
            AuthToken.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if recent >= RESET_MAILS_PER_HOUR:
        audit.record(session, "password.reset_requested", target=user,
                     changes={"email": email, "sent": False, "why": "too many requests"}, ip=ip)
        return False
    token = issue_token(session, user, TokenPurpose.PASSWORD_RESET, lifetime)
    hours = round(lifetime.total_seconds() / 3600, 1)
    mail.send(session, mail.render(
        "password_reset", user.email, "Reset your certify password",
        user=user, link=link_for(token), hours=int(hours) if hours.is_integer() else hours,
    ))
    audit.record(session, "password.reset_requested", target=user,
                 changes={"email": email, "sent": True}, ip=ip)
    return True


class TokenState(enum.StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def token_state(session: Session, token: str, purpose: TokenPurpose) -> TokenState:
    """Why a link does or does not work, for the page that explains it (reads only)."""
    row = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == digest(token), AuthToken.purpose == purpose)
    )
    if row is None or row.user.is_disabled:
        return TokenState.UNKNOWN
    if row.used_at is not None:
        return TokenState.USED
    if row.expires_at <= utcnow():
        return TokenState.EXPIRED
    return TokenState.VALID


def _notify_password_changed(session: Session, user: User, how: str) -> None:
    mail.send(session, mail.render(
        "password_changed", user.email, "Your certify password was changed", user=user, how=how,
    ))


def reset_password(session: Session, token: str, password: str, *, ip: str | None = None
                   ) -> User | None:
    """Use a reset link: set the new password, end every session, tell the owner by mail.

    Returns the user, or None when the link is unknown, used, expired or its account
    disabled (then nothing changes).  The password is checked by the form first.
    """
    row = peek_token(session, token, TokenPurpose.PASSWORD_RESET)
    if row is None or row.user.is_disabled:
        return None
    redeem_token(session, token, TokenPurpose.PASSWORD_RESET)
    user = row.user
    set_password(session, user, password, reason="reset", ip=ip)
    _notify_password_changed(session, user, "with a reset link")
    return user


def note_wrong_password(session: Session, user: User, *, ip: str) -> None:
    """A wrong current password on the change-password form counts as a failed sign-in.

    Otherwise someone at an unattended, signed-in browser could guess the password
    there without ever meeting the sign-in throttle.
    """
    session.add(LoginAttempt(email=user.email, ip=ip, succeeded=False))
    audit.record(session, "password.change_failed", actor=user, target=user, ip=ip)
    session.flush()


def change_password(
    session: Session,
    user: User,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
) -> str:
    """Set a new password chosen by its owner while signed in.

    Every session ends (the version moves on); the browser that asked gets a new
    one, whose secret is returned for its cookie.  The owner is told by mail, so
    that a change they did not make does not go unnoticed.  The current password
    is checked by the form first.
    """
    set_password(session, user, password, reason="changed", ip=ip)
    token = open_session(session, user, ip=ip, user_agent=user_agent)
    _notify_password_changed(session, user, "from the account page")
    return token


# --- Sessions, seen by their owner -----------------------------------------------------------

def open_sessions(
    session: Session, user: User, *, idle: timedelta, lifetime: timedelta
) -> list[UserSession]:
    """The sessions of ``user`` that would still be accepted, most recently used first."""
    now = utcnow()
    return list(session.scalars(
        select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.session_version == user.session_version,
            UserSession.last_seen_at > now - idle,
            UserSession.created_at > now - lifetime,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


def end_other_sessions(session: Session, user: User, keep: UserSession | None, *,
                       ip: str | None = None) -> int:
    """Sign ``user`` out of every browser but ``keep``; returns how many sessions ended."""
    ended = end_all_sessions(session, user, "ended by owner", keep=keep)
    audit.record(session, "session.ended_others", actor=user, target=user,
                 changes={"sessions": ended}, ip=ip)
    return ended


# --- Disabling accounts (platform administrators) -------------------------------------------

def disable_user(session: Session, user: User, *, actor: User, reason: str = "",
                 ip: str | None = None) -> None:
    """Stop ``user`` signing in and end their sessions at once.

    The session version moves on, so a browser that is signed in right now is
    refused at its next request even before its session row is read as ended.
    """
    from certify.accounts.operations.people import AccountError  # people imports this module

    if user.id == actor.id:
        raise AccountError("You cannot disable your own account.")
    if user.is_disabled:
        raise AccountError(f"{user.email} is already disabled.")
    user.disabled_at = utcnow()
    user.session_version += 1
    ended = end_all_sessions(session, user, "account disabled")
    audit.record(session, "user.disabled", actor=actor, target=user,
                 changes={"disabled": [False, True], "sessions_ended": ended,
                          "reason": reason.strip() or None}, ip=ip)


def enable_user(session: Session, user: User, *, actor: User, reason: str = "",
                ip: str | None = None) -> None:
    """Let a disabled account sign in again (with its existing password)."""
    from certify.accounts.operations.people import AccountError  # people imports this module

    if not user.is_disabled:
        raise AccountError(f"{user.email} is not disabled.")
    user.disabled_at = None
    session.flush()
    audit.record(session, "user.enabled", actor=actor, target=user,
                 changes={"disabled": [True, False], "reason": reason.strip() or None}, ip=ip)
