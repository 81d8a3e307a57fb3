"""Eligibility: achieved units from confirmed decisions, qualification rules, distance."""

from __future__ import annotations

from datetime import UTC, datetime

from certify.assessors.models import Assessment, AssessmentStatus, Outcome
from certify.certificates import eligibility as rules
from certify.certificates.models import Certificate, CertificateKind, CertificateUnit
from certify.units.models import ElectiveGroup, QualificationUnit
from tests.certificates.conftest import achieve, make_qualification, make_unit


def units(session, world, n: int, *, level: int = 4, credits: int = 6):
    return [make_unit(session, world.unit.framework_id, f"TST{level}{i:02d}A",
                      f"Test unit {i}", level, credits) for i in range(1, n + 1)]


def standing_of(app, session, world, qualification):
    with app.app_context():
        found = rules.candidate_eligibility(session, world.provider, world.candidate)
    return next(s for s in found.standings if s.qualification.id == qualification.id), found


def test_a_confirmed_competent_decision_makes_a_unit_achieved(app, session, world):
    with app.app_context():
        found = rules.candidate_eligibility(session, world.provider, world.candidate)
    assert [a.unit.code for a in found.achievements] == ["ITCSCR405A"]
    assert found.eligible and [a.unit.code for a in found.uncertified] == ["ITCSCR405A"]
    assert found.eligible_since == found.achievements[0].achieved_on


def test_the_last_confirmed_decision_counts(app, session, world):
    """A later attempt decided not yet competent (say, after an appeal's correction) or a
    decision not yet confirmed: only confirmed decisions count, and the latest one wins."""
    with app.app_context():
        achieve(session, world.provider, world.candidate, world.unit, world.assessor,
                admin=world.admin, outcome=Outcome.NOT_YET_COMPETENT,
                enrolment=world.enrolment, days_ago=0)
        assert rules.candidate_eligibility(session, world.provider,
                                           world.candidate).achievements == []
        achieve(session, world.provider, world.candidate, world.unit, world.assessor,
                admin=world.admin, enrolment=world.enrolment, days_ago=0)
        newest = session.query(Assessment).order_by(Assessment.id.desc()).first()
        newest.status = AssessmentStatus.AWAITING_VERIFICATION
        session.flush()
        assert rules.candidate_eligibility(session, world.provider,
                                           world.candidate).achievements == []


def test_another_providers_decisions_do_not_count(app, session, world, make_provider,
                                                  make_user):
    south = make_provider("South Institute", "south", "SOUTH")
    with app.app_context():
        found = rules.eligibility(session, south)
    assert found == []


def test_core_units_electives_and_credits(app, session, world):
    core = [world.unit, *units(session, world, 1)]
    electives = units(session, world, 3, level=3, credits=5)
    qualification = make_qualification(session, world.provider, world.unit.framework_id,
                                       "DIP-TEST", "Certificate in Testing", 4, core,
                                       min_credits=20)
    group = ElectiveGroup(qualification=qualification, title="Tools", choose=2, position=1)
    session.add(group)
    session.flush()
    for n, unit in enumerate(electives, start=1):
        session.add(QualificationUnit(qualification=qualification, group=group, unit=unit,
                                      position=10 + n))
    qualification.at_level, qualification.min_credits_at_level = 4, 9
    session.flush()
    session.expire(qualification)
    found, _ = standing_of(app, session, world, qualification)
    assert not found.met
    assert [u.code for u in found.core_missing] == [core[1].code]
    assert found.groups_short[0].missing == 2
    assert found.credits == 3 and found.credits_missing == 17
    assert found.credits_at_level == 3 and found.credits_at_level_missing == 6
    assert found.units_missing == 3
    with app.app_context():
        achieve(session, world.provider, world.candidate, core[1], world.assessor,
                admin=world.admin)
        achieve(session, world.provider, world.candidate, electives[0], world.assessor,
                admin=world.admin)
    found, everything = standing_of(app, session, world, qualification)
    assert found.units_missing == 1 and found.credits_missing == 6
    assert everything.in_progress == [found]
    with app.app_context():
        achieve(session, world.provider, world.candidate, electives[2], world.assessor,
                admin=world.admin)
    found, everything = standing_of(app, session, world, qualification)
    # 3 + 6 + 5 + 5 = 19 credits: one short of 20, though every unit rule is met.
    assert found.units_missing == 0 and found.credits_missing == 1 and not found.met
    with app.app_context():
        achieve(session, world.provider, world.candidate, electives[1], world.assessor,
                admin=world.admin)
    found, everything = standing_of(app, session, world, qualification)
    assert found.met and found.credits == 24 and found.credits_at_level == 9
    assert everything.qualifications_due == [found]


def test_a_later_version_of_a_listed_unit_counts(app, session, world):
    later = make_unit(session, world.unit.framework_id, "TSTV01A", "Versioned", 4, 3)
    earlier = make_unit(session, world.unit.framework_id, "TSTV01A-old", "Versioned", 4, 3)
    earlier.code, later.version = "TSTV01A", 2
    session.flush()
    qualification = make_qualification(session, world.provider, world.unit.framework_id,
                                       "AW-V", "Award in Versions", 4, [earlier])
    with app.app_context():
        achieve(session, world.provider, world.candidate, later, world.assessor,
                admin=world.admin)
    found, _ = standing_of(app, session, world, qualification)
    assert found.met


def test_certified_units_and_qualifications_are_no_longer_due(app, session, world):
    qualification = make_qualification(session, world.provider, world.unit.framework_id,
                                       "AW-1", "Award in Security", 4, [world.unit])
    certificate = Certificate(
        provider_id=world.provider.id, candidate_id=world.candidate.id,
        kind=CertificateKind.STATEMENT, number="NCOL-2026-000001-0", year=2026, sequence=1,
        verification_code="code-1", snapshot={}, achieved_on=datetime.now(UTC).date(),
        pdf_key="k", pdf_sha256="0" * 64, pdf_size=1, credential="x", status_index=0)
    certificate.units = [CertificateUnit(enrolment_id=world.enrolment.id, unit_id=world.unit.id,
                                         position=1)]
    session.add(certificate)
    session.flush()
    _, found = standing_of(app, session, world, qualification)
    assert found.uncertified == [] and len(found.qualifications_due) == 1
    session.add(Certificate(
        provider_id=world.provider.id, candidate_id=world.candidate.id,
        qualification_id=qualification.id, kind=CertificateKind.QUALIFICATION,
        number="NCOL-2026-000002-0", year=2026, sequence=2, verification_code="code-2",
        snapshot={}, achieved_on=datetime.now(UTC).date(), pdf_key="k", pdf_sha256="1" * 64,
        pdf_size=1, credential="x", status_index=1))
    session.flush()
    _, found = standing_of(app, session, world, qualification)
    assert not found.eligible and found.eligible_since is None


def test_the_provider_list_takes_a_fixed_number_of_queries(app, session, world, make_user,
                                                           count_queries):
    qualification = make_qualification(session, world.provider, world.unit.framework_id,
                                       "AW-2", "Award in Counting", 4, [world.unit])
    assert qualification.id

    def add_candidates(n: int) -> None:
        for _ in range(n):
            person = make_user(roles=["candidate"], provider=world.provider)
            with app.app_context():
                achieve(session, world.provider, person, world.unit, world.assessor,
                        admin=world.admin)

    counts = []
    for more in (2, 10):
        add_candidates(more)
        session.expire_all()
        with app.app_context(), count_queries() as counter:
            found = rules.eligibility(session, world.provider)
            assert all(row.qualifications_due for row in found)
        counts.append(counter.count)
    assert counts[0] == counts[1]
