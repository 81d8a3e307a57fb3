"""The provider dashboard's numbers: work waiting per assessor, turnaround from submission to
confirmed decision, and the competent rate per unit.

Each ``*_rows`` function reads what it needs in one or two queries, whatever the number of
submissions; the arithmetic is done by pure functions over those rows (``percentile``,
``summarise_turnaround``, ``summarise_competence``) so that it can be tested with known
numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider, User
from certify.assessors.models import Assessment, AssessmentStatus, Outcome
from certify.assessors.operations.assignment import unassigned_submissions_query
from certify.evidence.models import Submission
from certify.units.models import Unit

SECONDS_PER_DAY = 86400


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) of ``values`` by linear interpolation between the
    closest ranks (rank ``p/100 × (n − 1)`` counted from 0, as numpy's default and Excel's
    PERCENTILE.INC), so the 50th percentile is the usual median: of 1, 2, …, 10 it is 5.5,
    and the 90th is 9.1.  None for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = p / 100 * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


# --- Submissions waiting per assessor ---------------------------------------------------------


@dataclass(frozen=True)
class WaitingRow:
    """Draft assessments (being marked) of one assessor; ``assessor_id`` None is the row of
    submissions nobody has been given yet."""

    assessor_id: int | None
    name: str
    email: str
    waiting: int

    @property
    def label(self) -> str:
        return self.name


UNASSIGNED_LABEL = "Not assigned yet"


def waiting_rows(session: Session, provider: Provider) -> list[WaitingRow]:
    """Per assessor, the provider's draft assessments, most first, then the unassigned
    submissions (two queries)."""
    rows = session.execute(
        select(User.id, User.name, User.email, func.count(Assessment.id))
        .join(Assessment, Assessment.assessor_id == User.id)
        .where(Assessment.provider_id == provider.id,
               Assessment.status == AssessmentStatus.DRAFT)
        .group_by(User.id, User.name, User.email)
    ).all()
    unassigned = session.scalar(
        select(func.count()).select_from(unassigned_submissions_query(provider.id).subquery())
    ) or 0
    return summarise_waiting([(i, n, e, c) for i, n, e, c in rows], unassigned)


def summarise_waiting(rows: Iterable[tuple[int, str, str, int]], unassigned: int
                      ) -> list[WaitingRow]:
    """Most waiting first (then by name); the unassigned row last, also when it is 0."""
    found = [WaitingRow(assessor_id, name, email, count)
             for assessor_id, name, email, count in rows]
    found.sort(key=lambda r: (-r.waiting, r.name.lower(), r.assessor_id or 0))
    found.append(WaitingRow(None, UNASSIGNED_LABEL, "", unassigned))
    return found


# --- Turnaround --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitKey:
    unit_id: int
    code: str
    version: int
    title: str

    @property
    def label(self) -> str:
        return f"{self.code} v{self.version}"


@dataclass(frozen=True)
class TurnaroundRow:
    """Days from submission to its first confirmed decision, for one unit or (``unit`` None)
    for all of them."""

    unit: UnitKey | None
    decisions: int
    median_days: float | None
    p90_days: float | None

    @property
    def label(self) -> str:
        return self.unit.label if self.unit is not None else "All units"


def turnaround_rows(session: Session, provider: Provider) -> list[TurnaroundRow]:
    """For each of the provider's submissions that has a confirmed decision, the time from
    ``Submission.submitted_at`` to the *first* confirmation of a decision on it (when the
    candidate was first told a result; later corrections and appeals do not restart the
    clock).  Superseded decisions count: they were confirmed once.  One query."""
    first_confirmed = func.min(Assessment.confirmed_at).label("confirmed_at")
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.version, Unit.title, Submission.submitted_at,
               first_confirmed)
        .join(Assessment, Assessment.submission_id == Submission.id)
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(Assessment.provider_id == provider.id, Assessment.confirmed_at.is_not(None))
        .group_by(Submission.id, Submission.submitted_at, Unit.id, Unit.code, Unit.version,
                  Unit.title)
    ).all()
    return summarise_turnaround(
        (UnitKey(uid, code, version, title), submitted, confirmed)
        for uid, code, version, title, submitted, confirmed in rows
    )


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_DAY


def summarise_turnaround(rows: Iterable[tuple[UnitKey, datetime, datetime]]
                         ) -> list[TurnaroundRow]:
    """Median and 90th percentile (``percentile``) of the days each submission waited, per
    unit by code and version, then over all units (last)."""
    per_unit: dict[UnitKey, list[float]] = defaultdict(list)
    every: list[float] = []
    for unit, submitted, confirmed in rows:
        days = max(0.0, days_between(submitted, confirmed))
        per_unit[unit].append(days)
        every.append(days)
    result = [
        TurnaroundRow(unit, len(days), median(days), percentile(days, 90))
        for unit, days in sorted(per_unit.items(),
                                 key=lambda kv: (kv[0].code, kv[0].version, kv[0].unit_id))
    ]
    result.append(TurnaroundRow(None, len(every), median(every), percentile(every, 90)))
    return result


# --- Competent rate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompetenceRow:
    """Of the decisions that count (confirmed, not superseded) on one unit, how many are
    competent."""

    unit: UnitKey | None
    decisions: int
    competent: int

    @property
    def rate(self) -> float | None:
        """Competent / all, between 0 and 1; None when there is no decision."""
        return self.competent / self.decisions if self.decisions else None

    @property
    def percent(self) -> float | None:
        return None if self.rate is None else 100 * self.rate

    @property
    def label(self) -> str:
        return self.unit.label if self.unit is not None else "All units"


def competence_rows(session: Session, provider: Provider) -> list[CompetenceRow]:
    """Per unit, confirmed decisions and how many of them are competent (one query)."""
    competent = func.sum(case((Assessment.outcome == Outcome.COMPETENT, 1), else_=0))
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.version, Unit.title, func.count(Assessment.id),
               competent)
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(Assessment.provider_id == provider.id,
               Assessment.status == AssessmentStatus.CONFIRMED)
        .group_by(Unit.id, Unit.code, Unit.version, Unit.title)
    ).all()
    return summarise_competence(
        (UnitKey(uid, code, version, title), int(total), int(yes or 0))
        for uid, code, version, title, total, yes in rows
    )


def summarise_competence(rows: Iterable[tuple[UnitKey, int, int]]) -> list[CompetenceRow]:
    """One row per unit by code and version, then the total over all units (last)."""
    result = sorted((CompetenceRow(unit, total, yes) for unit, total, yes in rows),
                    key=lambda r: (r.unit.code, r.unit.version, r.unit.unit_id))
    result.append(CompetenceRow(None, sum(r.decisions for r in result),
                                sum(r.competent for r in result)))
    return result


# --- Everything the dashboard shows --------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    waiting: list[WaitingRow]
    turnaround: list[TurnaroundRow]
    competence: list[CompetenceRow]


def dashboard(session: Session, provider: Provider) -> Dashboard:
    """The three tables of the provider dashboard (four queries in all)."""
    return Dashboard(waiting=waiting_rows(session, provider),
                     turnaround=turnaround_rows(session, provider),
                     competence=competence_rows(session, provider))
