"""What every importer produces: a parsed document, independent of the database.

An importer reads one published shape and returns a ``ParsedDocument``; the
operations in ``certify.units.operations`` decide what that means for the
catalogue (new unit, new version, translation, nothing).  An importer that
cannot read its input raises ``DocumentError`` naming the file, the line or
field, and what it expected.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from certify.units.models import CriterionKind, FrameworkKind, Unit


class DocumentError(ValueError):
    """A document that cannot be imported; ``str()`` is the message for the user."""

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(message)

    def located(self, source: str) -> DocumentError:
        if not self.source:
            self.source = source
        return self

    def __str__(self) -> str:
        where = [self.source] if self.source else []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class LevelSpec:
    level: int
    name: str | None = None
    essence: str | None = None


@dataclass
class FrameworkSpec:
    code: str
    name: str
    kind: FrameworkKind
    hours_per_credit: int | None = None
    source_language: str = "en"
    levels: list[LevelSpec] = field(default_factory=list)


@dataclass
class ElementSpec:
    ref: str
    title: str


@dataclass
class CriterionSpec:
    ref: str
    kind: CriterionKind
    text: str
    element_ref: str | None = None
    lead_in: str | None = None


@dataclass
class UnitSpec:
    code: str
    title: str
    description: str | None = None
    level: int | None = None
    level_label: str | None = None
    credits: int | None = None
    family_code: str | None = None
    functional_area: str | None = None
    remark: str | None = None
    guidance: list[str] = field(default_factory=list)
    elements: list[ElementSpec] = field(default_factory=list)
    criteria: list[CriterionSpec] = field(default_factory=list)

    def fingerprint(self) -> str:
        """SHA-256 of what the unit states, independent of how the file was laid out."""
        data = asdict(self)
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class ParsedDocument:
    format: str
    framework: FrameworkSpec
    language: str
    units: list[UnitSpec]


_SPACES = re.compile(r"\s+")
_AFTER_STOP = re.compile(r"(?<=[.!?])\s+")
# Abbreviations after which a capital letter does not start a new sentence.
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:e\.g|i\.e|etc|cf|vs|incl|approx|np|tj|m\.in|itp|itd|tzw|dr|mr|ms)\.$",
    re.IGNORECASE,
)


def clean(text: str) -> str:
    """Collapse runs of white space (tabs, non-breaking spaces, newlines) to one space."""
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, one criterion each.

    A stop followed by a lower-case word ("etc. and") or after a common
    abbreviation ("e.g. CRM") does not end a sentence; str.isupper() knows every
    script's capitals, so Polish splits like English.
    """
    result: list[str] = []
    for part in _AFTER_STOP.split(clean(text)):
        if result and (
            not part[:1].isupper() or _ABBREVIATION.search(result[-1])
        ):
            result[-1] = f"{result[-1]} {part}"
        elif part:
            result.append(part)
    return result


def stored_spec(unit: Unit, language: str | None = None) -> UnitSpec:
    """What a stored ``unit`` states, in its own language or in its stored translation.

    Raises ValueError when the unit has no (complete) translation in ``language``.
    """
    language = language or unit.language
    elements = sorted(unit.elements, key=lambda e: e.position)
    criteria = sorted(unit.criteria, key=lambda c: c.position)
    element_refs = {e.id: e.ref for e in elements}
    spec = UnitSpec(
        code=unit.code,
        title=unit.title,
        description=unit.description,
        level=unit.level,
        level_label=unit.level_label,
        credits=unit.credits,
        family_code=unit.family_code,
        functional_area=unit.functional_area,
        remark=unit.remark,
        guidance=unit.guidance.split("\n") if unit.guidance else [],
        elements=[ElementSpec(ref=e.ref, title=e.title) for e in elements],
        criteria=[
            CriterionSpec(
                ref=c.ref,
                kind=c.kind,
                text=c.text,
                element_ref=element_refs.get(c.element_id),
                lead_in=c.lead_in,
            )
            for c in criteria
        ],
    )
    if language == unit.language:
        return spec
    head = next((t for t in unit.translations if t.language == language), None)
    if head is None:
        others = sorted(t.language for t in unit.translations)
        held = f"translations: {', '.join(others)}" if others else "no translations"
        raise ValueError(
            f"{unit.code} v{unit.version} has no translation in {language!r}; it is written "
            f"in {unit.language!r} and has {held}"
        )
    spec.title, spec.description = head.title, head.description
    spec.guidance = head.guidance.split("\n") if head.guidance else []
    for element_spec, element in zip(spec.elements, elements, strict=True):
        element_spec.title = _translation(element.translations, language, unit).title
    for criterion_spec, criterion in zip(spec.criteria, criteria, strict=True):
        row = _translation(criterion.translations, language, unit)
        criterion_spec.text, criterion_spec.lead_in = row.text, row.lead_in
    return spec


def _translation(rows: list, language: str, unit: Unit) -> Any:
    row = next((r for r in rows if r.language == language), None)
    if row is None:
        raise ValueError(
            f"the {language!r} translation of {unit.code} v{unit.version} is incomplete; "
            "import the translated document again"
        )
    return row
