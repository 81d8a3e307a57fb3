"""1EdTech CASE 1.1 JSON: units in and out as a CFPackage.

A CFPackage is a ``CFDocument``, its ``CFItems``, the ``CFAssociations`` between
them and optionally ``CFDefinitions`` (a ``{"CFPackage": {...}}`` wrapper is
accepted too).  certify reads and writes it as follows.

Items (``CFItemType``):

* ``Unit``: ``humanCodingScheme`` is the unit code (ITCSCR405A), ``fullStatement``
  the title, ``notes`` the description (HK QF "Range"), ``subject`` the
  functional area, ``educationLevel`` the level as one whole number ("4").
* ``Element``: ``humanCodingScheme`` is its ref ("6.2"), ``fullStatement`` its title.
* ``Performance Requirement``, ``Assessment Criterion``, ``Level Statement``: the
  criteria; ``humanCodingScheme`` is the ref ("6.2.1", "i", "3"), ``fullStatement``
  the text.  Without a ``humanCodingScheme`` the ref is made from
  ``listEnumeration`` or the position, prefixed by the element's ref.

Hierarchy: ``isChildOf`` associations, origin = child, destination = parent.  A
unit is a child of the CFDocument; an element of a unit; a criterion of its
element, of its unit, or of another criterion (it then belongs to the nearest
element above it).  ``sequenceNumber`` orders the children of one parent;
without it the order of ``CFItems`` decides.  Other association types may point
outside the package (CASE allows links across frameworks) and are not needed to
rebuild a unit, so they are not followed.

certify-specific values live in the CASE 1.1 extension point: every CASE 1.1
class has an optional ``extensions`` object for proprietary data, and certify
keeps its values there under one namespaced key, ``"certify"``:

* ``CFDocument.extensions.certify.framework``: ``code``, ``name``, ``kind``
  (qf_units / skill_levels / proficiency_levels), ``hours_per_credit``,
  ``source_language`` and ``levels`` (``level``, ``name``, ``essence``);
* Unit items: ``credits``, ``level_label``, ``family_code``, ``remark``,
  ``guidance`` (an array of lines);
* criterion items: ``lead_in``.

A package written by someone else imports with defaults: framework kind
qf_units, no credits, and a framework code made from the CFDocument's title (or
creator), e.g. "Example Retail Skills" -> EXAMPLE-RETAIL-SKILLS.

Export writes one unit per package.  Identifiers are UUIDs (CASE requires them),
made with uuid5 from a fixed namespace and (framework code, unit code, version,
item ref, kind), so exporting a unit twice gives the identical document.  A
translation is a document of its own: its identifiers also depend on the
language, and each of its items carries an ``isTranslationOf`` association to the
corresponding item of the unit's own-language export.  ``uri`` fields are
``urn:uuid:<identifier>``: stable and valid URIs, because certify does not (yet)
serve the CASE REST API at which a resolvable URL would point.
``lastChangeDateTime`` is when the unit was imported, in UTC.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from certify.units.importers.base import (
    CriterionSpec,
    DocumentError,
    ElementSpec,
    FrameworkSpec,
    LevelSpec,
    ParsedDocument,
    UnitSpec,
    stored_spec,
)
from certify.units.importers.text import decode
from certify.units.models import (
    CriterionKind,
    Element,
    Framework,
    FrameworkKind,
    FrameworkLevel,
    Unit,
    UnitStatus,
)

FORMAT = "case"
CASE_VERSION = "1.1"
EXTENSION = "certify"
# Fixed for ever: changing it would change every exported identifier.
NAMESPACE = uuid.UUID("79d3a215-5b69-4ed6-a849-b4c43424578f")

UNIT = "Unit"
ELEMENT = "Element"
CRITERION_TYPES: dict[CriterionKind, str] = {
    CriterionKind.PERFORMANCE_REQUIREMENT: "Performance Requirement",
    CriterionKind.ASSESSMENT_CRITERION: "Assessment Criterion",
    CriterionKind.LEVEL_STATEMENT: "Level Statement",
}
CRITERION_KINDS = {name: kind for kind, name in CRITERION_TYPES.items()}
# CFDefinitions.CFItemTypes: name -> (hierarchyCode, description).
ITEM_TYPES: dict[str, tuple[str, str]] = {
    UNIT: ("1", "A unit of competency, or a skill or capability at one level: what a "
                "candidate is assessed against."),
    ELEMENT: ("1.1", "A numbered group of performance requirements within a unit."),
    "Performance Requirement": ("1.1.1", "What a candidate must know or be able to do."),
    "Assessment Criterion": ("1.2", "An integrated outcome shown for the unit as a whole."),
    "Level Statement": ("1.3", "What the skill or capability looks like at this level."),
}
_TYPE_NAMES = {" ".join(name.lower().split()): name for name in ITEM_TYPES}

# The catalogue's column sizes, so that a long value is refused here with a
# message instead of failing in the database.
CODE_LIMIT = Unit.__table__.c.code.type.length
REF_LIMIT = Element.__table__.c.ref.type.length
LEVEL_LABEL_LIMIT = Unit.__table__.c.level_label.type.length
FAMILY_LIMIT = Unit.__table__.c.family_code.type.length
LANGUAGE_LIMIT = Unit.__table__.c.language.type.length
FRAMEWORK_CODE_LIMIT = Framework.__table__.c.code.type.length
FRAMEWORK_NAME_LIMIT = Framework.__table__.c.name.type.length

_BOM = b"\xef\xbb\xbf"
_JSON_START = re.compile(rb"\s*[{\[]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_WHOLE = re.compile(r"^\s*\d{1,4}\s*$")
# CASE asks for ISO 639-2 codes; certify stores the two-letter ISO 639-1 form,
# so that a package in "eng" matches units imported in "en".
_ISO639_2 = {
    "ara": "ar", "chi": "zh", "zho": "zh", "cze": "cs", "ces": "cs", "dan": "da", "dut": "nl",
    "nld": "nl", "eng": "en", "fin": "fi", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de",
    "gre": "el", "ell": "el", "heb": "he", "hin": "hi", "hun": "hu", "ind": "id", "ita": "it",
    "jpn": "ja", "kor": "ko", "may": "ms", "msa": "ms", "nor": "no", "pol": "pl", "por": "pt",
    "rum": "ro", "ron": "ro", "rus": "ru", "spa": "es", "swe": "sv", "tha": "th", "tur": "tr",
    "ukr": "uk", "vie": "vi",
}


def looks_like(data: bytes) -> bool:
    """True when ``data`` starts like JSON: ``{`` or ``[`` after an optional BOM and spaces.

    Decided on the bytes, before any decoding, so that broken or truncated JSON
    still comes to ``parse`` and is refused with a message about JSON.
    """
    return _JSON_START.match(data.removeprefix(_BOM)) is not None


# --------------------------------------------------------------------------- reading


def parse(data: bytes) -> ParsedDocument:
    """Read a CASE 1.1 CFPackage into units; raise DocumentError saying what and where."""
    text = decode(data)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"the file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        # An unterminated string runs to the end of the file: JSON strings cannot hold
        # a line break, so the closing quote is missing only when the text stops.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            problem += "; the file ends before the JSON is complete (was it cut short?)"
        raise DocumentError(problem, line=exc.lineno) from None
    except RecursionError:
        raise DocumentError("the JSON is nested too deeply to be a CASE package") from None
    return _Reader(raw).read()


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if value is None:
        return "null"
    return f"the number {value}"


def _path(*parts: str | int) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


@dataclass
class _Node:
    """One CFItem, with its place in the hierarchy once the associations are read."""

    index: int
    identifier: str
    type: str
    data: dict
    where: tuple[str | int, ...]
    path: str  # ``where`` as written in messages, e.g. CFItems[3]
    parent: str | None = None
    link: int | None = None  # index of the isChildOf association that gives the parent
    sequence: int | None = None
    children: list[_Node] = field(default_factory=list)

    @property
    def label(self) -> str:
        code = self.data.get("humanCodingScheme")
        named = f" {code!r}" if isinstance(code, str) and code.strip() else ""
        return f"the {self.type}{named} ({self.path})"

    def order(self) -> tuple[bool, int, int]:
        return (self.sequence is None, self.sequence or 0, self.index)


class _Reader:
    def __init__(self, raw: Any) -> None:
        self.prefix: tuple[str, ...] = ()
        if isinstance(raw, dict) and "CFDocument" not in raw and "CFPackage" in raw:
            self.prefix = ("CFPackage",)
            raw = raw["CFPackage"]
        if not isinstance(raw, dict):
            raise DocumentError(
                f"expected a JSON object (a CASE CFPackage with CFDocument, CFItems and "
                f"CFAssociations) at the top level, found {_describe(raw)}",
                field=_path(*self.prefix) or None,
            )
        self.raw = raw

    # -- typed access: each failure names the JSON path of the value

    def fail(self, message: str, *where: str | int) -> DocumentError:
        return DocumentError(message, field=_path(*self.prefix, *where))

    def text(
        self,
        obj: dict,
        key: str,
        where: tuple[str | int, ...],
        *,
        required: str | None = None,
        limit: int | None = None,
    ) -> str | None:
        """A string value; ``required`` is what to say when it is missing or blank."""
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                state = "missing" if value is None else "empty"
                raise self.fail(f"{key} is {state}; {required}", *where, key)
            return None
        if not isinstance(value, str):
            raise self.fail(f"expected text, found {_describe(value)}", *where, key)
        if limit is not None and len(value.strip()) > limit:
            raise self.fail(
                f"{value.strip()[:40]!r}... is {len(value.strip())} characters long; "
                f"certify keeps at most {limit}",
                *where,
                key,
            )
        return value

    def integer(
        self, obj: dict, key: str, where: tuple[str | int, ...], *, minimum: int = 0
    ) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(
                f"expected a whole number of at least {minimum}, found {_describe(value)}",
                *where,
                key,
            )
        return value

    def mapping(self, obj: dict, key: str, where: tuple[str | int, ...]) -> dict:
        value = obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"expected an object, found {_describe(value)}", *where, key)
        return value

    def strings(
        self, obj: dict, key: str, where: tuple[str | int, ...], *, blanks: bool = False
    ) -> list[str]:
        """An array of strings; CASE 1.0 packages give a single string, read as one."""
        value = obj.get(key)
        if value is None:
            return []
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.fail(f"expected an array of texts, found {_describe(value)}", *where, key)
        return [v for v in values if blanks or v.strip()]

    def certify(self, obj: dict, where: tuple[str | int, ...]) -> dict:
        """The certify namespace of an object's CASE 1.1 ``extensions``."""
        extensions = self.mapping(obj, "extensions", where)
        return self.mapping(extensions, EXTENSION, (*where, "extensions"))

    def language(self, obj: dict, key: str, where: tuple[str | int, ...]) -> str | None:
        value = self.text(obj, key, where)
        if value is None:
            return None
        tag = language_tag(value)
        if tag is None:
            raise self.fail(
                f"{value!r} is not a language tag; expected a BCP 47 tag such as 'en', 'pl' "
                "or 'zh-Hant-HK' (or an ISO 639-2 code such as 'eng')",
                *where,
                key,
            )
        return tag

    # -- the package

    def read(self) -> ParsedDocument:
        document = self.raw.get("CFDocument")
        if document is None:
            raise self.fail(
                "the package has no CFDocument; a CASE package needs a CFDocument, its "
                "CFItems and the CFAssociations between them",
                "CFDocument",
            )
        if not isinstance(document, dict):
            raise self.fail(f"expected an object, found {_describe(document)}", "CFDocument")
        self.document_id = self.text(
            document, "identifier", ("CFDocument",), required="the CFDocument needs its UUID"
        ).strip()
        self.definitions = self.mapping(self.raw, "CFDefinitions", ())
        self.nodes = self.read_items()
        self.read_associations()
        self.check_attached()
        language = self.read_language(document)
        framework = self.read_framework(document, language)
        units = [
            self.read_unit(node)
            for node in sorted(
                (n for n in self.nodes.values() if n.type == UNIT), key=_Node.order
            )
        ]
        return ParsedDocument(format=FORMAT, framework=framework, language=language, units=units)

    def read_items(self) -> dict[str, _Node]:
        items = self.raw.get("CFItems")
        if items is None:
            raise self.fail(
                "the package has no CFItems; expected an array of items: a Unit, its "
                "Elements and its criteria",
                "CFItems",
            )
        if not isinstance(items, list):
            raise self.fail(f"expected an array of items, found {_describe(items)}", "CFItems")
        if not items:
            raise self.fail("CFItems is empty; expected at least a Unit and its criteria",
                            "CFItems")
        nodes: dict[str, _Node] = {}
        for index, item in enumerate(items):
            where = ("CFItems", index)
            if not isinstance(item, dict):
                raise self.fail(f"expected an item (an object), found {_describe(item)}", *where)
            identifier = self.text(
                item, "identifier", where, required="every item needs its UUID"
            ).strip()
            if identifier == self.document_id:
                raise self.fail(
                    f"the identifier {identifier} is also the CFDocument's; identifiers must "
                    "be unique",
                    *where,
                    "identifier",
                )
            if identifier in nodes:
                raise self.fail(
                    f"the identifier {identifier} is also used by {nodes[identifier].path}; "
                    "identifiers must be unique",
                    *where,
                    "identifier",
                )
            self.text(item, "fullStatement", where, required="every item needs its text")
            nodes[identifier] = _Node(
                index, identifier, self.item_type(item, where), item, where,
                _path(*self.prefix, *where),
            )
        return nodes

    def item_type(self, item: dict, where: tuple[str | int, ...]) -> str:
        name = self.text(item, "CFItemType", where)
        if name is None:
            # CASE lets a producer name the type by reference only.
            link = self.mapping(item, "CFItemTypeURI", where)
            title = link.get("title")
            name = title if isinstance(title, str) and title.strip() else None
            if name is None and isinstance(link.get("identifier"), str):
                name = self.defined_type(link["identifier"])
        if name is None:
            raise self.fail(
                "the item has no CFItemType; expected one of: " + ", ".join(ITEM_TYPES),
                *where,
                "CFItemType",
            )
        known = _TYPE_NAMES.get(" ".join(name.lower().split()))
        if known is None:
            raise self.fail(
                f"unknown item type {name!r}; expected one of: " + ", ".join(ITEM_TYPES),
                *where,
                "CFItemType",
            )
        return known

    def defined_type(self, identifier: str) -> str | None:
        types = self.definitions.get("CFItemTypes")
        for entry in types if isinstance(types, list) else []:
            if isinstance(entry, dict) and entry.get("identifier") == identifier:
                title = entry.get("title")
                return title if isinstance(title, str) else None
        return None

    def read_associations(self) -> None:
        associations = self.raw.get("CFAssociations", [])
        if not isinstance(associations, list):
            raise self.fail(
                f"expected an array of associations, found {_describe(associations)}",
                "CFAssociations",
            )
        seen: dict[tuple[str, str], int] = {}
        for index, association in enumerate(associations):
            where = ("CFAssociations", index)
            if not isinstance(association, dict):
                raise self.fail(
                    f"expected an association (an object), found {_describe(association)}",
                    *where,
                )
            kind = self.text(
                association, "associationType", where,
                required="expected a type such as 'isChildOf'",
            )
            if kind.strip() != "isChildOf":
                continue
            child = self.endpoint(association, "originNodeURI", where)
            parent = self.endpoint(association, "destinationNodeURI", where)
            sequence = self.integer(association, "sequenceNumber", where)
            if child == self.document_id:
                raise self.fail(
                    "the CFDocument cannot be the child of anything; isChildOf goes from an "
                    "item (origin) to its parent (destination)",
                    *where,
                    "originNodeURI",
                )
            if (child, parent) in seen:
                continue  # the same link stated twice says nothing new
            seen[(child, parent)] = index
            node = self.nodes[child]
            if node.parent is not None:
                raise self.fail(
                    f"{node.label} already has a parent (CFAssociations[{node.link}]); "
                    "certify needs each statement in exactly one place",
                    *where,
                )
            node.parent, node.link, node.sequence = parent, index, sequence
        self.check_cycles()
        for node in sorted(self.nodes.values(), key=_Node.order):
            if node.parent in self.nodes:
                self.nodes[node.parent].children.append(node)

    def endpoint(self, association: dict, key: str, where: tuple[str | int, ...]) -> str:
        link = association.get(key)
        if not isinstance(link, dict):
            found = "nothing" if link is None else _describe(link)
            raise self.fail(
                f"expected a link object with an identifier, found {found}", *where, key
            )
        identifier = self.text(
            link, "identifier", (*where, key), required="the link needs the identifier it "
            "points to"
        ).strip()
        if identifier != self.document_id and identifier not in self.nodes:
            raise self.fail(
                f"isChildOf points to {identifier!r}, which is neither the CFDocument nor an "
                "item in CFItems",
                *where,
                key,
                "identifier",
            )
        return identifier

    def check_cycles(self) -> None:
        cleared: set[str] = set()
        for start in self.nodes.values():
            trail: list[_Node] = []
            node: _Node | None = start
            while node is not None and node.identifier not in cleared:
                if node in trail:
                    loop = trail[trail.index(node):]
                    names = " -> ".join(n.label for n in [*loop, node])
                    raise self.fail(
                        f"the isChildOf associations form a cycle: {names}; the hierarchy "
                        "must lead up to the CFDocument",
                        "CFAssociations",
                        node.link,
                    )
                trail.append(node)
                node = self.nodes.get(node.parent) if node.parent else None
            cleared.update(n.identifier for n in trail)

    def check_attached(self) -> None:
        """Every Element and criterion must lead up to a Unit."""
        if not any(node.type == UNIT for node in self.nodes.values()):
            raise self.fail(
                "no item of type Unit; expected at least one item with CFItemType 'Unit', "
                "its code in humanCodingScheme and its title in fullStatement",
                "CFItems",
            )
        for node in sorted(self.nodes.values(), key=lambda n: n.index):
            top = node
            while top.type != UNIT and top.parent in self.nodes:
                top = self.nodes[top.parent]
            if top.type != UNIT:
                if top.parent == self.document_id:
                    above = ("its isChildOf associations reach the CFDocument without passing "
                             "through a Unit")
                elif top is node:
                    above = "it has no isChildOf association"
                else:
                    above = f"{top.label}, above it, has no isChildOf association"
                raise self.fail(
                    f"{node.label} is not attached to any Unit: {above}; expected an isChildOf "
                    "association from it to a Unit or to an Element of a Unit",
                    *node.where,
                )

    def read_language(self, document: dict) -> str:
        """The package's one language: the CFDocument's, which every item must share."""
        language = self.language(document, "language", ("CFDocument",))
        for node in sorted(self.nodes.values(), key=lambda n: n.index):
            own = self.language(node.data, "language", node.where)
            if own is None:
                continue
            if language is None:
                language = own
            elif own != language:
                raise self.fail(
                    f"{node.label} is in {own!r} but the package is in {language!r}; a package "
                    "holds one language (a translation is a package of its own)",
                    *node.where,
                    "language",
                )
        return language or "en"

    def read_framework(self, document: dict, language: str) -> FrameworkSpec:
        where = ("CFDocument",)
        title = self.text(document, "title", where)
        creator = self.text(document, "creator", where)
        own = self.mapping(self.certify(document, where), "framework",
                           (*where, "extensions", EXTENSION))
        own_where = (*where, "extensions", EXTENSION, "framework")
        if own:
            code = self.text(own, "code", own_where, required="expected the framework's code",
                             limit=FRAMEWORK_CODE_LIMIT).strip()
            name = self.text(own, "name", own_where, limit=FRAMEWORK_NAME_LIMIT)
        else:
            basis = title or creator
            if basis is None:
                raise self.fail(
                    "the CFDocument has neither a title nor a creator; one of them names the "
                    "framework",
                    *where,
                    "title",
                )
            code, name = slug(basis), None
        name = (name or title or creator or code).strip()[:FRAMEWORK_NAME_LIMIT]
        return FrameworkSpec(
            code=code,
            name=name,
            kind=self.framework_kind(document, own, own_where),
            hours_per_credit=self.integer(own, "hours_per_credit", own_where, minimum=1),
            source_language=self.language(own, "source_language", own_where) or language,
            levels=self.read_levels(own, own_where),
        )

    def framework_kind(
        self, document: dict, own: dict, own_where: tuple[str | int, ...]
    ) -> FrameworkKind:
        value = self.text(own, "kind", own_where)
        if value is not None:
            try:
                return FrameworkKind(value.strip())
            except ValueError:
                raise self.fail(
                    f"unknown framework kind {value!r}; expected one of: "
                    + ", ".join(kind.value for kind in FrameworkKind),
                    *own_where,
                    "kind",
                ) from None
        declared = document.get("frameworkType")
        if isinstance(declared, str):
            wanted = declared.strip().lower()
            for kind in FrameworkKind:
                if wanted in (kind.value, kind.label.lower()):
                    return kind
        # Anything else (CASE 1.1's own "CourseCodes", or nothing) reads as units.
        return FrameworkKind.QF_UNITS

    def read_levels(self, own: dict, own_where: tuple[str | int, ...]) -> list[LevelSpec]:
        levels = own.get("levels", [])
        if not isinstance(levels, list):
            raise self.fail(f"expected an array of levels, found {_describe(levels)}",
                            *own_where, "levels")
        result: dict[int, LevelSpec] = {}
        for index, entry in enumerate(levels):
            where = (*own_where, "levels", index)
            if not isinstance(entry, dict):
                raise self.fail(f"expected a level (an object), found {_describe(entry)}",
                                *where)
            level = self.integer(entry, "level", where)
            if level is None:
                raise self.fail("level is missing; expected a whole number", *where, "level")
            if level in result:
                raise self.fail(f"level {level} is described twice", *where, "level")
            result[level] = LevelSpec(
                level=level,
                name=self.text(entry, "name", where, limit=FRAMEWORK_NAME_LIMIT),
                essence=self.text(entry, "essence", where),
            )
        return [result[level] for level in sorted(result)]

    def read_unit(self, node: _Node) -> UnitSpec:
        if node.parent is not None and node.parent != self.document_id:
            parent = self.nodes[node.parent]
            raise self.fail(
                f"{node.label} is a child of {parent.label}; a Unit must be a child of the "
                "CFDocument",
                "CFAssociations",
                node.link,
            )
        item, where = node.data, node.where
        own = self.certify(item, where)
        own_where = (*where, "extensions", EXTENSION)
        # Guidance lines are kept exactly, blank ones too: they are part of the fingerprint.
        guidance = self.strings(own, "guidance", own_where, blanks=True)
        functional_area = self.strings(item, "subject", where)
        spec = UnitSpec(
            code=self.text(
                item, "humanCodingScheme", where, limit=CODE_LIMIT,
                required="a Unit needs its code (such as ITCSCR405A) in humanCodingScheme",
            ).strip(),
            title=item["fullStatement"],
            description=self.text(item, "notes", where),
            level=self.level(item, where),
            level_label=self.text(own, "level_label", own_where, limit=LEVEL_LABEL_LIMIT),
            credits=self.integer(own, "credits", own_where),
            family_code=self.text(own, "family_code", own_where, limit=FAMILY_LIMIT),
            functional_area="; ".join(functional_area) or None,
            remark=self.text(own, "remark", own_where),
            guidance=guidance,
        )
        self.read_contents(node, spec)
        if not spec.criteria:
            raise self.fail(
                f"{node.label} has no criteria; expected items of type Performance "
                "Requirement, Assessment Criterion or Level Statement that are children "
                "(isChildOf) of the unit or of its elements",
                *where,
            )
        return spec

    def level(self, item: dict, where: tuple[str | int, ...]) -> int | None:
        values = self.strings(item, "educationLevel", where)
        if not values:
            return None
        if len(values) > 1 or not _WHOLE.match(values[0]):
            raise self.fail(
                f"expected the unit's level as one whole number such as [\"4\"], found "
                f"{values!r}",
                *where,
                "educationLevel",
            )
        return int(values[0])

    def read_contents(self, unit: _Node, spec: UnitSpec) -> None:
        """Walk the unit's tree in order, collecting its elements and criteria."""
        elements: dict[str, _Node] = {}
        criteria: dict[str, _Node] = {}
        counts: dict[str | None, int] = {}
        stack: list[tuple[_Node, str | None]] = [(c, None) for c in reversed(unit.children)]
        while stack:
            node, element_ref = stack.pop()
            if node.type == UNIT:
                raise self.fail(
                    f"{node.label} is inside {unit.label}; a Unit must be a child of the "
                    "CFDocument",
                    "CFAssociations",
                    node.link,
                )
            if node.type == ELEMENT:
                if node.parent in self.nodes and self.nodes[node.parent].type in CRITERION_KINDS:
                    raise self.fail(
                        f"{node.label} is a child of {self.nodes[node.parent].label}; an "
                        "Element must be a child of a Unit or of another Element",
                        "CFAssociations",
                        node.link,
                    )
                ref = self.ref(node, None, len(elements) + 1)
                self.unique(ref, node, elements, unit, "Element")
                spec.elements.append(ElementSpec(ref=ref, title=node.data["fullStatement"]))
                element_ref = ref
            else:
                counts[element_ref] = counts.get(element_ref, 0) + 1
                ref = self.ref(node, element_ref, counts[element_ref])
                self.unique(ref, node, criteria, unit, "criterion")
                own = self.certify(node.data, node.where)
                spec.criteria.append(
                    CriterionSpec(
                        ref=ref,
                        kind=CRITERION_KINDS[node.type],
                        text=node.data["fullStatement"],
                        element_ref=element_ref,
                        lead_in=self.text(own, "lead_in", (*node.where, "extensions", EXTENSION)),
                    )
                )
            stack.extend((child, element_ref) for child in reversed(node.children))

    def ref(self, node: _Node, element_ref: str | None, position: int) -> str:
        code = self.text(node.data, "humanCodingScheme", node.where, limit=REF_LIMIT)
        if code is not None:
            return code.strip()
        listed = self.text(node.data, "listEnumeration", node.where)
        local = listed.strip() if listed is not None else str(position)
        ref = f"{element_ref}.{local}" if element_ref and node.type != ELEMENT else local
        if len(ref) > REF_LIMIT:
            raise self.fail(f"the ref {ref[:40]!r}... is longer than {REF_LIMIT} characters",
                            *node.where, "listEnumeration")
        return ref

    def unique(
        self, ref: str, node: _Node, seen: dict[str, _Node], unit: _Node, what: str
    ) -> None:
        if ref in seen:
            raise self.fail(
                f"the {what} ref {ref!r} is used twice in {unit.label} (also by "
                f"{seen[ref].path}); refs must be unique within a unit",
                *node.where,
                "humanCodingScheme",
            )
        seen[ref] = node


def language_tag(value: str) -> str | None:
    """``value`` as a BCP 47 tag in its usual case ("en", "zh-Hant-HK"), or None if it is not one.

    ISO 639-2 codes that have a two-letter form are given in it ("eng" -> "en").
    """
    tag = value.strip().replace("_", "-")
    if len(tag) > LANGUAGE_LIMIT or not _LANGUAGE.match(tag):
        return None
    first, *rest = tag.split("-")
    parts = [_ISO639_2.get(first.lower(), first.lower())]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())
        else:
            parts.append(part.lower())
    return "-".join(parts)


def slug(text: str) -> str:
    """A framework code made from a title: capitals, digits and hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    code = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").upper()
    code = code[:FRAMEWORK_CODE_LIMIT].rstrip("-")
    # Titles in scripts without Latin letters still get a stable code.
    return code or "CASE-" + hashlib.sha256(text.encode()).hexdigest()[:8].upper()


# --------------------------------------------------------------------------- writing


def export_unit(unit: Unit, language: str | None = None) -> dict:
    """The CASE 1.1 CFPackage of one unit, as a JSON-ready dict.

    Without ``language`` (or with the unit's own) it carries the unit's own text;
    with another language, the stored translation in it.  Raises ValueError when
    the unit has no translation in ``language``.
    """
    if unit.imported_at is None:
        raise ValueError(f"{unit.code} has not been stored yet; there is nothing to export")
    wanted = unit.language
    if language is not None:
        tag = language_tag(language)
        if tag is None:
            raise ValueError(f"{language!r} is not a language tag; expected one such as 'en'")
        wanted = tag
    source = stored_spec(unit)
    spec = source if wanted == unit.language else stored_spec(unit, wanted)
    return _Writer(unit, spec, wanted, source).package()


def unit_item_uri(unit: Unit) -> str:
    """The ``uri`` of the unit's CFItem in its CASE export (what credentials align to)."""
    return _urn(_uuid(unit.framework.code, unit.code, str(unit.version), "", "unit"))


def _uuid(*parts: str) -> str:
    # A separator that cannot occur in codes keeps ("A", "BC") apart from ("AB", "C").
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def _urn(identifier: str) -> str:
    return f"urn:uuid:{identifier}"


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _label(code: str, statement: str) -> str:
    text = f"{code} {statement}"
    return text if len(text) <= 80 else text[:79] + "\u2026"


def _labels(spec: UnitSpec) -> dict[tuple[str, str], str]:
    """The link title of every node of ``spec``, by (ref, kind) as in its identifier."""
    labels = {("", "document"): f"{spec.code} {spec.title}",
              ("", "unit"): _label(spec.code, spec.title)}
    labels.update({(e.ref, "element"): _label(e.ref, e.title) for e in spec.elements})
    labels.update({(c.ref, c.kind.value): _label(c.ref, c.text) for c in spec.criteria})
    return labels


def _compact(values: dict) -> dict:
    """Leave out what is not stated, so that absent and empty read back the same."""
    return {key: value for key, value in values.items() if value not in (None, "", [], {})}


class _Writer:
    def __init__(self, unit: Unit, spec: UnitSpec, language: str, source: UnitSpec) -> None:
        self.unit, self.spec, self.language = unit, spec, language
        self.source_labels = _labels(source)
        self.framework: Framework = unit.framework
        self.changed = _timestamp(unit.imported_at)
        self.translated = language != unit.language
        self.items: list[dict] = []
        self.associations: list[dict] = []
        self.types: set[str] = set()

    def identifier(self, ref: str, kind: str, *, own: bool = False) -> str:
        """The identifier of one node; ``own`` gives the node in the unit's own language."""
        parts = [self.framework.code, self.unit.code, str(self.unit.version), ref, kind]
        if self.translated and not own:
            parts.append(self.language)
        return _uuid(*parts)

    def package(self) -> dict:
        spec = self.spec
        document_id = self.identifier("", "document")
        title = f"{spec.code} {spec.title}"
        document = {
            "identifier": document_id,
            "uri": _urn(document_id),
            "creator": self.framework.name,
            "title": title,
            "lastChangeDateTime": self.changed,
            "frameworkType": self.framework.kind.value,
            "caseVersion": CASE_VERSION,
            "version": str(self.unit.version),
            "adoptionStatus": "Adopted" if self.unit.status == UnitStatus.CURRENT
            else "Deprecated",
            "language": self.language,
            "extensions": {EXTENSION: {"framework": self.framework_values()}},
        }
        parent = {"title": title, "identifier": document_id, "uri": _urn(document_id)}
        unit_id = self.add(
            "", "unit", UNIT, spec.code, spec.title, parent, 1,
            notes=spec.description,
            subject=[spec.functional_area] if spec.functional_area else None,
            educationLevel=[str(spec.level)] if spec.level is not None else None,
            extensions=_compact({EXTENSION: _compact({
                "credits": spec.credits,
                "level_label": spec.level_label,
                "family_code": spec.family_code,
                "remark": spec.remark,
                "guidance": spec.guidance,
            })}),
        )
        unit_link = self.link(unit_id, spec.code, spec.title)
        for position, (element, criteria) in enumerate(self.layout(), start=1):
            if element is None:
                self.add_criterion(criteria[0], unit_link, position)
                continue
            element_id = self.add(element.ref, "element", ELEMENT, element.ref, element.title,
                                  unit_link, position)
            element_link = self.link(element_id, element.ref, element.title)
            for number, criterion in enumerate(criteria, start=1):
                self.add_criterion(criterion, element_link, number)
        if self.translated:
            self.associations.append(self.translation_of(document_id, "", "document", title))
        package = {
            "CFDocument": document,
            "CFItems": self.items,
            "CFAssociations": self.associations,
            "CFDefinitions": {"CFItemTypes": [self.item_type(name) for name in ITEM_TYPES
                                              if name in self.types]},
        }
        return package

    def framework_values(self) -> dict:
        framework = self.framework
        levels: list[FrameworkLevel] = sorted(framework.levels, key=lambda level: level.level)
        return _compact({
            "code": framework.code,
            "name": framework.name,
            "kind": framework.kind.value,
            "hours_per_credit": framework.hours_per_credit,
            "source_language": framework.source_language,
            "levels": [
                _compact({"level": level.level, "name": level.name, "essence": level.essence})
                for level in levels
            ],
        })

    def layout(self) -> list[tuple[ElementSpec | None, list[CriterionSpec]]]:
        """The unit's children in order: each element with its criteria, and direct criteria.

        Reading the tree depth first gives back the flat order of the criteria, and
        the elements stay in their own order, as long as each element's criteria
        follow one another (every importer makes them so).
        """
        groups = {e.ref: (e, []) for e in self.spec.elements}
        pending = list(self.spec.elements)
        order: list[tuple[ElementSpec | None, list[CriterionSpec]]] = []
        for criterion in self.spec.criteria:
            if criterion.element_ref not in groups:
                order.append((None, [criterion]))
                continue
            while pending and criterion.element_ref in (e.ref for e in pending):
                element = pending.pop(0)
                order.append(groups[element.ref])
            groups[criterion.element_ref][1].append(criterion)
        order.extend(groups[element.ref] for element in pending)
        return order

    def add_criterion(self, criterion: CriterionSpec, parent: dict, position: int) -> None:
        self.add(
            criterion.ref, criterion.kind.value, CRITERION_TYPES[criterion.kind], criterion.ref,
            criterion.text, parent, position,
            extensions=_compact({EXTENSION: _compact({"lead_in": criterion.lead_in})}),
        )

    def add(
        self,
        ref: str,
        kind: str,
        type_name: str,
        code: str,
        statement: str,
        parent: dict,
        position: int,
        **values: Any,
    ) -> str:
        identifier = self.identifier(ref, kind)
        self.types.add(type_name)
        type_id = _uuid("item-type", type_name)
        item = {
            "identifier": identifier,
            "uri": _urn(identifier),
            "CFItemType": type_name,
            "CFItemTypeURI": {"title": type_name, "identifier": type_id, "uri": _urn(type_id)},
            "humanCodingScheme": code,
            "listEnumeration": str(position),
            "fullStatement": statement,
            **_compact(values),
            "language": self.language,
            "lastChangeDateTime": self.changed,
        }
        self.items.append(item)
        child = self.link(identifier, code, statement)
        self.associations.append(self.association("isChildOf", child, parent, position))
        if self.translated:
            self.associations.append(self.translation_of(identifier, ref, kind,
                                                         _label(code, statement)))
        return identifier

    def link(self, identifier: str, code: str, statement: str) -> dict:
        return {"title": _label(code, statement), "identifier": identifier,
                "uri": _urn(identifier)}

    def association(
        self, kind: str, origin: dict, destination: dict, position: int | None = None
    ) -> dict:
        identifier = _uuid("association", kind, origin["identifier"], destination["identifier"])
        association = {
            "identifier": identifier,
            "uri": _urn(identifier),
            "associationType": kind,
            # Copies, so that no two places in the package share one object.
            "originNodeURI": dict(origin),
            "destinationNodeURI": dict(destination),
        }
        if position is not None:
            association["sequenceNumber"] = position
        association["lastChangeDateTime"] = self.changed
        return association

    def translation_of(self, identifier: str, ref: str, kind: str, title: str) -> dict:
        """This language's node is a translation of the node in the unit's own export."""
        source = self.identifier(ref, kind, own=True)
        return self.association(
            "isTranslationOf",
            {"title": title, "identifier": identifier, "uri": _urn(identifier)},
            {"title": self.source_labels[(ref, kind)], "identifier": source, "uri": _urn(source),
             "targetType": "CASE"},
        )

    def item_type(self, name: str) -> dict:
        identifier = _uuid("item-type", name)
        hierarchy, description = ITEM_TYPES[name]
        return {
            "identifier": identifier,
            "uri": _urn(identifier),
            "title": name,
            "description": description,
            "hierarchyCode": hierarchy,
            "lastChangeDateTime": self.changed,
        }


__all__ = ["FORMAT", "export_unit", "language_tag", "looks_like", "parse", "slug"]
