"""`certify demo load`: the demo provider, its people, the enrolments and the printed logins."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from certify.accounts.models import Authorisation, Enrolment, Provider, Role, User
from certify.accounts.operations.authorisations import is_authorised
from certify.accounts.passwords import check_password, password_problems
from certify.assessors.models import Assessment, AssessmentStatus
from certify.certificates.models import Certificate, CertificateKind
from certify.core import audit
from certify.core.models import AuditEntry
from certify.demo.cli import DOCUMENTS
from certify.demo.people import DEMO_PASSWORD
from certify.units.models import Unit
from tests.units.conftest import HKQF, import_bytes, import_seed  # noqa: F401

LOGINS = (
    f"Demo logins (password: {DEMO_PASSWORD}): admin@harbour.example (provider admin), "
    "assessor@harbour.example (assessor), verifier@harbour.example (internal verifier), "
    "candidate1@harbour.example (candidate), candidate2@harbour.example (candidate), "
    "root@certify.example (platform admin)"
)


def text(response) -> str:
    markup = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


def sign_in(client, email: str, password: str = DEMO_PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token})


def test_the_demo_password_is_a_valid_password():
    assert password_problems(DEMO_PASSWORD) == []


def test_demo_load_makes_the_provider_people_and_enrolments(cli, session):
    result = cli("demo", "load", "--if-empty")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Demo data: 4 units loaded.",
        "Demo data: provider Harbour Training Centre (harbour) with 6 accounts and 3 enrolments.",
        LOGINS,
    ]
    session.expire_all()
    provider = session.scalar(select(Provider).where(Provider.slug == "harbour"))
    assert (provider.name, provider.certificate_prefix) == ("Harbour Training Centre", "HTC")
    users = {u.email: u for u in session.scalars(select(User))}
    assert set(users) == {
        "admin@harbour.example", "assessor@harbour.example", "verifier@harbour.example",
        "candidate1@harbour.example", "candidate2@harbour.example", "root@certify.example",
    }
    roles = {email: {m.role for m in u.memberships} for email, u in users.items()}
    assert roles == {
        "admin@harbour.example": {Role.PROVIDER_ADMIN},
        "assessor@harbour.example": {Role.ASSESSOR},
        "verifier@harbour.example": {Role.VERIFIER},
        "candidate1@harbour.example": {Role.CANDIDATE},
        "candidate2@harbour.example": {Role.CANDIDATE},
        "root@certify.example": set(),
    }
    assert [u.email for u in users.values() if u.is_platform_admin] == ["root@certify.example"]
    assert all(check_password(u.password_hash, DEMO_PASSWORD) for u in users.values())

    enrolled = sorted(
        (e.candidate.email, e.unit.code, e.unit.version, e.status.value)
        for e in session.scalars(select(Enrolment))
    )
    assert enrolled == [
        ("candidate1@harbour.example", "DEMOCS301A", 1, "completed"),
        ("candidate1@harbour.example", "RSTSU-2", 1, "active"),
        ("candidate2@harbour.example", "DEMOCS301A", 1, "active"),
    ]
    grants = session.scalars(select(Authorisation).order_by(Authorisation.id)).all()
    assert [(a.user.email, a.role, a.unit.code) for a in grants] == [
        ("assessor@harbour.example", Role.ASSESSOR, "DEMOCS301A"),
        ("verifier@harbour.example", Role.VERIFIER, "DEMOCS301A"),
    ]
    democs = session.scalar(select(Unit).where(Unit.code == "DEMOCS301A"))
    assert is_authorised(session, provider, users["assessor@harbour.example"], Role.ASSESSOR,
                         democs, grants[0].valid_from)

    # The second candidate's first attempt waits in the assessor's queue, assigned on submit.
    [waiting] = session.scalars(select(Assessment).where(
        Assessment.status == AssessmentStatus.DRAFT)).all()
    assert (waiting.assessor.email, waiting.status, waiting.assigned_via) == (
        "assessor@harbour.example", AssessmentStatus.DRAFT, "automatic")
    assert waiting.submission.enrolment.candidate.email == "candidate2@harbour.example"
    assert len(waiting.submission.entries) == len(democs.criteria)

    # The first candidate was assessed, sampled, verified and certified under the demo award.
    [certificate] = session.scalars(select(Certificate)).all()
    assert certificate.candidate.email == "candidate1@harbour.example"
    assert certificate.kind == CertificateKind.QUALIFICATION
    assert certificate.snapshot["qualification"]["title"] == (
        "Certificate in Customer Service Complaints Handling")
    assert [u["code"] for u in certificate.snapshot["units"]] == ["DEMOCS301A"]
    assert certificate.number.startswith("HTC-")
    [decision] = session.scalars(select(Assessment).where(
        Assessment.status == AssessmentStatus.CONFIRMED)).all()
    assert decision.sampled and decision.outcome.value == "competent"

    # Everything went through the operations, so the trail records it and holds together.
    actions = list(session.scalars(select(AuditEntry.action)))
    assert actions.count("enrolment.created") == 3
    assert actions.count("user.created") == 6
    assert "provider.created" in actions and "authorisation.granted" in actions
    assert audit.verify(session).ok


def test_demo_load_once(cli, session):
    cli("demo", "load", "--if-empty")
    second = cli("demo", "load", "--if-empty")
    assert second.exit_code == 0
    assert second.output.splitlines() == [
        "Demo data: the database already has data; nothing loaded.",
        LOGINS,
    ]
    again = cli("demo", "load")
    assert again.exit_code == 0
    assert "the demo provider and accounts exist already; none made" in again.output
    session.expire_all()
    assert session.scalar(select(func.count(User.id))) == 6


def test_demo_people_are_added_to_a_catalogue_that_has_the_demo_units(cli, session):
    cli("units", "import", *(str(p) for p in sorted(DOCUMENTS.iterdir())))
    result = cli("demo", "load", "--if-empty")
    assert result.exit_code == 0
    assert "units loaded" not in result.output
    assert LOGINS in result.output


def test_a_real_catalogue_without_demo_units_gets_no_demo_people(cli, session, import_seed):  # noqa: F811
    import_seed(HKQF)
    result = cli("demo", "load", "--if-empty")
    assert result.exit_code == 0  # `make run` carries on
    assert result.output == "Demo data: the catalogue has no DEMOCS301A or RSTSU-2; no demo " \
        "accounts made.\n"
    session.expire_all()
    assert session.scalar(select(func.count(User.id))) == 0


def test_demo_logins_work_on_the_pages(cli, client, session):
    cli("demo", "load", "--if-empty")
    assert sign_in(client, "candidate1@harbour.example").status_code == 302
    page = text(client.get("/"))
    assert "Welcome, Kelvin Wong" in page
    assert "Your units" in page
    assert "DEMOCS301A Handle customer feedback and complaints in a service team" in page
    assert "RSTSU-2 Running a small team stand-up (Intermediate)" in page

    client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/").get_data(as_text=True)
    ).group(1)})
    assert sign_in(client, "admin@harbour.example").status_code == 302
    page = text(client.get("/enrolments"))
    assert "Showing 1–3 of 3 enrolments" in page
    assert "Kelvin Wong" in page and "Sofia Tang" in page
