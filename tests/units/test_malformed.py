"""Broken variants of every format are refused with a message that says where, changing nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from certify.core.database import Base
from certify.units.importers import DocumentError, parse_document
from tests.units.conftest import CAPABILITY, HKQF, SFIA_CELO_EN, SFIA_CEXP


def snapshot(session) -> dict[str, int]:
    """Rows in every table: what "changes nothing" is checked against."""
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def hkqf(seeds) -> str:
    return (seeds / HKQF).read_text()


def drop_line(text: str, startswith: str) -> str:
    lines = text.split("\n")
    kept = [line for line in lines if not line.startswith(startswith)]
    assert len(kept) == len(lines) - 1, f"no line starts with {startswith!r}"
    return "\n".join(kept)


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, startswith: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), 1) if line.startswith(startswith))


HKQF_CASES = {
    "code missing": (
        lambda t: drop_line(t, "2. Code"),
        r"^broken\.txt, field 'Code': the field 'Code' is missing; expected a numbered line "
        r"such as '2\. Code<TAB>\.\.\.'$",
    ),
    "assessment criteria missing": (
        lambda t: drop_line(t, "7. Assessment Criteria"),
        r"field 'Assessment Criteria': the field 'Assessment Criteria' is missing",
    ),
    "level is a word": (
        lambda t: replace_once(t, "4. Level\t4", "4. Level\tfour"),
        r"line 8, field 'Level': expected a QF level from 1 to 7, found 'four'",
    ),
    "level out of range": (
        lambda t: replace_once(t, "4. Level\t4", "4. Level\t9"),
        r"line 8, field 'Level': expected a QF level from 1 to 7, found '9'",
    ),
    "credit not a number": (
        lambda t: replace_once(t, "5. Credit\t3", "5. Credit\t3.5"),
        r"line 9, field 'Credit': expected a whole number of QF credits from 1 to 999",
    ),
    "title empty": (
        lambda t: re.sub(r"1\. Title\t[^\n]*", "1. Title\t", t),
        r"line 5, field 'Title': the field 'Title' is empty",
    ),
    "code with spaces": (
        lambda t: replace_once(t, "2. Code\tITCSCR405A", "2. Code\tITC SCR 405"),
        r"line 6, field 'Code': expected a unit code of capital letters and digits",
    ),
    "field twice": (
        lambda t: replace_once(t, "5. Credit\t3", "5. Credit\t3\n5. Credit\t4"),
        r"line 10, field 'Credit': the field 'Credit' appears twice \(first on line 9\)",
    ),
    "element without requirements": (
        lambda t: re.sub(r"(6\.3 Exhibit professionalism</p>).*", r"\1", t),
        r"field 'Competency': element 6\.3 \('Exhibit professionalism'\) has no performance "
        r"requirements",
    ),
    "requirements before any element": (
        lambda t: replace_once(
            t,
            "<p>6.1 Possess the knowledge in the subject area</p> <p>6.2 Carry out loyalty "
            "marketing to increase customer loyalty and enhance CRM</p>",
            "",
        ),
        r"line 10, field 'Competency': a performance requirement comes before any element",
    ),
    "no elements at all": (
        lambda t: re.sub(r"6\. Competency\t.*?7\. Assessment", "6. Competency\t\n7. Assessment",
                         t, flags=re.S),
        r"field 'Competency': no competency elements found",
    ),
    "no assessment criteria": (
        lambda t: re.sub(r"7\. Assessment Criteria\t[^\n]*", "7. Assessment Criteria\t", t),
        r"field 'Assessment Criteria': no assessment criteria found",
    ),
}


@pytest.mark.parametrize("case", HKQF_CASES, ids=list(HKQF_CASES))
def test_broken_hkqf_units_are_refused(session, seeds, import_bytes, case):
    mutate, message = HKQF_CASES[case]
    before = snapshot(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(mutate(hkqf(seeds)).encode(), "broken.txt")
    assert re.search(message, str(caught.value)), str(caught.value)
    session.rollback()
    assert snapshot(session) == before


def sfia(seeds, name=SFIA_CELO_EN) -> str:
    return (seeds / name).read_text()


SFIA_CASES = {
    "a level without statements": (
        lambda t: t[: t.index("Customer engagement and loyalty: Level 6") + 41] + "\n",
        r"line 54: level 6 of CELO has no statements; expected at least one sentence",
    ),
    "a level heading twice": (
        lambda t: t + "\nCustomer engagement and loyalty: Level 4\nDoes more.",
        r"line 59: level 4 of CELO appears twice \(first on line 44\)",
    ),
    "no description": (
        lambda t: replace_once(
            t,
            "Customer engagement and loyalty CELO\n",
            "Customer engagement and loyalty CELO\nCustomer engagement and loyalty: Level 2\n",
        ),
        r"line 2, field 'description': the skill CELO has no description",
    ),
    "an unknown language": (
        lambda t: t.replace(": Level ", ": Niveau "),
        r"line 39: level headings use the word 'Niveau', which is not a language",
    ),
    "mixed languages": (
        lambda t: replace_once(t, ": Level 5", ": Poziom 5"),
        r"level headings mix the words Level, Poziom",
    ),
}


@pytest.mark.parametrize("case", SFIA_CASES, ids=list(SFIA_CASES))
def test_broken_sfia_pages_are_refused(session, seeds, import_bytes, case):
    mutate, message = SFIA_CASES[case]
    before = snapshot(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(mutate(sfia(seeds)).encode(), "skill.txt")
    assert str(caught.value).startswith("skill.txt")
    assert re.search(message, str(caught.value)), str(caught.value)
    session.rollback()
    assert snapshot(session) == before


def test_sfia_page_without_any_level(seeds):
    text = sfia(seeds, SFIA_CEXP)
    cut = text[: text.index("Customer Experience: Level 2")]
    with pytest.raises(DocumentError, match="was not recognised"):
        parse_document(cut.encode(), "cexp.txt")
    with pytest.raises(DocumentError, match=r"no levels found for CEXP; expected headings such as "
                       r"'Customer Experience: Level 3'"):
        parse_document(cut.encode(), "cexp.txt", format="sfia")


def capability(seeds) -> str:
    return (seeds / CAPABILITY).read_text()


CAPABILITY_CASES = {
    "a level without definition": (
        lambda t: re.sub(r"(Advanced competence definition\n\n)[^\n]+", r"\1", t),
        r"line 24: the level Advanced has no definition",
    ),
    "an unknown level": (
        lambda t: t.replace("Advanced competence definition", "Master competence definition"),
        r"line 24: unknown proficiency level 'Master'; expected one of Beginner, Intermediate",
    ),
    "a level twice": (
        lambda t: t.replace("Advanced competence definition", "Beginner competence definition"),
        r"line 24: the level Beginner appears twice \(first on line 16\)",
    ),
    "no description": (
        lambda t: re.sub(r"Managing customer retention and loyalty programs involves[^\n]+\n", "",
                         t),
        r"no description found",
    ),
}


@pytest.mark.parametrize("case", CAPABILITY_CASES, ids=list(CAPABILITY_CASES))
def test_broken_capability_pages_are_refused(session, seeds, import_bytes, case):
    mutate, message = CAPABILITY_CASES[case]
    before = snapshot(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(mutate(capability(seeds)).encode(), "capability.txt")
    assert re.search(message, str(caught.value)), str(caught.value)
    session.rollback()
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"^file\.bin: this is a binary file"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", r"^file\.bin: this is a binary file"),
        (b"", r"^file\.bin: the file is empty$"),
        (b"   \n\t\n", r"^file\.bin: the file is empty$"),
        (b"Title\tfine\nCaf\xe9 au lait", r"^file\.bin, line 2: the file is not UTF-8 text"),
        (
            b"Just some notes about a training day.\nNothing to import here.\n",
            r"^file\.bin: the format was not recognised; expected one of: 1EdTech CASE 1\.1 "
            r"JSON; HK QF unit of competency; SFIA skill page; capability page",
        ),
    ],
    ids=["png", "elf", "empty", "blank", "latin-1", "prose"],
)
def test_unreadable_files_are_refused(session, import_bytes, data, message):
    before = snapshot(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(data, "file.bin")
    assert re.search(message, str(caught.value)), str(caught.value)
    session.rollback()
    assert snapshot(session) == before


def test_line_numbers_point_at_the_field(seeds):
    text = replace_once(hkqf(seeds), "4. Level\t4", "4. Level\tseven")
    with pytest.raises(DocumentError) as caught:
        parse_document(text.encode(), "unit.txt")
    assert caught.value.line == line_of(text, "4. Level")
    assert caught.value.field == "Level"
