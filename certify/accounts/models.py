"""People, training providers, their roles, assessor authorisations and enrolments."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certify.core.database import Base, TimestampMixin, str_enum
from certify.core.types import utcnow
from certify.units.models import Framework, Unit


class Role(enum.StrEnum):
    PROVIDER_ADMIN = "provider_admin"
    ASSESSOR = "assessor"
    VERIFIER = "verifier"
    CANDIDATE = "candidate"

    @property
    def label(self) -> str:
        return {
            "provider_admin": "Provider admin",
            "assessor": "Assessor",
            "verifier": "Internal verifier",
            "candidate": "Candidate",
        }[self.value]


STAFF_ROLES = frozenset({Role.PROVIDER_ADMIN, Role.ASSESSOR, Role.VERIFIER})


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so that one address is one account.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None until the person sets a password through their invitation.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    # Raised on password change, disable and "sign out everywhere": sessions made
    # under an older version are no longer accepted.
    session_version: Mapped[int] = mapped_column(default=1)
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id", cascade="all, delete-orphan"
    )

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    # Flask-Login's protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Provider(TimestampMixin, Base):
    """A training provider; every row that belongs to one is scoped to it."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    # Starts every certificate number the provider issues (e.g. "DEMO").
    certificate_prefix: Mapped[str] = mapped_column(String(12), unique=True)
    # Submitted evidence is kept at least this long after an enrolment ends
    # (2 years: the Australian regulator's minimum).
    evidence_retention_days: Mapped[int] = mapped_column(default=730, server_default="730")
    # Assessment settings.  Attempts a candidate may submit per enrolment.
    max_attempts: Mapped[int] = mapped_column(default=3, server_default="3")
    # Days after a decision is confirmed during which the candidate may appeal it.
    appeal_window_days: Mapped[int] = mapped_column(default=14, server_default="14")
    # Sampling plan: every decision of an assessor's first N per unit, then this percentage.
    sample_first_n: Mapped[int] = mapped_column(default=5, server_default="5")
    sample_percent: Mapped[int] = mapped_column(default=10, server_default="10")
    # Certificates: who signs them (printed, frozen at issue), the logo printed on them
    # (a stored file by SHA-256 key), and how many days a candidate may wait for a
    # certificate once eligible before the dashboard flags it.
    signatory_name: Mapped[str | None] = mapped_column(String(200))
    signatory_title: Mapped[str | None] = mapped_column(String(200))
    logo_key: Mapped[str | None] = mapped_column(String(80))
    certificate_days: Mapped[int] = mapped_column(default=30, server_default="30")

    def __repr__(self) -> str:
        return f"<Provider {self.slug}>"


class Membership(Base):
    """A person holds a role in a provider; one person may hold several, in several providers."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "provider_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"),
                                             index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    provider: Mapped[Provider] = relationship()


class Authorisation(TimestampMixin, Base):
    """An assessor or verifier may take work on one unit, or a whole framework, for a period."""

    __tablename__ = "authorisations"
    __table_args__ = (
        CheckConstraint(
            "(unit_id IS NULL) <> (framework_id IS NULL)", name="unit_or_framework"
        ),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates_in_order"),
        Index("ix_authorisations_provider_id_user_id", "provider_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role, "authorisation_role"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    framework_id: Mapped[int | None] = mapped_column(ForeignKey("frameworks.id"))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    revoked_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    provider: Mapped[Provider] = relationship()
    unit: Mapped[Unit | None] = relationship()
    framework: Mapped[Framework | None] = relationship()

    def covers(self, unit: Unit, on: date) -> bool:
        """Whether this authorisation lets its holder take work on ``unit`` on the day ``on``."""
        if self.revoked_at is not None or on < self.valid_from:
            return False
        if self.valid_to is not None and on > self.valid_to:
            return False
        if self.unit_id is not None:
            return self.unit_id == unit.id
        return self.framework_id == unit.framework_id


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Enrolment(TimestampMixin, Base):
    """A candidate enrolled on one version of a unit; it keeps that version when the unit is
    revised."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("provider_id", "candidate_id", "unit_id"),
        Index("ix_enrolments_provider_id_status", "provider_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                              index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        str_enum(EnrolmentStatus, "enrolment_status"), default=EnrolmentStatus.ACTIVE
    )
    enrolled_on: Mapped[date]
    ends_on: Mapped[date | None]
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    provider: Mapped[Provider] = relationship()
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    unit: Mapped[Unit] = relationship()


class UserSession(Base):
    """A signed-in browser.  The cookie holds a random id; the database holds its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship()


class TokenPurpose(enum.StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a secret
    INVITATION = "invitation"


class AuthToken(Base):
    """A single-use, expiring link sent by email (password reset, invitation)."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Every sign-in attempt, for throttling per account and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool]
