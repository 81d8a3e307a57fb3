"""The home page: today's page for visitors, "Your units" for candidates, shortcuts for staff."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from certify.accounts.models import EnrolmentStatus, Role
from certify.accounts.operations import enrolments as operations
from certify.accounts.operations import people
from tests.accounts.conftest import csrf_token
from tests.units.conftest import HKQF, import_bytes, import_seed  # noqa: F401

DEMO_DOCUMENTS = Path(__file__).resolve().parents[2] / "certify" / "demo" / "documents"


def text(response) -> str:
    markup = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


@pytest.fixture
def catalogue(import_seed, import_bytes):  # noqa: F811
    import_seed(HKQF)
    for path in sorted(DEMO_DOCUMENTS.iterdir()):
        import_bytes(path.read_bytes(), path.name)


@pytest.fixture
def enrol(app, session, admin):
    def run(user, provider, code, version=None):
        with app.app_context():
            enrolment = operations.enrol_candidate(
                session, provider, user, operations.find_unit_for_enrolment(session, code, version),
                starts_on=operations.today(), actor=admin)
        session.commit()
        return enrolment

    return run


def test_visitors_see_the_page_they_always_saw(client, catalogue):
    page = text(client.get("/"))
    assert "credit-bearing certificates that anyone can verify" in page
    assert "2 frameworks" in page and "5 current units" in page
    assert "Search the catalogue" in page
    assert "Your units" not in page
    assert "Welcome" not in page


def test_a_candidate_sees_their_units(client, session, catalogue, provider, candidate, login,
                                      enrol):
    enrol(candidate, provider, "DEMOCS301A")
    enrol(candidate, provider, "RSTSU-2")
    login(candidate)
    response = client.get("/")
    page = text(response)
    body = response.get_data(as_text=True)
    assert "Welcome, Chen Candidate" in page
    assert "Your units" in page
    assert "DEMOCS301A Handle customer feedback and complaints in a service team 3 2 1 Active" \
        in page
    assert "RSTSU-2 Running a small team stand-up (Intermediate) 2 — 1 Active" in page
    assert 'href="/units/HKQF/DEMOCS301A/v1"' in body
    assert 'href="/units/CAPDIR/RSTSU-2/v1"' in body
    # The catalogue is still there; the staff shortcuts are not.
    assert "The catalogue" in page
    assert "Work at North College" not in page


def test_a_candidate_without_enrolments_sees_an_empty_state(client, candidate, login):
    login(candidate)
    page = text(client.get("/"))
    assert "You are not enrolled on any units yet" in page
    assert "When North College enrols you on a unit, it appears here" in page


def test_the_unit_link_keeps_the_enrolled_version(client, session, seeds, catalogue, provider,
                                                  candidate, login, enrol, import_bytes):  # noqa: F811
    enrol(candidate, provider, "ITCSCR405A")
    data = (seeds / HKQF).read_bytes()
    import_bytes(data.replace(b"Exhibit professionalism", b"Exhibit professionalism at work"),
                 "revised.txt")
    login(candidate)
    body = client.get("/").get_data(as_text=True)
    assert 'href="/units/HKQF/ITCSCR405A/v1"' in body
    assert "/units/HKQF/ITCSCR405A/v2" not in body
    assert client.get("/units/HKQF/ITCSCR405A/v1").status_code == 200


def test_withdrawn_enrolments_are_listed_last_with_their_status(app, client, session, catalogue,
                                                               provider, admin, candidate, login,
                                                               enrol):
    gone = enrol(candidate, provider, "DEMOCS301A")
    enrol(candidate, provider, "RSTSU-3")
    with app.app_context():
        operations.withdraw_enrolment(session, gone, actor=admin)
    session.commit()
    login(candidate)
    page = text(client.get("/"))
    assert page.index("RSTSU-3") < page.index("DEMOCS301A")
    assert "1 Withdrawn" in page
    assert gone.status == EnrolmentStatus.WITHDRAWN


def test_only_the_current_providers_enrolments_are_shown(client, session, catalogue, provider,
                                                         admin, candidate, make_provider, login,
                                                         enrol):
    east = make_provider("East Academy", "east", "EAST")
    people.add_role(session, candidate, east, Role.CANDIDATE)
    session.commit()
    enrol(candidate, provider, "DEMOCS301A")
    enrol(candidate, east, "RSTSU-1")
    login(candidate)
    # East Academy comes first by name, so it is acted for until the candidate switches.
    page = text(client.get("/"))
    assert "RSTSU-1" in page and "DEMOCS301A" not in page
    assert "Units you are enrolled on at East Academy" in page
    home = client.get("/").get_data(as_text=True)
    client.post("/provider", data={"provider_id": provider.id, "csrf_token": csrf_token(home)})
    page = text(client.get("/"))
    assert "DEMOCS301A" in page and "RSTSU-1" not in page
    assert "Units you are enrolled on at North College" in page


def test_another_candidates_units_are_not_shown(client, session, catalogue, provider, candidate,
                                                make_user, login, enrol):
    enrol(candidate, provider, "DEMOCS301A")
    other = make_user("other@north.example", roles=["candidate"], provider=provider)
    login(other)
    page = text(client.get("/"))
    assert "DEMOCS301A Handle customer feedback" not in page
    assert "You are not enrolled on any units yet" in page


def test_staff_see_shortcuts(client, session, provider, admin, make_user, login):
    login(admin)
    response = client.get("/")
    page = text(response)
    body = response.get_data(as_text=True)
    assert "Work at North College" in page
    for href in ("/enrolments", "/enrolments/new", "/enrolments/import"):
        assert f'href="{href}"' in body
    assert "Your units" not in page


def test_an_assessor_sees_the_lists_but_not_the_enrolling_shortcuts(client, session, provider,
                                                                    make_user, login):
    assessor = make_user("assessor@north.example", roles=["assessor"], provider=provider)
    login(assessor)
    body = client.get("/").get_data(as_text=True)
    assert 'href="/enrolments"' in body
    assert 'href="/enrolments/new"' not in body
    assert 'href="/enrolments/import"' not in body


def test_staff_who_are_also_candidates_see_both(client, session, catalogue, provider, admin,
                                                login, enrol):
    enrol(admin, provider, "DEMOCS301A")
    login(admin)
    page = text(client.get("/"))
    assert "Your units" in page and "DEMOCS301A" in page
    assert "Work at North College" in page


def test_the_candidate_home_is_a_fixed_number_of_queries(client, session, catalogue, provider,
                                                         candidate, login, enrol, count_queries):
    enrol(candidate, provider, "DEMOCS301A")
    login(candidate)

    def count() -> int:
        with count_queries() as counter:
            assert client.get("/").status_code == 200
        return counter.count

    few = count()
    for code in ("RSTSU-1", "RSTSU-2", "RSTSU-3", "ITCSCR405A"):
        enrol(candidate, provider, code)
    assert count() == few
