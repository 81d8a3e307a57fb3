"""The provider admin's issuing pages: the list of certificates due (statements, qualifications,
how far others are, the overdue flag, search, filter, pages), and issuing one certificate."""

from __future__ import annotations

import hashlib
import html
import re
import subprocess

import pytest
from flask import render_template
from sqlalchemy import func, select

from certify.certificates import queries
from certify.certificates.models import Certificate, CertificateKind
from certify.core.storage import current_storage
from certify.extensions import db
from tests.certificates.conftest import achieve, make_qualification, make_unit
from tests.people import csrf_token

ELIGIBLE = "/certificates/eligible"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def issue_page(candidate_id: int) -> str:
    return f"/certificates/issue/{candidate_id}"


def certificates(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Certificate))


@pytest.fixture
def signed_in(world, login, client):
    assert login(world.admin).status_code in (302, 303)
    return client


# --- the eligible list ------------------------------------------------------------------------


def test_statement_qualification_and_distance_are_listed(app, session, world, signed_in):
    second = make_unit(session, world.unit.framework_id, "ITCTST101A",
                       "Test automation for web services", 4, 6)
    started = make_qualification(session, world.provider, world.unit.framework_id, "CERT-SEC",
                                 "Certificate in Security Practice", 4, [world.unit, second])
    due = make_qualification(session, world.provider, world.unit.framework_id, "AWD-SCR",
                             "Award in Secure Coding Review", 4, [world.unit])
    session.commit()

    response = signed_in.get(ELIGIBLE)
    assert response.status_code == 200
    page = text(response)
    eligible, _, progress = page.partition("On the way to a qualification")
    assert "Chen Candidate" in eligible
    assert "Statement of attainment" in eligible
    assert "ITCSCR405A" in eligible and "(3 credits)" in eligible
    assert "Qualification: Award in Secure Coding Review" in eligible
    # One checkbox per certificate that may be issued, in the strict value format.
    cid = world.candidate.id
    assert f'value="s:{cid}:{world.enrolment.id}"' in page
    assert f'value="q:{cid}:{due.id}"' in page
    assert f'value="q:{cid}:{started.id}"' not in page
    # The started qualification, with what is still missing.
    assert "Certificate in Security Practice" in progress
    assert "needs 1 more unit: ITCTST101A" in progress
    assert "Certificate in Security Practice" not in eligible


def test_distance_names_units_groups_and_credits(app, session, world):
    from certify.certificates.eligibility import eligibility
    from certify.units.models import ElectiveGroup, QualificationUnit

    fw = world.unit.framework_id
    core = make_unit(session, fw, "ITCCOR201A", "Core practice", 4, 3)
    electives = [make_unit(session, fw, f"ITCELE30{n}A", f"Elective {n}", 5, 4)
                 for n in (1, 2, 3)]
    qualification = make_qualification(session, world.provider, fw, "DIP-X", "Diploma X", 4,
                                       [world.unit, core], min_credits=20)
    qualification.at_level, qualification.min_credits_at_level = 5, 8
    group = ElectiveGroup(qualification=qualification, title="Specialist electives", choose=2,
                          position=1)
    group.members = [QualificationUnit(qualification=qualification, unit=unit, position=10 + n)
                     for n, unit in enumerate(electives)]
    session.add(group)
    session.commit()
    row = eligibility(session, world.provider)[0]
    assert queries.distance(row.in_progress[0]) == (
        "needs 1 more unit: ITCCOR201A; 2 more units from “Specialist electives”; "
        "17 more credits; 8 more credits at level 5 or above")


def test_overdue_candidates_are_flagged(app, session, world, add_candidate, signed_in):
    add_candidate(world, "Lena Late", "late@north.example", days_ago=40)
    add_candidate(world, "Rui Recent", "recent@north.example", days_ago=10)

    page = text(signed_in.get(ELIGIBLE))
    assert "Overdue (40 days)" in page
    assert "1 candidate has waited longer than 30 days" in page
    rows = {name: re.search(rf"{name}.*?</tbody>", page, re.S).group(0)
            for name in ("Lena Late", "Rui Recent", "Chen Candidate")}
    assert "Overdue" in rows["Lena Late"]
    assert "Overdue" not in rows["Rui Recent"] and "10 days" in rows["Rui Recent"]
    assert "Overdue" not in rows["Chen Candidate"]

    only = text(signed_in.get(ELIGIBLE + "?show=overdue"))
    assert "Lena Late" in only
    assert "Rui Recent" not in only and "Chen Candidate" not in only

    # The limit is the provider's: at 5 days the 10-day wait is overdue too.
    world.provider.certificate_days = 5
    session.commit()
    assert "Overdue (10 days)" in text(signed_in.get(ELIGIBLE))

    world.provider.certificate_days = 30
    session.commit()
    with app.app_context():
        found = queries.overdue_candidates(db.session, db.session.merge(world.provider))
        assert [r.candidate.email for r in found] == ["late@north.example"]
        with app.test_request_context():
            flag = render_template("certificates/_overdue.html", overdue=found,
                                   provider=world.provider)
            nothing = render_template("certificates/_overdue.html", overdue=[],
                                      provider=world.provider)
    assert "1 candidate is overdue for a certificate" in html.unescape(flag)
    assert "Lena Late" in flag and "/certificates/eligible?show=overdue" in flag
    assert nothing.strip() == ""


def test_overdue_flag_lists_five_names_and_counts_the_rest(app, session, world, add_candidate):
    for n in range(7):
        add_candidate(world, f"Waiting {n}", f"waiting{n}@north.example", days_ago=50 + n)
    with app.app_context():
        found = queries.overdue_candidates(db.session, db.session.merge(world.provider))
        with app.test_request_context():
            flag = html.unescape(render_template("certificates/_overdue.html", overdue=found,
                                                 provider=world.provider))
    assert "7 candidates are overdue" in flag
    # The longest waiting first.
    assert [f"Waiting {n}" in flag for n in range(7)] == [False, False, True, True, True,
                                                         True, True]
    assert "and 2 more" in flag


def test_search_filter_pages_and_empty_state(app, session, world, add_candidate, signed_in,
                                             monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    add_candidate(world, "Ada Second", "second@north.example")
    add_candidate(world, "Zoë Third", "third@north.example")
    first = text(signed_in.get(ELIGIBLE))
    assert "Showing 1–2 of 3 candidates" in first
    assert "Ada Second" in first and "Chen Candidate" in first and "Zoë Third" not in first
    second = text(signed_in.get(ELIGIBLE + "?page=2"))
    assert "Zoë Third" in second and "Ada Second" not in second

    found = text(signed_in.get(ELIGIBLE + "?q=THIRD@north"))
    assert "Zoë Third" in found and "Ada Second" not in found
    assert "Showing 1–1 of 1 candidate" in found
    assert "Zoë Third" in text(signed_in.get(ELIGIBLE + "?q=zoë"))

    none = signed_in.get(ELIGIBLE + "?q=nobody-like-this")
    assert none.status_code == 200
    assert "Nobody matches" in text(none)
    # Nobody has a qualification due; every statement is.
    assert "Nobody matches" in text(signed_in.get(ELIGIBLE + "?show=qualification"))
    assert "Showing 1–2 of 3" in text(signed_in.get(ELIGIBLE + "?show=statement"))

    odd = text(signed_in.get(ELIGIBLE + "?show=everything"))
    assert "Some filters were left out" in odd and "Show" in odd
    assert "Showing 1–2 of 3 candidates" in odd


def test_empty_list_says_why(app, session, make_provider, make_user, login, client):
    provider = make_provider("Quiet College", "quiet", "QUIET")
    admin = make_user("admin@quiet.example", name="Quinn Admin", roles=["provider_admin"],
                      provider=provider)
    login(admin)
    page = text(client.get(ELIGIBLE))
    assert "Nobody is waiting for a certificate" in page
    assert "Nobody on the way" in page
    assert 'name="selected"' not in page


def test_only_the_providers_admins_see_the_list(app, session, world, login, client):
    login(world.candidate)
    assert client.get(ELIGIBLE).status_code == 403
    assert client.get(issue_page(world.candidate.id)).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(text(client.get("/account")))})
    login(world.assessor)
    assert client.get(ELIGIBLE).status_code == 403


def test_query_count_stays_flat(app, session, world, add_candidate, signed_in, count_queries):
    second = make_unit(session, world.unit.framework_id, "ITCTST101A", "Test automation", 4, 6)
    make_qualification(session, world.provider, world.unit.framework_id, "CERT-SEC",
                       "Certificate in Security Practice", 4, [world.unit, second])
    make_qualification(session, world.provider, world.unit.framework_id, "AWD-SCR",
                       "Award in Secure Coding Review", 4, [world.unit])
    session.commit()
    for n in range(2):
        add_candidate(world, f"Few {n}", f"few{n}@north.example", days_ago=40 * n)
    signed_in.get(ELIGIBLE)
    with count_queries() as few:
        assert signed_in.get(ELIGIBLE).status_code == 200
    for n in range(9):
        candidate, _ = add_candidate(world, f"Many {n}", f"many{n}@north.example",
                                     days_ago=5 * n)
        if n % 2:
            with app.app_context():
                achieve(session, world.provider, candidate, second, world.assessor,
                        admin=world.admin)
                session.commit()
    with count_queries() as many:
        response = signed_in.get(ELIGIBLE)
    # Each: a statement and the award; four also the certificate.
    assert text(response).count('name="selected"') == 12 * 2 + 4
    assert few.count == many.count, (few.count, many.count)


# --- issuing one ------------------------------------------------------------------------------


def issue_form(client, candidate_id: int) -> str:
    response = client.get(issue_page(candidate_id))
    assert response.status_code == 200
    return text(response)


def test_issue_a_statement_under_a_corrected_name(app, session, world, signed_in):
    page = issue_form(signed_in, world.candidate.id)
    assert 'value="Chen Candidate"' in page
    assert "ITCSCR405A" in page and "achieved" in page
    response = signed_in.post(issue_page(world.candidate.id), data={
        "csrf_token": csrf_token(page), "certificate": "statement",
        "units": [str(world.enrolment.id)], "name": "  陳大文 ", "confirm": "y"})
    assert response.status_code == 303, text(response)
    session.expire_all()
    certificate = session.scalar(select(Certificate))
    assert response.headers["Location"].endswith(f"/certificates/{certificate.id}")
    assert certificate.kind == CertificateKind.STATEMENT
    assert certificate.snapshot["candidate"]["name"] == "陳大文"
    assert [u["code"] for u in certificate.snapshot["units"]] == ["ITCSCR405A"]
    # Rendered once, stored with its SHA-256; the name is in the PDF's text.
    with app.app_context(), current_storage().open_verified(certificate.pdf_key) as file:
        pdf = file.read()
    assert hashlib.sha256(pdf).hexdigest() == certificate.pdf_sha256
    assert len(pdf) == certificate.pdf_size
    printed = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                             check=True).stdout.decode()
    assert "陳大文" in printed
    # Issued: the candidate no longer waits.
    assert "Nobody is waiting for a certificate" in text(signed_in.get(ELIGIBLE))
    again = text(signed_in.get(issue_page(world.candidate.id)))
    assert "Nothing to issue" in again


def test_issue_a_qualification(app, session, world, signed_in):
    due = make_qualification(session, world.provider, world.unit.framework_id, "AWD-SCR",
                             "Award in Secure Coding Review", 4, [world.unit])
    session.commit()
    page = issue_form(signed_in, world.candidate.id)
    assert "Award in Secure Coding Review" in page
    response = signed_in.post(issue_page(world.candidate.id), data={
        "csrf_token": csrf_token(page), "certificate": str(due.id),
        "name": "Zażółć Gęślą Jaźń", "confirm": "y"})
    assert response.status_code == 303, text(response)
    session.expire_all()
    certificate = session.scalar(select(Certificate))
    assert certificate.kind == CertificateKind.QUALIFICATION
    assert certificate.qualification_id == due.id
    assert certificate.snapshot["candidate"]["name"] == "Zażółć Gęślą Jaźń"


@pytest.mark.parametrize(("change", "message"), [
    ({"confirm": ""}, "Tick the box to confirm the name and the contents."),
    ({"name": "   "}, "Enter the name as it should appear on the certificate."),
    ({"name": "Chen\u202eCandidate"}, "invisible control characters"),
    ({"name": "x" * 201}, "At most 200 characters fit."),
    ({"units": []}, "Tick at least one unit for the statement of attainment."),
    ({"units": ["999999"]}, "999999 is not one of the choices."),
    ({"units": ["abc"]}, "could not be coerced"),
    ({"certificate": "12345"}, "Choose one of the certificates offered for this candidate."),
    ({"certificate": ""}, "Choose what to issue."),
])
def test_issue_refusals_say_what_and_issue_nothing(app, session, world, signed_in, change,
                                                   message):
    page = issue_form(signed_in, world.candidate.id)
    data = {"csrf_token": csrf_token(page), "certificate": "statement",
            "units": [str(world.enrolment.id)], "name": "Chen Candidate", "confirm": "y",
            **change}
    response = signed_in.post(issue_page(world.candidate.id), data=data)
    assert response.status_code == 422
    assert message in text(response)
    assert certificates(session) == 0


def test_a_unit_certified_meanwhile_is_refused_on_its_field(app, session, world, signed_in,
                                                            issue):
    page = issue_form(signed_in, world.candidate.id)
    issue(world)  # another admin issued it while this page was open
    response = signed_in.post(issue_page(world.candidate.id), data={
        "csrf_token": csrf_token(page), "certificate": "statement",
        "units": [str(world.enrolment.id)], "name": "Chen Candidate", "confirm": "y"})
    assert response.status_code == 422
    assert "Nothing to issue" in text(response)
    assert certificates(session) == 1


def test_another_providers_candidate_is_not_found(app, session, world, make_provider,
                                                  make_user, signed_in):
    south = make_provider("South Institute", "south", "SOUTH")
    stranger = make_user("s@south.example", name="Sam South", roles=["candidate"],
                         provider=south)
    with app.app_context():
        achieve(session, south, stranger, world.unit, world.assessor, admin=world.admin)
        session.commit()
    assert signed_in.get(issue_page(stranger.id)).status_code == 404
    token = csrf_token(text(signed_in.get(ELIGIBLE)))
    response = signed_in.post(issue_page(stranger.id), data={
        "csrf_token": token, "certificate": "statement", "name": "Sam", "confirm": "y"})
    assert response.status_code == 404
    assert signed_in.get(issue_page(2**31 - 1)).status_code == 404
    assert "Sam South" not in text(signed_in.get(ELIGIBLE))
    assert certificates(session) == 0


def test_the_dashboard_flags_candidates_waiting_too_long(app, session, world, add_candidate,
                                                         signed_in):
    add_candidate(world, "Lena Late", "late@north.example", days_ago=40)
    page = text(signed_in.get("/assessment/dashboard"))
    assert "1 candidate is overdue for a certificate" in page
    assert "Lena Late" in page and "Chen Candidate" not in page
    world.provider.certificate_days = 60
    session.commit()
    assert "overdue for a certificate" not in text(signed_in.get("/assessment/dashboard"))
