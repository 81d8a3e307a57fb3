"""Certification fixtures: candidates with achieved units, and issued certificates.

``achieve`` records a confirmed competent decision on an enrolment directly (the
assessment workflow itself is tested in tests/assessors); ``make_unit`` adds units
of our own to the HK QF framework imported from the seed, for qualifications with
several units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from certify.accounts.models import Enrolment, Provider, User
from certify.accounts.operations.enrolments import enrol_candidate
from certify.assessors.models import Assessment, AssessmentKind, AssessmentStatus, Outcome
from certify.certificates.models import Certificate
from certify.evidence.models import Submission, SubmissionStatus
from certify.units.models import Qualification, QualificationUnit, Unit, UnitStatus
from tests.units.conftest import HKQF, import_bytes, import_seed  # noqa: F401


@dataclass
class World:
    provider: Provider
    admin: User
    assessor: User
    candidate: User
    unit: Unit
    enrolment: Enrolment
    extra: dict = field(default_factory=dict)


def make_unit(session, framework_id: int, code: str, title: str, level: int,
              credits: int) -> Unit:
    unit = Unit(framework_id=framework_id, code=code, version=1, title=title, level=level,
                credits=credits, language="en", status=UnitStatus.CURRENT,
                content_sha256=code.ljust(64, "0")[:64])
    session.add(unit)
    session.flush()
    return unit


def achieve(session, provider: Provider, candidate: User, unit: Unit, assessor: User, *,
            admin: User, days_ago: int = 1, outcome: Outcome = Outcome.COMPETENT,
            enrolment: Enrolment | None = None) -> Enrolment:
    """Enrol (unless given) and record a confirmed decision ``days_ago`` days ago."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    if enrolment is None:
        enrolment = enrol_candidate(session, provider, candidate, unit,
                                    starts_on=when.date() - timedelta(days=30), actor=admin)
    attempt = len(session.query(Submission).filter_by(enrolment_id=enrolment.id).all()) + 1
    submission = Submission(enrolment_id=enrolment.id, attempt=attempt,
                            status=SubmissionStatus.COMPLETED, declaration="Mine.",
                            declared_at=when, submitted_at=when)
    session.add(submission)
    session.flush()
    session.add(Assessment(
        provider_id=provider.id, submission_id=submission.id, unit_id=unit.id,
        assessor_id=assessor.id, kind=AssessmentKind.INITIAL,
        status=AssessmentStatus.CONFIRMED, assigned_at=when, rule_valid=True,
        rule_sufficient=True, rule_authentic=True, rule_current=True, outcome=outcome,
        signed_at=when, confirmed_at=when, feedback="Well evidenced."))
    session.flush()
    return enrolment


def make_qualification(session, provider: Provider, framework_id: int, code: str, title: str,
                       level: int, core: list[Unit], *, min_credits: int = 0,
                       validity_months: int | None = None) -> Qualification:
    qualification = Qualification(provider_id=provider.id, framework_id=framework_id,
                                  code=code, title=title, level=level, min_credits=min_credits,
                                  validity_months=validity_months)
    qualification.members = [QualificationUnit(unit=unit, position=n)
                             for n, unit in enumerate(core, start=1)]
    session.add(qualification)
    session.flush()
    return qualification


@pytest.fixture
def world(app, session, make_user, provider, admin, candidate, import_seed) -> World:  # noqa: F811
    """North College with ITCSCR405A (HK QF level 4, 3 credits) achieved by its candidate."""
    report = import_seed(HKQF)
    unit = session.get(Unit, report.outcomes[0].unit_id)
    assessor = make_user("assessor@north.example", name="Ann Assessor", roles=["assessor"],
                         provider=provider)
    with app.app_context():
        enrolment = achieve(session, provider, candidate, unit, assessor, admin=admin)
        session.commit()
    return World(provider, admin, assessor, candidate, unit, enrolment)


@pytest.fixture
def issue(app, session):
    """Issue a certificate through the operation and commit."""

    def run(world: World, candidate: User | None = None, **kwargs) -> Certificate:
        from certify.certificates.operations import issuing

        with app.app_context():
            certificate = issuing.issue_certificate(
                session, world.provider, candidate=candidate or world.candidate,
                actor=world.admin, **kwargs)
            session.commit()
        return certificate

    return run


@pytest.fixture
def issued(world, issue) -> Certificate:
    """A statement of attainment of ITCSCR405A for the world's candidate."""
    return issue(world)


@pytest.fixture
def add_candidate(app, session, make_user):
    """Another candidate of the world's provider who achieved ``unit`` (default: the world's)
    ``days_ago`` days ago; returns (candidate, enrolment)."""

    def add(world: World, name: str, email: str, *, days_ago: int = 1,
            unit: Unit | None = None) -> tuple[User, Enrolment]:
        candidate = make_user(email, name=name, roles=["candidate"], provider=world.provider)
        with app.app_context():
            enrolment = achieve(session, world.provider, candidate, unit or world.unit,
                                world.assessor, admin=world.admin, days_ago=days_ago)
            session.commit()
        return candidate, enrolment

    return add


@pytest.fixture
def copy_certificate(session):
    """Rows for lists: copies of an issued certificate with their own number, code and
    status-list bit (and the same stored PDF), dated and placed as asked.  Nothing is
    rendered, so a register of many certificates is quick to build."""
    import copy
    import secrets
    from itertools import count

    from certify.certificates.models import CertificateStatus, CertificateUnit
    from certify.certificates.numbering import format_number

    sequences = count(900_000)

    def make(source: Certificate, *, name: str | None = None,
             status: CertificateStatus = CertificateStatus.VALID,
             issued_at: datetime | None = None, expires_on=None,
             superseded_by: Certificate | None = None) -> Certificate:
        sequence = next(sequences)
        issued_at = issued_at or source.issued_at
        number = format_number(source.provider.certificate_prefix, issued_at.year, sequence)
        code = secrets.token_urlsafe(24)
        snapshot = copy.deepcopy(source.snapshot)
        snapshot.update(number=number, verification_code=code,
                        issued_on=issued_at.date().isoformat(),
                        expires_on=expires_on.isoformat() if expires_on else None)
        snapshot["verification_url"] = snapshot["verification_url"].rsplit("/", 1)[0] + \
            "/" + code
        if name is not None:
            snapshot["candidate"] = {"name": name}
        made = Certificate(
            provider_id=source.provider_id, candidate_id=source.candidate_id,
            qualification_id=source.qualification_id, kind=source.kind, number=number,
            year=issued_at.year, sequence=sequence, verification_code=code, status=status,
            snapshot=snapshot, achieved_on=source.achieved_on, issued_at=issued_at,
            issued_by_id=source.issued_by_id, expires_on=expires_on, pdf_key=source.pdf_key,
            pdf_sha256=source.pdf_sha256, pdf_size=source.pdf_size,
            credential=source.credential, status_index=sequence,
            superseded_by_id=superseded_by.id if superseded_by else None,
            revoked_at=issued_at if status == CertificateStatus.REVOKED else None,
            revocation_reason="Copied as revoked." if status == CertificateStatus.REVOKED
            else None,
        )
        made.units = [CertificateUnit(enrolment_id=u.enrolment_id, unit_id=u.unit_id,
                                      position=u.position) for u in source.units]
        session.add(made)
        session.commit()
        return made

    return make
