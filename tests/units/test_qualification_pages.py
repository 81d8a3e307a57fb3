"""The qualification pages a provider admin uses: list, define, read, change, withdraw."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from certify.core.models import AuditEntry
from certify.units.models import Qualification, Unit
from tests.certificates.conftest import achieve
from tests.people import PASSWORD, csrf_token
from tests.units import conftest as units_conftest
from tests.units import test_qualifications as definitions
from tests.units.test_qualifications import issue_row

# The fixtures that define qualifications through the operation, shared with
# test_qualifications (pytest finds fixtures by the module's names).
import_bytes, import_seed = units_conftest.import_bytes, units_conftest.import_seed
catalogue, hkqf, define = definitions.catalogue, definitions.hkqf, definitions.define

FORM = {
    "code": "NCOL-AC-CRM",
    "title": "Advanced Certificate in Customer Relationship Management",
    "level": "4",
    "description": "Loyalty programmes and customer data.",
    "core_codes": "ITCSCR405A",
    "groups": "Customer data: choose 1 of DEMOQ401A, DEMOQ402A\n"
              "Reporting: choose one of DEMOQ403A DEMOQ501A",
    "min_credits": "30",
    "min_credits_at_level": "",
    "at_level": "",
    "validity_months": "36",
}


def signed_in(app, user):
    """A test client of its own, signed in as ``user`` through the real form."""
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    return client


def text(response) -> str:
    """The page's text without tags, entities decoded and spaces squeezed."""
    # A closing link tag leaves no space: "<a>Code</a>: Give ..." reads "Code: Give ...".
    html = response.get_data(as_text=True).replace("</a>", "")
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def post_form(client, path: str, hkqf, **changes):
    page = client.get(path)
    data = {**FORM, "framework": str(hkqf.id),
            "csrf_token": csrf_token(page.get_data(as_text=True)), **changes}
    return client.post(path, data=data)


def count_qualifications(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Qualification))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/qualifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_empty_list_invites_the_first_qualification(client, login, admin, catalogue):
    login(admin)
    response = client.get("/qualifications")
    assert response.status_code == 200
    page = text(response)
    assert "North College has not defined a qualification yet" in page
    assert 'href="/qualifications/new"' in response.get_data(as_text=True)
    assert "Define the first qualification" in page


def test_defining_a_qualification_through_the_form(client, login, session, admin, hkqf):
    login(admin)
    form_page = client.get("/qualifications/new")
    assert form_page.status_code == 200
    page = text(form_page)
    assert "Networking: choose 2 of ITCSCR401A, ITCSCR402A, ITCSCR403A" in page
    # HK QF is chosen for a new qualification.
    assert re.search(rf'<option selected value="{hkqf.id}">|<option value="{hkqf.id}" selected',
                     form_page.get_data(as_text=True))
    response = post_form(client, "/qualifications/new", hkqf)
    assert response.status_code == 302, text(response)
    session.expire_all()
    created = session.scalar(select(Qualification))
    assert response.headers["Location"].endswith(f"/qualifications/{created.id}")
    assert created.validity_months == 36 and created.min_credits == 30
    detail = client.get(f"/qualifications/{created.id}")
    assert detail.status_code == 200
    page = text(detail)
    assert "NCOL-AC-CRM Advanced Certificate in Customer Relationship Management" in page
    assert "ITCSCR405A Supervise the carrying out of loyalty marketing" in page
    assert "The core unit, ITCSCR405A." in page
    assert "From “Customer data”: any 1 of its 2 units." in page
    assert "From “Reporting”: any 1 of its 2 units." in page
    assert "At least 30 credits in total" in page
    # 3 + 20 + 10 = 33 by the units, above the 30-credit minimum.
    assert "at least 33 credits (330 notional learning hours)" in page
    assert "valid for 36 months after issue" in page
    assert "No candidate meets these rules yet" in page
    listing = text(client.get("/qualifications"))
    assert "NCOL-AC-CRM Advanced Certificate in Customer Relationship Management HKQF 4 5" \
        in listing
    assert "at least 33 In use" in listing


def test_every_problem_shows_at_once_with_line_numbers(client, login, session, admin, hkqf):
    login(admin)
    response = post_form(
        client, "/qualifications/new", hkqf, code="", level="nine",
        core_codes="ITCSCR405A\nNOPE999, ITCSCR405A",
        groups="Customer data: choose 0 of DEMOQ401A, DEMOQ402A\n"
               "Reporting DEMOQ403A\n\n"
               ": choose 1 of DEMOQ501A\n"
               "Extra: choose lots of DEMOQ403A",
    )
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was saved." in page
    assert "Code: Give the qualification a code." in page
    assert "Level: Write a whole number, such as 4; “nine” is not one." in page
    assert "Core units: NOPE999 is not a unit of HKQF." in page
    assert "Core units: ITCSCR405A is listed twice." in page
    assert ("Elective groups, line 2: write “Title: choose N of CODE, CODE, …”, for example "
            "“Networking: choose 2 of ITCSCR401A, ITCSCR402A, ITCSCR403A”.") in page
    assert "Elective groups, line 4: give the group a title before the colon." in page
    assert "Elective groups, line 5: “lots” is not a number" in page
    # The lines that could be read are checked too.
    assert "“Customer data”: choose between 1 and 2 (the group lists 2 units); it says 0." \
        in page
    assert count_qualifications(session) == 0


def test_a_diploma_with_twelve_credits_is_refused(client, login, session, admin, hkqf):
    login(admin)
    response = post_form(client, "/qualifications/new", hkqf, title="Diploma in Customer Care",
                         level="3", core_codes="DEMOQ301A DEMOQ303A", groups="",
                         min_credits="12")
    assert response.status_code == 422
    page = text(response)
    assert ("A “Diploma” needs at least 60 QF credits under the HK QF Award Titles Scheme") \
        in page
    assert "guarantee only 12" in page
    assert count_qualifications(session) == 0


def test_level_nine_is_refused(client, login, session, admin, hkqf):
    login(admin)
    response = post_form(client, "/qualifications/new", hkqf, level="9")
    assert response.status_code == 422
    assert ("Level: Level 9 is not a level of the Hong Kong Qualifications Framework (HKQF); "
            "its levels are 1 to 7.") in text(response)
    assert count_qualifications(session) == 0


def test_csrf_is_enforced(client, login, session, admin, hkqf, define):
    login(admin)
    response = client.post("/qualifications/new",
                           data={**FORM, "framework": str(hkqf.id)})
    assert response.status_code in (400, 422)
    assert count_qualifications(session) == 0
    qualification = define()
    for path, data in ((f"/qualifications/{qualification.id}/edit",
                        {**FORM, "framework": str(hkqf.id), "title": "Certificate in X"}),
                       (f"/qualifications/{qualification.id}/withdraw",
                        {"action": "withdraw", "confirm": "y"})):
        assert client.post(path, data=data).status_code in (400, 422)
    session.expire_all()
    found = session.get(Qualification, qualification.id)
    assert found.withdrawn_at is None and found.title.startswith("Advanced Certificate")


def test_other_people_cannot_reach_a_qualification(app, session, define, make_user,
                                                   make_provider, candidate, provider):
    qualification = define()
    south = make_provider("South Institute", "south", "SOUTH")
    south_admin = make_user(roles=["provider_admin"], provider=south)
    assessor = make_user(roles=["assessor"], provider=provider)
    paths = [f"/qualifications/{qualification.id}", f"/qualifications/{qualification.id}/edit",
             f"/qualifications/{qualification.id}/withdraw"]
    for user in (south_admin, candidate, assessor):
        client = signed_in(app, user)
        for path in paths:
            assert client.get(path).status_code == 404, (user.email, path)
        token = csrf_token(client.get("/account").get_data(as_text=True))
        response = client.post(paths[2], data={"csrf_token": token, "action": "withdraw",
                                               "confirm": "y"})
        assert response.status_code == 404
    client = signed_in(app, south_admin)
    assert "NCOL-AC-CRM" not in text(client.get("/qualifications"))
    assert client.get("/qualifications/999999").status_code == 404
    session.expire_all()
    assert session.get(Qualification, qualification.id).withdrawn_at is None


def test_staff_who_are_not_admins_do_not_see_the_list(app, session, candidate, make_user,
                                                      provider):
    for user in (candidate, make_user(roles=["assessor"], provider=provider)):
        client = signed_in(app, user)
        assert client.get("/qualifications").status_code == 403
        assert client.get("/qualifications/new").status_code == 403


def test_changing_a_qualification(client, login, session, admin, define, hkqf):
    qualification = define()
    login(admin)
    form_page = client.get(f"/qualifications/{qualification.id}/edit")
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    assert "Customer data: choose 1 of DEMOQ401A, DEMOQ402A" in html
    assert 'value="NCOL-AC-CRM"' in html
    response = post_form(client, f"/qualifications/{qualification.id}/edit", hkqf,
                         title="Advanced Certificate in CRM", groups="", min_credits="")
    assert response.status_code == 302, text(response)
    session.expire_all()
    found = session.get(Qualification, qualification.id)
    assert found.title == "Advanced Certificate in CRM" and found.groups == []
    assert [m.unit.code for m in found.members] == ["ITCSCR405A"]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "qualification.updated"))
    assert entry.changes["title"][1] == "Advanced Certificate in CRM"


def test_the_code_stays_once_certificates_are_issued(client, login, session, admin, define,
                                                     candidate, hkqf):
    qualification = define()
    issue_row(session, qualification, candidate)
    login(admin)
    assert "so its code stays" in text(client.get(f"/qualifications/{qualification.id}/edit"))
    response = post_form(client, f"/qualifications/{qualification.id}/edit", hkqf,
                         code="NCOL-OTHER")
    assert response.status_code == 422
    assert ("Code: Certificates have been issued for NCOL-AC-CRM, so its code stays "
            "NCOL-AC-CRM.") in text(response)
    response = post_form(client, f"/qualifications/{qualification.id}/edit", hkqf,
                         min_credits="40")
    assert response.status_code == 302
    session.expire_all()
    found = session.get(Qualification, qualification.id)
    assert (found.code, found.min_credits) == ("NCOL-AC-CRM", 40)


def test_withdrawing_asks_for_confirmation(client, login, session, admin, define, candidate):
    qualification = define()
    issue_row(session, qualification, candidate)
    login(admin)
    path = f"/qualifications/{qualification.id}/withdraw"
    page = client.get(path)
    assert page.status_code == 200
    assert "Certificates have been issued for it" in text(page)
    assert 'value="delete"' not in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    unconfirmed = client.post(path, data={"csrf_token": token, "action": "withdraw"})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm." in text(unconfirmed)
    # Deleting is not offered once certificates exist, and is refused if asked for.
    assert client.post(path, data={"csrf_token": token, "action": "delete",
                                   "confirm": "y"}).status_code == 422
    done = client.post(path, data={"csrf_token": token, "action": "withdraw", "confirm": "y"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Qualification, qualification.id).withdrawn_at is not None
    detail = text(client.get(f"/qualifications/{qualification.id}"))
    assert "Withdrawn on" in detail
    assert "Withdrawn" in text(client.get("/qualifications"))
    again = client.get(path)
    assert again.status_code == 302


def test_deleting_one_nobody_was_given(client, login, session, admin, define):
    qualification = define()
    login(admin)
    path = f"/qualifications/{qualification.id}/withdraw"
    page = client.get(path)
    assert 'value="delete"' in page.get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                       "action": "delete", "confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/qualifications")
    assert count_qualifications(session) == 0


def test_search_and_pagination(client, login, session, admin, define, catalogue):
    for n in range(27):
        define(code=f"NCOL-Q{n:02}", title=f"Certificate in Topic {n:02}", level=3,
               core_codes=["DEMOQ301A"], groups=[])
    define(code="NCOL-AC-CRM")
    login(admin)
    first = text(client.get("/qualifications"))
    assert "Showing 1–25 of 28 qualifications" in first and "Page 1 of 2" in first
    found = text(client.get("/qualifications?q=crm"))
    assert "Showing 1–1 of 1 qualifications" in found and "NCOL-AC-CRM" in found
    assert "Topic 07" in text(client.get("/qualifications?q=topic 07"))
    nothing = text(client.get("/qualifications?q=%25"))
    assert "No qualification at North College has “%” in its code or title." in nothing


def test_the_list_sends_as_many_queries_for_many_qualifications(
        client, login, admin, define, count_queries, catalogue):
    def add(first: int, last: int) -> None:
        for n in range(first, last):
            define(code=f"NCOL-Q{n:02}", core_codes=["ITCSCR405A"],
                   groups=[("Data", 1, ["DEMOQ401A", "DEMOQ402A"]),
                           ("Reporting", 1, ["DEMOQ403A", "DEMOQ501A"])])

    add(0, 2)
    login(admin)
    client.get("/qualifications")
    with count_queries() as few:
        assert client.get("/qualifications").status_code == 200
    add(2, 20)
    with count_queries() as many:
        page = text(client.get("/qualifications"))
    assert "Showing 1–20 of 20 qualifications" in page
    assert many.count == few.count


def test_the_detail_page_counts_candidates_who_meet_the_rules(
        app, client, login, session, admin, provider, candidate, define, make_user, catalogue):
    qualification = define(core_codes=["ITCSCR405A"], groups=[], title="Certificate in CRM",
                           level=3)
    assessor = make_user(roles=["assessor"], provider=provider)
    other = make_user(roles=["candidate"], provider=provider)
    second = define(code="NCOL-TWO", title="Certificate in CRM Data", level=3,
                    core_codes=["ITCSCR405A", "DEMOQ401A"], groups=[])
    with app.app_context():
        achieve(session, provider, candidate, catalogue["ITCSCR405A"], assessor, admin=admin)
        achieve(session, provider, other, catalogue["ITCSCR405A"], assessor, admin=admin)
        session.commit()
    login(admin)
    assert "2 candidates already meet these rules" in text(
        client.get(f"/qualifications/{qualification.id}"))
    page = text(client.get(f"/qualifications/{second.id}"))
    assert "No candidate meets these rules yet; 2 more have achieved some of its units." in page
    assert session.get(Unit, catalogue["DEMOQ401A"].id) is not None


def test_an_empty_catalogue_says_to_import_standards_first(client, login, admin):
    login(admin)
    page = text(client.get("/qualifications/new"))
    assert "The catalogue holds no units yet" in page and "Import standards documents" in page


def test_the_code_field_is_read_only_once_certificates_exist(client, login, session, admin,
                                                             define, candidate):
    qualification = define()
    login(admin)
    html = client.get(f"/qualifications/{qualification.id}/edit").get_data(as_text=True)
    assert "readonly" not in html
    issue_row(session, qualification, candidate)
    html = client.get(f"/qualifications/{qualification.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="code"[^>]*readonly', html)


def test_text_is_escaped(client, login, admin, define):
    qualification = define(title="Certificate in <script>alert(1)</script>", level=3,
                           description='<img src="x" onerror="alert(2)">',
                           groups=[("<b>Data</b>", 1, ["DEMOQ401A", "DEMOQ402A"])])
    login(admin)
    for path in ("/qualifications", f"/qualifications/{qualification.id}",
                 f"/qualifications/{qualification.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html, path
        assert "<img src" not in html and "<b>Data" not in html, path
