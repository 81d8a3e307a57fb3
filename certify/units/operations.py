"""Every write to the catalogue.  Operations flush; the caller commits once."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from certify.accounts.models import Provider
from certify.certificates.models import Certificate, IssueJobItem
from certify.core import audit
from certify.core.types import utcnow
from certify.units import award_titles
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
    ElectiveGroup,
    Element,
    ElementTranslation,
    Framework,
    FrameworkLevel,
    Qualification,
    QualificationUnit,
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


# Qualifications: a provider's units combined by rules, under an award title.

QUALIFICATION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
MAX_VALIDITY_MONTHS = 600


class QualificationInvalid(Exception):
    """Every problem found with a qualification, by the name of the form field it is about.

    ``errors`` maps a field (``code``, ``title``, ``level``, ``framework``,
    ``description``, ``core_codes``, ``groups``, ``min_credits``,
    ``min_credits_at_level``, ``at_level``, ``validity_months``, or
    ``qualification`` for the whole) to its messages.
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items() if messages}
        super().__init__("; ".join(m for messages in self.errors.values() for m in messages))


@dataclass
class GroupRule:
    title: str
    choose: int
    units: list[Unit]


@dataclass
class Rules:
    """A qualification's units and rules, resolved to unit versions; reads nothing lazily."""

    core: list[Unit]
    groups: list[GroupRule]
    min_credits: int = 0
    min_credits_at_level: int = 0
    at_level: int | None = None

    @property
    def units(self) -> list[Unit]:
        return [*self.core, *(unit for group in self.groups for unit in group.units)]

    @property
    def most_credits(self) -> int:
        """Credits of every unit listed: achieved units all count, electives beyond
        ``choose`` too, so no rule may ask for more."""
        return sum(unit.credits or 0 for unit in self.units)

    def most_credits_at(self, level: int | None) -> int:
        if level is None:
            return 0
        return sum(unit.credits or 0 for unit in self.units if (unit.level or 0) >= level)

    @property
    def least_by_units(self) -> int:
        """Credits of the smallest set of units that meets the unit rules."""
        return sum(unit.credits or 0 for unit in self.core) + sum(
            sum(sorted(unit.credits or 0 for unit in group.units)[:group.choose])
            for group in self.groups
        )

    @property
    def guaranteed_credits(self) -> int:
        """The fewest credits anyone who meets every rule holds."""
        return max(self.min_credits, self.least_by_units)


def qualification_rules(qualification: Qualification) -> Rules:
    """``qualification``'s rules from its loaded members (with units) and groups."""
    by_group: dict[int | None, list[Unit]] = {}
    for member in qualification.members:
        by_group.setdefault(member.group_id, []).append(member.unit)
    return Rules(
        core=by_group.get(None, []),
        groups=[GroupRule(group.title, group.choose, by_group.get(group.id, []))
                for group in qualification.groups],
        min_credits=qualification.min_credits,
        min_credits_at_level=qualification.min_credits_at_level,
        at_level=qualification.at_level,
    )


def has_certificates(session: Session, qualification: Qualification) -> bool:
    """Whether any certificate (valid, revoked or superseded) was issued for it."""
    return session.scalar(
        select(Certificate.id).where(Certificate.qualification_id == qualification.id).limit(1)
    ) is not None


def _in_bulk_issue(session: Session, qualification: Qualification) -> bool:
    return session.scalar(
        select(IssueJobItem.id).where(IssueJobItem.qualification_id == qualification.id)
        .limit(1)
    ) is not None


def _clean_codes(codes: list[str]) -> list[str]:
    return [code.strip() for code in codes if code and code.strip()]


def _resolve_units(
    session: Session, framework: Framework, codes: list[str]
) -> tuple[dict[str, Unit], dict[str, str]]:
    """The current version of each code in ``framework`` (by upper-case code), and a
    message for each code that has none."""
    wanted = {code.upper() for code in codes}
    if not wanted:
        return {}, {}
    rows = session.scalars(
        select(Unit).options(joinedload(Unit.framework))
        .where(func.upper(Unit.code).in_(sorted(wanted)))
        .order_by(Unit.version.desc())
    ).unique().all()
    found: dict[str, Unit] = {}
    older: dict[str, Unit] = {}
    elsewhere: dict[str, set[str]] = {}
    for unit in rows:
        key = unit.code.upper()
        if unit.framework_id != framework.id:
            elsewhere.setdefault(key, set()).add(unit.framework.code)
        elif unit.status == UnitStatus.CURRENT:
            found.setdefault(key, unit)
        else:
            older.setdefault(key, unit)
    problems: dict[str, str] = {}
    for code in codes:
        key = code.upper()
        if key in found:
            continue
        if key in older:
            unit = older[key]
            problems[key] = (f"{unit.code} version {unit.version} is superseded and has no "
                             "current version, so it cannot be added.")
        elif key in elsewhere:
            where = ", ".join(sorted(elsewhere[key]))
            problems[key] = (f"{code} is a unit of {where}, not of {framework.code}; a "
                             "qualification's units all come from its framework.")
        else:
            problems[key] = f"{code} is not a unit of {framework.code}."
    return found, problems


def _check_int(errors: dict[str, list[str]], name: str, value: int | None, low: int,
               high: int | None, message: str) -> None:
    if value is None:
        return
    if value < low or (high is not None and value > high):
        errors.setdefault(name, []).append(message)


def _plan_qualification(
    session: Session,
    provider: Any,
    *,
    framework: Framework | None,
    code: str,
    title: str,
    level: int | None,
    description: str | None,
    core_codes: list[str],
    groups: list[tuple[str, int, list[str]]],
    min_credits: int | None,
    min_credits_at_level: int | None,
    at_level: int | None,
    validity_months: int | None,
    existing: Qualification | None = None,
) -> tuple[dict[str, Any], Rules]:
    """Check everything at once; the cleaned values and the resolved rules, or
    QualificationInvalid with every problem."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    code = (code or "").strip()
    title = " ".join((title or "").split())
    description = (description or "").strip() or None
    if not code:
        add("code", "Give the qualification a code.")
    elif len(code) > 40 or not QUALIFICATION_CODE.match(code):
        add("code", "Use at most 40 letters, digits, hyphens and full stops, starting with a "
                    f"letter or digit (for example NCOL-DIP-CRM); “{code[:60]}” is not.")
    elif existing is not None and code != existing.code and has_certificates(session, existing):
        add("code", f"Certificates have been issued for {existing.code}, so its code stays "
                    f"{existing.code}.")
    else:
        clash = select(Qualification.code).where(
            Qualification.provider_id == provider.id,
            func.lower(Qualification.code) == code.lower(),
        )
        if existing is not None:
            clash = clash.where(Qualification.id != existing.id)
        taken = session.scalar(clash.limit(1))
        if taken is not None:
            add("code", f"{provider.name} already has a qualification with the code {taken}.")
    if not title:
        add("title", "Give the qualification a title.")
    elif len(title) > 300:
        add("title", f"Use at most 300 characters; this title has {len(title)}.")
    if description is not None and len(description) > 5000:
        add("description", f"Use at most 5,000 characters; this has {len(description):,}.")
    if framework is None:
        add("framework", "Choose the framework the qualification's units come from.")
    else:
        for message in award_titles.level_problems(level, framework):
            add("level", message)
    if min_credits is None:
        min_credits = 0
    if min_credits_at_level is None:
        min_credits_at_level = 0
    _check_int(errors, "min_credits", min_credits, 0, None,
               "The minimum credits cannot be below 0.")
    _check_int(errors, "min_credits_at_level", min_credits_at_level, 0, None,
               "The minimum credits at a level cannot be below 0.")
    if min_credits_at_level > 0 and at_level is None:
        add("at_level", f"Give the level that the {min_credits_at_level} credits must be at "
                        "or above.")
    if at_level is not None and min_credits_at_level == 0:
        add("min_credits_at_level", f"Give how many credits must come from units at level "
                                    f"{at_level} or above, or leave the level empty.")
    if at_level is not None and framework is not None:
        for message in award_titles.level_problems(at_level, framework):
            add("at_level", message)
    _check_int(errors, "validity_months", validity_months, 1, MAX_VALIDITY_MONTHS,
               f"Give a number of months from 1 to {MAX_VALIDITY_MONTHS}, or leave it empty "
               "for certificates that do not expire.")

    core_codes = _clean_codes(core_codes)
    cleaned_groups = [(" ".join((name or "").split()), choose, _clean_codes(codes))
                      for name, choose, codes in groups]
    rules = Rules(core=[], groups=[], min_credits=min_credits,
                  min_credits_at_level=min_credits_at_level, at_level=at_level)
    units_ok = framework is not None
    if not core_codes and not any(codes for _, _, codes in cleaned_groups):
        add("core_codes", "List at least one unit: core units, or elective groups.")
        units_ok = False
    if framework is not None:
        every = core_codes + [c for _, _, codes in cleaned_groups for c in codes]
        found, unknown = _resolve_units(session, framework, every)
        # Where each unit was first listed, to name it when it comes again.
        placed: dict[str, str] = {}
        for code_ in core_codes:
            key = code_.upper()
            if key in unknown:
                add("core_codes", unknown[key])
                units_ok = False
            elif key in placed:
                add("core_codes", f"{found[key].code} is listed twice.")
                units_ok = False
            else:
                placed[key] = "core"
                rules.core.append(found[key])
        seen_titles: set[str] = set()
        for number, (name, choose, codes) in enumerate(cleaned_groups, start=1):
            label = f"“{name}”" if name else f"Group {number}"
            if not name:
                add("groups", f"Group {number} has no title; give each group a title.")
                units_ok = False
            elif len(name) > 200:
                add("groups", f"Group {number}: use at most 200 characters for the title.")
                units_ok = False
            elif name.casefold() in seen_titles:
                add("groups", f"Two groups are called “{name}”; give each its own title.")
                units_ok = False
            seen_titles.add(name.casefold())
            group = GroupRule(name, choose, [])
            for code_ in codes:
                key = code_.upper()
                if key in unknown:
                    add("groups", f"{label}: {unknown[key]}")
                    units_ok = False
                elif key in placed:
                    where = "a core unit" if placed[key] == "core" else f"in {placed[key]}"
                    if placed[key] == label:
                        add("groups", f"{label}: {found[key].code} is listed twice.")
                    else:
                        add("groups", f"{label}: {found[key].code} is already {where}; a unit "
                                      "counts once in a qualification.")
                    units_ok = False
                else:
                    placed[key] = label
                    group.units.append(found[key])
            if not codes:
                add("groups", f"{label} lists no units.")
                units_ok = False
            elif choose is None or not 1 <= choose <= len(codes):
                said = "nothing" if choose is None else str(choose)
                add("groups", f"{label}: choose between 1 and {len(codes)} (the group lists "
                              f"{len(codes)} unit{'s' if len(codes) != 1 else ''}); it says "
                              f"{said}.")
                units_ok = False
            rules.groups.append(group)
    if units_ok:
        most = rules.most_credits
        if min_credits > most:
            add("min_credits", f"At most {most} credits can be achieved from these units, so "
                               f"a minimum of {min_credits} could never be met.")
        if at_level is not None and min_credits_at_level > 0:
            most_at = rules.most_credits_at(at_level)
            if min_credits_at_level > most_at:
                add("min_credits_at_level",
                    f"The units at level {at_level} or above carry {most_at} credits in all, "
                    f"so {min_credits_at_level} could never be met.")
    credits_known = units_ok and "min_credits" not in errors
    if framework is not None and "level" not in errors:
        for message in award_titles.title_problems(
            title, level, rules.guaranteed_credits if credits_known else None, framework
        ):
            if message.startswith("Give the qualification a title") and "title" in errors:
                continue
            add("title", message)
    if errors:
        raise QualificationInvalid(errors)
    values = {
        "code": code, "title": title, "level": level, "description": description,
        "min_credits": min_credits, "min_credits_at_level": min_credits_at_level,
        "at_level": at_level, "validity_months": validity_months,
    }
    return values, rules


def _apply_rules(session: Session, qualification: Qualification, rules: Rules) -> None:
    # Old rows go first: the same unit may come back in another place, and
    # (qualification, unit) is unique.
    if qualification.members or qualification.groups:
        qualification.members.clear()
        qualification.groups.clear()
        session.flush()
    position = 0
    for unit in rules.core:
        position += 1
        qualification.members.append(QualificationUnit(unit=unit, position=position))
    for number, rule in enumerate(rules.groups, start=1):
        group = ElectiveGroup(title=rule.title, choose=rule.choose, position=number)
        qualification.groups.append(group)
        for unit in rule.units:
            position += 1
            qualification.members.append(
                QualificationUnit(unit=unit, group=group, position=position)
            )


def _rules_record(rules: Rules) -> dict[str, Any]:
    return {
        "core": [f"{unit.code} v{unit.version}" for unit in rules.core],
        "groups": [{"title": g.title, "choose": g.choose,
                    "units": [f"{unit.code} v{unit.version}" for unit in g.units]}
                   for g in rules.groups],
        "guaranteed_credits": rules.guaranteed_credits,
    }


def create_qualification(
    session: Session,
    provider: Any,
    *,
    framework: Framework | None,
    code: str,
    title: str,
    level: int | None,
    description: str | None = None,
    core_codes: list[str],
    groups: list[tuple[str, int, list[str]]],
    min_credits: int | None = 0,
    min_credits_at_level: int | None = 0,
    at_level: int | None = None,
    validity_months: int | None = None,
    actor: Any = None,
) -> Qualification:
    """Define a qualification of ``provider``: core units, elective groups, credit rules.

    Units are named by code and taken in their current version in ``framework``.
    Every problem is reported at once in QualificationInvalid (nothing is written);
    the award title is checked against the framework's rules (award_titles).
    """
    values, rules = _plan_qualification(
        session, provider, framework=framework, code=code, title=title, level=level,
        description=description, core_codes=core_codes, groups=groups,
        min_credits=min_credits, min_credits_at_level=min_credits_at_level,
        at_level=at_level, validity_months=validity_months,
    )
    qualification = Qualification(
        provider_id=provider.id, framework=framework,
        created_by_id=getattr(actor, "id", None), **values,
    )
    session.add(qualification)
    _apply_rules(session, qualification, rules)
    session.flush()
    audit.record(
        session, "qualification.created", actor=actor, provider=provider, target=qualification,
        changes={**values, "framework": framework.code, **_rules_record(rules)},
    )
    return qualification


def update_qualification(
    session: Session,
    qualification: Qualification,
    *,
    framework: Framework | None,
    code: str,
    title: str,
    level: int | None,
    description: str | None = None,
    core_codes: list[str],
    groups: list[tuple[str, int, list[str]]],
    min_credits: int | None = 0,
    min_credits_at_level: int | None = 0,
    at_level: int | None = None,
    validity_months: int | None = None,
    actor: Any = None,
) -> Qualification:
    """Change a qualification's title, units or rules, checked as on creation.

    Once certificates have been issued for it the code stays (it is printed on
    them and identifies the qualification); the rules may still change, since
    each certificate keeps what it stated at issue.
    """
    provider = _provider_of(session, qualification)
    before_rules = _rules_record(qualification_rules(qualification))
    before = {
        "code": qualification.code, "title": qualification.title, "level": qualification.level,
        "description": qualification.description, "min_credits": qualification.min_credits,
        "min_credits_at_level": qualification.min_credits_at_level,
        "at_level": qualification.at_level, "validity_months": qualification.validity_months,
        "framework": qualification.framework.code,
    }
    values, rules = _plan_qualification(
        session, provider, framework=framework, code=code, title=title, level=level,
        description=description, core_codes=core_codes, groups=groups,
        min_credits=min_credits, min_credits_at_level=min_credits_at_level,
        at_level=at_level, validity_months=validity_months, existing=qualification,
    )
    for name, value in values.items():
        setattr(qualification, name, value)
    qualification.framework = framework
    after_rules = _rules_record(rules)
    if after_rules != before_rules:
        _apply_rules(session, qualification, rules)
    session.flush()
    after = {**values, "framework": framework.code}
    changes: dict[str, Any] = {name: [before[name], after[name]] for name in after
                               if before[name] != after[name]}
    for name in ("core", "groups", "guaranteed_credits"):
        if before_rules[name] != after_rules[name]:
            changes[name] = [before_rules[name], after_rules[name]]
    if changes:
        audit.record(session, "qualification.updated", actor=actor, provider=provider,
                     target=qualification, changes=changes)
    return qualification


def _provider_of(session: Session, qualification: Qualification) -> Any:
    provider = session.get(Provider, qualification.provider_id)
    assert provider is not None
    return provider


def withdraw_qualification(
    session: Session, qualification: Qualification, actor: Any = None
) -> Qualification:
    """Stop awarding a qualification.  It stays on record, and so do its certificates;
    the eligible list no longer offers it."""
    if qualification.withdrawn_at is not None:
        raise QualificationInvalid({"qualification": [
            f"{qualification.code} was already withdrawn on "
            f"{qualification.withdrawn_at:%d %B %Y}."
        ]})
    qualification.withdrawn_at = utcnow()
    session.flush()
    audit.record(session, "qualification.withdrawn", actor=actor,
                 provider=_provider_of(session, qualification), target=qualification,
                 changes={"code": qualification.code, "title": qualification.title})
    return qualification


def delete_qualification(session: Session, qualification: Qualification, actor: Any = None) -> None:
    """Delete a qualification nobody was ever given: no certificate, no bulk issue names it.

    Once certificates exist it can only be withdrawn, since the register and the
    certificates refer to it.
    """
    if has_certificates(session, qualification):
        raise QualificationInvalid({"qualification": [
            f"Certificates have been issued for {qualification.code}, so it cannot be "
            "deleted; withdraw it instead."
        ]})
    if _in_bulk_issue(session, qualification):
        raise QualificationInvalid({"qualification": [
            f"A bulk issue of certificates refers to {qualification.code}, so it cannot be "
            "deleted; withdraw it instead."
        ]})
    audit.record(
        session, "qualification.deleted", actor=actor,
        provider=_provider_of(session, qualification), target=qualification,
        changes={"code": qualification.code, "title": qualification.title,
                 "level": qualification.level,
                 **_rules_record(qualification_rules(qualification))},
    )
    session.delete(qualification)
    session.flush()
