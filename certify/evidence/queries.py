"""Reads of the portfolio shared by pages: enrolments with coverage, items with counts, units.

Each function sends a fixed number of queries, however many enrolments,
criteria, items and mappings there are (the pages' tests count them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from certify.accounts.models import Enrolment, Provider, User
from certify.evidence.models import EvidenceFile, EvidenceItem, Mapping
from certify.units.models import Criterion, Element, Unit


@dataclass
class Coverage:
    """How many of a unit's criteria have at least one item mapped to them."""

    covered: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.covered / self.total) if self.total else 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.covered == self.total


@dataclass
class EnrolmentCoverage:
    enrolment: Enrolment
    coverage: Coverage


def _with_unit(query: Select) -> Select:
    return (
        query.join(Enrolment.unit)
        .join(Unit.framework)
        .options(contains_eager(Enrolment.unit).contains_eager(Unit.framework))
    )


def enrolments_with_coverage(session: Session, candidate: User, provider: Provider
                             ) -> list[EnrolmentCoverage]:
    """The candidate's enrolments in ``provider``, by unit code, each with its coverage."""
    totals = (
        select(Criterion.unit_id, func.count(Criterion.id).label("total"))
        .group_by(Criterion.unit_id)
        .subquery()
    )
    # Only criteria of the enrolment's own unit version count (set_mappings allows no
    # others, and the join keeps it true whatever the data).
    covered = (
        select(Mapping.enrolment_id, func.count(distinct(Mapping.criterion_id)).label("covered"))
        .join(Criterion, Criterion.id == Mapping.criterion_id)
        .join(Enrolment, Enrolment.id == Mapping.enrolment_id)
        .where(Criterion.unit_id == Enrolment.unit_id)
        .group_by(Mapping.enrolment_id)
        .subquery()
    )
    rows = session.execute(
        _with_unit(select(Enrolment, func.coalesce(covered.c.covered, 0),
                          func.coalesce(totals.c.total, 0)))
        .outerjoin(totals, totals.c.unit_id == Enrolment.unit_id)
        .outerjoin(covered, covered.c.enrolment_id == Enrolment.id)
        .where(Enrolment.candidate_id == candidate.id, Enrolment.provider_id == provider.id)
        .order_by(Unit.code, Unit.version, Enrolment.id)
    )
    return [EnrolmentCoverage(e, Coverage(done, total)) for e, done, total in rows]


def items_query(candidate: User, provider: Provider) -> Select:
    """The candidate's items in ``provider``, newest first (page it with ``paginate``)."""
    return (
        select(EvidenceItem)
        .where(EvidenceItem.candidate_id == candidate.id, EvidenceItem.provider_id == provider.id)
        .order_by(EvidenceItem.created_at.desc(), EvidenceItem.id.desc())
    )


@dataclass
class ItemCounts:
    files: int = 0
    mappings: int = 0


def item_counts(session: Session, items: list[EvidenceItem]) -> dict[int, ItemCounts]:
    """Number of files and of mappings of each item, in one query."""
    ids = [item.id for item in items]
    counts = {item_id: ItemCounts() for item_id in ids}
    if not ids:
        return counts
    files = (
        select(EvidenceFile.item_id, func.count(EvidenceFile.id).label("n"))
        .where(EvidenceFile.item_id.in_(ids)).group_by(EvidenceFile.item_id).subquery()
    )
    mappings = (
        select(Mapping.item_id, func.count(Mapping.id).label("n"))
        .where(Mapping.item_id.in_(ids)).group_by(Mapping.item_id).subquery()
    )
    rows = session.execute(
        select(EvidenceItem.id, func.coalesce(files.c.n, 0), func.coalesce(mappings.c.n, 0))
        .outerjoin(files, files.c.item_id == EvidenceItem.id)
        .outerjoin(mappings, mappings.c.item_id == EvidenceItem.id)
        .where(EvidenceItem.id.in_(ids))
    )
    for item_id, n_files, n_mappings in rows:
        counts[item_id] = ItemCounts(n_files, n_mappings)
    return counts


def find_enrolment(session: Session, enrolment_id: int) -> Enrolment | None:
    """The enrolment with its provider, candidate and unit (with framework)."""
    return session.scalar(
        _with_unit(select(Enrolment))
        .options(joinedload(Enrolment.provider), joinedload(Enrolment.candidate))
        .where(Enrolment.id == enrolment_id)
    )


def load_unit(session: Session, unit_id: int) -> Unit:
    """A unit with everything ``certify.units.views.localise`` reads, in fixed queries."""
    return session.scalars(
        select(Unit)
        .options(
            joinedload(Unit.framework),
            selectinload(Unit.elements).selectinload(Element.translations),
            selectinload(Unit.criteria).selectinload(Criterion.translations),
            selectinload(Unit.translations),
        )
        .where(Unit.id == unit_id)
        .execution_options(populate_existing=True)
    ).one()


@dataclass
class UnitEvidence:
    """An enrolment's unit with, for each criterion ref, the items mapped to it."""

    unit: Unit
    items_by_ref: dict[str, list[tuple[EvidenceItem, Mapping]]] = field(default_factory=dict)
    coverage: Coverage = field(default_factory=lambda: Coverage(0, 0))


def unit_evidence(session: Session, enrolment: Enrolment) -> UnitEvidence:
    """The enrolment's unit version and, per criterion, the items mapped to it, by title."""
    unit = load_unit(session, enrolment.unit_id)
    refs = {criterion.id: criterion.ref for criterion in unit.criteria}
    mappings = session.scalars(
        select(Mapping)
        .join(Mapping.item)
        .options(contains_eager(Mapping.item))
        .where(Mapping.enrolment_id == enrolment.id)
        .order_by(EvidenceItem.title, EvidenceItem.id)
    )
    by_ref: dict[str, list[tuple[EvidenceItem, Mapping]]] = defaultdict(list)
    for mapping in mappings:
        ref = refs.get(mapping.criterion_id)
        if ref is not None:
            by_ref[ref].append((mapping.item, mapping))
    return UnitEvidence(unit=unit, items_by_ref=dict(by_ref),
                        coverage=Coverage(len(by_ref), len(refs)))


def mapping_choices(session: Session, item: EvidenceItem) -> list[Enrolment]:
    """The enrolments the item's candidate may map it to, each unit's criteria loaded."""
    return list(
        session.scalars(
            _with_unit(select(Enrolment))
            .options(
                contains_eager(Enrolment.unit).selectinload(Unit.criteria),
                contains_eager(Enrolment.unit).selectinload(Unit.elements),
            )
            .where(Enrolment.candidate_id == item.candidate_id,
                   Enrolment.provider_id == item.provider_id)
            .order_by(Unit.code, Unit.version, Enrolment.id)
        ).unique()
    )


def find_item(session: Session, item_id: int) -> EvidenceItem | None:
    """The item with its provider, candidate, files (with blobs) and mappings."""
    return session.scalar(
        select(EvidenceItem)
        .options(
            joinedload(EvidenceItem.provider),
            joinedload(EvidenceItem.candidate),
            selectinload(EvidenceItem.files).joinedload(EvidenceFile.blob),
            selectinload(EvidenceItem.mappings).joinedload(Mapping.criterion),
            selectinload(EvidenceItem.mappings).joinedload(Mapping.enrolment)
            .joinedload(Enrolment.unit),
        )
        .where(EvidenceItem.id == item_id)
    )


def find_file(session: Session, file_id: int) -> EvidenceFile | None:
    """The file with its blob and its item (with the item's provider)."""
    return session.scalar(
        select(EvidenceFile)
        .options(joinedload(EvidenceFile.blob),
                 joinedload(EvidenceFile.item).joinedload(EvidenceItem.provider))
        .where(EvidenceFile.id == file_id)
    )


__all__ = [
    "Coverage",
    "EnrolmentCoverage",
    "ItemCounts",
    "UnitEvidence",
    "enrolments_with_coverage",
    "find_enrolment",
    "find_file",
    "find_item",
    "item_counts",
    "items_query",
    "load_unit",
    "mapping_choices",
    "unit_evidence",
]
