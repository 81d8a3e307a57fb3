"""Capability directory pages: a capability described at proficiency levels, in prose.

The page gives a title, a description and one "<Level> competence definition"
heading per level (Beginner, Intermediate, Advanced), each followed by a
paragraph.  Each level becomes a unit whose criteria are the paragraph's
sentences.  The directory has no codes, so a capability's code is made from the
initials of its title ("Managing customer retention and loyalty programs" ->
MCRLP) and each level's from that and the level number (MCRLP-1).
"""

from __future__ import annotations

import hashlib
import re

from certify.units.importers.base import (
    CriterionSpec,
    DocumentError,
    FrameworkSpec,
    LevelSpec,
    ParsedDocument,
    UnitSpec,
    clean,
    sentences,
)
from certify.units.importers.text import decode
from certify.units.models import CriterionKind, FrameworkKind

FORMAT = "proficiency"
LEVELS = {"beginner": 1, "intermediate": 2, "advanced": 3, "expert": 4}
FRAMEWORK = FrameworkSpec(
    code="CAPDIR",
    name="Capability Directory",
    kind=FrameworkKind.PROFICIENCY_LEVELS,
    source_language="en",
    levels=[LevelSpec(level=n, name=name.capitalize()) for name, n in LEVELS.items()],
)
_HEADING = re.compile(r"^(?P<level>\w+)\s+competence definition$", re.IGNORECASE)
_SMALL_WORDS = {"a", "an", "and", "of", "the", "for", "to", "in", "on", "with", "or", "by"}


def looks_like(text: str) -> bool:
    return any(_HEADING.match(line.strip()) for line in text.split("\n"))


def capability_code(title: str) -> str:
    words = [w for w in re.findall(r"[^\W\d_]+", title) if w.lower() not in _SMALL_WORDS]
    initials = "".join(w[0] for w in words).upper()[:8]
    if not initials.isascii() or len(initials) < 2:
        # Titles in scripts without capitals get a stable code from their hash.
        initials = "CAP" + hashlib.sha256(title.encode()).hexdigest()[:5].upper()
    return initials


def parse(data: bytes) -> ParsedDocument:
    text = decode(data)
    lines = [(number, clean(line)) for number, line in enumerate(text.split("\n"), start=1)]
    lines = [(n, line) for n, line in lines if line]
    headings = [i for i, (_, line) in enumerate(lines) if _HEADING.match(line)]
    if not headings:
        raise DocumentError(
            "no proficiency levels found; expected headings such as "
            "'Beginner competence definition'"
        )

    # Before the first level: navigation, the title (often shown twice), labels such as
    # "Related Terms:", and the description: the longest paragraph there.
    preamble = lines[: headings[0]]
    prose = [(i, line) for i, (_, line) in enumerate(preamble) if not line.endswith(":")]
    if not prose:
        raise DocumentError(
            "no title or description before the first level",
            line=lines[headings[0]][0],
        )
    # The description is written in sentences; headings, navigation and the title are not.
    paragraphs = [(i, line) for i, line in prose if line.endswith((".", "!", "?"))]
    if not paragraphs:
        raise DocumentError(
            "no description found; expected a paragraph describing the capability before "
            "the first level",
            line=lines[headings[0]][0],
            field="description",
        )
    description_index, description = max(paragraphs, key=lambda item: len(item[1]))
    title = next(
        (
            line
            for i, line in reversed(prose)
            if i < description_index and not line.endswith(".") and len(line) > 3
        ),
        None,
    )
    if title is None:
        raise DocumentError(
            "no title found; expected the capability's name above its description",
            line=preamble[description_index][0],
            field="title",
        )

    code = capability_code(title)
    units: list[UnitSpec] = []
    seen: dict[int, int] = {}
    for index in headings:
        number, heading = lines[index]
        label = _HEADING.match(heading).group("level").capitalize()
        level = LEVELS.get(label.lower())
        if level is None:
            raise DocumentError(
                f"unknown proficiency level {label!r}; expected one of "
                f"{', '.join(name.capitalize() for name in LEVELS)}",
                line=number,
            )
        if level in seen:
            raise DocumentError(
                f"the level {label} appears twice (first on line {seen[level]})", line=number
            )
        seen[level] = number
        following = lines[index + 1][1] if index + 1 < len(lines) else ""
        if not following or index + 1 in headings or len(following) < 20:
            raise DocumentError(
                f"the level {label} has no definition; expected a paragraph after its heading",
                line=number,
            )
        units.append(
            UnitSpec(
                code=f"{code}-{level}",
                title=f"{title} ({label})",
                description=description,
                level=level,
                level_label=label,
                family_code=code,
                criteria=[
                    CriterionSpec(ref=str(i), kind=CriterionKind.LEVEL_STATEMENT, text=s)
                    for i, s in enumerate(sentences(following), start=1)
                ],
            )
        )
    return ParsedDocument(format=FORMAT, framework=FRAMEWORK, language="en", units=units)
