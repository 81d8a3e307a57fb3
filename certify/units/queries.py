"""Reads of the catalogue shared by pages, commands and other features."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from certify.units.models import Criterion, Element, Framework, Unit, UnitStatus


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def unit_search(
    term: str = "",
    framework_code: str | None = None,
    include_superseded: bool = False,
) -> Select[tuple[Unit]]:
    """Units whose code or title contains ``term`` (any case), framework first, then code."""
    query = (
        select(Unit)
        .join(Unit.framework)
        .options(joinedload(Unit.framework))
        .order_by(Framework.code, Unit.code, Unit.version.desc())
    )
    term = term.strip()
    if term:
        pattern = f"%{escape_like(term)}%"
        query = query.where(
            or_(Unit.code.ilike(pattern, escape="\\"), Unit.title.ilike(pattern, escape="\\"))
        )
    if framework_code:
        query = query.where(Framework.code == framework_code)
    if not include_superseded:
        query = query.where(Unit.status == UnitStatus.CURRENT)
    return query


def find_unit(
    session: Session, code: str, version: int | None = None, framework_code: str | None = None
) -> list[Unit]:
    """The units with ``code``: the given version, or the current one; one per framework."""
    query = (
        select(Unit)
        .join(Unit.framework)
        .options(
            joinedload(Unit.framework).selectinload(Framework.levels),
            selectinload(Unit.elements).selectinload(Element.translations),
            selectinload(Unit.criteria).selectinload(Criterion.translations),
            selectinload(Unit.translations),
        )
        .where(Unit.code == code)
        .order_by(Framework.code)
    )
    if framework_code:
        query = query.where(Framework.code == framework_code)
    if version is None:
        query = query.where(Unit.status == UnitStatus.CURRENT)
    else:
        query = query.where(Unit.version == version)
    return list(session.scalars(query).unique())


def unit_versions(session: Session, unit: Unit) -> list[Unit]:
    """Every version of ``unit``'s code in its framework, newest first."""
    return list(
        session.scalars(
            select(Unit)
            .where(Unit.framework_id == unit.framework_id, Unit.code == unit.code)
            .order_by(Unit.version.desc())
        )
    )


def frameworks(session: Session) -> list[Framework]:
    """Every framework, by code (for choosers such as the search form's filter)."""
    return list(session.scalars(select(Framework).order_by(Framework.code)))


def framework_summaries(session: Session) -> list[tuple[Framework, int]]:
    """Every framework, by code, with its number of current units, in one query."""
    current = (
        select(Unit.framework_id, func.count(Unit.id).label("units"))
        .where(Unit.status == UnitStatus.CURRENT)
        .group_by(Unit.framework_id)
        .subquery()
    )
    rows = session.execute(
        select(Framework, func.coalesce(current.c.units, 0))
        .outerjoin(current, current.c.framework_id == Framework.id)
        .order_by(Framework.code)
    )
    return [(framework, count) for framework, count in rows]


def find_framework(session: Session, code: str) -> Framework | None:
    """The framework with ``code``, its generic levels loaded."""
    return session.scalar(
        select(Framework).options(selectinload(Framework.levels)).where(Framework.code == code)
    )


def catalogue_counts(session: Session) -> dict[str, int]:
    """How many frameworks and current units the catalogue holds."""
    return {
        "frameworks": session.scalar(select(func.count(Framework.id))) or 0,
        "units": session.scalar(
            select(func.count(Unit.id)).where(Unit.status == UnitStatus.CURRENT)
        )
        or 0,
    }
