"""Demo people: a training provider with an admin, an assessor, a verifier and two candidates,
one candidate's first attempt waiting in the assessor's queue, and the other competent on
the main unit (assessed, sampled, verified) and holding a certificate for the demo award.

Made through the same operations as real accounts (create_provider, create_user,
add_role, authorise, enrol_candidate), so the demo shows what the pages and the
audit trail look like after real work.  Every account shares one password,
printed by `certify demo load`; it is for trying certify out on one's own machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider, Role, User
from certify.accounts.operations import enrolments, people
from certify.accounts.operations.authorisations import authorise
from certify.accounts.passwords import password_problems
from certify.evidence.operations import items, submissions
from certify.units.models import Unit, UnitStatus

DEMO_PASSWORD = "harbour-demo-2026"  # noqa: S105 - printed for the demo, not a secret
PROVIDER = ("Harbour Training Centre", "harbour", "HTC")
VIA = "demo"
# The demo HK QF-style unit, and the demo capability level one candidate also takes.
MAIN_UNIT = "DEMOCS301A"
CAPABILITY_UNIT = "RSTSU-2"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    roles: tuple[Role, ...] = ()
    label: str = ""
    platform_admin: bool = False


PEOPLE = (
    DemoPerson("admin@harbour.example", "Grace Lam", (Role.PROVIDER_ADMIN,), "provider admin"),
    DemoPerson("assessor@harbour.example", "Daniel Chow", (Role.ASSESSOR,), "assessor"),
    DemoPerson("verifier@harbour.example", "Priya Nair", (Role.VERIFIER,), "internal verifier"),
    DemoPerson("candidate1@harbour.example", "Kelvin Wong", (Role.CANDIDATE,), "candidate"),
    DemoPerson("candidate2@harbour.example", "Sofia Tang", (Role.CANDIDATE,), "candidate"),
    DemoPerson("root@certify.example", "Platform Administrator", (), "platform admin",
               platform_admin=True),
)
# Who is enrolled on what.
ENROLMENTS = (
    ("candidate1@harbour.example", MAIN_UNIT),
    ("candidate1@harbour.example", CAPABILITY_UNIT),
    ("candidate2@harbour.example", MAIN_UNIT),
)


class DemoError(RuntimeError):
    """The demo people cannot be made; ``str()`` says why."""


def _current(session: Session, code: str) -> Unit | None:
    return session.scalar(
        select(Unit).where(Unit.code == code, Unit.status == UnitStatus.CURRENT)
    )


def missing_units(session: Session) -> list[str]:
    """The demo unit codes that have no current version in the catalogue."""
    return [code for code in (MAIN_UNIT, CAPABILITY_UNIT) if _current(session, code) is None]


def already_made(session: Session) -> bool:
    """Whether the demo provider or one of the demo accounts exists."""
    emails = [p.email for p in PEOPLE]
    return (
        session.scalar(select(Provider.id).where(Provider.slug == PROVIDER[1])) is not None
        or session.scalar(select(User.id).where(User.email.in_(emails)).limit(1)) is not None
    )


def load_people(session: Session, password: str = DEMO_PASSWORD) -> list[DemoPerson]:
    """Make the demo provider, its people, the assessor's authorisation and the enrolments.

    Flushes only; the caller commits.  Needs the demo units in the catalogue.
    """
    problems = password_problems(password)
    if problems:
        raise DemoError(f"the demo password is refused: {' '.join(problems)}")
    units = {code: _current(session, code) for code in (MAIN_UNIT, CAPABILITY_UNIT)}
    missing = [code for code, unit in units.items() if unit is None]
    if missing:
        raise DemoError(f"the demo units {', '.join(missing)} are not in the catalogue")
    root_spec = next(p for p in PEOPLE if p.platform_admin)
    root = people.create_user(session, root_spec.email, root_spec.name, password=password,
                              platform_admin=True, via=VIA)
    provider = people.create_provider(session, *PROVIDER, actor=root, via=VIA)
    users: dict[str, User] = {root.email: root}
    admin = None
    for spec in PEOPLE:
        if spec.platform_admin:
            continue
        user = people.create_user(session, spec.email, spec.name, password=password,
                                  actor=admin or root, via=VIA)
        for role in spec.roles:
            people.add_role(session, user, provider, role, actor=admin or root, via=VIA)
        if Role.PROVIDER_ADMIN in spec.roles:
            admin = user
        users[spec.email] = user
    today = enrolments.today()
    authorise(session, provider, users["assessor@harbour.example"], Role.ASSESSOR,
              unit=units[MAIN_UNIT], valid_from=today, actor=admin, via=VIA)
    authorise(session, provider, users["verifier@harbour.example"], Role.VERIFIER,
              unit=units[MAIN_UNIT], valid_from=today, actor=admin, via=VIA)
    made = {}
    for email, code in ENROLMENTS:
        made[email, code] = enrolments.enrol_candidate(session, provider, users[email],
                                                       units[code], starts_on=today,
                                                       actor=admin, via=VIA)
    _submit_first_attempt(session, made["candidate2@harbour.example", MAIN_UNIT],
                          users["candidate2@harbour.example"])
    _certify(session, made["candidate1@harbour.example", MAIN_UNIT], users, password)
    return list(PEOPLE)


def _submit_first_attempt(session: Session, enrolment, candidate: User) -> None:
    """The second candidate's reflective account, mapped to every criterion and submitted, so
    that the assessor's queue has work in it (assigned automatically, as in real use)."""
    account = items.create_item(
        session, candidate, enrolment.provider, title="Reflective account: my first month",
        kind="reflective_account", actor=candidate,
        description=("How I handled customer enquiries during my first month at the front desk, "
                     "what went well and what I would do differently."),
    )
    criteria = submissions.unit_criteria(session, enrolment.unit_id)
    items.set_mappings(session, account, [
        (enrolment, criterion, "Described in my reflective account.") for criterion in criteria
    ], actor=candidate)
    submissions.submit_attempt(session, enrolment, declaration_text=submissions.DECLARATION,
                               actor=candidate)


def _certify(session: Session, enrolment, users: dict[str, User], password: str) -> None:
    """The first candidate's work on the main unit goes the whole way: submitted, judged
    satisfactory on every criterion, signed, sampled (the assessor's first decisions always
    are), agreed by the verifier, and certified under the demo award."""
    from certify.assessors.operations import marking, quality
    from certify.assessors.operations.assignment import open_assessment
    from certify.certificates.operations.issuing import issue_certificate
    from certify.units.operations import create_qualification

    candidate = users["candidate1@harbour.example"]
    provider = enrolment.provider
    provider.signatory_name, provider.signatory_title = "Grace Lam", "Centre Manager"
    work = items.create_item(
        session, candidate, provider, title="Complaint log and customer follow-up notes",
        kind="document", actor=candidate,
        description="Three complaints I recorded, resolved or escalated, with the follow-up.")
    criteria = submissions.unit_criteria(session, enrolment.unit_id)
    items.set_mappings(session, work, [
        (enrolment, criterion, "Shown in the complaint log.") for criterion in criteria
    ], actor=candidate)
    submission = submissions.submit_attempt(session, enrolment,
                                            declaration_text=submissions.DECLARATION,
                                            actor=candidate)
    assessment = open_assessment(session, submission)
    assessor = users["assessor@harbour.example"]
    marking.save_marking(
        session, assessment, marks={c.id: marking.Mark(True, "") for c in criteria},
        rules={"valid": True, "sufficient": True, "authentic": True, "current": True},
        feedback="Clear records; each complaint closed within the procedure.",
        expected_version=assessment.version, actor=assessor)
    marking.sign(session, assessment, actor=assessor, password=password)
    quality.verify(session, assessment, actor=users["verifier@harbour.example"], agree=True,
                   comment="Agreed: the log supports every criterion.")
    award = create_qualification(
        session, provider, framework=enrolment.unit.framework, code="CS3-COMPLAINTS",
        title="Certificate in Customer Service Complaints Handling", level=3,
        description="Recording, resolving and escalating customer complaints in a service team.",
        core_codes=[enrolment.unit.code], groups=[], min_credits=2,
        actor=users["admin@harbour.example"])
    issue_certificate(session, provider, candidate=candidate,
                      actor=users["admin@harbour.example"], qualification=award)


def logins_line(password: str = DEMO_PASSWORD) -> str:
    """The line `certify demo load` prints: every demo login and what it is."""
    accounts = ", ".join(f"{p.email} ({p.label})" for p in PEOPLE)
    return f"Demo logins (password: {password}): {accounts}"
