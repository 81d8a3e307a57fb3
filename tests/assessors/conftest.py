"""Assessment fixtures: a provider with a unit, assessors and verifiers authorised for it, and a
candidate whose evidence is mapped to every criterion, built through the operations."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from certify.accounts.models import Enrolment, Provider, Role, User
from certify.accounts.operations.authorisations import authorise, today
from certify.accounts.operations.enrolments import enrol_candidate
from certify.assessors.models import Assessment, AssessmentStatus
from certify.assessors.operations import marking
from certify.assessors.operations.assignment import open_assessment
from certify.evidence.models import Submission
from certify.evidence.operations import submissions
from certify.units.models import Criterion, Unit
from tests.evidence.test_submissions import make_item, map_item
from tests.people import PASSWORD
from tests.units.conftest import HKQF, import_bytes, import_seed  # noqa: F401


class Never(random.Random):
    """A random source that never samples at random (the plan's other rules still apply)."""

    def random(self) -> float:
        return 0.999999


class Always(random.Random):
    def random(self) -> float:
        return 0.0


@dataclass
class Team:
    provider: Provider
    admin: User
    unit: Unit
    criteria: list[Criterion]
    assessors: list[User]
    verifier: User
    candidate: User
    enrolment: Enrolment
    extra: dict = field(default_factory=dict)


@pytest.fixture
def team(app, session, make_user, provider, admin, candidate, import_seed) -> Team:  # noqa: F811
    """North College: two assessors and a verifier authorised for ITCSCR405A (HK QF), and a
    candidate enrolled on it with one evidence item mapped to every criterion (not submitted).
    The sampling plan samples nothing by default (first N = 0, 0 %) so that tests opt in."""
    report = import_seed(HKQF)
    unit = session.get(Unit, report.outcomes[0].unit_id)
    assessors = [
        make_user(f"assessor{n}@north.example", name=name, roles=["assessor"], provider=provider)
        for n, name in ((1, "Ann Assessor"), (2, "Bob Assessor"))
    ]
    verifier = make_user("verifier@north.example", name="Vera Verifier", roles=["verifier"],
                         provider=provider)
    start = today() - timedelta(days=30)
    for person in assessors:
        authorise(session, provider, person, Role.ASSESSOR, unit=unit, valid_from=start,
                  actor=admin)
    authorise(session, provider, verifier, Role.VERIFIER, unit=unit, valid_from=start,
              actor=admin)
    provider.sample_first_n = 0
    provider.sample_percent = 0
    enrolment = enrol_candidate(session, provider, candidate, unit, starts_on=today(),
                                actor=admin)
    criteria = submissions.unit_criteria(session, unit.id)
    item = make_item(session, enrolment, "Security audit report", files=2)
    for criterion in criteria:
        map_item(session, item, enrolment, criterion, f"Shows {criterion.ref}")
    session.commit()
    return Team(provider=provider, admin=admin, unit=unit, criteria=criteria,
                assessors=assessors, verifier=verifier, candidate=candidate,
                enrolment=enrolment)


@pytest.fixture
def submit(app, session):
    """Submit the team's enrolment as the candidate (which assigns an assessor) and commit."""

    def run(team: Team) -> Submission:
        with app.app_context():
            submission = submissions.submit_attempt(session, team.enrolment,
                                                    declaration_text="Mine.",
                                                    actor=team.candidate)
            session.commit()
        return submission

    return run


def assessment_of(session, submission: Submission) -> Assessment:
    found = open_assessment(session, submission)
    assert found is not None, "the submission has no open assessment"
    return found


def all_marks(criteria, *, not_yet: set[int] = frozenset()) -> dict[int, marking.Mark]:
    """Satisfactory for every criterion but the positions in ``not_yet``."""
    return {
        c.id: marking.Mark(False, "Show this in a workplace setting") if i in not_yet
        else marking.Mark(True, "")
        for i, c in enumerate(criteria)
    }


ALL_RULES = {"valid": True, "sufficient": True, "authentic": True, "current": True}


@pytest.fixture
def decide(app, session):
    """Mark and sign an open assessment: every criterion satisfactory except ``not_yet``."""

    def run(assessment: Assessment, criteria, *, not_yet: set[int] = frozenset(),
            rules=None, feedback: str = "Well evidenced.", rng=None) -> Assessment:
        with app.app_context():
            marking.save_marking(session, assessment, marks=all_marks(criteria, not_yet=not_yet),
                                 rules=ALL_RULES if rules is None else rules,
                                 feedback=feedback, expected_version=assessment.version,
                                 actor=assessment.assessor)
            marking.sign(session, assessment, actor=assessment.assessor, password=PASSWORD,
                         rng=rng or Never())
            session.commit()
        return assessment

    return run


__all__ = ["ALL_RULES", "Always", "AssessmentStatus", "Never", "Team", "all_marks",
           "assessment_of"]
