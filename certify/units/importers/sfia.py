"""SFIA skill pages: one skill, the levels it is defined at, and their statements.

Each defined level becomes a unit (code ``CELO-3``, title as the page's level
heading) whose criteria are the level's statements, one per sentence.  The
guidance-note activities are kept as context; the generic "essence of the
level" lines, where the page carries them, describe the framework's levels.
Pages in other languages (the Polish page of CELO) have the same shape and are
matched to the same units sentence for sentence by the import operation.
"""

from __future__ import annotations

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

FORMAT = "sfia"
# The word each language's pages use in level headings ("...: Level 3").
LEVEL_WORDS = {"Level": "en", "Poziom": "pl"}
# Translated pages do not repeat the edition; they are read as this one, the
# edition that defines the skills the seed pages describe.
DEFAULT_EDITION = 9
# Lines that close the page after the last level.
FOOTERS = {"Keywords", "Słowa kluczowe"}

_SKILL = re.compile(r"^(?P<name>\S.*?)\s+(?P<code>[A-Z]{4})$")
_BULLET = re.compile(r"^\s*(?:[-\u2022\u25cf*])\s+(?P<text>.+)$")
_EDITION = re.compile(r"\bSFIA\s+(\d{1,2})\b")
_NEW_MARK = "(new)"


def _heading(name: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(name)}\s*:\s*(?P<word>\w+)\s+(?P<level>[1-7])$")


def looks_like(text: str) -> bool:
    for line in text.split("\n"):
        match = _SKILL.match(line.strip())
        if match and re.search(
            rf"^{re.escape(match.group('name'))}\s*:\s*\w+\s+[1-7]\s*$", text, re.MULTILINE
        ):
            return True
    return False


def parse(data: bytes) -> ParsedDocument:
    text = decode(data)
    lines = [(number, line.strip()) for number, line in enumerate(text.split("\n"), start=1)]
    lines = [(n, line) for n, line in lines if line]

    header = next(
        ((i, _SKILL.match(line)) for i, (_, line) in enumerate(lines) if _SKILL.match(line)), None
    )
    if header is None:
        raise DocumentError(
            "no skill found; expected the skill's name and four-letter code on one line, "
            "such as 'Customer engagement and loyalty CELO'",
            line=1,
        )
    start, match = header
    name, code = match.group("name"), match.group("code")
    heading = _heading(name)

    description = next(
        (line for _, line in lines[start + 1 :] if line != _NEW_MARK), ""
    )
    if not description or heading.match(description):
        raise DocumentError(
            f"the skill {code} has no description; expected it on the line after its name",
            line=lines[start][0] + 1,
            field="description",
        )

    levels: dict[int, tuple[int, str, list[str]]] = {}
    words: set[str] = set()
    current: list[str] | None = None
    essences: dict[int, LevelSpec] = {}
    for number, line in lines[start + 1 :]:
        found = heading.match(line)
        if found:
            level = int(found.group("level"))
            words.add(found.group("word"))
            if level in levels:
                raise DocumentError(
                    f"level {level} of {code} appears twice (first on line {levels[level][0]})",
                    line=number,
                )
            current = []
            levels[level] = (number, line, current)
            continue
        essence = _essence(line, words)
        if essence:
            essences[essence.level] = essence
            continue
        if _bare_level(line, words) or line in FOOTERS:
            current = None
            continue
        if current is not None and line != _NEW_MARK:
            current.append(line)

    if not levels:
        raise DocumentError(
            f"no levels found for {code}; expected headings such as '{name}: Level 3' "
            "followed by the level's statements"
        )
    if len(words) > 1:
        raise DocumentError(
            f"level headings mix the words {', '.join(sorted(words))}; a page has one language"
        )
    word = words.pop()
    if word not in LEVEL_WORDS:
        raise DocumentError(
            f"level headings use the word {word!r}, which is not a language this importer "
            f"reads (known: {', '.join(f'{w} ({lang})' for w, lang in LEVEL_WORDS.items())})",
            line=min(n for n, _, _ in levels.values()),
        )
    language = LEVEL_WORDS[word]

    edition = _EDITION.search(text)
    version = int(edition.group(1)) if edition else DEFAULT_EDITION
    framework = FrameworkSpec(
        code=f"SFIA{version}",
        name=f"SFIA {version}",
        kind=FrameworkKind.SKILL_LEVELS,
        source_language="en",
        levels=[essences.get(n, LevelSpec(level=n)) for n in range(1, 8)],
    )
    guidance = _activities(lines[start + 1 :], heading)
    units = []
    for level in sorted(levels):
        number, title, statements = levels[level]
        criteria = [
            CriterionSpec(ref=str(i), kind=CriterionKind.LEVEL_STATEMENT, text=sentence)
            for i, sentence in enumerate(
                (s for statement in statements for s in sentences(statement)), start=1
            )
        ]
        if not criteria:
            raise DocumentError(
                f"level {level} of {code} has no statements; expected at least one sentence "
                "after its heading",
                line=number,
            )
        units.append(
            UnitSpec(
                code=f"{code}-{level}",
                title=title,
                description=description,
                level=level,
                level_label=essences[level].name if level in essences else None,
                family_code=code,
                guidance=guidance,
                criteria=criteria,
            )
        )
    return ParsedDocument(format=FORMAT, framework=framework, language=language, units=units)


def _bare_level(line: str, words: set[str]) -> bool:
    """A heading of a level the skill is not defined at ("Level 1")."""
    match = re.fullmatch(r"(\w+)\s+[1-7]", line)
    return bool(match and (match.group(1) in words or match.group(1) in LEVEL_WORDS))


def _essence(line: str, words: set[str]) -> LevelSpec | None:
    """'Level 2 - Assist: Essence of the level: Provides ...' gives level 2's name and essence."""
    match = re.fullmatch(r"(\w+)\s+([1-7])\s+-\s+([^:]+):\s*[^:]+:\s*(.+)", line)
    if not match or not (match.group(1) in words or match.group(1) in LEVEL_WORDS):
        return None
    return LevelSpec(
        level=int(match.group(2)), name=clean(match.group(3)), essence=clean(match.group(4))
    )


def _activities(lines: list[tuple[int, str]], heading: re.Pattern[str]) -> list[str]:
    """The first bullet list introduced by a line ending in ':' (the guidance notes)."""
    for index, (_, line) in enumerate(lines):
        if heading.match(line):
            return []
        if line.endswith(":") and index + 1 < len(lines) and _BULLET.match(lines[index + 1][1]):
            items = []
            for _, item in lines[index + 1 :]:
                bullet = _BULLET.match(item)
                if not bullet:
                    break
                items.append(clean(bullet.group("text")).rstrip(";"))
            return items
    return []
