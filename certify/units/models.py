"""The competency catalogue: frameworks, their units, elements and criteria, and translations.

The model is framework-neutral.  A framework holds units; for skill frameworks
(SFIA) a unit is "a skill at a level" and its level statements are the criteria;
for proficiency directories a unit is a capability at a proficiency level.  A
revised unit is a new row with the next version number: the old version stays,
marked superseded and pointing at its successor, so enrolments keep the version
they started on.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certify.core.database import Base, TimestampMixin, str_enum
from certify.core.types import utcnow


class FrameworkKind(enum.StrEnum):
    QF_UNITS = "qf_units"
    SKILL_LEVELS = "skill_levels"
    PROFICIENCY_LEVELS = "proficiency_levels"

    @property
    def label(self) -> str:
        return {
            "qf_units": "Units of competency",
            "skill_levels": "Skills at levels",
            "proficiency_levels": "Proficiency levels",
        }[self.value]


class UnitStatus(enum.StrEnum):
    CURRENT = "current"
    SUPERSEDED = "superseded"


class CriterionKind(enum.StrEnum):
    PERFORMANCE_REQUIREMENT = "performance_requirement"
    ASSESSMENT_CRITERION = "assessment_criterion"
    LEVEL_STATEMENT = "level_statement"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Framework(TimestampMixin, Base):
    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[FrameworkKind] = mapped_column(str_enum(FrameworkKind, "framework_kind"))
    # Notional learning hours per credit (HK QF: 10); None where the framework has no credits.
    hours_per_credit: Mapped[int | None]
    # Language the framework is published in; other languages attach as translations.
    source_language: Mapped[str] = mapped_column(String(35), default="en")

    levels: Mapped[list[FrameworkLevel]] = relationship(
        back_populates="framework", order_by="FrameworkLevel.level", cascade="all, delete-orphan"
    )
    units: Mapped[list[Unit]] = relationship(back_populates="framework")

    def __repr__(self) -> str:
        return f"<Framework {self.code}>"


class FrameworkLevel(Base):
    """A framework's generic level: SFIA level 3 "Apply" and its essence statement."""

    __tablename__ = "framework_levels"
    __table_args__ = (UniqueConstraint("framework_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"))
    level: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(200))
    essence: Mapped[str | None] = mapped_column(Text)

    framework: Mapped[Framework] = relationship(back_populates="levels")


class Unit(TimestampMixin, Base):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("framework_id", "code", "version"),
        Index("ix_units_code", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(Text)
    # HK QF "Range"; a skill's or capability's description elsewhere.
    description: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int | None]
    # The level's own name where the framework has one ("Beginner").
    level_label: Mapped[str | None] = mapped_column(String(100))
    credits: Mapped[int | None]
    # Code shared by the units that are levels of one skill or capability (SFIA "CELO").
    family_code: Mapped[str | None] = mapped_column(String(60))
    functional_area: Mapped[str | None] = mapped_column(Text)
    remark: Mapped[str | None] = mapped_column(Text)
    # Context that is not assessed: SFIA guidance-note activities, one per line.
    guidance: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35), default="en")
    status: Mapped[UnitStatus] = mapped_column(
        str_enum(UnitStatus, "unit_status"), default=UnitStatus.CURRENT
    )
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    source_name: Mapped[str | None] = mapped_column(String(255))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    # Fingerprint of what the unit states (not of the file), so that re-importing
    # the same document, however it was saved, changes nothing.
    content_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    framework: Mapped[Framework] = relationship(back_populates="units")
    elements: Mapped[list[Element]] = relationship(
        back_populates="unit", order_by="Element.position", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="unit", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    translations: Mapped[list[UnitTranslation]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="UnitTranslation.language"
    )
    superseded_by: Mapped[Unit | None] = relationship(remote_side=[id])

    @property
    def label(self) -> str:
        return f"{self.code} {self.title}"

    def __repr__(self) -> str:
        return f"<Unit {self.code} v{self.version}>"


class Element(Base):
    """A numbered group of criteria within a unit (HK QF competency 6.1, 6.2 ...)."""

    __tablename__ = "elements"
    __table_args__ = (UniqueConstraint("unit_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    position: Mapped[int]

    unit: Mapped[Unit] = relationship(back_populates="elements")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="element", order_by="Criterion.position"
    )
    translations: Mapped[list[ElementTranslation]] = relationship(
        back_populates="element", cascade="all, delete-orphan"
    )


class Criterion(Base):
    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("unit_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    element_id: Mapped[int | None] = mapped_column(ForeignKey("elements.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(40))
    kind: Mapped[CriterionKind] = mapped_column(str_enum(CriterionKind, "criterion_kind"))
    text: Mapped[str] = mapped_column(Text)
    # The stem the published text puts before a group of bullets ("Be able to:").
    lead_in: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int]

    unit: Mapped[Unit] = relationship(back_populates="criteria")
    element: Mapped[Element | None] = relationship(back_populates="criteria")
    translations: Mapped[list[CriterionTranslation]] = relationship(
        back_populates="criterion", cascade="all, delete-orphan"
    )


class UnitTranslation(Base):
    __tablename__ = "unit_translations"
    __table_args__ = (UniqueConstraint("unit_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(35))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    guidance: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(String(255))
    source_sha256: Mapped[str | None] = mapped_column(String(64))

    unit: Mapped[Unit] = relationship(back_populates="translations")


class ElementTranslation(Base):
    __tablename__ = "element_translations"
    __table_args__ = (UniqueConstraint("element_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    element_id: Mapped[int] = mapped_column(ForeignKey("elements.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(35))
    title: Mapped[str] = mapped_column(Text)

    element: Mapped[Element] = relationship(back_populates="translations")


class CriterionTranslation(Base):
    __tablename__ = "criterion_translations"
    __table_args__ = (UniqueConstraint("criterion_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(35))
    text: Mapped[str] = mapped_column(Text)
    lead_in: Mapped[str | None] = mapped_column(Text)

    criterion: Mapped[Criterion] = relationship(back_populates="translations")


class Qualification(TimestampMixin, Base):
    """A provider's qualification: units combined by rules, under an award title.

    Core units are all required; each elective group asks for ``choose`` of its
    units.  On top, ``min_credits`` in total from the qualification's units, and
    ``min_credits_at_level`` of them from units at ``at_level`` or above.  Units
    are matched by framework and code, so a candidate who achieved a later
    version of a listed unit has achieved it.  ``validity_months`` (optional)
    makes certificates expire.
    """

    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("provider_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"),
                                             index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    level: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    min_credits: Mapped[int] = mapped_column(default=0)
    min_credits_at_level: Mapped[int] = mapped_column(default=0)
    at_level: Mapped[int | None]
    validity_months: Mapped[int | None]
    withdrawn_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    framework: Mapped[Framework] = relationship()
    groups: Mapped[list[ElectiveGroup]] = relationship(
        back_populates="qualification", order_by="ElectiveGroup.position",
        cascade="all, delete-orphan",
    )
    members: Mapped[list[QualificationUnit]] = relationship(
        back_populates="qualification", order_by="QualificationUnit.position",
        cascade="all, delete-orphan",
    )

    @property
    def core(self) -> list[QualificationUnit]:
        return [member for member in self.members if member.group_id is None]

    def __repr__(self) -> str:
        return f"<Qualification {self.code}>"


class ElectiveGroup(Base):
    """Choose ``choose`` of the group's units."""

    __tablename__ = "elective_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    qualification_id: Mapped[int] = mapped_column(
        ForeignKey("qualifications.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    choose: Mapped[int]
    position: Mapped[int]

    qualification: Mapped[Qualification] = relationship(back_populates="groups")
    members: Mapped[list[QualificationUnit]] = relationship(
        back_populates="group", order_by="QualificationUnit.position",
        overlaps="members,qualification",
    )


class QualificationUnit(Base):
    """One unit of a qualification: core when ``group_id`` is empty, else an elective."""

    __tablename__ = "qualification_units"
    __table_args__ = (UniqueConstraint("qualification_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    qualification_id: Mapped[int] = mapped_column(
        ForeignKey("qualifications.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("elective_groups.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    position: Mapped[int]

    qualification: Mapped[Qualification] = relationship(back_populates="members")
    group: Mapped[ElectiveGroup | None] = relationship(back_populates="members",
                                                       overlaps="members,qualification")
    unit: Mapped[Unit] = relationship()
