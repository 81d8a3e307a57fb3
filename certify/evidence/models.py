"""Evidence: stored files (blobs), a candidate's evidence items, mappings, frozen submissions.

A blob is the bytes of a file, stored once by SHA-256 however often it is
uploaded.  An evidence item belongs to one candidate in one provider and holds
files; a mapping says which criterion (of which enrolment) the item shows, and
how.  A submission is attempt n of an enrolment: a frozen copy of exactly which
items, files (with their hashes) and mappings were submitted.  Items that were
submitted are locked: their files can no longer be changed or removed by anyone.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certify.accounts.models import Enrolment, Provider, User
from certify.core.database import Base, TimestampMixin, str_enum
from certify.core.types import utcnow
from certify.units.models import Criterion


class Blob(Base):
    """Stored bytes, content-addressed: ``storage_key`` is derived from ``sha256``."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # Decided from the bytes, never from the name or the client's Content-Type.
    media_type: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceKind(enum.StrEnum):
    DOCUMENT = "document"
    OBSERVATION = "observation"
    WITNESS_TESTIMONY = "witness_testimony"
    PROFESSIONAL_DISCUSSION = "professional_discussion"
    PHOTO_OR_VIDEO = "photo_or_video"
    REFLECTIVE_ACCOUNT = "reflective_account"
    THIRD_PARTY_REPORT = "third_party_report"
    LINK = "link"

    @property
    def label(self) -> str:
        return {
            "document": "Document or work product",
            "observation": "Observation record",
            "witness_testimony": "Witness testimony",
            "professional_discussion": "Professional discussion record",
            "photo_or_video": "Photo or video",
            "reflective_account": "Reflective account",
            "third_party_report": "Third-party report",
            "link": "Link",
        }[self.value]


class EvidenceItem(TimestampMixin, Base):
    __tablename__ = "evidence_items"
    __table_args__ = (Index("ix_evidence_items_provider_id_candidate_id", "provider_id",
                            "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind, "evidence_kind"))
    # Only for EvidenceKind.LINK.
    url: Mapped[str | None] = mapped_column(String(2000))
    # Set when the item is first submitted; from then on its files are fixed.
    locked_at: Mapped[datetime | None]

    provider: Mapped[Provider] = relationship()
    candidate: Mapped[User] = relationship()
    files: Mapped[list[EvidenceFile]] = relationship(
        back_populates="item", order_by="EvidenceFile.position", cascade="all, delete-orphan"
    )
    mappings: Mapped[list[Mapping]] = relationship(
        back_populates="item", cascade="all, delete-orphan"
    )

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class EvidenceFile(Base):
    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"),
                                         index=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), index=True)
    # The uploader's file name, kept only as text to show and to offer on download.
    display_name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[EvidenceItem] = relationship(back_populates="files")
    blob: Mapped[Blob] = relationship()


class Mapping(Base):
    """Evidence item ``item`` shows criterion ``criterion`` of ``enrolment``'s unit."""

    __tablename__ = "evidence_mappings"
    __table_args__ = (UniqueConstraint("item_id", "criterion_id", "enrolment_id"),
                      Index("ix_evidence_mappings_enrolment_id", "enrolment_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[EvidenceItem] = relationship(back_populates="mappings")
    criterion: Mapped[Criterion] = relationship()
    enrolment: Mapped[Enrolment] = relationship()


class SubmissionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    COMPLETED = "completed"


class Submission(TimestampMixin, Base):
    """Attempt ``attempt`` of an enrolment, frozen at submission."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("enrolment_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, "submission_status"), default=SubmissionStatus.SUBMITTED
    )
    # The candidate's declaration that the evidence is their own work.
    declaration: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Optimistic locking for the assessment that follows.
    version: Mapped[int] = mapped_column(default=1)

    enrolment: Mapped[Enrolment] = relationship()
    entries: Mapped[list[SubmissionEntry]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionEntry.id"
    )
    files: Mapped[list[SubmissionFile]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionFile.id"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it


class SubmissionEntry(Base):
    """One frozen mapping: this item, as it was, shows this criterion, as explained then."""

    __tablename__ = "submission_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    item_title: Mapped[str] = mapped_column(String(200))
    item_kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind, "entry_kind"))
    item_description: Mapped[str] = mapped_column(Text, default="")
    item_url: Mapped[str | None] = mapped_column(String(2000))
    explanation: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="entries")
    item: Mapped[EvidenceItem] = relationship()
    criterion: Mapped[Criterion] = relationship()


class SubmissionFile(Base):
    """One frozen file of a submitted item, with the hash it had when submitted."""

    __tablename__ = "submission_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                               index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(255))

    submission: Mapped[Submission] = relationship(back_populates="files")
    blob: Mapped[Blob] = relationship()
