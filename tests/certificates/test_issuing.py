"""Issuing: what a certificate freezes, what is refused, all-or-nothing, concurrent issuers."""

from __future__ import annotations

import hashlib
import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certify.accounts.models import Role
from certify.accounts.operations import people
from certify.accounts.operations.enrolments import enrol_candidate
from certify.certificates import credentials, numbering
from certify.certificates.errors import IssueRefused
from certify.certificates.models import Certificate, CertificateKind, SigningKey
from certify.certificates.operations import issuing
from certify.core.models import AuditEntry, Notification
from certify.core.storage import current_storage
from certify.extensions import db
from certify.units.models import Unit
from tests.certificates.conftest import achieve, make_qualification, make_unit


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def stored_bytes(app, key: str) -> bytes:
    with app.app_context(), current_storage().open_verified(key) as file:
        return file.read()


def test_a_statement_of_attainment_freezes_what_it_states(app, session, world, issued):
    snapshot = issued.snapshot
    assert issued.kind == CertificateKind.STATEMENT
    assert issued.number == numbering.normalise_number(issued.number)
    assert issued.number.startswith(f"NCOL-{issued.issued_at.year}-")
    assert len(issued.verification_code) * 6 >= 128
    assert snapshot["candidate"]["name"] == world.candidate.name
    assert snapshot["provider"]["name"] == "North College"
    [unit] = snapshot["units"]
    assert (unit["code"], unit["level"], unit["credits"], unit["version"]) == (
        "ITCSCR405A", 4, 3, 1)
    assert unit["title"] == world.unit.title
    assert unit["case_item"].startswith("urn:uuid:")
    assert snapshot["total_credits"] == 3
    assert snapshot["qualification"] is None
    assert snapshot["verification_url"].endswith(f"/verify/{issued.verification_code}")
    assert snapshot["signatory"]["name"] == world.admin.name
    assert snapshot["achieved_on"] == issued.achieved_on.isoformat()
    assert [u.enrolment_id for u in issued.units] == [world.enrolment.id]
    pdf = stored_bytes(app, issued.pdf_key)
    assert pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == issued.pdf_sha256
    assert len(pdf) == issued.pdf_size
    assert issued.credential.count(".") == 2
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.issued")
                            ).one()
    assert entry.changes["number"] == issued.number
    note = session.scalars(select(Notification).where(
        Notification.user_id == world.candidate.id,
        Notification.kind == "certificate_issued")).one()
    assert issued.number in note.title


def test_later_edits_never_change_an_issued_certificate(app, session, world, issued):
    before = (dict(issued.snapshot), issued.pdf_sha256, issued.credential)
    world.candidate.name = "Someone Else"
    session.get(Unit, world.unit.id).title = "A renamed unit"
    world.provider.name = "Renamed College"
    world.provider.signatory_name = "New Signatory"
    session.commit()
    session.expire_all()
    again = session.get(Certificate, issued.id)
    assert (again.snapshot, again.pdf_sha256, again.credential) == before
    assert hashlib.sha256(stored_bytes(app, again.pdf_key)).hexdigest() == before[1]


def test_the_printed_name_can_be_given_in_any_script(app, session, world, issue):
    certificate = issue(world, name="  陳大文  ")
    assert certificate.snapshot["candidate"]["name"] == "陳大文"


@pytest.mark.parametrize(("name", "message"), [
    ("   ", "Enter the name"),
    ("x" * 201, "at most 200"),
    ("Ann\u0000Lee", "control characters"),
    ("Ann\u202eeeL", "control characters"),
])
def test_bad_names_are_refused_and_nothing_is_written(app, session, world, name, message):
    with app.app_context(), pytest.raises(IssueRefused, match=message) as refused:
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, name=name)
    assert refused.value.field == "name"
    assert count(session, Certificate) == 0
    assert numbering.counter_value(session, world.provider.id, "status-list") == 0


def test_nothing_achieved_means_nothing_to_issue(app, session, world, make_user):
    other = make_user(roles=["candidate"], provider=world.provider)
    with app.app_context(), pytest.raises(IssueRefused, match="no achieved unit"):
        issuing.issue_certificate(session, world.provider, candidate=other, actor=world.admin)


def test_units_already_on_a_statement_are_not_issued_twice(app, session, world, issued):
    with app.app_context(), pytest.raises(IssueRefused, match="no achieved unit"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin)
    with app.app_context(), pytest.raises(IssueRefused, match="already on a valid statement"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, enrolment_ids=[world.enrolment.id])


def test_units_not_achieved_are_refused(app, session, world):
    with app.app_context(), pytest.raises(IssueRefused, match="no confirmed competent"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, enrolment_ids=[world.enrolment.id + 999])


def test_a_qualification_certificate_needs_its_rules_met(app, session, world, issue):
    second = make_unit(session, world.unit.framework_id, "TST401A", "Second unit", 4, 6)
    qualification = make_qualification(session, world.provider, world.unit.framework_id,
                                       "CERT-SEC", "Certificate in Security", 4,
                                       [world.unit, second], min_credits=9,
                                       validity_months=36)
    session.commit()
    with app.app_context(), pytest.raises(IssueRefused, match="units TST401A; 6 more credits"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, qualification=qualification)
    with app.app_context():
        achieve(session, world.provider, world.candidate, second, world.assessor,
                admin=world.admin)
        session.commit()
    certificate = issue(world, qualification=qualification)
    assert certificate.kind == CertificateKind.QUALIFICATION
    assert certificate.snapshot["qualification"]["title"] == "Certificate in Security"
    assert certificate.snapshot["total_credits"] == 9
    assert [u["code"] for u in certificate.snapshot["units"]] == ["ITCSCR405A", "TST401A"]
    assert certificate.expires_on == issuing.add_months(certificate.issued_at.date(), 36)
    assert certificate.snapshot["expires_on"] == certificate.expires_on.isoformat()
    with app.app_context(), pytest.raises(IssueRefused, match="already holds a valid"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, qualification=qualification)
    qualification.withdrawn_at = certificate.issued_at
    session.flush()
    with app.app_context(), pytest.raises(IssueRefused, match="withdrawn"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, qualification=qualification)


def test_another_providers_qualification_is_refused(app, session, world, make_provider):
    south = make_provider("South Institute", "south", "SOUTH")
    theirs = make_qualification(session, south, world.unit.framework_id, "S-1",
                                "Award in Elsewhere", 4, [world.unit])
    with app.app_context(), pytest.raises(IssueRefused, match="another provider"):
        issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                  actor=world.admin, qualification=theirs)


def test_a_failure_after_storing_the_pdf_leaves_nothing_behind(app, session, world,
                                                               monkeypatch):
    stored: list[str] = []
    original = issuing.signing.sign_pdf

    def sign_and_remember(pdf, key, **kwargs):
        signed = original(pdf, key, **kwargs)
        stored.append(hashlib.sha256(signed).hexdigest())
        return signed

    def broken(*_args, **_kwargs):
        raise RuntimeError("the credential could not be signed")

    monkeypatch.setattr(issuing.signing, "sign_pdf", sign_and_remember)
    monkeypatch.setattr(credentials, "sign_credential", broken)
    with app.app_context():
        with pytest.raises(RuntimeError, match="could not be signed"):
            issuing.issue_certificate(session, world.provider, candidate=world.candidate,
                                      actor=world.admin)
        session.rollback()
        from certify.core.storage import key_for

        assert stored and not current_storage().exists(key_for(stored[0]))
    assert count(session, Certificate) == 0


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 11, 24), 36, date(2029, 11, 24)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
])
def test_validity_is_counted_in_calendar_months(start, months, expected):
    assert issuing.add_months(start, months) == expected


def test_concurrent_issuers_get_distinct_numbers_and_one_key(real_app, real_session, seeds):
    """Four admins issue at once on their own connections: every certificate has its own
    number and status-list bit, and the provider gets exactly one signing key."""
    from certify.units import operations as units_operations

    session = real_session
    with real_app.app_context():
        provider = people.create_provider(session, "Racing College", "racing", "RACE")
        admin = people.create_user(session, "admin@race.example", "Race Admin")
        people.add_role(session, admin, provider, Role.PROVIDER_ADMIN)
        assessor = people.create_user(session, "assessor@race.example", "Race Assessor")
        report = units_operations.import_file(
            session, (seeds / "004_01fdc294d607b990.txt").read_bytes(), "004.txt", via="test")
        unit = session.get(Unit, report.outcomes[0].unit_id)
        candidates = []
        for n in range(4):
            person = people.create_user(session, f"c{n}@race.example", f"Candidate {n}")
            people.add_role(session, person, provider, Role.CANDIDATE)
            enrolment = enrol_candidate(session, provider, person, unit,
                                        starts_on=date(2026, 1, 1), actor=admin)
            achieve(session, provider, person, unit, assessor, admin=admin,
                    enrolment=enrolment)
            candidates.append(person.id)
        session.commit()
    engine = db.state(real_app).engine
    barrier = threading.Barrier(4)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def issue(candidate_id: int) -> None:
        try:
            with real_app.app_context(), Session(engine) as own:
                mine = own.get(type(provider), provider.id)
                person = own.get(type(admin), candidate_id)
                barrier.wait()
                certificate = issuing.issue_certificate(own, mine, candidate=person,
                                                        actor=own.get(type(admin), admin.id))
                own.commit()
                numbers.append(certificate.number)
        except BaseException as error:  # reported by the assertions below
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(numbers)) == 4
    rows = session.scalars(select(Certificate)).all()
    assert sorted(c.status_index for c in rows) == [0, 1, 2, 3]
    assert sorted(c.sequence for c in rows) == [1, 2, 3, 4]
    assert session.scalar(select(func.count()).select_from(SigningKey)) == 1
