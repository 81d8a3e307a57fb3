"""Signing in and out, server-side sessions, throttling, single-use email tokens."""

from __future__ import annotations

import hashlib
import math
import secrets
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
from certify.core import audit
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
    row = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == digest(token), AuthToken.purpose == purpose)
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    row.used_at = utcnow()
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
                 actor: User | None = None) -> None:
    """Store a new password and end every session made with the old one."""
    user.password_hash = hash_password(password)
    user.session_version += 1
    end_all_sessions(session, user, reason)
    audit.record(session, f"password.{reason}", actor=actor or user, target=user)
