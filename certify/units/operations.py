"""Every write to the catalogue.  Operations flush; the caller commits once."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certify.core import audit
from certify.core.types import utcnow
from certify.units.importers import parse_document
from certify.units.importers.base import (
    DocumentError,
    FrameworkSpec,
    ParsedDocument,
    UnitSpec,
    stored_spec,
)
from certify.units.models import (
    Criterion,
    CriterionTranslation,
    Element,
    ElementTranslation,
    Framework,
    FrameworkLevel,
    Unit,
    UnitStatus,
    UnitTranslation,
)


@dataclass
class UnitOutcome:
    code: str
    version: int
    action: str  # created | new version | unchanged | translation added | ...
    language: str
    unit_id: int | None = None


@dataclass
class ImportReport:
    source: str
    format: str
    framework: str
    language: str
    outcomes: list[UnitOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(not o.action.endswith("unchanged") for o in self.outcomes)


def import_file(
    session: Session, data: bytes, name: str, *, actor: Any = None, via: str = "web"
) -> ImportReport:
    """Parse and import one document (format detected from its content) and audit it.

    Raises DocumentError naming the file, line or field; the caller rolls back, so
    nothing from a refused file is kept.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    report = import_document(
        session, parse_document(data, name), source_name=name, source_sha256=sha256
    )
    if report.changed:
        audit.record(
            session,
            "units.imported",
            actor=actor,
            changes={
                "source": name,
                "sha256": sha256,
                "format": report.format,
                "framework": report.framework,
                "language": report.language,
                "units": [asdict(o) for o in report.outcomes],
                "via": via,
            },
        )
    return report


def preview_file(session: Session, data: bytes, name: str) -> ImportReport:
    """What importing ``data`` would do, computed in a savepoint that is rolled back."""
    savepoint = session.begin_nested()
    try:
        return import_document(
            session,
            parse_document(data, name),
            source_name=name,
            source_sha256=hashlib.sha256(data).hexdigest(),
        )
    finally:
        savepoint.rollback()


def ensure_framework(session: Session, spec: FrameworkSpec) -> Framework:
    """Return the framework with ``spec.code``, creating it and filling in its levels."""
    framework = session.scalar(
        select(Framework).options(selectinload(Framework.levels)).where(Framework.code == spec.code)
    )
    if framework is None:
        framework = Framework(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            hours_per_credit=spec.hours_per_credit,
            source_language=spec.source_language,
        )
        session.add(framework)
    elif framework.kind != spec.kind:
        raise DocumentError(
            f"the framework {spec.code} holds {framework.kind.label.lower()}, "
            f"but this document describes {spec.kind.label.lower()}"
        )
    existing = {level.level: level for level in framework.levels}
    for level_spec in spec.levels:
        level = existing.get(level_spec.level)
        if level is None:
            framework.levels.append(
                FrameworkLevel(
                    level=level_spec.level, name=level_spec.name, essence=level_spec.essence
                )
            )
            continue
        # A page that describes the generic levels fills in what others left out.
        if level_spec.name and not level.name:
            level.name = level_spec.name
        if level_spec.essence and not level.essence:
            level.essence = level_spec.essence
    session.flush()
    return framework


def current_unit(session: Session, framework: Framework, code: str) -> Unit | None:
    return session.scalar(
        select(Unit)
        .options(
            selectinload(Unit.elements).selectinload(Element.translations),
            selectinload(Unit.criteria).selectinload(Criterion.translations),
            selectinload(Unit.translations),
        )
        .where(
            Unit.framework_id == framework.id,
            Unit.code == code,
            Unit.status == UnitStatus.CURRENT,
        )
    )


def import_document(
    session: Session, parsed: ParsedDocument, *, source_name: str, source_sha256: str
) -> ImportReport:
    """Store what ``parsed`` states: new units, new versions or translations.

    A document in a unit's own language whose content differs makes a new version
    and supersedes the old one; a document in another language attaches its text
    to the current version, sentence for sentence.  Importing the same document
    again changes nothing.  Raises DocumentError (nothing is kept: the caller
    rolls back) when a translation does not match the unit it translates.
    """
    framework = ensure_framework(session, parsed.framework)
    report = ImportReport(
        source=source_name,
        format=parsed.format,
        framework=framework.code,
        language=parsed.language,
    )
    for spec in parsed.units:
        unit = current_unit(session, framework, spec.code)
        if unit is None:
            unit = _create_unit(session, framework, spec, parsed.language, 1)
            action = "created"
        elif unit.language == parsed.language:
            if unit.content_sha256 == spec.fingerprint():
                action = "unchanged"
            else:
                unit = _new_version(session, unit, spec, parsed.language)
                action = "new version"
        else:
            action = _translate(unit, spec, parsed.language, framework.source_language)
        # Each text records the document it came from: a translation must not
        # overwrite the source of the unit's own text.
        if unit.language == parsed.language:
            unit.source_name, unit.source_sha256 = source_name, source_sha256
        for translation in unit.translations:
            if translation.language == parsed.language:
                translation.source_name, translation.source_sha256 = source_name, source_sha256
        session.flush()
        report.outcomes.append(
            UnitOutcome(spec.code, unit.version, action, parsed.language, unit.id)
        )
    return report


def _create_unit(
    session: Session, framework: Framework, spec: UnitSpec, language: str, version: int
) -> Unit:
    unit = Unit(framework=framework, code=spec.code, version=version, language=language)
    _write_primary(unit, spec, language)
    elements = {e.ref: Element(ref=e.ref, title=e.title, position=i)
                for i, e in enumerate(spec.elements)}
    unit.elements = list(elements.values())
    unit.criteria = [
        Criterion(
            ref=c.ref,
            kind=c.kind,
            text=c.text,
            lead_in=c.lead_in,
            position=i,
            element=elements[c.element_ref] if c.element_ref else None,
        )
        for i, c in enumerate(spec.criteria)
    ]
    session.add(unit)
    return unit


def _write_primary(unit: Unit, spec: UnitSpec, language: str) -> None:
    unit.title = spec.title
    unit.description = spec.description
    unit.level = spec.level
    unit.level_label = spec.level_label
    unit.credits = spec.credits
    unit.family_code = spec.family_code
    unit.functional_area = spec.functional_area
    unit.remark = spec.remark
    unit.guidance = "\n".join(spec.guidance) or None
    unit.language = language
    unit.content_sha256 = spec.fingerprint()
    unit.imported_at = utcnow()


def _new_version(session: Session, old: Unit, spec: UnitSpec, language: str) -> Unit:
    new = _create_unit(session, old.framework, spec, language, old.version + 1)
    session.flush()
    old.status = UnitStatus.SUPERSEDED
    old.superseded_by = new
    return new


def _check_alignment(unit: Unit, spec: UnitSpec, language: str) -> None:
    theirs = [(c.ref, c.kind) for c in spec.criteria]
    ours = [(c.ref, c.kind) for c in unit.criteria]
    if len(theirs) != len(ours):
        raise DocumentError(
            f"{spec.code}: the {language} text has {len(theirs)} statements but version "
            f"{unit.version} of the unit has {len(ours)}; a translation must match the unit "
            "sentence for sentence",
            field=spec.code,
        )
    if theirs != ours or [e.ref for e in spec.elements] != [e.ref for e in unit.elements]:
        raise DocumentError(
            f"{spec.code}: the {language} text is numbered differently from version "
            f"{unit.version} of the unit; a translation must have the same elements and criteria",
            field=spec.code,
        )


def _translate(unit: Unit, spec: UnitSpec, language: str, source_language: str) -> str:
    """Attach ``spec`` as the ``language`` text of ``unit``; say what happened."""
    _check_alignment(unit, spec, language)
    if language == source_language:
        # The framework's own language becomes the unit's primary text whichever
        # page came first, so the catalogue ends the same in either order.
        previous_language, previous_source = unit.language, (unit.source_name, unit.source_sha256)
        _store_translation(unit, stored_spec(unit), previous_language)
        moved = next(t for t in unit.translations if t.language == previous_language)
        moved.source_name, moved.source_sha256 = previous_source
        _write_primary(unit, spec, language)
        for element, element_spec in zip(unit.elements, spec.elements, strict=True):
            element.title = element_spec.title
        for criterion, criterion_spec in zip(unit.criteria, spec.criteria, strict=True):
            criterion.text, criterion.lead_in = criterion_spec.text, criterion_spec.lead_in
        _drop_translation(unit, language)
        return "source text added"
    return _store_translation(unit, spec, language)


def _drop_translation(unit: Unit, language: str) -> None:
    unit.translations = [t for t in unit.translations if t.language != language]
    for element in unit.elements:
        element.translations = [t for t in element.translations if t.language != language]
    for criterion in unit.criteria:
        criterion.translations = [t for t in criterion.translations if t.language != language]


def _store_translation(unit: Unit, spec: UnitSpec, language: str) -> str:
    existing = next((t for t in unit.translations if t.language == language), None)
    guidance = "\n".join(spec.guidance) or None
    before = _translation_state(unit, language)
    if existing is None:
        existing = UnitTranslation(language=language, title=spec.title)
        unit.translations.append(existing)
    existing.title, existing.description, existing.guidance = (
        spec.title, spec.description, guidance,
    )
    for element, element_spec in zip(unit.elements, spec.elements, strict=True):
        _upsert(element.translations, language, ElementTranslation, title=element_spec.title)
    for criterion, criterion_spec in zip(unit.criteria, spec.criteria, strict=True):
        _upsert(
            criterion.translations,
            language,
            CriterionTranslation,
            text=criterion_spec.text,
            lead_in=criterion_spec.lead_in,
        )
    after = _translation_state(unit, language)
    if before is None:
        return "translation added"
    return "translation unchanged" if before == after else "translation updated"


def _upsert(rows: list, language: str, model: type, **values: object) -> None:
    row = next((r for r in rows if r.language == language), None)
    if row is None:
        rows.append(model(language=language, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def _translation_state(unit: Unit, language: str) -> tuple | None:
    head = next((t for t in unit.translations if t.language == language), None)
    if head is None:
        return None
    return (
        head.title,
        head.description,
        head.guidance,
        tuple(t.title for e in unit.elements for t in e.translations if t.language == language),
        tuple(
            (t.text, t.lead_in)
            for c in unit.criteria
            for t in c.translations
            if t.language == language
        ),
    )
