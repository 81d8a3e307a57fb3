"""1EdTech CASE 1.1 JSON: every unit survives export and re-import; broken packages change nothing.

The expected units are read back from the database (what the seed import
stored), never from the exporter, so a round trip that lost or changed anything
fails here.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certify.units.importers import DocumentError, detect_format, parse_document
from certify.units.importers.base import (
    CriterionSpec,
    ElementSpec,
    FrameworkSpec,
    LevelSpec,
    UnitSpec,
)
from certify.units.importers.case import export_unit, language_tag, looks_like, parse, slug
from certify.units.models import (
    Criterion,
    CriterionKind,
    CriterionTranslation,
    Element,
    ElementTranslation,
    Framework,
    FrameworkKind,
    FrameworkLevel,
    Unit,
    UnitTranslation,
)
from certify.units.queries import find_unit
from tests.units.conftest import ALL_SEEDS, HKQF, SFIA_CELO_EN, SFIA_CELO_PL

DATA = Path(__file__).parent / "data" / "case"
TYPE_NAMES = {
    "Unit",
    "Element",
    "Performance Requirement",
    "Assessment Criterion",
    "Level Statement",
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# The properties CASE 1.1 defines for each class inside a CFPackage, and those it
# requires (1EdTech CASE v1p1 CFPackage JSON schema; every class is closed).
DOCUMENT_PROPERTIES = {
    "identifier", "uri", "frameworkType", "caseVersion", "creator", "title",
    "lastChangeDateTime", "officialSourceURL", "publisher", "description", "subject",
    "subjectURI", "language", "version", "adoptionStatus", "statusStartDate",
    "statusEndDate", "licenseURI", "notes", "extensions",
}
DOCUMENT_REQUIRED = {"identifier", "uri", "creator", "title", "lastChangeDateTime"}
ITEM_PROPERTIES = {
    "identifier", "fullStatement", "alternativeLabel", "CFItemType", "uri",
    "humanCodingScheme", "listEnumeration", "abbreviatedStatement", "conceptKeywords",
    "conceptKeywordsURI", "notes", "subject", "subjectURI", "language", "educationLevel",
    "CFItemTypeURI", "licenseURI", "statusStartDate", "statusEndDate", "lastChangeDateTime",
    "extensions",
}
ITEM_REQUIRED = {"identifier", "fullStatement", "uri", "lastChangeDateTime"}
ASSOCIATION_PROPERTIES = {
    "identifier", "associationType", "sequenceNumber", "uri", "originNodeURI",
    "destinationNodeURI", "CFAssociationGroupingURI", "lastChangeDateTime", "notes",
    "extensions",
}
ASSOCIATION_REQUIRED = {
    "identifier", "associationType", "uri", "originNodeURI", "destinationNodeURI",
    "lastChangeDateTime",
}
ITEM_TYPE_REQUIRED = {
    "identifier", "uri", "title", "description", "hierarchyCode", "lastChangeDateTime",
}
LINK_PROPERTIES = {"title", "identifier", "uri", "targetType"}
CATALOGUE = [
    Framework, FrameworkLevel, Unit, Element, Criterion,
    UnitTranslation, ElementTranslation, CriterionTranslation,
]


# --------------------------------------------------------------------------- helpers


def catalogue(session) -> dict[str, int]:
    """Rows in every catalogue table: what "changes nothing" is checked against."""
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in CATALOGUE
    }


def stored_spec(unit: Unit) -> UnitSpec:
    """What the database holds for ``unit``, read column by column."""
    elements = sorted(unit.elements, key=lambda e: e.position)
    refs = {e.id: e.ref for e in elements}
    return UnitSpec(
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
                ref=c.ref, kind=c.kind, text=c.text, element_ref=refs.get(c.element_id),
                lead_in=c.lead_in,
            )
            for c in sorted(unit.criteria, key=lambda c: c.position)
        ],
    )


def stored_framework(framework: Framework) -> FrameworkSpec:
    return FrameworkSpec(
        code=framework.code,
        name=framework.name,
        kind=framework.kind,
        hours_per_credit=framework.hours_per_credit,
        source_language=framework.source_language,
        levels=[
            LevelSpec(level=level.level, name=level.name, essence=level.essence)
            for level in sorted(framework.levels, key=lambda level: level.level)
        ],
    )


def as_bytes(package: dict) -> bytes:
    return json.dumps(package, ensure_ascii=False, indent=2).encode()


def current(session, code: str) -> Unit:
    (unit,) = find_unit(session, code)
    return unit


def by_code(package: dict, code: str) -> int:
    """Index in CFItems of the item whose humanCodingScheme is ``code``."""
    (index,) = [
        i for i, item in enumerate(package["CFItems"]) if item.get("humanCodingScheme") == code
    ]
    return index


def child_link(package: dict, identifier: str) -> int:
    """Index in CFAssociations of the isChildOf that gives ``identifier`` its parent."""
    (index,) = [
        i for i, a in enumerate(package["CFAssociations"])
        if a["associationType"] == "isChildOf" and a["originNodeURI"]["identifier"] == identifier
    ]
    return index


def retail() -> dict:
    return json.loads((DATA / "retail_skills.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ALL_SEEDS)
def test_every_seed_survives_export_and_reimport(session, import_seed, import_bytes, name):
    report = import_seed(name)
    units = [session.get(Unit, outcome.unit_id) for outcome in report.outcomes]
    assert units, "the seed created no units"
    exports = []
    for unit in units:
        package = export_unit(unit)
        data = as_bytes(package)
        parsed = parse(data)
        assert parsed.format == "case"
        assert parsed.language == unit.language
        (spec,) = parsed.units
        expected = stored_spec(unit)
        assert spec.fingerprint() == unit.content_sha256
        assert spec == expected
        assert spec.elements == expected.elements
        assert spec.criteria == expected.criteria
        assert parsed.framework == stored_framework(unit.framework)
        assert export_unit(unit) == package, "two exports of one unit differ"
        exports.append((unit.code, data))

    before = catalogue(session)
    unit_count = session.scalar(select(func.count(Unit.id)))
    for code, data in exports:
        again = import_bytes(data, f"{code}.json")
        assert again.format == "case"
        assert [(o.code, o.action) for o in again.outcomes] == [(code, "unchanged")]
    assert session.scalar(select(func.count(Unit.id))) == unit_count
    assert catalogue(session) == before


@pytest.mark.parametrize("name", ALL_SEEDS)
def test_exports_rebuild_the_catalogue_from_nothing(session, import_seed, import_bytes, name):
    report = import_seed(name)
    units = [session.get(Unit, outcome.unit_id) for outcome in report.outcomes]
    framework = units[0].framework
    expected = {u.code: (stored_spec(u), u.content_sha256, u.language) for u in units}
    expected_framework = stored_framework(framework)
    exports = [(u.code, as_bytes(export_unit(u))) for u in units]
    for unit in units:
        session.delete(unit)
    session.flush()
    session.delete(framework)
    session.commit()
    assert catalogue(session)["frameworks"] == 0

    for code, data in exports:
        outcome = import_bytes(data, f"{code}.json").outcomes
        assert [(o.code, o.action) for o in outcome] == [(code, "created")]
    for code, (spec, sha, language) in expected.items():
        rebuilt = current(session, code)
        assert stored_spec(rebuilt) == spec
        assert (rebuilt.content_sha256, rebuilt.language) == (sha, language)
        assert stored_framework(rebuilt.framework) == expected_framework


def test_hkqf_unit_keeps_its_structure(session, import_seed):
    import_seed(HKQF)
    unit = current(session, "ITCSCR405A")
    (spec,) = parse(as_bytes(export_unit(unit))).units
    assert [e.ref for e in spec.elements] == ["6.1", "6.2", "6.3"]
    assert spec.criteria[0].ref == "6.1.1"
    assert spec.criteria[0].element_ref == "6.1"
    assert [c.ref for c in spec.criteria if c.kind == CriterionKind.ASSESSMENT_CRITERION] == [
        "i", "ii", "iii",
    ]
    assert any(c.lead_in == "Be able to:" for c in spec.criteria)
    assert (spec.level, spec.credits) == (4, 3)
    assert spec.functional_area == unit.functional_area is not None


def test_polish_translation_exports_and_reimports(session, import_seed, import_bytes):
    import_seed(SFIA_CELO_EN)
    import_seed(SFIA_CELO_PL)
    unit = current(session, "CELO-4")
    polish = {t.language: t for t in unit.translations}["pl"]

    package = export_unit(unit, language="pl")
    parsed = parse(as_bytes(package))
    assert parsed.language == "pl"
    assert package["CFDocument"]["language"] == "pl"
    assert all(item["language"] == "pl" for item in package["CFItems"])
    (spec,) = parsed.units
    assert spec.code == "CELO-4"
    assert spec.title == polish.title
    assert spec.title.startswith("Zaangażowanie i lojalność klientów")
    assert spec.description == polish.description
    assert spec.guidance == polish.guidance.split("\n")
    texts = [
        next(t.text for t in c.translations if t.language == "pl")
        for c in sorted(unit.criteria, key=lambda c: c.position)
    ]
    assert [c.text for c in spec.criteria] == texts
    assert [(c.ref, c.kind) for c in spec.criteria] == [
        (c.ref, c.kind) for c in sorted(unit.criteria, key=lambda c: c.position)
    ]

    # A translation is a document of its own, tied item by item to the unit's own export.
    own = export_unit(unit)
    own_ids = {item["identifier"] for item in own["CFItems"]}
    own_ids.add(own["CFDocument"]["identifier"])
    polish_ids = {item["identifier"] for item in package["CFItems"]}
    assert not own_ids & polish_ids
    translations = [
        a for a in package["CFAssociations"] if a["associationType"] == "isTranslationOf"
    ]
    assert len(translations) == len(package["CFItems"]) + 1
    assert {a["destinationNodeURI"]["identifier"] for a in translations} == own_ids
    assert {a["originNodeURI"]["identifier"] for a in translations} == polish_ids | {
        package["CFDocument"]["identifier"]
    }
    own_titles = {
        a["originNodeURI"]["identifier"]: a["originNodeURI"]["title"]
        for a in own["CFAssociations"]
    }
    own_titles[own["CFDocument"]["identifier"]] = own["CFDocument"]["title"]
    for association in translations:
        target = association["destinationNodeURI"]
        assert target["title"] == own_titles[target["identifier"]]
        assert target["targetType"] == "CASE"
    unit_link = next(
        a for a in translations
        if a["originNodeURI"]["identifier"] == package["CFItems"][0]["identifier"]
    )
    assert unit_link["destinationNodeURI"]["title"].startswith(
        "CELO-4 Customer engagement and loyalty"
    )

    before = catalogue(session)
    report = import_bytes(as_bytes(package), "CELO-4.pl.json")
    assert report.language == "pl"
    assert [(o.code, o.action) for o in report.outcomes] == [("CELO-4", "translation unchanged")]
    assert catalogue(session) == before


def test_a_unit_without_the_translation_is_refused(session, import_seed):
    import_seed(SFIA_CELO_EN)
    unit = current(session, "CELO-4")
    with pytest.raises(ValueError, match=r"CELO-4 v1 has no translation in 'de'; it is written "
                                         r"in 'en' and has no translations"):
        export_unit(unit, language="de")
    with pytest.raises(ValueError, match=r"'not a language' is not a language tag"):
        export_unit(unit, language="not a language")
    assert export_unit(unit, language="en") == export_unit(unit)


# --------------------------------------------------------------------------- the document


def test_export_follows_case_1_1(session, import_seed):
    import_seed(HKQF)
    unit = current(session, "ITCSCR405A")
    package = export_unit(unit)
    assert set(package) == {"CFDocument", "CFItems", "CFAssociations", "CFDefinitions"}

    document = package["CFDocument"]
    assert DOCUMENT_REQUIRED <= set(document) <= DOCUMENT_PROPERTIES
    assert document["caseVersion"] == "1.1"
    assert document["language"] == "en"
    assert document["creator"] == "Hong Kong Qualifications Framework"
    assert document["version"] == "1"
    assert document["frameworkType"] == "qf_units"
    assert document["extensions"]["certify"]["framework"]["hours_per_credit"] == 10
    expected_time = unit.imported_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert document["lastChangeDateTime"] == expected_time

    nodes = [document, *package["CFItems"], *package["CFAssociations"],
             *package["CFDefinitions"]["CFItemTypes"]]
    identifiers = [node["identifier"] for node in nodes]
    assert len(set(identifiers)) == len(identifiers)
    for node in nodes:
        assert str(uuid.UUID(node["identifier"])) == node["identifier"]
        assert node["uri"] == f"urn:uuid:{node['identifier']}"
        assert TIMESTAMP.match(node["lastChangeDateTime"])

    for item in package["CFItems"]:
        assert ITEM_REQUIRED <= set(item) <= ITEM_PROPERTIES
        assert item["CFItemType"] in TYPE_NAMES
        assert item["CFItemTypeURI"]["title"] == item["CFItemType"]
        assert item["language"] == "en"
        assert isinstance(item.get("extensions", {}), dict)
    for association in package["CFAssociations"]:
        assert ASSOCIATION_REQUIRED <= set(association) <= ASSOCIATION_PROPERTIES
        assert set(association["originNodeURI"]) <= LINK_PROPERTIES
        assert set(association["destinationNodeURI"]) <= LINK_PROPERTIES
        assert isinstance(association["sequenceNumber"], int)
    for item_type in package["CFDefinitions"]["CFItemTypes"]:
        assert set(item_type) >= ITEM_TYPE_REQUIRED
    assert {t["title"] for t in package["CFDefinitions"]["CFItemTypes"]} == {
        "Unit", "Element", "Performance Requirement", "Assessment Criterion",
    }
    type_ids = {t["title"]: t["identifier"] for t in package["CFDefinitions"]["CFItemTypes"]}
    assert all(
        item["CFItemTypeURI"]["identifier"] == type_ids[item["CFItemType"]]
        for item in package["CFItems"]
    )


def test_hierarchy_is_told_by_is_child_of(session, import_seed):
    import_seed(HKQF)
    package = export_unit(current(session, "ITCSCR405A"))
    items = {item["identifier"]: item for item in package["CFItems"]}
    parent = {
        a["originNodeURI"]["identifier"]: (a["destinationNodeURI"]["identifier"],
                                           a["sequenceNumber"])
        for a in package["CFAssociations"] if a["associationType"] == "isChildOf"
    }
    assert set(parent) == set(items)

    def code(identifier: str) -> str:
        if identifier == package["CFDocument"]["identifier"]:
            return "document"
        return items[identifier]["humanCodingScheme"]

    links = {code(child): (code(up), n) for child, (up, n) in parent.items()}
    assert links["ITCSCR405A"] == ("document", 1)
    assert links["6.1"] == ("ITCSCR405A", 1)
    assert links["6.2"] == ("ITCSCR405A", 2)
    assert links["6.2.1"] == ("6.2", 1)
    assert links["i"][0] == "ITCSCR405A"
    assert links["ii"][1] == links["i"][1] + 1


def test_sfia_levels_and_level_statements(session, import_seed):
    import_seed("003_219ced0e9604f067.txt")
    package = export_unit(current(session, "CEXP-3"))
    types = {item["CFItemType"] for item in package["CFItems"]}
    assert types == {"Unit", "Level Statement"}
    unit_item = package["CFItems"][by_code(package, "CEXP-3")]
    assert unit_item["educationLevel"] == ["3"]
    assert unit_item["extensions"]["certify"]["family_code"] == "CEXP"
    assert unit_item["extensions"]["certify"]["level_label"] == "Apply"
    framework = package["CFDocument"]["extensions"]["certify"]["framework"]
    assert framework["kind"] == "skill_levels"
    assert {level["level"] for level in framework["levels"]} == set(range(1, 8))
    assert all(level.get("essence") for level in framework["levels"])


# --------------------------------------------------------------------------- the command


def test_cli_exports_a_unit(cli, seeds, tmp_path):
    assert cli("units", "import", str(seeds / HKQF)).exit_code == 0
    result = cli("units", "export", "ITCSCR405A", "--format", "case")
    assert result.exit_code == 0, result.output
    package = json.loads(result.stdout)
    assert set(package) >= {"CFDocument", "CFItems", "CFAssociations"}
    items = package["CFItems"]
    assert {item["CFItemType"] for item in items} == {
        "Unit", "Element", "Performance Requirement", "Assessment Criterion",
    }
    codes = {item["humanCodingScheme"] for item in items}
    assert {"ITCSCR405A", "6.1", "6.2", "6.3", "6.2.1", "i"} <= codes
    assert all(item["language"] == "en" for item in items)
    assert package["CFDocument"]["language"] == "en"
    assert any(a["associationType"] == "isChildOf" for a in package["CFAssociations"])
    assert cli("units", "export", "ITCSCR405A", "--format", "case").stdout == result.stdout

    target = tmp_path / "ITCSCR405A.json"
    written = cli("units", "export", "ITCSCR405A", "-o", str(target))
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    assert f"wrote {target}" in written.output
    assert target.read_text(encoding="utf-8") == result.stdout
    assert detect_format(target.read_bytes()) == "case"


def test_cli_reports_unknown_units_and_languages(cli, seeds):
    missing = cli("units", "export", "NOSUCHUNIT", "--format", "case")
    assert missing.exit_code != 0
    assert "no unit NOSUCHUNIT in the catalogue" in missing.output
    assert missing.stdout == ""

    assert cli("units", "import", str(seeds / HKQF)).exit_code == 0
    foreign = cli("units", "export", "ITCSCR405A", "--language", "xx")
    assert foreign.exit_code != 0
    assert "ITCSCR405A v1 has no translation in 'xx'" in foreign.output
    assert foreign.stdout == ""


def test_cli_imports_an_export(cli, seeds, tmp_path, session):
    assert cli("units", "import", str(seeds / SFIA_CELO_EN)).exit_code == 0
    target = tmp_path / "celo-5.json"
    assert cli("units", "export", "CELO-5", "-o", str(target)).exit_code == 0
    again = cli("units", "import", str(target))
    assert again.exit_code == 0, again.output
    assert "celo-5.json: case, framework SFIA9, language en" in again.output
    assert "CELO-5 v1: unchanged" in again.output


# --------------------------------------------------------------------------- broken packages


@pytest.fixture
def hkqf_package(session, import_seed) -> dict:
    """The exported ITCSCR405A, with the unit already in the catalogue."""
    import_seed(HKQF)
    return export_unit(current(session, "ITCSCR405A"))


def _remove(key: str) -> Callable[[dict], str]:
    def mutate(package: dict) -> str:
        del package[key]
        return key

    return mutate


def _drop_item_field(code: str, key: str, *also: str) -> Callable[[dict], str]:
    def mutate(package: dict) -> str:
        index = by_code(package, code)
        for name in (key, *also):
            del package["CFItems"][index][name]
        return f"CFItems[{index}].{key}"

    return mutate


def _set_item_field(code: str, key: str, value: object) -> Callable[[dict], str]:
    def mutate(package: dict) -> str:
        index = by_code(package, code)
        package["CFItems"][index][key] = value
        return f"CFItems[{index}].{key}"

    return mutate


def _unknown_parent(package: dict) -> str:
    index = child_link(package, package["CFItems"][by_code(package, "6.2.3")]["identifier"])
    package["CFAssociations"][index]["destinationNodeURI"]["identifier"] = str(uuid.uuid4())
    return f"CFAssociations[{index}].destinationNodeURI.identifier"


def _cycle(package: dict) -> str:
    # The unit becomes a child of its own first requirement: unit -> 6.1.1 -> 6.1 -> unit.
    unit = package["CFItems"][by_code(package, "ITCSCR405A")]
    requirement = package["CFItems"][by_code(package, "6.1.1")]
    index = child_link(package, unit["identifier"])
    package["CFAssociations"][index]["destinationNodeURI"]["identifier"] = (
        requirement["identifier"]
    )
    return f"CFAssociations[{index}]"


def _orphan(package: dict) -> str:
    item = by_code(package, "ii")
    del package["CFAssociations"][child_link(package, package["CFItems"][item]["identifier"])]
    return f"CFItems[{item}]"


def _duplicate_identifier(package: dict) -> str:
    first, second = by_code(package, "6.1"), by_code(package, "6.2")
    package["CFItems"][second]["identifier"] = package["CFItems"][first]["identifier"]
    return f"CFItems[{second}].identifier"


def _duplicate_ref(package: dict) -> str:
    index = by_code(package, "6.1.2")
    package["CFItems"][index]["humanCodingScheme"] = "6.1.1"
    return f"CFItems[{index}].humanCodingScheme"


def _second_parent(package: dict) -> str:
    link = copy.deepcopy(package["CFAssociations"][child_link(
        package, package["CFItems"][by_code(package, "6.1.1")]["identifier"])])
    link["identifier"] = str(uuid.uuid4())
    link["destinationNodeURI"]["identifier"] = package["CFItems"][by_code(package, "6.2")][
        "identifier"
    ]
    package["CFAssociations"].append(link)
    return f"CFAssociations[{len(package['CFAssociations']) - 1}]"


def _bad_sequence(package: dict) -> str:
    package["CFAssociations"][2]["sequenceNumber"] = "second"
    return "CFAssociations[2].sequenceNumber"


def _framework_kind(package: dict) -> str:
    package["CFDocument"]["extensions"]["certify"]["framework"]["kind"] = "badges"
    return "CFDocument.extensions.certify.framework.kind"


def _credits(package: dict) -> str:
    index = by_code(package, "ITCSCR405A")
    package["CFItems"][index]["extensions"]["certify"]["credits"] = "three"
    return f"CFItems[{index}].extensions.certify.credits"


def _items_not_array(package: dict) -> str:
    package["CFItems"] = {"items": package["CFItems"]}
    return "CFItems"


BROKEN = {
    "missing CFDocument": (
        _remove("CFDocument"), r"the package has no CFDocument; a CASE package needs"),
    "missing CFItems": (_remove("CFItems"), r"the package has no CFItems; expected an array"),
    "CFItems not an array": (_items_not_array, r"expected an array of items, found an object"),
    "item without identifier": (
        _drop_item_field("6.2", "identifier"), r"identifier is missing; every item needs its UUID"),
    "item without fullStatement": (
        _drop_item_field("6.2.1", "fullStatement"),
        r"fullStatement is missing; every item needs its text"),
    "item with an empty fullStatement": (
        _set_item_field("6.2.1", "fullStatement", "  "), r"fullStatement is empty"),
    "item without CFItemType": (
        _drop_item_field("i", "CFItemType", "CFItemTypeURI"),
        r"the item has no CFItemType; expected one of: Unit, Element, Performance Requirement, "
        r"Assessment Criterion, Level Statement"),
    "unknown CFItemType": (
        _set_item_field("i", "CFItemType", "Learning Outcome"),
        r"unknown item type 'Learning Outcome'; expected one of: Unit, Element"),
    "association to an unknown identifier": (
        _unknown_parent, r"isChildOf points to '[0-9a-f-]{36}', which is neither the "
                         r"CFDocument nor an item in CFItems"),
    "isChildOf cycle": (
        _cycle, r"the isChildOf associations form a cycle: .*'ITCSCR405A'.* -> .*'6\.1\.1'"),
    "criterion attached to nothing": (
        _orphan, r"the Assessment Criterion 'ii' \(CFItems\[\d+\]\) is not attached to any "
                 r"Unit: it has no isChildOf association"),
    "Unit without humanCodingScheme": (
        _drop_item_field("ITCSCR405A", "humanCodingScheme"),
        r"humanCodingScheme is missing; a Unit needs its code \(such as ITCSCR405A\)"),
    "duplicate identifiers": (
        _duplicate_identifier, r"the identifier [0-9a-f-]{36} is also used by CFItems\[\d+\]; "
                               r"identifiers must be unique"),
    "duplicate criterion refs": (
        _duplicate_ref, r"the criterion ref '6\.1\.1' is used twice in the Unit 'ITCSCR405A'"),
    "two parents": (_second_parent, r"already has a parent \(CFAssociations\[\d+\]\); certify "
                                    r"needs each statement in exactly one place"),
    "non-integer level": (
        _set_item_field("ITCSCR405A", "educationLevel", ["four"]),
        r"expected the unit's level as one whole number such as \[\"4\"\], found \['four'\]"),
    "several levels": (
        _set_item_field("ITCSCR405A", "educationLevel", ["3", "4"]),
        r"as one whole number"),
    "unsupported language tag": (
        _set_item_field("6.1", "language", "English"),
        r"'English' is not a language tag; expected a BCP 47 tag such as 'en'"),
    "two languages": (
        _set_item_field("6.1.1", "language", "pl"),
        r"is in 'pl' but the package is in 'en'; a package holds one language"),
    "sequence number not a number": (
        _bad_sequence, r"expected a whole number of at least 0, found the text 'second'"),
    "unknown framework kind": (
        _framework_kind, r"unknown framework kind 'badges'; expected one of: qf_units, "
                         r"skill_levels, proficiency_levels"),
    "credits not a number": (_credits, r"expected a whole number of at least 0, found the text"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_packages_are_refused_and_change_nothing(session, import_bytes, hkqf_package,
                                                        case):
    mutate, message = BROKEN[case]
    package = copy.deepcopy(hkqf_package)
    field = mutate(package)
    before = catalogue(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(as_bytes(package), "broken.json")
    error = caught.value
    assert error.field == field
    assert str(error).startswith(f"broken.json, field {field!r}: "), str(error)
    assert re.search(message, str(error)), str(error)
    session.rollback()
    assert catalogue(session) == before


def test_truncated_json_names_line_and_column(session, import_bytes, hkqf_package):
    text = as_bytes(hkqf_package).decode()
    cut = text.index("Supervise the carrying out") + 12
    line = text[:cut].count("\n") + 1
    before = catalogue(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(text[:cut].encode(), "cut.json")
    assert caught.value.line == line
    assert re.fullmatch(
        rf"cut\.json, line {line}: the file is not valid JSON: Unterminated string starting at "
        rf"\(line {line}, column \d+\); the file ends before the JSON is complete \(was it cut "
        r"short\?\)",
        str(caught.value),
    ), str(caught.value)
    assert catalogue(session) == before


def test_a_missing_comma_names_line_and_column(session, import_bytes, hkqf_package):
    lines = as_bytes(hkqf_package).decode().split("\n")
    number = next(n for n, line in enumerate(lines, 1) if '"creator":' in line)
    lines[number - 1] = lines[number - 1].rstrip(",")
    before = catalogue(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes("\n".join(lines).encode(), "comma.json")
    # The parser notices on the next line, where the next key starts.
    assert caught.value.line == number + 1
    column = len(lines[number]) - len(lines[number].lstrip()) + 1
    assert str(caught.value) == (
        f"comma.json, line {number + 1}: the file is not valid JSON: Expecting ',' delimiter "
        f"(line {number + 1}, column {column})"
    )
    assert catalogue(session) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"CFDocument": {}}]', r"^top\.json: expected a JSON object \(a CASE CFPackage with "
                                  r"CFDocument, CFItems and CFAssociations\) at the top level, "
                                  r"found an array$"),
        (b'  "CFDocument"', None),
        (b'{"CFDocument": {"title": "\x00\x01\x02"}}', r"^top\.json: this is a binary file"),
        (b'{"CFDocument": {"title": "Caf\xe9"}}', r"^top\.json, line 1: the file is not UTF-8"),
        (b"\xef\xbb\xbf{}", r"^top\.json, field 'CFDocument': the package has no CFDocument"),
        (b'{"CFPackage": ["not", "a", "package"]}',
         r"^top\.json, field 'CFPackage': expected a JSON object"),
    ],
    ids=["array", "not-json", "binary", "not-utf8", "bom-empty-object", "wrapper-not-object"],
)
def test_files_that_are_not_packages(session, import_bytes, data, message):
    before = catalogue(session)
    with pytest.raises(DocumentError) as caught:
        import_bytes(data, "top.json")
    if message is None:
        # Not JSON-shaped at all: the other importers are asked and none recognises it.
        assert "the format was not recognised" in str(caught.value)
    else:
        assert re.search(message, str(caught.value)), str(caught.value)
    assert catalogue(session) == before


def test_an_element_under_a_criterion_is_refused(session, hkqf_package):
    package = copy.deepcopy(hkqf_package)
    element = package["CFItems"][by_code(package, "6.3")]
    index = child_link(package, element["identifier"])
    package["CFAssociations"][index]["destinationNodeURI"]["identifier"] = package["CFItems"][
        by_code(package, "i")
    ]["identifier"]
    with pytest.raises(DocumentError) as caught:
        parse(as_bytes(package))
    assert caught.value.field == f"CFAssociations[{index}]"
    assert "an Element must be a child of a Unit or of another Element" in str(caught.value)


def test_a_unit_without_criteria_is_refused():
    package = retail()
    unit_two = package["CFItems"][by_code(package, "RET-102")]["identifier"]
    gone = {
        a["originNodeURI"]["identifier"] for a in package["CFAssociations"]
        if a["destinationNodeURI"]["identifier"] == unit_two
    }
    package["CFItems"] = [i for i in package["CFItems"] if i["identifier"] not in gone]
    package["CFAssociations"] = [
        a for a in package["CFAssociations"] if a["originNodeURI"]["identifier"] not in gone
    ]
    with pytest.raises(DocumentError) as caught:
        parse(as_bytes(package))
    index = by_code(package, "RET-102")
    assert caught.value.field == f"CFItems[{index}]"
    assert "the Unit 'RET-102'" in str(caught.value)
    assert "has no criteria" in str(caught.value)


def test_a_package_without_units_is_refused():
    package = retail()
    units = {i["identifier"] for i in package["CFItems"] if i.get("CFItemType") == "Unit"}
    package["CFItems"] = [i for i in package["CFItems"] if i["identifier"] not in units]
    package["CFAssociations"] = [
        a for a in package["CFAssociations"]
        if a["originNodeURI"]["identifier"] not in units
        and a["destinationNodeURI"]["identifier"] not in units
    ]
    with pytest.raises(DocumentError, match=r"no item of type Unit") as caught:
        parse(as_bytes(package))
    assert caught.value.field == "CFItems"


def test_long_codes_are_refused_before_the_database():
    package = retail()
    package["CFItems"][by_code(package, "RET-101")]["humanCodingScheme"] = "X" * 61
    with pytest.raises(DocumentError, match=r"is 61 characters long; certify keeps at most 60"):
        parse(as_bytes(package))


def _paths(node: object, prefix: tuple = ()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def test_any_wrong_value_is_refused_with_its_place_never_a_crash():
    original = retail()
    refused, unplaced = 0, []
    for path in _paths(original):
        for value in (None, 7, -1, 2.5, "", "x", [], {}, True, ["x"], "<delete>"):
            package = copy.deepcopy(original)
            parent = package
            for part in path[:-1]:
                parent = parent[part]
            if value == "<delete>":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            try:
                parse(as_bytes(package))
            except DocumentError as error:
                unplaced.extend([] if error.field else [f"{path} = {value!r}: {error}"])
                refused += 1
    assert not unplaced, unplaced
    assert refused > 500


# --------------------------------------------------------------------------- other producers


def test_a_third_party_package_parses_without_a_database():
    parsed = parse((DATA / "retail_skills.json").read_bytes())
    assert parsed.language == "en"
    assert parsed.framework == FrameworkSpec(
        code="RETAIL-SKILLS-FRAMEWORK-2024",
        name="Retail Skills Framework 2024",
        kind=FrameworkKind.QF_UNITS,
        hours_per_credit=None,
        source_language="en",
        levels=[],
    )
    first, second = parsed.units
    assert first == UnitSpec(
        code="RET-101",
        title="Serve customers in a retail store",
        description="Applies to front-of-store staff.",
        level=2,
        elements=[ElementSpec(ref="1", title="Greet and assist customers")],
        criteria=[
            # Ordered by sequenceNumber, not by their place in CFItems.
            CriterionSpec(ref="1.a", kind=CriterionKind.PERFORMANCE_REQUIREMENT,
                          text="Greet the customer politely", element_ref="1"),
            CriterionSpec(ref="1.b", kind=CriterionKind.PERFORMANCE_REQUIREMENT,
                          text="Identify what the customer needs by asking open questions",
                          element_ref="1"),
            CriterionSpec(ref="i", kind=CriterionKind.ASSESSMENT_CRITERION,
                          text="Serves customers to the store's service standard"),
        ],
    )
    assert second == UnitSpec(
        code="RET-102",
        title="Handle customer payments",
        criteria=[
            CriterionSpec(ref="1", kind=CriterionKind.PERFORMANCE_REQUIREMENT,
                          text="Take payment by card and in cash"),
            CriterionSpec(ref="2", kind=CriterionKind.PERFORMANCE_REQUIREMENT,
                          text="Give the correct change and a receipt"),
        ],
    )


def test_a_third_party_package_imports_with_defaults(session, import_bytes):
    before = catalogue(session)
    data = (DATA / "retail_skills.json").read_bytes()
    report = import_bytes(data, "retail_skills.json")
    assert report.format == "case"
    assert report.framework == "RETAIL-SKILLS-FRAMEWORK-2024"
    assert [(o.code, o.action) for o in report.outcomes] == [
        ("RET-101", "created"), ("RET-102", "created"),
    ]
    framework = session.scalar(
        select(Framework).where(Framework.code == "RETAIL-SKILLS-FRAMEWORK-2024")
    )
    assert framework.kind == FrameworkKind.QF_UNITS
    assert framework.hours_per_credit is None
    assert framework.name == "Retail Skills Framework 2024"
    unit = current(session, "RET-101")
    assert (unit.credits, unit.level, unit.language) == (None, 2, "en")
    assert [c.ref for c in unit.criteria] == ["1.a", "1.b", "i"]
    assert catalogue(session)["units"] == before["units"] + 2

    # Exported again by certify, it reads back as the same unit.
    (spec,) = parse(as_bytes(export_unit(unit))).units
    assert spec.fingerprint() == unit.content_sha256
    assert [(o.action) for o in import_bytes(data, "retail_skills.json").outcomes] == [
        "unchanged", "unchanged",
    ]


def test_a_wrapped_package_reads_the_same():
    wrapped = {"CFPackage": retail()}
    assert parse(as_bytes(wrapped)) == parse(as_bytes(retail()))


def test_missing_document_language_falls_back_to_the_items():
    package = retail()
    del package["CFDocument"]["language"]
    for item in package["CFItems"]:
        item["language"] = "pol"
    assert parse(as_bytes(package)).language == "pl"


def test_framework_code_falls_back_to_the_creator():
    package = retail()
    del package["CFDocument"]["title"]
    parsed = parse(as_bytes(package))
    assert parsed.framework.code == "EXAMPLE-RETAIL-SKILLS-COUNCIL"
    assert parsed.framework.name == "Example Retail Skills Council"


def test_framework_type_names_the_kind():
    package = retail()
    package["CFDocument"]["frameworkType"] = "Skills at levels"
    assert parse(as_bytes(package)).framework.kind == FrameworkKind.SKILL_LEVELS
    package["CFDocument"]["frameworkType"] = "CourseCodes"
    assert parse(as_bytes(package)).framework.kind == FrameworkKind.QF_UNITS


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"CFDocument": {}}', True),
        (b"\xef\xbb\xbf\n  {", True),
        (b"\r\n\t[1, 2", True),
        (b'{"CFDocument": {"title": "cut sh', True),
        (b"", False),
        (b"   ", False),
        (b"Functional Area: Retail\n1. Title\tServe customers", False),
        (b"\xef\xbb\xbfCustomer engagement and loyalty CELO", False),
    ],
)
def test_looks_like(data, expected):
    assert looks_like(data) is expected


def test_truncated_json_is_routed_to_case():
    data = b'{"CFDocument": {"title": "cut sh'
    assert detect_format(data) == "case"
    with pytest.raises(DocumentError, match=r"was it cut short"):
        parse_document(data, "cut.json")


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("pol", "pl"),
        ("eng", "en"),
        ("zh-hant-hk", "zh-Hant-HK"),
        ("en_GB", "en-GB"),
        ("yue", "yue"),
        ("English", None),
        ("e", None),
        ("en-", None),
        ("x-klingon", None),
        ("en GB", None),
    ],
)
def test_language_tags(value, tag):
    assert language_tag(value) == tag


def test_slug():
    assert slug("Retail Skills Framework 2024") == "RETAIL-SKILLS-FRAMEWORK-2024"
    assert slug("Cadre de référence: compétences") == "CADRE-DE-REFERENCE-COMPETENCES"
    assert len(slug("A very long framework title " * 5)) <= 40
    assert re.fullmatch(r"CASE-[0-9A-F]{8}", slug("資歷架構"))
