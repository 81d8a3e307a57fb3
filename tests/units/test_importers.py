"""The seed documents parse into exactly what they contain, and imports behave as documented.

The expected texts are read from the seed files themselves (never copied into
the repository): each test derives them from the document with a simple,
independent reading and compares them with what the importer produced.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certify.units.importers import detect_format, parse_document
from certify.units.importers.base import clean, sentences
from certify.units.models import (
    Criterion,
    CriterionKind,
    Framework,
    FrameworkKind,
    Unit,
    UnitStatus,
)
from certify.units.queries import find_unit
from tests.units.conftest import (
    ALL_SEEDS,
    CAPABILITY,
    HKQF,
    SFIA_CELO_EN,
    SFIA_CELO_PL,
    SFIA_CEXP,
)


def parse_seed(seeds: Path, name: str):
    return parse_document((seeds / name).read_bytes(), name)


def flat(text: str) -> str:
    return clean(re.sub(r"<[^>]+>", " ", text))


@pytest.mark.parametrize(
    ("name", "expected"),
    [(HKQF, "hkqf"), (SFIA_CELO_EN, "sfia"), (SFIA_CELO_PL, "sfia"), (CAPABILITY, "proficiency"),
     (SFIA_CEXP, "sfia")],
)
def test_format_is_detected_from_content(seeds, name, expected):
    assert detect_format((seeds / name).read_bytes()) == expected


class TestHongKongUnit:
    def test_fields(self, seeds):
        document = parse_seed(seeds, HKQF)
        assert document.format == "hkqf"
        assert document.language == "en"
        assert document.framework.code == "HKQF"
        assert document.framework.hours_per_credit == 10
        [unit] = document.units
        source = (seeds / HKQF).read_text()
        assert unit.code == "ITCSCR405A"
        assert unit.level == 4
        assert unit.credits == 3
        assert unit.remark is None
        assert unit.functional_area == clean(
            re.search(r"Functional Area:(.*)", source).group(1)
        )
        assert unit.title == clean(re.search(r"1\. Title\t(.*)", source).group(1))
        assert unit.description == clean(re.search(r"3\. Range\t(.*)", source).group(1))

    def test_elements_follow_the_numbering(self, seeds):
        [unit] = parse_seed(seeds, HKQF).units
        assert [e.ref for e in unit.elements] == ["6.1", "6.2", "6.3"]
        source = flat((seeds / HKQF).read_text())
        for element in unit.elements:
            assert f"{element.ref} {element.title}" in source

    def test_every_bullet_is_a_performance_requirement_in_order(self, seeds):
        [unit] = parse_seed(seeds, HKQF).units
        source = (seeds / HKQF).read_text()
        requirements = [c for c in unit.criteria if c.kind is CriterionKind.PERFORMANCE_REQUIREMENT]
        # Every ● in the document is one requirement, none lost, none invented.
        assert len(requirements) == source.count("\u25cf") == 15
        flat_source = flat(source)
        offsets = [flat_source.index(c.text) for c in requirements]
        assert offsets == sorted(offsets)
        for criterion in requirements:
            # Each text stops where the next bullet, heading or paragraph begins.
            assert "\u25cf" not in criterion.text and "<" not in criterion.text

    def test_requirements_belong_to_their_elements(self, seeds):
        [unit] = parse_seed(seeds, HKQF).units
        by_element: dict[str, list] = {}
        for c in unit.criteria:
            if c.element_ref:
                by_element.setdefault(c.element_ref, []).append(c)
        knowledge = by_element["6.1"]
        assert [c.ref for c in knowledge] == [f"6.1.{n}" for n in range(1, 7)]
        assert all(c.text.startswith(("Understand that", "Be aware that")) for c in knowledge)
        assert all(c.lead_in is None for c in knowledge)
        abilities = by_element["6.2"]
        assert [c.ref for c in abilities] == [f"6.2.{n}" for n in range(1, 8)]
        assert all(c.lead_in == "Be able to:" for c in abilities)
        assert not any(c.text.startswith(("Understand", "Be aware")) for c in abilities)
        # The bullet in the second <ul> block, on the next line, still belongs to 6.2.
        assert abilities[-1].text.startswith("Establish mechanism in analysing")
        professionalism = by_element["6.3"]
        assert [c.ref for c in professionalism] == ["6.3.1", "6.3.2"]
        assert all(c.text.startswith("Always") for c in professionalism)

    def test_assessment_criteria(self, seeds):
        [unit] = parse_seed(seeds, HKQF).units
        source = flat((seeds / HKQF).read_text())
        criteria = [c for c in unit.criteria if c.kind is CriterionKind.ASSESSMENT_CRITERION]
        assert [c.ref for c in criteria] == ["i", "ii", "iii"]
        assert all(c.element_ref is None for c in criteria)
        stem = criteria[0].lead_in
        assert stem and stem.endswith("abilities to:") and stem in source
        for numeral, criterion in zip(["i", "ii", "iii"], criteria, strict=True):
            assert f"{numeral}. {criterion.text}" in source
        assert criteria[-1].text.endswith("in an appropriate manner")


class TestSfiaPages:
    @staticmethod
    def level_blocks(path: Path, heading: str) -> dict[int, list[str]]:
        """An independent reading: the lines under each '<heading> N' line."""
        blocks: dict[int, list[str]] = {}
        current = None
        for line in path.read_text().split("\n"):
            line = line.strip()
            match = re.fullmatch(re.escape(heading) + r" (\d)", line)
            if match:
                current = blocks.setdefault(int(match.group(1)), [])
            elif re.fullmatch(r"\w+ \d", line) or line == "Keywords":
                current = None
            elif current is not None and line and line != "(new)" and " - " not in line[:12]:
                current.append(line)
        return blocks

    def test_celo_levels_and_statements(self, seeds):
        document = parse_seed(seeds, SFIA_CELO_EN)
        assert document.language == "en"
        assert document.framework.code == "SFIA9"
        assert document.framework.kind is FrameworkKind.SKILL_LEVELS
        assert [u.code for u in document.units] == ["CELO-3", "CELO-4", "CELO-5", "CELO-6"]
        blocks = self.level_blocks(seeds / SFIA_CELO_EN, "Customer engagement and loyalty: Level")
        for unit in document.units:
            assert unit.level == int(unit.code[-1])
            assert unit.family_code == "CELO"
            assert unit.title == f"Customer engagement and loyalty: Level {unit.level}"
            assert unit.description.startswith("Developing and executing strategies")
            texts = [c.text for c in unit.criteria]
            assert " ".join(texts) == " ".join(blocks[unit.level])
            assert [c.ref for c in unit.criteria] == [str(n) for n in range(1, len(texts) + 1)]
            assert all(c.kind is CriterionKind.LEVEL_STATEMENT for c in unit.criteria)
            assert all(t.endswith(".") and t[0].isupper() for t in texts)
        assert [len(u.criteria) for u in document.units] == [5, 6, 7, 6]

    def test_celo_guidance_activities(self, seeds):
        document = parse_seed(seeds, SFIA_CELO_EN)
        lines = (seeds / SFIA_CELO_EN).read_text().split("\n")
        start = lines.index("Activities may include, but are not limited to:") + 1
        expected = []
        for line in lines[start:]:
            if not line.startswith("- "):
                break
            expected.append(line[2:])
        assert len(expected) == 9
        for unit in document.units:
            assert unit.guidance == expected

    def test_polish_page_is_the_same_skill(self, seeds):
        english = parse_seed(seeds, SFIA_CELO_EN)
        polish = parse_seed(seeds, SFIA_CELO_PL)
        assert polish.language == "pl"
        assert polish.framework.code == english.framework.code
        assert [u.code for u in polish.units] == [u.code for u in english.units]
        heading = "Zaangażowanie i lojalność klientów: Poziom"
        blocks = self.level_blocks(seeds / SFIA_CELO_PL, heading)
        for en, pl in zip(english.units, polish.units, strict=True):
            assert len(pl.criteria) == len(en.criteria)
            assert " ".join(c.text for c in pl.criteria) == " ".join(blocks[pl.level])
        assert polish.units[1].criteria[1].text == "Tworzy i zarządza programami lojalnościowymi."

    def test_cexp_levels_with_essences(self, seeds):
        document = parse_seed(seeds, SFIA_CEXP)
        assert [u.code for u in document.units] == [f"CEXP-{n}" for n in range(2, 7)]
        levels = {level.level: level for level in document.framework.levels}
        assert levels[1].name == "Follow"
        assert levels[7].name == "Set strategy, inspire, mobilise"
        assert levels[3].essence.startswith("Performs varied tasks")
        source = (seeds / SFIA_CEXP).read_text()
        for level in levels.values():
            assert level.essence in source
        blocks = self.level_blocks(seeds / SFIA_CEXP, "Customer Experience: Level")
        for unit in document.units:
            assert unit.level_label == levels[unit.level].name
            assert " ".join(c.text for c in unit.criteria) == " ".join(blocks[unit.level])
            assert not any(c.text in ("(new)", "Keywords", "New skill") for c in unit.criteria)
        assert len(document.units[0].guidance) == 8


def test_capability_page(seeds):
    document = parse_seed(seeds, CAPABILITY)
    assert document.framework.kind is FrameworkKind.PROFICIENCY_LEVELS
    source = (seeds / CAPABILITY).read_text().split("\n")
    title = "Managing customer retention and loyalty programs"
    assert [u.code for u in document.units] == ["MCRLP-1", "MCRLP-2", "MCRLP-3"]
    assert [u.level_label for u in document.units] == ["Beginner", "Intermediate", "Advanced"]
    for unit in document.units:
        assert unit.title == f"{title} ({unit.level_label})"
        assert unit.description.startswith(f"{title} involves")
        paragraph = source[source.index(f"{unit.level_label} competence definition") + 2]
        assert [c.text for c in unit.criteria] == sentences(paragraph)
        assert " ".join(c.text for c in unit.criteria) == paragraph.strip()
    assert [len(u.criteria) for u in document.units] == [2, 4, 4]


def test_sentences_do_not_split_inside_a_sentence():
    assert sentences("Uses tools, e.g. CRM etc. and more. Then stops.") == [
        "Uses tools, e.g. CRM etc. and more.",
        "Then stops.",
    ]
    assert sentences("Wykonuje zadania. Żeby sprawdzić.") == [
        "Wykonuje zadania.",
        "Żeby sprawdzić.",
    ]


# --- importing into the catalogue -------------------------------------------------------------


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_importing_every_seed(session, import_seed):
    for name in ALL_SEEDS:
        import_seed(name)
    assert count(session, Framework) == 3
    assert count(session, Unit) == 1 + 4 + 3 + 5
    [unit] = find_unit(session, "ITCSCR405A")
    assert unit.framework.code == "HKQF"
    assert unit.version == 1 and unit.status is UnitStatus.CURRENT
    assert [e.ref for e in unit.elements] == ["6.1", "6.2", "6.3"]
    assert [c.ref for c in unit.criteria][:3] == ["6.1.1", "6.1.2", "6.1.3"]
    assert [c.ref for c in unit.criteria][-3:] == ["i", "ii", "iii"]
    assert [c.ref for c in unit.elements[1].criteria] == [f"6.2.{n}" for n in range(1, 8)]
    assert unit.source_name == HKQF and len(unit.source_sha256) == 64


def test_importing_the_same_document_twice_changes_nothing(session, import_seed):
    import_seed(HKQF)
    before = session.scalars(select(Criterion.id, Criterion.text)).all()
    report = import_seed(HKQF)
    assert [o.action for o in report.outcomes] == ["unchanged"]
    assert not report.changed
    assert session.scalars(select(Criterion.id, Criterion.text)).all() == before
    assert count(session, Unit) == 1


def test_reformatted_document_with_the_same_content_changes_nothing(session, seeds, import_bytes):
    data = (seeds / HKQF).read_bytes()
    import_bytes(data, HKQF)
    resaved = data.replace(b"\n", b"\r\n").replace(b"  ", b" ")
    assert resaved != data
    report = import_bytes(resaved, "resaved.txt")
    assert [o.action for o in report.outcomes] == ["unchanged"]


def test_a_revised_document_makes_a_new_version(session, seeds, import_bytes):
    data = (seeds / HKQF).read_bytes()
    import_bytes(data, HKQF)
    revised = data.replace(b"Exhibit professionalism", b"Exhibit professionalism at work")
    report = import_bytes(revised, "revised.txt")
    assert [(o.version, o.action) for o in report.outcomes] == [(2, "new version")]
    old, new = session.scalars(select(Unit).order_by(Unit.version)).all()
    assert old.status is UnitStatus.SUPERSEDED and old.superseded_by_id == new.id
    assert new.status is UnitStatus.CURRENT
    assert old.elements[2].title == "Exhibit professionalism"
    assert new.elements[2].title == "Exhibit professionalism at work"
    # The earlier version keeps its own criteria, so enrolments on it are unaffected.
    assert len(old.criteria) == len(new.criteria) == 18
    assert {c.id for c in old.criteria}.isdisjoint({c.id for c in new.criteria})
    # Importing the first text again is a third version, not a return to the first.
    report = import_bytes(data, HKQF)
    assert report.outcomes[0].version == 3


def translations_of(unit: Unit, language: str) -> list[str]:
    return [t.text for c in unit.criteria for t in c.translations if t.language == language]


@pytest.mark.parametrize("order", [(SFIA_CELO_EN, SFIA_CELO_PL), (SFIA_CELO_PL, SFIA_CELO_EN)])
def test_polish_attaches_to_the_same_units_in_either_order(session, seeds, import_seed, order):
    reports = [import_seed(name) for name in order]
    assert count(session, Unit) == 4
    assert {o.action for o in reports[0].outcomes} == {"created"}
    assert {o.action for o in reports[1].outcomes} <= {"translation added", "source text added"}
    english = parse_seed(seeds, SFIA_CELO_EN)
    polish = parse_seed(seeds, SFIA_CELO_PL)
    for en, pl in zip(english.units, polish.units, strict=True):
        [unit] = find_unit(session, en.code)
        assert unit.language == "en"
        assert unit.title == en.title
        assert [c.text for c in unit.criteria] == [c.text for c in en.criteria]
        assert translations_of(unit, "pl") == [c.text for c in pl.criteria]
        assert translations_of(unit, "en") == []
        [translation] = unit.translations
        assert translation.language == "pl" and translation.title == pl.title
        assert translation.guidance.split("\n") == pl.guidance
        assert unit.content_sha256 == en.fingerprint()
    # Either way round, importing both again changes nothing.
    for name in order:
        assert {o.action for o in import_seed(name).outcomes} <= {
            "unchanged",
            "translation unchanged",
        }


def test_a_translation_that_does_not_align_is_refused(session, seeds, import_seed, import_bytes):
    import_seed(SFIA_CELO_EN)
    polish = (seeds / SFIA_CELO_PL).read_text()
    broken = polish.replace(
        "Tworzy i zarządza programami lojalnościowymi.\n", ""
    )
    assert broken != polish
    from certify.units.importers import DocumentError

    with pytest.raises(DocumentError, match="CELO-4: the pl text has 5 statements but version 1"):
        import_bytes(broken.encode(), "broken-pl.txt")
    session.rollback()
    [unit] = find_unit(session, "CELO-3")
    assert unit.translations == []
    assert translations_of(unit, "pl") == []


def test_cexp_fills_in_the_framework_levels(session, import_seed):
    import_seed(SFIA_CELO_EN)
    framework = session.scalar(select(Framework).where(Framework.code == "SFIA9"))
    assert all(level.name is None for level in framework.levels)
    import_seed(SFIA_CEXP)
    session.expire_all()
    framework = session.scalar(select(Framework).where(Framework.code == "SFIA9"))
    assert [level.name for level in framework.levels][:3] == ["Follow", "Assist", "Apply"]
    assert count(session, Framework) == 1


@pytest.mark.parametrize("order", [(SFIA_CELO_EN, SFIA_CELO_PL), (SFIA_CELO_PL, SFIA_CELO_EN)])
def test_each_text_remembers_its_own_document(session, import_seed, order):
    for name in order:
        import_seed(name)
    [unit] = find_unit(session, "CELO-4")
    assert unit.source_name == SFIA_CELO_EN
    [translation] = unit.translations
    assert translation.source_name == SFIA_CELO_PL
