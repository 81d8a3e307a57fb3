"""Certificates: what was issued to whom, frozen; how it is signed; how bulk issues progress.

A ``Certificate`` is issued once and never edited in what it states: the
``snapshot`` holds everything printed on it (names, units, credits, dates,
signatory) as it was at issue, and the PDF rendered from it is stored with its
SHA-256.  Only its status moves: valid → revoked (with a reason), or valid →
superseded by a reissue that points back to it.  Expiry is not a stored state:
a certificate with ``expires_on`` in the past reads as expired.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certify.accounts.models import Enrolment, Provider, User
from certify.core.database import Base, TimestampMixin, str_enum
from certify.core.types import utcnow
from certify.units.models import Qualification, Unit


class CertificateKind(enum.StrEnum):
    # Units achieved, without (or short of) a qualification.
    STATEMENT = "statement_of_attainment"
    QUALIFICATION = "qualification"

    @property
    def label(self) -> str:
        return {"statement_of_attainment": "Statement of attainment",
                "qualification": "Qualification certificate"}[self.value]


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Certificate(TimestampMixin, Base):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("provider_id", "status_index"),
        Index("ix_certificates_provider_issued", "provider_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    qualification_id: Mapped[int | None] = mapped_column(ForeignKey("qualifications.id"))
    kind: Mapped[CertificateKind] = mapped_column(str_enum(CertificateKind, "certificate_kind"))
    # PREFIX-YEAR-SEQUENCE-CHECK, e.g. HTC-2026-000042-5; never reused.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    # In the verification address; at least 128 random bits, so it cannot be guessed.
    verification_code: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[CertificateStatus] = mapped_column(
        str_enum(CertificateStatus, "certificate_status"), default=CertificateStatus.VALID)
    # Everything the certificate states, as it was at issue (see module docstring).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    achieved_on: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_on: Mapped[date | None]
    pdf_key: Mapped[str] = mapped_column(String(80))
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int]
    # The signed Open Badges 3.0 credential (VC-JWT).
    credential: Mapped[str] = mapped_column(Text)
    # This certificate's bit in the provider's revocation status list.
    status_index: Mapped[int]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_at: Mapped[datetime | None]
    reissue_reason: Mapped[str | None] = mapped_column(Text)

    provider: Mapped[Provider] = relationship()
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    qualification: Mapped[Qualification | None] = relationship()
    replaces: Mapped[Certificate | None] = relationship(
        foreign_keys=[replaces_id], remote_side=[id])
    superseded_by: Mapped[Certificate | None] = relationship(
        foreign_keys=[superseded_by_id], remote_side=[id])
    units: Mapped[list[CertificateUnit]] = relationship(
        back_populates="certificate", cascade="all, delete-orphan",
        order_by="CertificateUnit.position")

    def is_expired(self, today: date | None = None) -> bool:
        return self.expires_on is not None and self.expires_on < (today or utcnow().date())

    def standing(self, today: date | None = None) -> str:
        """What a verifier is told: valid, expired, revoked or superseded."""
        if self.status == CertificateStatus.VALID and self.is_expired(today):
            return "expired"
        return self.status.value

    def __repr__(self) -> str:
        return f"<Certificate {self.number}>"


class CertificateUnit(Base):
    """Which achieved unit (enrolment) a certificate covers; eligibility reads it."""

    __tablename__ = "certificate_units"
    __table_args__ = (UniqueConstraint("certificate_id", "enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    position: Mapped[int]

    certificate: Mapped[Certificate] = relationship(back_populates="units")
    enrolment: Mapped[Enrolment] = relationship()
    unit: Mapped[Unit] = relationship()


class Counter(Base):
    """A provider's counters (certificate sequence per year, status-list index).

    Incremented with ``UPDATE ... RETURNING``, which takes the row lock on every
    database, so concurrent issuers each get their own value.
    """

    __tablename__ = "certificate_counters"

    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class KeySource(enum.StrEnum):
    GENERATED = "generated"
    UPLOADED = "uploaded"


class SigningKey(Base):
    """A provider's RSA key and X.509 certificate; signs PDFs (PAdES) and credentials.

    The private key is stored only as encrypted PKCS#8 (passphrase from
    configuration).  The newest unretired key signs; retired keys stay published
    so that what they signed still verifies.
    """

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"),
                                             index=True)
    # The JWK thumbprint (RFC 7638) of the public key.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)
    source: Mapped[KeySource] = mapped_column(str_enum(KeySource, "key_source"))
    subject: Mapped[str] = mapped_column(String(500))
    not_after: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None]

    provider: Mapped[Provider] = relationship()


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class IssueJob(Base):
    """A bulk issue: many certificates, each issued whole or not at all."""

    __tablename__ = "issue_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"),
                                             index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "job_status"),
                                              default=JobStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    provider: Mapped[Provider] = relationship()
    requested_by: Mapped[User | None] = relationship()
    items: Mapped[list[IssueJobItem]] = relationship(
        back_populates="job", order_by="IssueJobItem.id", cascade="all, delete-orphan")

    @property
    def done(self) -> int:
        return self.issued + self.failed

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    FAILED = "failed"


class IssueJobItem(Base):
    """One certificate of a bulk issue: for whom, what, and how it went."""

    __tablename__ = "issue_job_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("issue_jobs.id", ondelete="CASCADE"),
                                        index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    qualification_id: Mapped[int | None] = mapped_column(ForeignKey("qualifications.id"))
    # Statement of attainment: the enrolments (achieved units) it lists.
    enrolment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus, "job_item_status"),
                                               default=ItemStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))

    job: Mapped[IssueJob] = relationship(back_populates="items")
    candidate: Mapped[User] = relationship()
    qualification: Mapped[Qualification | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship()
