"""Hong Kong QF Specification of Competency Standards: one unit of competency.

The published pages are tab-separated numbered fields ("1. Title<TAB>...") whose
values may run over several lines and carry HTML fragments: <p> paragraphs,
<ul> lists whose items are marked with "●" (the <li> tags are missing) and <ol>
lists numbered i., ii., iii.  Competency element headings ("6.1 Possess ...")
may be declared together before their bullet groups; each following group of
bullets, separated by a paragraph such as "Be able to:", belongs to the next
declared element, in order.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser

from certify.units.importers.base import (
    CriterionSpec,
    DocumentError,
    ElementSpec,
    FrameworkSpec,
    LevelSpec,
    ParsedDocument,
    UnitSpec,
    clean,
)
from certify.units.importers.text import decode
from certify.units.models import CriterionKind, FrameworkKind

FORMAT = "hkqf"
FRAMEWORK = FrameworkSpec(
    code="HKQF",
    name="Hong Kong Qualifications Framework",
    kind=FrameworkKind.QF_UNITS,
    hours_per_credit=10,
    source_language="en",
    levels=[LevelSpec(level=n) for n in range(1, 8)],
)
REQUIRED = ("Title", "Code", "Range", "Level", "Credit", "Competency", "Assessment Criteria")
KNOWN = (*REQUIRED, "Remark")

_FIELD = re.compile(r"^\s*(?:\d+\.\s*)?([A-Za-z][A-Za-z ]*?)\s*\t(.*)$")
_FUNCTIONAL_AREA = re.compile(r"^\s*Functional Area\s*:\s*(.+?)\s*$", re.IGNORECASE)
_ELEMENT_HEADING = re.compile(r"^(\d+(?:\.\d+)+)\s+(\S.*)$")
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv",
          "xv", "xvi", "xvii", "xviii", "xix", "xx"]
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,59}$")


def looks_like(text: str) -> bool:
    """A numbered Title field and at least two more of the unit's numbered fields."""
    if not re.search(r"^\s*\d+\.\s*Title\t", text, re.MULTILINE):
        return False
    others = sum(
        bool(re.search(rf"^\s*\d+\.\s*{name}\t", text, re.MULTILINE | re.IGNORECASE))
        for name in KNOWN[1:]
    )
    return others >= 2


@dataclass
class Field:
    name: str
    line: int
    value: str


@dataclass
class Token:
    kind: str  # "p", "bullet" or "numbered:<numeral>"
    text: str
    line: int
    underlined: bool = False


def read_fields(text: str) -> tuple[dict[str, Field], str | None]:
    """Split the page into its named fields; continuation lines join the field above."""
    fields: dict[str, Field] = {}
    functional_area = None
    current: Field | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        match = _FIELD.match(line)
        name = match.group(1).strip() if match else None
        known = next((k for k in KNOWN if name and k.lower() == name.lower()), None)
        if known:
            if known in fields:
                raise DocumentError(
                    f"the field {known!r} appears twice (first on line {fields[known].line})",
                    line=number,
                    field=known,
                )
            current = fields[known] = Field(known, number, match.group(2))
            continue
        area = _FUNCTIONAL_AREA.match(line)
        if area and current is None:
            functional_area = clean(area.group(1))
            continue
        if current is not None:
            current.value += "\n" + line
    return fields, functional_area


class _Fragments(HTMLParser):
    """Turn an HTML fragment into paragraphs and list items, each with its line."""

    def __init__(self, first_line: int) -> None:
        super().__init__(convert_charrefs=True)
        self.first_line = first_line
        self.tokens: list[Token] = []
        self._paragraph: list[str] | None = None
        self._paragraph_line = 0
        self._underlined = False
        self._list: str | None = None
        self._items: list[tuple[str, int]] = []  # (text, line) chunks of the open list

    def _line(self) -> int:
        return self.first_line + self.getpos()[0] - 1

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self._flush_list()
            self._paragraph, self._paragraph_line, self._underlined = [], self._line(), False
        elif tag == "u" and self._paragraph is not None:
            self._underlined = True
        elif tag in ("ul", "ol"):
            self._flush_list()
            self._list = tag
        elif tag == "li" and self._list:
            self._items.append(("\u25cf", self._line()))
        elif tag == "br":
            self.handle_data(" ")

    def handle_endtag(self, tag):
        if tag == "p" and self._paragraph is not None:
            text = clean("".join(self._paragraph))
            if text:
                self.tokens.append(Token("p", text, self._paragraph_line, self._underlined))
            self._paragraph = None
        elif tag in ("ul", "ol"):
            self._flush_list()

    def handle_data(self, data):
        if self._paragraph is not None:
            self._paragraph.append(data)
        elif self._list:
            self._items.append((data, self._line()))
        elif clean(data):
            # Loose text outside any list or paragraph reads as a paragraph.
            self.tokens.append(Token("p", clean(data), self._line()))

    def _flush_list(self):
        if not self._list:
            return
        kind, chunks = self._list, self._items
        self._list, self._items = None, []
        if kind == "ol" and not any("\u25cf" in c for c, _ in chunks):
            self.tokens.extend(_numbered_items(chunks))
        else:
            self.tokens.extend(_bullet_items(chunks))

    def close(self):
        super().close()
        if self._paragraph is not None:
            self.handle_endtag("p")
        self._flush_list()


def _bullet_items(chunks: list[tuple[str, int]]) -> list[Token]:
    items: list[Token] = []
    pending: list[str] = []
    pending_line = chunks[0][1] if chunks else 0
    for chunk, line in chunks:
        pieces = chunk.replace("\u2022", "\u25cf").split("\u25cf")
        for index, piece in enumerate(pieces):
            if index > 0:
                if clean("".join(pending)):
                    items.append(Token("bullet", clean("".join(pending)), pending_line))
                pending, pending_line = [], line
            pending.append(piece)
    if clean("".join(pending)):
        items.append(Token("bullet", clean("".join(pending)), pending_line))
    return items


def _numbered_items(chunks: list[tuple[str, int]]) -> list[Token]:
    """Split "i. ... ii. ... iii. ..." on the numerals in sequence, so "i.e." stays whole."""
    text = " ".join(c for c, _ in chunks)
    line = chunks[0][1] if chunks else 0
    items: list[Token] = []
    position = 0
    starts: list[tuple[str, int, int]] = []
    for numeral in _ROMAN:
        match = re.compile(rf"(?:^|\s){numeral}\.\s+").search(text, position)
        if not match:
            break
        starts.append((numeral, match.start(), match.end()))
        position = match.end()
    for index, (numeral, _start, end) in enumerate(starts):
        stop = starts[index + 1][1] if index + 1 < len(starts) else len(text)
        items.append(Token(f"numbered:{numeral}", clean(text[end:stop]), line))
    if not starts and clean(text):
        items.append(Token("numbered:i", clean(text), line))
    return items


def fragments(value: str, first_line: int) -> list[Token]:
    parser = _Fragments(first_line)
    parser.feed(value)
    parser.close()
    return parser.tokens


def plain(value: str) -> str:
    """The text of a field with its markup removed."""
    return clean(" ".join(t.text for t in fragments(value, 1)))


def _competency(field_: Field) -> tuple[list[ElementSpec], list[CriterionSpec]]:
    elements: list[ElementSpec] = []
    groups: dict[str, list[tuple[str, str | None]]] = {}
    pending: deque[ElementSpec] = deque()
    current: ElementSpec | None = None
    boundary = True
    lead_in: str | None = None
    for token in fragments(field_.value, field_.line):
        if token.kind == "p":
            heading = _ELEMENT_HEADING.match(token.text)
            if heading:
                ref, title = heading.group(1), heading.group(2).strip()
                if any(e.ref == ref for e in elements):
                    raise DocumentError(
                        f"element {ref} is declared twice", line=token.line, field="Competency"
                    )
                element = ElementSpec(ref=ref, title=title)
                elements.append(element)
                pending.append(element)
                groups[ref] = []
                lead_in = None
            elif not token.underlined:
                # A stem such as "Be able to:" introduces the bullets that follow it.
                lead_in = token.text
            boundary = True
            continue
        if boundary and pending:
            current = pending.popleft()
        elif current is None:
            raise DocumentError(
                "a performance requirement comes before any element heading; "
                "expected a heading such as '6.1 Possess the knowledge ...' first",
                line=token.line,
                field="Competency",
            )
        boundary = False
        groups[current.ref].append((token.text, lead_in))
    if not elements:
        raise DocumentError(
            "no competency elements found; expected headings such as '<p>6.1 ...</p>' "
            "followed by requirements marked with ●",
            line=field_.line,
            field="Competency",
        )
    criteria: list[CriterionSpec] = []
    for element in elements:
        if not groups[element.ref]:
            raise DocumentError(
                f"element {element.ref} ({element.title!r}) has no performance requirements; "
                "expected bullets marked with ● after its heading",
                line=field_.line,
                field="Competency",
            )
        for number, (text, stem) in enumerate(groups[element.ref], start=1):
            criteria.append(
                CriterionSpec(
                    ref=f"{element.ref}.{number}",
                    kind=CriterionKind.PERFORMANCE_REQUIREMENT,
                    text=text,
                    element_ref=element.ref,
                    lead_in=stem,
                )
            )
    return elements, criteria


def _assessment_criteria(field_: Field) -> list[CriterionSpec]:
    criteria: list[CriterionSpec] = []
    lead_in = None
    for token in fragments(field_.value, field_.line):
        if token.kind == "p":
            lead_in = token.text
            continue
        if token.kind.startswith("numbered:"):
            ref = token.kind.split(":", 1)[1]
        else:  # a bulleted list: number the criteria as the published ones are
            ref = _ROMAN[len(criteria)] if len(criteria) < len(_ROMAN) else str(len(criteria) + 1)
        criteria.append(
            CriterionSpec(ref=ref, kind=CriterionKind.ASSESSMENT_CRITERION, text=token.text,
                          lead_in=lead_in)
        )
    if not criteria:
        raise DocumentError(
            "no assessment criteria found; expected a list numbered i., ii., iii.",
            line=field_.line,
            field="Assessment Criteria",
        )
    return criteria


def _whole_number(field_: Field, low: int, high: int, what: str) -> int:
    value = plain(field_.value)
    if not re.fullmatch(r"\d+", value) or not low <= int(value) <= high:
        raise DocumentError(
            f"expected {what} from {low} to {high}, found {value!r}",
            line=field_.line,
            field=field_.name,
        )
    return int(value)


def parse(data: bytes) -> ParsedDocument:
    text = decode(data)
    fields, functional_area = read_fields(text)
    for name in REQUIRED:
        if name not in fields:
            raise DocumentError(
                f"the field {name!r} is missing; expected a numbered line such as "
                f"'{REQUIRED.index(name) + 1}. {name}<TAB>...'",
                field=name,
            )
    for name in ("Title", "Code", "Range"):
        if not plain(fields[name].value):
            raise DocumentError(
                f"the field {name!r} is empty", line=fields[name].line, field=name
            )
    code = plain(fields["Code"].value)
    if not _CODE.fullmatch(code):
        raise DocumentError(
            "expected a unit code of capital letters and digits such as ITCSCR405A, "
            f"found {code!r}",
            line=fields["Code"].line,
            field="Code",
        )
    elements, requirements = _competency(fields["Competency"])
    remark = plain(fields["Remark"].value) if "Remark" in fields else ""
    unit = UnitSpec(
        code=code,
        title=plain(fields["Title"].value),
        description=plain(fields["Range"].value),
        level=_whole_number(fields["Level"], 1, 7, "a QF level"),
        credits=_whole_number(fields["Credit"], 1, 999, "a whole number of QF credits"),
        functional_area=functional_area,
        remark=remark or None,
        elements=elements,
        criteria=[*requirements, *_assessment_criteria(fields["Assessment Criteria"])],
    )
    return ParsedDocument(format=FORMAT, framework=FRAMEWORK, language="en", units=[unit])
