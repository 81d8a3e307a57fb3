"""Assessment: decisions on submitted attempts, their judgements, verification and appeals.

An ``Assessment`` is one assessor's decision on one submitted attempt.  It is
created when the attempt is assigned (a draft), marked criterion by criterion
(``Judgement``), and signed; the outcome is derived at signing, never typed.
A signed assessment is never edited again: a correction, a verifier's
disagreement and an appeal each make a new assessment that ``replaces`` the
earlier one, so every decision stays in the history.  Only a confirmed
assessment counts; a sampled one waits for an internal verifier first.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certify.accounts.models import Provider, User
from certify.core.database import Base, TimestampMixin, str_enum
from certify.evidence.models import Submission
from certify.units.models import Criterion, Unit

# The four rules of evidence every decision confirms, in the order they are shown.
RULES_OF_EVIDENCE = ("valid", "sufficient", "authentic", "current")
RULE_LABELS = {
    "valid": "Valid: the evidence relates to the criteria of this unit",
    "sufficient": "Sufficient: there is enough evidence to judge every criterion",
    "authentic": "Authentic: the evidence is the candidate's own work",
    "current": "Current: the evidence shows what the candidate can do now",
}


class AssessmentKind(enum.StrEnum):
    INITIAL = "initial"
    # The assessor's own correction of a signed decision.
    CORRECTION = "correction"
    # Remade after an internal verifier disagreed.
    REWORK = "rework"
    # A different assessor's decision on an appeal.
    APPEAL = "appeal"

    @property
    def label(self) -> str:
        return {"initial": "Assessment", "correction": "Correction",
                "rework": "Reassessment after verification", "appeal": "Appeal"}[self.value]


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_VERIFICATION = "awaiting_verification"
    CONFIRMED = "confirmed"
    # An internal verifier disagreed; the rework that replaces it is a new assessment.
    SENT_BACK = "sent_back"
    # Replaced by a confirmed correction or appeal decision.
    SUPERSEDED = "superseded"
    # A draft correction or appeal that was abandoned before signing.
    DISCARDED = "discarded"

    @property
    def label(self) -> str:
        return {
            "draft": "Being marked",
            "awaiting_verification": "Waiting for verification",
            "confirmed": "Confirmed",
            "sent_back": "Sent back by the verifier",
            "superseded": "Superseded",
            "discarded": "Discarded",
        }[self.value]


OPEN_STATUSES = (AssessmentStatus.DRAFT, AssessmentStatus.AWAITING_VERIFICATION)
SIGNED_STATUSES = (AssessmentStatus.AWAITING_VERIFICATION, AssessmentStatus.CONFIRMED,
                   AssessmentStatus.SENT_BACK, AssessmentStatus.SUPERSEDED)


class Outcome(enum.StrEnum):
    COMPETENT = "competent"
    NOT_YET_COMPETENT = "not_yet_competent"

    @property
    def label(self) -> str:
        return {"competent": "Competent", "not_yet_competent": "Not yet competent"}[self.value]


class Assessment(TimestampMixin, Base):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_assessor_id_status", "assessor_id", "status"),
        Index("ix_assessments_provider_id_status", "provider_id", "status"),
        Index("ix_assessments_submission_id", "submission_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    # Copied from the submission's enrolment, so that plans and reports group without joins.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[AssessmentKind] = mapped_column(
        str_enum(AssessmentKind, "assessment_kind"), default=AssessmentKind.INITIAL
    )
    status: Mapped[AssessmentStatus] = mapped_column(
        str_enum(AssessmentStatus, "assessment_status"), default=AssessmentStatus.DRAFT
    )
    # The earlier decision this one corrects, reworks or decides on appeal.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    # Why a correction was made (required for corrections).
    reason: Mapped[str] = mapped_column(Text, default="")

    assigned_at: Mapped[datetime]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "automatic" or "admin".
    assigned_via: Mapped[str] = mapped_column(String(20), default="automatic")

    # The rules of evidence, confirmed one by one.
    rule_valid: Mapped[bool] = mapped_column(default=False)
    rule_sufficient: Mapped[bool] = mapped_column(default=False)
    rule_authentic: Mapped[bool] = mapped_column(default=False)
    rule_current: Mapped[bool] = mapped_column(default=False)
    feedback: Mapped[str] = mapped_column(Text, default="")

    # Derived at signing from the judgements and the rules of evidence.
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "assessment_outcome"))
    signed_at: Mapped[datetime | None]
    # "password": the assessor re-entered their password to sign.
    signature_method: Mapped[str | None] = mapped_column(String(20))

    # Quality assurance: whether the plan sampled it, and why.
    flagged_at: Mapped[datetime | None]
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    flag_reason: Mapped[str] = mapped_column(Text, default="")
    sampled: Mapped[bool] = mapped_column(default=False)
    sample_reason: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None]

    # Optimistic locking: a save made from an older version of the page is refused.
    version: Mapped[int] = mapped_column(default=1)

    provider: Mapped[Provider] = relationship()
    submission: Mapped[Submission] = relationship()
    unit: Mapped[Unit] = relationship()
    assessor: Mapped[User] = relationship(foreign_keys=[assessor_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    replaces: Mapped[Assessment | None] = relationship(remote_side=[id])
    judgements: Mapped[list[Judgement]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="Judgement.id"
    )
    verifications: Mapped[list[Verification]] = relationship(
        back_populates="assessment", order_by="Verification.id"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def rules(self) -> dict[str, bool]:
        return {rule: bool(getattr(self, f"rule_{rule}")) for rule in RULES_OF_EVIDENCE}

    def judgement_for(self, criterion_id: int) -> Judgement | None:
        return next((j for j in self.judgements if j.criterion_id == criterion_id), None)


class Judgement(Base):
    """Satisfactory or not yet satisfactory for one criterion, with the assessor's comment."""

    __tablename__ = "judgements"
    __table_args__ = (UniqueConstraint("assessment_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    satisfactory: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")

    assessment: Mapped[Assessment] = relationship(back_populates="judgements")
    criterion: Mapped[Criterion] = relationship()


class Verification(Base):
    """An internal verifier's answer on a sampled decision: agree (confirm) or disagree."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"),
                                               index=True)
    verifier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    agreed: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]

    assessment: Mapped[Assessment] = relationship(back_populates="verifications")
    verifier: Mapped[User] = relationship()


class ConflictOfInterest(TimestampMixin, Base):
    """An assessor or verifier must not judge this candidate's work (family, manager, friend)."""

    __tablename__ = "conflicts_of_interest"
    __table_args__ = (Index("ix_conflicts_of_interest_provider_id_staff_id", "provider_id",
                            "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]

    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])


class AppealStatus(enum.StrEnum):
    LODGED = "lodged"
    ASSIGNED = "assigned"
    DECIDED = "decided"

    @property
    def label(self) -> str:
        return {"lodged": "Lodged, waiting for an assessor", "assigned": "Being reassessed",
                "decided": "Decided"}[self.value]


class Appeal(TimestampMixin, Base):
    """A candidate's appeal against a confirmed decision, reassessed by a different assessor."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_provider_id_status", "provider_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"),
                                               unique=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(
        str_enum(AppealStatus, "appeal_status"), default=AppealStatus.LODGED
    )
    lodged_at: Mapped[datetime]
    new_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    decided_at: Mapped[datetime | None]

    provider: Mapped[Provider] = relationship()
    assessment: Mapped[Assessment] = relationship(foreign_keys=[assessment_id])
    new_assessment: Mapped[Assessment | None] = relationship(foreign_keys=[new_assessment_id])
    candidate: Mapped[User] = relationship()


__all__ = [
    "OPEN_STATUSES",
    "RULES_OF_EVIDENCE",
    "RULE_LABELS",
    "SIGNED_STATUSES",
    "Appeal",
    "AppealStatus",
    "Assessment",
    "AssessmentKind",
    "AssessmentStatus",
    "ConflictOfInterest",
    "Judgement",
    "Outcome",
    "Verification",
]
