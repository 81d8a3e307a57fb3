"""Defining qualifications: units, elective groups, credit rules and the award title."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Provider
from certify.certificates.models import Certificate, CertificateKind
from certify.core.models import AuditEntry
from certify.units import operations
from certify.units.models import (
    ElectiveGroup,
    Framework,
    Qualification,
    QualificationUnit,
    Unit,
    UnitStatus,
)
from tests.units.conftest import HKQF, SFIA_CELO_EN, import_bytes, import_seed  # noqa: F401

# Units of our own, written in the HK QF page layout for these tests (not published units).
DEMO_UNITS = [
    ("DEMOQ401A", "Keep a customer database accurate and up to date", 4, 20),
    ("DEMOQ402A", "Analyse customer data to find groups with shared needs", 4, 20),
    ("DEMOQ403A", "Report on the results of a customer programme", 4, 10),
    ("DEMOQ301A", "Answer routine customer enquiries", 3, 5),
    ("DEMOQ302A", "Record customer contacts in a shared system", 3, 8),
    ("DEMOQ303A", "Follow up customer requests until they are closed", 3, 7),
    ("DEMOQ501A", "Set the direction of a customer relationship programme", 5, 15),
]


def demo_unit(code: str, title: str, level: int, credits: int, task: str = "work") -> bytes:
    """One unit of competency in the layout of the HK QF specification pages."""
    return (
        "Functional Area: Demonstration units for tests\n\n"
        f"1. Title\t{title}\t\n"
        f"2. Code\t{code}\t\n"
        "3. Range\tA demonstration unit written for the qualification tests.\t\n"
        f"4. Level\t{level}\t\n"
        f"5. Credit\t{credits}\t\n"
        "6. Competency\t<p>6.1 Do the work</p>\t<ul style=\"list-style-type: none\"> "
        f"● Plan the {task} with the team ● Carry out the {task} as planned\n"
        "7. Assessment Criteria\t<p>The integrated outcome requirements of this UoC are the "
        "abilities to:</p> <ol style=\"list-style-type: none\"> i. plan and carry out the "
        f"{task}\n"
        "Remark\tDemonstration only.\n"
    ).encode()


@pytest.fixture
def catalogue(session, import_seed, import_bytes) -> dict[str, Unit]:  # noqa: F811
    """The HK QF seed unit ITCSCR405A (level 4, 3 credits), our demo units, and SFIA CELO."""
    import_seed(HKQF)
    import_seed(SFIA_CELO_EN)
    for code, title, level, credits in DEMO_UNITS:
        import_bytes(demo_unit(code, title, level, credits), f"{code}.txt")
    units = session.scalars(select(Unit).where(Unit.status == UnitStatus.CURRENT)).all()
    return {unit.code: unit for unit in units}


@pytest.fixture
def hkqf(session, catalogue) -> Framework:
    return session.scalar(select(Framework).where(Framework.code == "HKQF"))


@pytest.fixture
def define(app, session, provider, admin, hkqf):
    """Run create_qualification with a valid definition, changed by ``overrides``; commit."""

    def run(target: Provider | None = None, **overrides) -> Qualification:
        values = dict(
            framework=hkqf, code="NCOL-AC-CRM",
            title="Advanced Certificate in Customer Relationship Management", level=4,
            description="Loyalty and customer data.", core_codes=["ITCSCR405A"],
            groups=[("Customer data", 1, ["DEMOQ401A", "DEMOQ402A"])],
            min_credits=0, min_credits_at_level=0, at_level=None, validity_months=None,
        )
        values.update(overrides)
        with app.app_context():
            qualification = operations.create_qualification(
                session, target or provider, actor=admin, **values)
            session.commit()
        return qualification

    return run


def refused(define, **overrides) -> dict[str, list[str]]:
    with pytest.raises(operations.QualificationInvalid) as caught:
        define(**overrides)
    return caught.value.errors


def audit_entries(session, action: str) -> list[AuditEntry]:
    return session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.seq)).all()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_qualification_with_core_units_and_an_elective_group(session, define, catalogue,
                                                               provider, admin):
    qualification = define(min_credits=20, validity_months=36)
    session.expire_all()
    found = session.get(Qualification, qualification.id)
    assert (found.provider_id, found.code, found.level, found.created_by_id) == (
        provider.id, "NCOL-AC-CRM", 4, admin.id)
    assert [m.unit.code for m in found.core] == ["ITCSCR405A"]
    [group] = found.groups
    assert (group.title, group.choose, [m.unit.code for m in group.members]) == (
        "Customer data", 1, ["DEMOQ401A", "DEMOQ402A"])
    assert [m.position for m in found.members] == [1, 2, 3]
    rules = operations.qualification_rules(found)
    # 3 core credits + the smaller unit of the group (20), more than the 20-credit minimum.
    assert rules.guaranteed_credits == 23 and rules.most_credits == 43
    [entry] = audit_entries(session, "qualification.created")
    assert entry.actor_id == admin.id and entry.provider_id == provider.id
    assert entry.object_type == "Qualification" and entry.object_id == str(found.id)
    assert entry.changes["core"] == ["ITCSCR405A v1"]
    assert entry.changes["groups"] == [{"title": "Customer data", "choose": 1,
                                        "units": ["DEMOQ401A v1", "DEMOQ402A v1"]}]
    assert entry.changes["guaranteed_credits"] == 23 and entry.changes["validity_months"] == 36


def test_unit_codes_are_matched_in_any_case_and_use_the_current_version(
        app, session, define, import_bytes, catalogue):  # noqa: F811
    revised = demo_unit("DEMOQ401A", "Keep a customer database accurate", 4, 20, task="task")
    import_bytes(revised, "DEMOQ401A-v2.txt")
    qualification = define(core_codes=["itcscr405a", " DEMOQ401A "], groups=[])
    assert [(m.unit.code, m.unit.version) for m in qualification.members] == [
        ("ITCSCR405A", 1), ("DEMOQ401A", 2)]


def test_every_problem_is_reported_at_once_and_nothing_is_written(session, define, catalogue):
    errors = refused(
        define, code="bad code!", title="", level=9,
        core_codes=["ITCSCR405A", "NOPE999", "ITCSCR405A", "CELO-4"],
        groups=[("Customer data", 0, ["DEMOQ401A", "DEMOQ402A"]),
                ("", 1, ["DEMOQ403A"]),
                ("Reporting", 3, ["DEMOQ403A", "ITCSCR405A"]),
                ("Empty", 1, [])],
        min_credits=-1, min_credits_at_level=10, at_level=None, validity_months=0,
    )
    assert set(errors) == {"code", "title", "level", "core_codes", "groups", "min_credits",
                           "at_level", "validity_months"}
    assert "at most 40 letters, digits, hyphens and full stops" in errors["code"][0]
    assert errors["title"] == ["Give the qualification a title."]
    assert errors["level"] == ["Level 9 is not a level of the Hong Kong Qualifications "
                               "Framework (HKQF); its levels are 1 to 7."]
    assert errors["core_codes"] == [
        "NOPE999 is not a unit of HKQF.",
        "ITCSCR405A is listed twice.",
        "CELO-4 is a unit of SFIA9, not of HKQF; a qualification's units all come from its "
        "framework.",
    ]
    groups = errors["groups"]
    assert "“Customer data”: choose between 1 and 2 (the group lists 2 units); it says 0." \
        in groups
    assert "Group 2 has no title; give each group a title." in groups
    assert "“Reporting”: DEMOQ403A is already in Group 2; a unit counts once in a " \
           "qualification." in groups
    assert "“Reporting”: ITCSCR405A is already a core unit; a unit counts once in a " \
           "qualification." in groups
    assert "“Reporting”: choose between 1 and 2 (the group lists 2 units); it says 3." in groups
    assert "“Empty” lists no units." in groups
    assert errors["min_credits"] == ["The minimum credits cannot be below 0."]
    assert errors["at_level"] == ["Give the level that the 10 credits must be at or above."]
    assert errors["validity_months"][0].startswith("Give a number of months from 1 to 600")
    assert count(session, Qualification) == count(session, ElectiveGroup) == 0
    assert count(session, QualificationUnit) == 0
    assert audit_entries(session, "qualification.created") == []


def test_a_unit_twice_in_one_group_or_in_two_groups(define, catalogue):
    errors = refused(define, core_codes=[], groups=[
        ("Data", 1, ["DEMOQ401A", "demoq401a"]),
        ("More data", 1, ["DEMOQ402A", "DEMOQ401A"]),
        ("data", 1, ["DEMOQ403A"]),
    ])
    assert errors["groups"] == [
        "“Data”: DEMOQ401A is listed twice.",
        "“More data”: DEMOQ401A is already in “Data”; a unit counts once in a qualification.",
        "Two groups are called “data”; give each its own title.",
    ]


def test_a_qualification_needs_a_unit(define, catalogue):
    errors = refused(define, core_codes=["  "], groups=[])
    assert errors == {"core_codes": ["List at least one unit: core units, or elective groups."]}


def test_a_diploma_with_twelve_credits_is_refused_naming_the_sixty_credit_rule(define, catalogue):
    errors = refused(define, title="Diploma in Customer Service", level=3,
                     core_codes=["DEMOQ301A", "DEMOQ303A"], groups=[])
    [problem] = errors["title"]
    assert "A “Diploma” needs at least 60 QF credits under the HK QF Award Titles Scheme" \
        in problem
    assert "guarantee only 12" in problem
    assert set(errors) == {"title"}


def test_a_diploma_with_enough_guaranteed_credits(define, catalogue):
    # 5 + 8 core, then the two smallest of 20, 20 and 10 (30) in the group: 43, short of 60 ...
    common = dict(title="Diploma in Customer Service", level=3,
                  core_codes=["DEMOQ301A", "DEMOQ302A"],
                  groups=[("Customer data", 2, ["DEMOQ401A", "DEMOQ402A", "DEMOQ403A"])])
    assert "guarantee only 43" in refused(define, **common)["title"][0]
    # ... so a minimum of 60 credits (of the 63 available) makes it a Diploma.
    qualification = define(**common, min_credits=60)
    assert operations.qualification_rules(qualification).guaranteed_credits == 60


def test_minimum_credits_cannot_exceed_what_the_units_carry(define, catalogue):
    errors = refused(define, min_credits=44)
    assert errors == {"min_credits": ["At most 43 credits can be achieved from these units, so "
                                      "a minimum of 44 could never be met."]}


def test_credits_at_a_level_need_a_level_and_the_units_to_carry_them(define, catalogue):
    assert refused(define, min_credits_at_level=0, at_level=4) == {"min_credits_at_level": [
        "Give how many credits must come from units at level 4 or above, or leave the level "
        "empty."]}
    assert refused(define, min_credits_at_level=5, at_level=5) == {"min_credits_at_level": [
        "The units at level 5 or above carry 0 credits in all, so 5 could never be met."]}
    assert refused(define, min_credits_at_level=5, at_level=8)["at_level"] == [
        "Level 8 is not a level of the Hong Kong Qualifications Framework (HKQF); its levels "
        "are 1 to 7."]
    qualification = define(min_credits_at_level=23, at_level=4)
    assert (qualification.min_credits_at_level, qualification.at_level) == (23, 4)


def test_a_title_not_allowed_at_the_level(define, catalogue):
    errors = refused(define, title="Bachelor of Business", level=4)
    assert errors["title"][0].startswith("“Bachelor” is an award title for QF level 5")


def test_a_unit_with_no_current_version_is_refused(session, define, catalogue):
    unit = catalogue["DEMOQ403A"]
    unit.status = UnitStatus.SUPERSEDED
    session.commit()
    errors = refused(define, core_codes=["DEMOQ403A"], groups=[])
    assert errors == {"core_codes": ["DEMOQ403A version 1 is superseded and has no current "
                                     "version, so it cannot be added."]}


def test_codes_are_unique_per_provider_in_any_case(define, make_provider, catalogue):
    define()
    assert refused(define, code="ncol-ac-crm") == {
        "code": ["North College already has a qualification with the code NCOL-AC-CRM."]}
    other = define(target=make_provider("South Institute", "south", "SOUTH"))
    assert other.code == "NCOL-AC-CRM"


def test_a_framework_is_required(define, catalogue):
    errors = refused(define, framework=None)
    assert errors == {"framework": ["Choose the framework the qualification's units come from."]}


def issue_row(session, qualification: Qualification, candidate) -> Certificate:
    """A certificate row for ``qualification`` (issuing itself is tested in tests/certificates)."""
    certificate = Certificate(
        provider_id=qualification.provider_id, candidate_id=candidate.id,
        qualification_id=qualification.id, kind=CertificateKind.QUALIFICATION,
        number="NCOL-2026-000001-8", year=2026, sequence=1, verification_code="v" * 40,
        snapshot={}, achieved_on=date(2026, 11, 20), issued_at=datetime.now(UTC),
        pdf_key="ab/cd", pdf_sha256="0" * 64, pdf_size=1, credential="x", status_index=0,
    )
    session.add(certificate)
    session.commit()
    return certificate


def update(app, session, qualification, admin, **overrides) -> Qualification:
    rules = operations.qualification_rules(qualification)
    values = dict(
        framework=qualification.framework, code=qualification.code, title=qualification.title,
        level=qualification.level, description=qualification.description,
        core_codes=[u.code for u in rules.core],
        groups=[(g.title, g.choose, [u.code for u in g.units]) for g in rules.groups],
        min_credits=qualification.min_credits,
        min_credits_at_level=qualification.min_credits_at_level,
        at_level=qualification.at_level, validity_months=qualification.validity_months,
    )
    values.update(overrides)
    with app.app_context():
        operations.update_qualification(session, qualification, actor=admin, **values)
        session.commit()
    return qualification


def test_changing_the_rules(app, session, define, admin, catalogue):
    qualification = define()
    update(app, session, qualification, admin, title="Advanced Certificate in CRM",
           core_codes=["ITCSCR405A", "DEMOQ403A"],
           groups=[("Customer data", 1, ["DEMOQ402A", "DEMOQ401A"]),
                   ("Direction", 1, ["DEMOQ501A"])])
    session.expire_all()
    found = session.get(Qualification, qualification.id)
    rules = operations.qualification_rules(found)
    assert [u.code for u in rules.core] == ["ITCSCR405A", "DEMOQ403A"]
    assert [(g.title, [u.code for u in g.units]) for g in rules.groups] == [
        ("Customer data", ["DEMOQ402A", "DEMOQ401A"]), ("Direction", ["DEMOQ501A"])]
    assert rules.guaranteed_credits == 3 + 10 + 20 + 15
    [entry] = audit_entries(session, "qualification.updated")
    assert entry.changes["title"] == ["Advanced Certificate in Customer Relationship Management",
                                      "Advanced Certificate in CRM"]
    assert entry.changes["core"] == [["ITCSCR405A v1"], ["ITCSCR405A v1", "DEMOQ403A v1"]]
    assert entry.changes["guaranteed_credits"] == [23, 48]
    assert "code" not in entry.changes
    # Saving it unchanged writes nothing to the trail.
    update(app, session, found, admin)
    assert len(audit_entries(session, "qualification.updated")) == 1


def test_a_refused_change_changes_nothing(app, session, define, admin, catalogue):
    qualification = define()
    with pytest.raises(operations.QualificationInvalid):
        update(app, session, qualification, admin, title="", core_codes=["NOPE"])
    session.rollback()
    session.expire_all()
    found = session.get(Qualification, qualification.id)
    assert found.title == "Advanced Certificate in Customer Relationship Management"
    assert [m.unit.code for m in found.members] == ["ITCSCR405A", "DEMOQ401A", "DEMOQ402A"]


def test_once_certificates_are_issued_the_code_stays_but_rules_may_change(
        app, session, define, admin, candidate, catalogue):
    qualification = define()
    issue_row(session, qualification, candidate)
    with pytest.raises(operations.QualificationInvalid) as caught:
        update(app, session, qualification, admin, code="NCOL-AC-CRM-2")
    assert caught.value.errors == {"code": [
        "Certificates have been issued for NCOL-AC-CRM, so its code stays NCOL-AC-CRM."]}
    session.rollback()
    update(app, session, qualification, admin, min_credits=40)
    session.expire_all()
    assert session.get(Qualification, qualification.id).min_credits == 40


def test_withdrawing(app, session, define, admin, catalogue):
    qualification = define()
    with app.app_context():
        operations.withdraw_qualification(session, qualification, admin)
        session.commit()
    assert qualification.withdrawn_at is not None
    [entry] = audit_entries(session, "qualification.withdrawn")
    assert entry.changes == {"code": "NCOL-AC-CRM",
                             "title": "Advanced Certificate in Customer Relationship Management"}
    with pytest.raises(operations.QualificationInvalid, match="already withdrawn"), \
            app.app_context():
        operations.withdraw_qualification(session, qualification, admin)


def test_deleting_one_nobody_was_given(app, session, define, admin, catalogue):
    qualification = define()
    qualification_id = qualification.id
    with app.app_context():
        operations.delete_qualification(session, qualification, admin)
        session.commit()
    assert session.get(Qualification, qualification_id) is None
    assert count(session, ElectiveGroup) == count(session, QualificationUnit) == 0
    [entry] = audit_entries(session, "qualification.deleted")
    assert entry.object_id == str(qualification_id) and entry.changes["code"] == "NCOL-AC-CRM"


def test_no_delete_once_certificates_exist(app, session, define, admin, candidate, catalogue):
    qualification = define()
    issue_row(session, qualification, candidate)
    with pytest.raises(operations.QualificationInvalid, match="withdraw it instead"), \
            app.app_context():
        operations.delete_qualification(session, qualification, admin)
    session.rollback()
    assert session.get(Qualification, qualification.id) is not None


def test_cli_lists_and_creates(cli, session, define, catalogue):
    define(min_credits=20)
    listed = cli("units", "qualifications", "north-college")
    assert listed.exit_code == 0, listed.output
    assert "NCOL-AC-CRM" in listed.output and ">=  23 cr" in listed.output
    created = cli("units", "qualification-create", "north-college", "--framework", "HKQF",
                  "--code", "NCOL-CERT-CS", "--title", "Certificate in Customer Service",
                  "--level", "3", "--core", "DEMOQ301A, DEMOQ302A")
    assert created.exit_code == 0, created.output
    assert "NCOL-CERT-CS Certificate in Customer Service: 2 units, at least 13 credits" \
        in created.output
    refused_run = cli("units", "qualification-create", "north-college", "--framework", "HKQF",
                      "--code", "NCOL-DIP-CS", "--title", "Diploma in Customer Service",
                      "--level", "3", "--group", "Service: choose two of DEMOQ301A DEMOQ302A",
                      "--group", "Broken line")
    assert refused_run.exit_code == 1
    assert "--group 2: write “Title: choose N of CODE, CODE, …”" in refused_run.output
    short = cli("units", "qualification-create", "north-college", "--framework", "HKQF",
                "--code", "NCOL-DIP-CS", "--title", "Diploma in Customer Service",
                "--level", "3", "--group", "Service: choose two of DEMOQ301A DEMOQ302A")
    assert short.exit_code == 1 and "at least 60 QF credits" in short.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Qualification)) == 2
    as_json = cli("units", "qualifications", "north-college", "--format", "json")
    assert [row["code"] for row in json.loads(as_json.output)] == [
        "NCOL-AC-CRM", "NCOL-CERT-CS"]
    assert cli("units", "qualifications", "nowhere").exit_code == 1
