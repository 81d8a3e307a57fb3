"""Enrolling candidates: one at a time, from a CSV file, on the command line; lists, detail,
withdrawal; who may do each."""

from __future__ import annotations

import hashlib
import html
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Enrolment, EnrolmentStatus, Role, User
from certify.accounts.operations import enrolments as operations
from certify.accounts.operations import people
from certify.core.models import AuditEntry, OutboxMessage
from certify.units.models import Framework, FrameworkKind, Unit
from tests.accounts.conftest import PASSWORD, csrf_token
from tests.core.test_mail import smtp_app, smtp_server  # noqa: F401
from tests.units.conftest import HKQF, SFIA_CELO_EN, import_bytes, import_seed  # noqa: F401

DEMO_DOCUMENTS = Path(__file__).resolve().parents[2] / "certify" / "demo" / "documents"
HKQF_TITLE = ("Supervise the carrying out of loyalty marketing to increase customer loyalty "
              "and enhance CRM")
TODAY = operations.today()


# --- helpers ----------------------------------------------------------------------------------


def text(response) -> str:
    """The page's text with its whitespace collapsed, entities decoded."""
    markup = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


def post_form(client, url: str, data: dict, **kwargs):
    """POST ``data`` to ``url`` with the CSRF token of the form served at ``url``."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))},
                       **kwargs)


def home_token(client) -> str:
    """A CSRF token of the signed-in session, from the sign-out form on the home page."""
    return csrf_token(client.get("/").get_data(as_text=True))


def upload(client, data: bytes, name: str = "candidates.csv", **fields):
    response = post_form(client, "/enrolments/import",
                         {"file": (io.BytesIO(data), name), "starts_on": TODAY.isoformat(),
                          **fields},
                         content_type="multipart/form-data")
    # The test client sends a large upload from a temporary file and, without a redirect to
    # follow, leaves it open.
    response.request.environ["wsgi.input"].close()
    return response


def enrol_form(client, **fields):
    data = {"email": "", "name": "", "unit_code": "", "version": "",
            "starts_on": TODAY.isoformat(), "ends_on": ""}
    return post_form(client, "/enrolments/new", {**data, **fields})


def actions(session, prefix: str = "") -> list[str]:
    session.expire_all()
    return [a for a in session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))
            if a.startswith(prefix)]


def entries(session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def outbox(session, recipient: str | None = None) -> list[OutboxMessage]:
    session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient)
    return list(session.scalars(query))


def enrolments_of(session, email: str) -> list[tuple[str, int, str]]:
    session.expire_all()
    return [
        (e.unit.code, e.unit.version, e.status.value)
        for e in session.scalars(
            select(Enrolment).join(Enrolment.candidate).where(User.email == email)
            .order_by(Enrolment.id))
    ]


def snapshot(session) -> dict[str, int]:
    """How many rows the things an enrolment could touch have."""
    session.expire_all()
    return {
        "enrolments": session.scalar(select(func.count(Enrolment.id))),
        "users": session.scalar(select(func.count(User.id))),
        "mails": session.scalar(select(func.count(OutboxMessage.id))),
        "audit": session.scalar(select(func.count(AuditEntry.id))),
    }


def find_user(session, email: str) -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.email == email))


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def catalogue(import_seed, import_bytes):  # noqa: F811
    """ITCSCR405A (HK QF seed), the demo HK QF-style unit and the demo capability levels."""
    import_seed(HKQF)
    for path in sorted(DEMO_DOCUMENTS.iterdir()):
        import_bytes(path.read_bytes(), path.name)


@pytest.fixture
def hkqf_v2(seeds, import_bytes):  # noqa: F811
    """Import a revised ITCSCR405A: version 2 becomes current."""

    def revise():
        data = (seeds / HKQF).read_bytes()
        revised = data.replace(b"Exhibit professionalism", b"Exhibit professionalism at work")
        assert revised != data
        report = import_bytes(revised, "ITCSCR405A-revised.txt")
        assert report.outcomes[0].version == 2
        return report

    return revise


@pytest.fixture
def login_as(client, login):
    """Sign out whoever is signed in, then sign ``user`` in."""

    def switch(user):
        home = client.get("/").get_data(as_text=True)
        if 'action="/logout"' in home:
            client.post("/logout", data={"csrf_token": csrf_token(home)})
        response = login(user)
        assert response.status_code == 302, response.status_code
        return response

    return switch


@pytest.fixture
def assessor(make_user, provider):
    return make_user("assessor@north.example", name="Asa Assessor", roles=["assessor"],
                     provider=provider)


@pytest.fixture
def other_admin(make_user, make_provider):
    south = make_provider("South Institute", "south", "STH")
    return make_user("admin@south.example", name="Sam South", roles=["provider_admin"],
                     provider=south)


def unit(session, code: str, version: int | None = None) -> Unit:
    return operations.find_unit_for_enrolment(session, code, version)


@pytest.fixture
def enrol(app, session, provider, admin):
    """Enrol ``user`` through the operation, as the pages do, and commit."""

    def run(user, code="ITCSCR405A", version=None, **kwargs):
        with app.app_context():
            enrolment = operations.enrol_candidate(
                session, provider, user, unit(session, code, version),
                starts_on=kwargs.pop("starts_on", TODAY), actor=admin, **kwargs)
        session.commit()
        return enrolment

    return run


# --- one candidate, through the page ----------------------------------------------------------


def test_enrol_a_new_person_invites_them(client, session, catalogue, admin, login_as):
    login_as(admin)
    response = enrol_form(client, email=" New.Person@Example.org ", name="Nia New",
                          unit_code="itcscr405a")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Nia New is enrolled on ITCSCR405A version 1" in page
    assert "An invitation to set a password was sent to them." in page
    assert HKQF_TITLE in page
    person = find_user(session, "new.person@example.org")
    assert person.password_hash is None
    assert {(m.provider.slug, m.role) for m in person.memberships} == {
        ("north-college", Role.CANDIDATE)}
    assert enrolments_of(session, "new.person@example.org") == [("ITCSCR405A", 1, "active")]
    mails = outbox(session, "new.person@example.org")
    assert [m.subject for m in mails] == ["You are invited to certify by North College"]
    assert "/invitation/" in mails[0].text
    created = entries(session, "enrolment.created")
    assert len(created) == 1
    assert created[0].actor_email == "admin@north.example"
    assert created[0].changes | {} == {
        "candidate": "new.person@example.org", "unit": "ITCSCR405A", "framework": "HKQF",
        "version": 1, "unit_id": created[0].changes["unit_id"],
        "starts_on": TODAY.isoformat(), "ends_on": None,
    }


def test_enrol_an_existing_candidate_tells_them_by_mail(client, session, catalogue, admin,
                                                        candidate, login_as):
    login_as(admin)
    response = enrol_form(client, email="cand@north.example", name="Another Name",
                          unit_code="DEMOCS301A", ends_on=(TODAY + timedelta(days=90)).isoformat())
    assert response.status_code == 302
    assert "They were told by email." in text(client.get(response.headers["Location"]))
    assert find_user(session, "cand@north.example").name == "Chen Candidate"
    [mail] = outbox(session, "cand@north.example")
    assert mail.subject == "You are enrolled on a unit at North College"
    assert "DEMOCS301A version 1: Handle customer feedback and complaints" in mail.text
    assert "http://127.0.0.1:5000/units/HKQF/DEMOCS301A/v1" in mail.text
    assert "http://127.0.0.1:5000/login" in mail.text
    assert 'href="http://127.0.0.1:5000/units/HKQF/DEMOCS301A/v1"' in mail.html
    [enrolment] = session.scalars(select(Enrolment)).all()
    assert enrolment.ends_on == TODAY + timedelta(days=90)
    assert not entries(session, "person.invited")


def test_a_staff_member_enrolled_is_given_the_candidate_role(client, session, catalogue, admin,
                                                             assessor, login_as):
    login_as(admin)
    assert enrol_form(client, email=assessor.email, unit_code="DEMOCS301A").status_code == 302
    person = find_user(session, assessor.email)
    assert {m.role for m in person.memberships} == {Role.ASSESSOR, Role.CANDIDATE}
    assert [e.changes for e in entries(session, "role.granted")][-1] == {"role": "candidate"}


def test_a_member_of_another_provider_is_enrolled_without_a_new_password(
        client, session, catalogue, admin, other_admin, login_as):
    login_as(admin)
    assert enrol_form(client, email="admin@south.example", unit_code="DEMOCS301A"
                      ).status_code == 302
    person = find_user(session, "admin@south.example")
    assert {(m.provider.slug, m.role) for m in person.memberships} == {
        ("south", Role.PROVIDER_ADMIN), ("north-college", Role.CANDIDATE)}
    assert [m.subject for m in outbox(session, "admin@south.example")] == [
        "You are enrolled on a unit at North College"]


def test_the_form_offers_today_as_the_start_date(client, admin, login_as):
    login_as(admin)
    page = client.get("/enrolments/new").get_data(as_text=True)
    assert f'value="{TODAY.isoformat()}"' in page
    assert 'name="csrf_token"' in page
    assert '<label class="field__label" for="unit_code">Unit code</label>' in page


def test_enrolling_twice_on_the_same_version_is_refused(client, session, catalogue, admin,
                                                       candidate, login_as, enrol):
    enrol(candidate)
    login_as(admin)
    before = snapshot(session)
    response = enrol_form(client, email=candidate.email, unit_code="ITCSCR405A")
    assert response.status_code == 422
    assert "Chen Candidate (cand@north.example) is already enrolled on ITCSCR405A version 1 " \
        f"(since {TODAY:%d %B %Y})." in text(response)
    assert snapshot(session) == before


def test_an_older_version_may_be_chosen_and_the_enrolment_keeps_its_version(
        client, session, catalogue, admin, candidate, make_user, provider, login_as, enrol,
        hkqf_v2):
    first = enrol(candidate)
    assert first.unit.version == 1
    hkqf_v2()
    session.expire_all()
    # The existing enrolment still points at version 1 ...
    assert enrolments_of(session, candidate.email) == [("ITCSCR405A", 1, "active")]
    # ... new enrolments get version 2 ...
    login_as(admin)
    enrol_form(client, email="late@north.example", name="Lee Late", unit_code="ITCSCR405A")
    assert enrolments_of(session, "late@north.example") == [("ITCSCR405A", 2, "active")]
    # ... unless version 1 is asked for, which the form shows before enrolling.
    response = enrol_form(client, email="old@north.example", name="Olu Old",
                          unit_code="ITCSCR405A", version="1")
    page = text(client.get(response.headers["Location"]))
    assert "Olu Old is enrolled on ITCSCR405A version 1" in page
    assert "superseded: the candidate is still assessed against this version" in page
    assert enrolments_of(session, "old@north.example") == [("ITCSCR405A", 1, "active")]
    # The first candidate cannot hold v1 and v2 at the same time.
    response = enrol_form(client, email=candidate.email, unit_code="ITCSCR405A")
    assert response.status_code == 422
    assert "is already enrolled on ITCSCR405A version 1; withdraw that enrolment before " \
        "enrolling them on version 2." in text(response)


def test_the_chosen_unit_is_shown_when_the_form_is_sent_back(client, catalogue, admin, login_as):
    login_as(admin)
    response = enrol_form(client, email="someone@example.org", name="",
                          unit_code="DEMOCS301A")
    page = text(response)
    assert response.status_code == 422
    assert "Unit found: DEMOCS301A version 1, Handle customer feedback and complaints in a " \
        "service team (HKQF; the current version)." in page
    assert "Enter the candidate's name. There is no account for someone@example.org yet" in page


@pytest.mark.parametrize(("fields", "message"), [
    ({"email": "", "unit_code": "DEMOCS301A"}, "Enter the candidate's email address."),
    ({"email": "not-an-address", "unit_code": "DEMOCS301A"},
     "Enter an email address like name@example.com."),
    ({"email": "x@example.org", "name": "X", "unit_code": ""}, "Enter a unit code."),
    ({"email": "x@example.org", "name": "X", "unit_code": "NOPE1"},
     "Unknown unit code NOPE1: no unit in the catalogue has this code."),
    ({"email": "x@example.org", "name": "X", "unit_code": "SFIA9:DEMOCS301A"},
     "Unknown unit code SFIA9:DEMOCS301A: the framework SFIA9 has no unit DEMOCS301A "
     "(DEMOCS301A is a unit of HKQF)."),
    ({"email": "x@example.org", "name": "X", "unit_code": "DEMOCS301A", "version": "7"},
     "DEMOCS301A has no version 7 (its versions: 1)."),
    ({"email": "x@example.org", "name": "X", "unit_code": "DEMOCS301A", "version": "0"},
     "Enter a version number from 1 to 9999."),
    ({"email": "x@example.org", "name": "X", "unit_code": "DEMOCS301A", "starts_on": "soon"},
     "Not a valid date value."),
    ({"email": "x@example.org", "name": "X", "unit_code": "DEMOCS301A",
      "ends_on": (TODAY - timedelta(days=1)).isoformat()},
     "The end date must not be before the start date."),
    ({"email": "x@example.org", "name": "Line\nbreak", "unit_code": "DEMOCS301A"},
     "Use only printable characters in the candidate's name, on one line."),
    ({"email": "x@example.org", "name": "N" * 201, "unit_code": "DEMOCS301A"},
     "Field cannot be longer than 200 characters."),
])
def test_bad_input_is_named_and_changes_nothing(client, session, catalogue, admin, login_as,
                                                fields, message):
    login_as(admin)
    before = snapshot(session)
    response = enrol_form(client, **fields)
    assert response.status_code == 422
    assert message in text(response)
    assert snapshot(session) == before


def test_a_disabled_account_is_not_enrolled(client, session, catalogue, admin, candidate, login_as):
    from certify.accounts.operations import auth

    root = people.create_user(session, "root@example.org", "Root", platform_admin=True)
    auth.disable_user(session, candidate, actor=root)
    session.commit()
    login_as(admin)
    before = snapshot(session)
    response = enrol_form(client, email=candidate.email, unit_code="DEMOCS301A")
    assert response.status_code == 422
    assert "The account for cand@north.example is disabled" in text(response)
    assert snapshot(session) == before


def test_a_code_used_by_two_frameworks_must_name_one(client, session, catalogue, admin, login_as):
    other = Framework(code="LOCAL", name="Local units", kind=FrameworkKind.QF_UNITS)
    session.add(Unit(framework=other, code="DEMOCS301A", title="A local namesake",
                     content_sha256="0" * 64))
    session.commit()
    login_as(admin)
    response = enrol_form(client, email="x@example.org", name="X", unit_code="DEMOCS301A")
    assert "The unit code DEMOCS301A is used in 2 frameworks; write HKQF:DEMOCS301A or " \
        "LOCAL:DEMOCS301A." in text(response)
    response = enrol_form(client, email="x@example.org", name="X", unit_code="local:democs301a")
    assert response.status_code == 302
    [enrolment] = session.scalars(select(Enrolment)).all()
    assert enrolment.unit.framework.code == "LOCAL"


def test_without_a_csrf_token_nothing_is_enrolled(client, session, catalogue, admin, login_as):
    login_as(admin)
    before = snapshot(session)
    response = client.post("/enrolments/new", data={"email": "x@example.org", "name": "X",
                                                    "unit_code": "DEMOCS301A",
                                                    "starts_on": TODAY.isoformat()})
    assert response.status_code == 400
    assert snapshot(session) == before


# --- the operation itself ---------------------------------------------------------------------


def test_enrol_candidate_refuses_a_completed_unit(app, session, catalogue, candidate, enrol):
    enrolment = enrol(candidate, "DEMOCS301A")
    enrolment.status = EnrolmentStatus.COMPLETED
    session.commit()
    with pytest.raises(operations.AlreadyEnrolled, match="has already completed DEMOCS301A "
                                                         "version 1"):
        enrol(candidate, "DEMOCS301A")


def test_enrol_candidate_checks_the_dates(app, session, catalogue, candidate, enrol):
    with pytest.raises(operations.EnrolmentError, match="must not be before the start date"):
        enrol(candidate, "DEMOCS301A", ends_on=TODAY - timedelta(days=1))


def test_enrol_person_sends_nothing_when_refused(app, session, catalogue, provider, admin,
                                                 candidate, enrol):
    enrol(candidate, "DEMOCS301A")
    candidate.password_hash = None  # would be re-invited, were it not refused first
    session.commit()
    before = snapshot(session)
    with app.app_context(), pytest.raises(operations.AlreadyEnrolled):
        operations.enrol_person(session, provider, candidate.email, "", unit(session, "DEMOCS301A"),
                                starts_on=TODAY, actor=admin, base_url="http://x")
    assert snapshot(session) == before


# --- withdrawing ------------------------------------------------------------------------------


def test_withdraw_asks_for_confirmation_then_withdraws(client, session, catalogue, admin,
                                                      candidate, login_as, enrol):
    enrolment = enrol(candidate, "DEMOCS301A")
    login_as(admin)
    url = f"/enrolments/{enrolment.id}/withdraw"
    page = text(client.get(url))
    assert "Chen Candidate (cand@north.example) is enrolled on DEMOCS301A version 1" in page
    assert "I understand that the candidate will no longer be enrolled on this unit" in page
    response = post_form(client, url, {"reason": "Left the course"})
    assert response.status_code == 422
    assert "Tick the box to confirm the withdrawal." in text(response)
    assert enrolments_of(session, candidate.email) == [("DEMOCS301A", 1, "active")]
    response = post_form(client, url, {"reason": "Left the course", "confirm": "y"},
                         follow_redirects=True)
    assert "Chen Candidate is withdrawn from DEMOCS301A version 1." in text(response)
    assert enrolments_of(session, candidate.email) == [("DEMOCS301A", 1, "withdrawn")]
    [entry] = entries(session, "enrolment.withdrawn")
    assert entry.actor_email == admin.email
    assert entry.changes["status"] == ["active", "withdrawn"]
    assert entry.changes["reason"] == "Left the course"
    # Once withdrawn, there is nothing left to withdraw.
    response = client.get(url, follow_redirects=True)
    assert "only an active one can be withdrawn" in text(response)
    assert "Withdraw this enrolment" not in text(response)


def test_enrolling_again_reinstates_a_withdrawn_enrolment(app, session, catalogue, admin,
                                                          candidate, enrol):
    first = enrol(candidate, "DEMOCS301A")
    with app.app_context():
        operations.withdraw_enrolment(session, first, actor=admin)
    session.commit()
    again = enrol(candidate, "DEMOCS301A", starts_on=TODAY + timedelta(days=7))
    assert again.id == first.id
    assert again.status == EnrolmentStatus.ACTIVE
    assert again.enrolled_on == TODAY + timedelta(days=7)
    [entry] = entries(session, "enrolment.reinstated")
    assert entry.changes["status"] == ["withdrawn", "active"]


def test_withdraw_is_for_admins_of_the_provider(client, session, catalogue, candidate, assessor,
                                                other_admin, login_as, enrol):
    enrolment = enrol(candidate, "DEMOCS301A")
    url = f"/enrolments/{enrolment.id}/withdraw"
    assert client.get(url).status_code == 302  # to the sign-in page
    login_as(candidate)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"confirm": "y", "csrf_token": home_token(client)}
                       ).status_code == 403
    login_as(assessor)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"confirm": "y", "csrf_token": home_token(client)}
                       ).status_code == 403
    login_as(other_admin)
    assert client.post(url, data={"confirm": "y", "csrf_token": home_token(client)}
                       ).status_code == 404
    assert enrolments_of(session, candidate.email) == [("DEMOCS301A", 1, "active")]
    assert not entries(session, "enrolment.withdrawn")


def test_another_providers_admin_gets_404(client, session, catalogue, candidate, other_admin,
                                          login_as, enrol):
    enrolment = enrol(candidate, "DEMOCS301A")
    login_as(other_admin)
    assert client.get(f"/enrolments/{enrolment.id}").status_code == 404
    assert client.get(f"/enrolments/{enrolment.id}/withdraw").status_code == 404
    assert client.get("/enrolments/999999").status_code == 404


# --- one enrolment, and the list --------------------------------------------------------------


def test_detail_for_the_candidate_and_staff_only(client, session, catalogue, provider, admin,
                                                 candidate, assessor, make_user, login_as, enrol):
    enrolment = enrol(candidate, "DEMOCS301A")
    url = f"/enrolments/{enrolment.id}"
    assert client.get(url).status_code == 302
    login_as(candidate)
    page = text(client.get(url))
    assert "Chen Candidate on DEMOCS301A" in page
    assert "Withdraw this enrolment" not in page
    other = make_user("other@north.example", roles=["candidate"], provider=provider)
    login_as(other)
    assert client.get(url).status_code == 404
    login_as(assessor)
    page = text(client.get(url))
    assert "Handle customer feedback and complaints in a service team" in page
    assert "Withdraw this enrolment" not in page
    login_as(admin)
    assert "Withdraw this enrolment" in text(client.get(url))


def test_staff_acting_for_another_of_their_providers_get_404(
        client, session, catalogue, provider, admin, candidate, make_provider, login_as, enrol):
    enrolment = enrol(candidate, "DEMOCS301A")
    elsewhere = make_provider("East Academy", "east", "EAST")
    people.add_role(session, admin, elsewhere, Role.PROVIDER_ADMIN)
    session.commit()
    login_as(admin)
    page = client.get("/").get_data(as_text=True)
    client.post("/provider", data={"provider_id": elsewhere.id, "csrf_token": csrf_token(page)})
    assert client.get(f"/enrolments/{enrolment.id}").status_code == 404


def test_the_list_is_for_staff(client, catalogue, admin, candidate, assessor, other_admin,
                               login_as):
    assert client.get("/enrolments").status_code == 302
    login_as(candidate)
    assert client.get("/enrolments").status_code == 403
    login_as(assessor)
    page = text(client.get("/enrolments"))
    assert "Enrolments at North College" in page
    assert "Enrol a candidate" not in page
    login_as(admin)
    page = text(client.get("/enrolments"))
    assert "Nobody is enrolled at North College yet." in page
    assert "Enrol a candidate" in page


def test_the_list_searches_filters_and_pages(app, client, session, catalogue, provider, admin,
                                            make_user, login_as, enrol):
    for n in range(30):
        person = make_user(f"learner{n:02d}@north.example", name=f"Learner {n:02d}",
                           roles=["candidate"], provider=provider, password=None)
        enrol(person, "DEMOCS301A" if n % 2 else "RSTSU-2")
    ann = make_user("ann.wong@north.example", name="Ann Wong", roles=["candidate"],
                    provider=provider, password=None)
    withdrawn = enrol(ann, "ITCSCR405A")
    with app.app_context():
        operations.withdraw_enrolment(session, withdrawn, actor=admin)
    session.commit()
    login_as(admin)
    page = text(client.get("/enrolments"))
    assert "Showing 1–25 of 31 enrolments" in page
    assert "Page 1 of 2" in page
    assert "Showing 26–31 of 31 enrolments" in text(client.get("/enrolments?page=2"))
    page = text(client.get("/enrolments?q=wong"))
    assert "Showing 1–1 of 1 enrolments" in page and "ITCSCR405A" in page
    assert "Showing 1–1 of 1" in text(client.get("/enrolments?q=ANN.WONG@"))
    assert "of 15 enrolments" in text(client.get("/enrolments?q=rstsu-2"))
    page = text(client.get("/enrolments?status=withdrawn"))
    assert "Showing 1–1 of 1 enrolments" in page and "Ann Wong" in page
    assert "of 30 enrolments" in text(client.get("/enrolments?status=active"))
    # Unknown filters are ignored; LIKE wildcards are taken literally.
    assert "of 31 enrolments" in text(client.get("/enrolments?status=bogus"))
    assert "No enrolment at North College matches this search." in text(
        client.get("/enrolments?q=%25_"))


def test_the_list_shows_only_the_current_providers_enrolments(
        client, session, catalogue, candidate, other_admin, login_as, enrol):
    enrol(candidate, "DEMOCS301A")
    login_as(other_admin)
    page = text(client.get("/enrolments"))
    assert "Nobody is enrolled at South Institute yet." in page
    assert "Chen Candidate" not in page


def test_the_list_query_count_is_flat(client, session, catalogue, provider, admin, make_user,
                                      login_as, enrol, count_queries):
    def add(n_from: int, n_to: int) -> None:
        for n in range(n_from, n_to):
            person = make_user(f"c{n}@north.example", roles=["candidate"], provider=provider,
                               password=None)
            enrol(person, ("DEMOCS301A", "RSTSU-1", "ITCSCR405A")[n % 3])

    add(0, 5)
    login_as(admin)

    def count() -> int:
        with count_queries() as counter:
            assert client.get("/enrolments").status_code == 200
        return counter.count

    few = count()
    add(5, 40)
    assert count() == few


def test_names_are_escaped_on_the_pages(client, session, catalogue, provider, admin, make_user,
                                        login_as, enrol):
    person = make_user("xss@north.example", name="<script>alert(1)</script>",
                       roles=["candidate"], provider=provider)
    enrolment = enrol(person, "DEMOCS301A")
    login_as(admin)
    for url in ("/enrolments", f"/enrolments/{enrolment.id}"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("url", ["/enrolments/new", "/enrolments/import"])
def test_enrolling_is_for_provider_admins(client, catalogue, candidate, assessor, login_as, url):
    assert client.get(url).status_code == 302
    assert "/login" in client.get(url).headers["Location"]
    login_as(candidate)
    assert client.get(url).status_code == 403
    login_as(assessor)
    assert client.get(url).status_code == 403
    # With a valid token too: the view itself refuses.
    assert client.post(url, data={"csrf_token": home_token(client)}).status_code == 403


# --- many candidates from a CSV file ----------------------------------------------------------

MIXED = (
    "name,email,unit codes\n"
    "Nia New,nia@example.org,ITCSCR405A\n"                       # 2: new person, invited
    "Someone Else,cand@north.example,\"DEMOCS301A; RSTSU-2\"\n"   # 3: existing, name kept
    "Bad Mail,not-an-address,DEMOCS301A\n"                        # 4: invalid email
    ",empty@example.org,DEMOCS301A\n"                             # 5: empty name
    "Uno Known,uno@example.org,\"DEMOCS301A NOPE9\"\n"            # 6: unknown code
    "Nia Again,NIA@example.org,DEMOCS301A\n"                      # 7: duplicate row
    "<b>Bold</b> Name,bold@example.org,RSTSU-1\n"                 # 8: HTML, escaped
    "\"=cmd|' /C calc'!A0\",formula@example.org,RSTSU-1\n"        # 9: formula, plain text
    "Ada Already,ada@north.example,DEMOCS301A\n"                  # 10: already enrolled
    "Other Framework,of@example.org,SFIA9:ITCSCR405A\n"           # 11: code of another framework
)


@pytest.fixture
def ada(make_user, provider, enrol):
    person = make_user("ada@north.example", name="Ada Already", roles=["candidate"],
                       provider=provider)
    enrol(person, "DEMOCS301A")
    return person


def cell_text(cell: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def report_rows(page: str) -> dict[int, str]:
    """Line number -> the text of that row in the table of every row, cells joined by " | "."""
    table = page.split('id="rows-caption"', 1)[1]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
        cells = [cell_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        if cells and cells[0].isdigit():
            found[int(cells[0])] = " | ".join(cells)
    return found


def test_csv_import_enrols_the_valid_rows_and_reports_every_row(
        client, session, catalogue, admin, candidate, ada, login_as):
    before_mails = len(outbox(session))
    login_as(admin)
    data = MIXED.encode()
    response = upload(client, data, "spring intake.csv")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    page = text(response)
    assert "5 enrolments made; 3 new candidates invited by email." in page
    assert "10 rows read; 1 unit already enrolled; 5 rows rejected" in page
    rows = report_rows(body)
    assert rows[2] == "2 | Nia New | nia@example.org | ITCSCR405A | Enrolled | " \
        "enrolled on ITCSCR405A v1 invited by email"
    assert rows[3] == "3 | Someone Else | cand@north.example | DEMOCS301A RSTSU-2 | Enrolled | " \
        "enrolled on DEMOCS301A v1 enrolled on RSTSU-2 v1 kept the account's name Chen Candidate"
    assert rows[4].endswith("Rejected | invalid email address not-an-address")
    assert rows[5].endswith("Rejected | empty name")
    assert rows[6].endswith("Rejected | unknown unit code NOPE9")
    assert rows[7].endswith("Rejected | duplicate row: nia@example.org is already on line 2 "
                            "(put all of a person's unit codes in one row)")
    assert rows[8] == "8 | <b>Bold</b> Name | bold@example.org | RSTSU-1 | Enrolled | " \
        "enrolled on RSTSU-1 v1 invited by email"
    assert rows[9].startswith("9 | =cmd|' /C calc'!A0 | formula@example.org")
    assert rows[10] == "10 | Ada Already | ada@north.example | DEMOCS301A | Already enrolled | " \
        "already enrolled on DEMOCS301A v1"
    assert rows[11].endswith("Rejected | unknown unit code SFIA9:ITCSCR405A "
                             "(ITCSCR405A is a unit of HKQF)")
    # HTML in a name is shown as text, never as markup.
    assert "<b>Bold</b>" not in body
    assert "&lt;b&gt;Bold&lt;/b&gt; Name" in body
    # The rejected rows are listed again on their own, with line and reason.
    rejected = body.split('id="rejected-caption"', 1)[1].split("</table>", 1)[0]
    assert [int(n) for n in re.findall(r'<th scope="row" class="num">(\d+)</th>', rejected)] == [
        4, 5, 6, 7, 11]

    assert enrolments_of(session, "nia@example.org") == [("ITCSCR405A", 1, "active")]
    assert enrolments_of(session, "cand@north.example") == [
        ("DEMOCS301A", 1, "active"), ("RSTSU-2", 1, "active")]
    assert enrolments_of(session, "ada@north.example") == [("DEMOCS301A", 1, "active")]
    for email in ("empty@example.org", "uno@example.org", "of@example.org"):
        assert find_user(session, email) is None
    # The formula is stored as the plain text it is.
    assert find_user(session, "formula@example.org").name == "=cmd|' /C calc'!A0"
    assert find_user(session, "cand@north.example").name == "Chen Candidate"

    mails = outbox(session)[before_mails:]
    assert sorted((m.recipient, m.subject) for m in mails) == [
        ("bold@example.org", "You are invited to certify by North College"),
        ("cand@north.example", "You are enrolled on 2 units at North College"),
        ("formula@example.org", "You are invited to certify by North College"),
        ("nia@example.org", "You are invited to certify by North College"),
    ]
    created = entries(session, "enrolment.created")
    assert len(created) == 5 + 1  # and ada's own, made by the fixture
    assert {(e.changes.get("import"), e.changes.get("line")) for e in created[1:]} == {
        ("spring intake.csv", 2), ("spring intake.csv", 3), ("spring intake.csv", 8),
        ("spring intake.csv", 9)}
    [summary] = entries(session, "enrolment.import")
    assert summary.actor_email == admin.email
    assert summary.changes == {
        "file": "spring intake.csv", "sha256": hashlib.sha256(data).hexdigest(), "rows": 10,
        "enrolled": 5, "already_enrolled": 1, "rejected": 5, "invited": 3,
        "starts_on": TODAY.isoformat(), "ends_on": None,
    }


def test_check_only_reports_and_changes_nothing(client, session, catalogue, admin, candidate,
                                                ada, login_as):
    login_as(admin)
    before = snapshot(session)
    response = upload(client, MIXED.encode(), check_only="y")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    page = text(response)
    assert "Checked only: nothing was changed." in page
    assert "To enrol them, upload the file again without “Check only”." in page
    assert "5 enrolments would be made, and 3 new candidates invited." in page
    rows = report_rows(body)
    assert rows[2].endswith("Will be enrolled | will be enrolled on ITCSCR405A v1 "
                            "will be invited by email")
    assert rows[6].endswith("Rejected | unknown unit code NOPE9")
    assert snapshot(session) == before
    # The same file, imported for real, does what the check said.
    upload(client, MIXED.encode())
    assert snapshot(session)["enrolments"] == before["enrolments"] + 5


def test_importing_the_same_file_twice_enrols_once(client, session, catalogue, admin, login_as):
    login_as(admin)
    data = b"name,email,unit codes\nNia New,nia@example.org,\"ITCSCR405A,DEMOCS301A\"\n"
    upload(client, data)
    response = upload(client, data)
    assert "0 enrolments made." in text(response)
    assert "2 units already enrolled" in text(response)
    assert enrolments_of(session, "nia@example.org") == [
        ("ITCSCR405A", 1, "active"), ("DEMOCS301A", 1, "active")]
    # No second invitation: the person was not enrolled on anything new.
    assert len(outbox(session, "nia@example.org")) == 1


def test_a_semicolon_file_with_a_bom_and_odd_headers(client, session, catalogue, admin, login_as):
    login_as(admin)
    data = "\ufeff E-Mail ;Unit Codes; NAME \nnia@example.org;DEMOCS301A, RSTSU-3;Nia Ng\n"
    response = upload(client, data.encode())
    assert "2 enrolments made" in text(response)
    assert enrolments_of(session, "nia@example.org") == [
        ("DEMOCS301A", 1, "active"), ("RSTSU-3", 1, "active")]


def test_a_unit_of_another_framework_is_found_by_its_own_code(
        client, session, catalogue, admin, login_as, import_seed):  # noqa: F811
    import_seed(SFIA_CELO_EN)
    login_as(admin)
    data = b"name,email,unit codes\nNia,nia@example.org,\"CELO-4 SFIA9:CELO-5 HKQF:ITCSCR405A\"\n"
    assert "3 enrolments made" in text(upload(client, data))
    assert enrolments_of(session, "nia@example.org") == [
        ("CELO-4", 1, "active"), ("CELO-5", 1, "active"), ("ITCSCR405A", 1, "active")]


def test_the_current_version_is_used_and_kept(client, session, catalogue, admin, login_as, hkqf_v2):
    login_as(admin)
    upload(client, b"name,email,unit codes\nOne,one@example.org,ITCSCR405A\n")
    hkqf_v2()
    upload(client, b"name,email,unit codes\nTwo,two@example.org,ITCSCR405A\n")
    response = upload(client, b"name,email,unit codes\nOne,one@example.org,ITCSCR405A\n")
    assert "already enrolled on ITCSCR405A v1" in text(response)
    assert enrolments_of(session, "one@example.org") == [("ITCSCR405A", 1, "active")]
    assert enrolments_of(session, "two@example.org") == [("ITCSCR405A", 2, "active")]


LONG = "L" * 5000


@pytest.mark.parametrize(("data", "message"), [
    ("name,email,unit codes\nJosé,jose@example.org,DEMOCS301A\n".encode("latin-1"),
     "line 2: the file is not UTF-8 text (byte 0xE9 cannot be read)"),
    (b"name,email,unit codes\nA\x00,a@example.org,DEMOCS301A\n",
     "line 2: the file contains binary data (a NUL byte), not CSV text"),
    (b"", "the file is empty"),
    (b"name,email,unit codes\r\n", "line 1: the file has a header but no rows of candidates"),
    (b"Ann,ann@example.org,DEMOCS301A\n", 'there is no "name" and "email" and "unit codes"'),
    (b"name,email\nAnn,ann@example.org\n", 'there is no "unit codes" column'),
    (b'name,email,unit codes\nAnn,"ann@example.org,DEMOCS301A\n',
     "line 2: a quoted cell starts on this line and is never closed"),
    (b"name,email,unit codes\n" + b"".join(f"P{n},p{n}@example.org,DEMOCS301A\n".encode()
                                           for n in range(10_000)),
     "line 5002: the file has more than 5,000 rows"),
    (b"name,email,unit codes\n" + b"A,a@example.org,DEMOCS301A\n" * 80_000 + b"x" * 10,
     "the file is larger than 2,097,152 bytes (2 MB)"),
])
def test_an_unreadable_file_enrols_nobody(client, session, catalogue, admin, login_as, data,
                                          message):
    login_as(admin)
    before = snapshot(session)
    response = upload(client, data)
    assert response.status_code == 422
    page = text(response)
    assert "The file cannot be read, so nobody was enrolled: " in page
    assert message in page
    assert snapshot(session) == before


def test_hostile_cells_are_rejected_per_row(client, session, catalogue, admin, login_as):
    login_as(admin)
    data = (
        "name,email,unit codes\n"
        f"{LONG},long@example.org,DEMOCS301A\n"
        f"Long Mail,{'m' * 300}@example.org,DEMOCS301A\n"
        f"Long Code,code@example.org,{'C' * 3000}\n"
        "Escape\x1b[31m,esc@example.org,DEMOCS301A\n"
        "Too Many,many@example.org,DEMOCS301A,RSTSU-1\n"
        f"Codes,codes@example.org,\"{' '.join(f'X{n}' for n in range(60))}\"\n"
        "No Codes,none@example.org,\n"
        "Fine,fine@example.org,DEMOCS301A\n"
    ).encode()
    response = upload(client, data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    rows = report_rows(body)
    assert rows[2].endswith("Rejected | the name is longer than 200 characters")
    assert "L" * 200 not in body  # long values are shortened on the page
    assert "Rejected | invalid email address mmmm" in rows[3]
    assert "Rejected | unknown unit code CCCC" in rows[4]
    assert rows[5].endswith("Rejected | the name contains line breaks or control characters")
    assert "\x1b" not in body
    assert rows[6].endswith('Rejected | the row has 1 more cell than the header; put all unit '
                            'codes in one cell, in quotes ("A; B")')
    assert rows[7].endswith("Rejected | more than 50 unit codes")
    assert rows[8].endswith("Rejected | no unit codes")
    assert rows[9].endswith("Enrolled | enrolled on DEMOCS301A v1 invited by email")
    assert "1 enrolment made" in text(response)
    assert enrolments_of(session, "fine@example.org") == [("DEMOCS301A", 1, "active")]


def test_the_import_form_explains_the_file_and_offers_a_check(client, admin, login_as):
    login_as(admin)
    response = client.get("/enrolments/import")
    page = text(response)
    body = response.get_data(as_text=True)
    assert "header line naming the columns name, email and unit codes" in page
    assert "At most 5,000 rows and 2 MB." in page
    assert 'enctype="multipart/form-data"' in body
    assert re.search(r'<input[^>]*id="check_only"[^>]*type="checkbox"', body)
    assert '<label for="check_only">Check only: show the report and enrol nobody</label>' in body


def test_the_import_form_needs_a_file(client, session, admin, login_as):
    login_as(admin)
    response = post_form(client, "/enrolments/import", {"starts_on": TODAY.isoformat()},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV file to upload." in text(response)


def test_the_import_form_checks_the_dates(client, session, catalogue, admin, login_as):
    login_as(admin)
    before = snapshot(session)
    response = upload(client, b"name,email,unit codes\nA,a@example.org,DEMOCS301A\n",
                      ends_on=(TODAY - timedelta(days=3)).isoformat())
    assert response.status_code == 422
    assert "The end date must not be before the start date." in text(response)
    assert snapshot(session) == before


def test_a_large_import_is_one_transaction(client, session, catalogue, admin, login_as):
    login_as(admin)
    data = "name,email,unit codes\n" + "".join(
        f"Person {n},p{n}@example.org,\"DEMOCS301A RSTSU-1\"\n" for n in range(150))
    response = upload(client, data.encode())
    assert "300 enrolments made; 150 new candidates invited by email." in text(response)
    assert snapshot(session)["enrolments"] == 300
    assert len(entries(session, "enrolment.import")) == 1


# --- the command line -------------------------------------------------------------------------


def test_cli_enrols_one_candidate(cli, session, catalogue, provider):
    result = cli("enrol", "--provider", "north-college", "--email", "Nia@Example.org",
                 "--name", "Nia New", "--unit", "DEMOCS301A")
    assert result.exit_code == 0, result.output
    assert result.output == "nia@example.org: enrolled on DEMOCS301A v1 (Handle customer " \
        "feedback and complaints in a service team); invited by email\n"
    assert enrolments_of(session, "nia@example.org") == [("DEMOCS301A", 1, "active")]
    [entry] = entries(session, "enrolment.created")
    assert entry.actor_id is None
    assert entry.changes["via"] == "cli"
    assert [m.subject for m in outbox(session, "nia@example.org")] == [
        "You are invited to certify by North College"]


def test_cli_enrols_on_an_older_version_and_refuses_twice(cli, session, catalogue, provider,
                                                         candidate, hkqf_v2):
    hkqf_v2()
    args = ("enrol", "--provider", "north-college", "--email", candidate.email,
            "--unit", "ITCSCR405A", "--version", "1", "--start", "2026-02-01",
            "--end", "2026-08-31")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "cand@north.example: enrolled on ITCSCR405A v1" in result.output
    assert "told by email" in result.output
    [enrolment] = session.scalars(select(Enrolment)).all()
    assert (enrolment.enrolled_on, enrolment.ends_on) == (date(2026, 2, 1), date(2026, 8, 31))
    again = cli(*args)
    assert again.exit_code == 1
    assert "cand@north.example: refused: Chen Candidate (cand@north.example) is already " \
        "enrolled on ITCSCR405A version 1" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (("--provider", "nowhere", "--email", "a@example.org", "--unit", "DEMOCS301A"),
     "there is no provider with the short name 'nowhere'"),
    (("--provider", "north-college", "--email", "a@example.org"),
     "give --email and --unit for one candidate, or --csv FILE"),
    (("--provider", "north-college", "--csv", "x.csv", "--email", "a@example.org"),
     "give either --csv, or --email and --unit, not both"),
    (("--provider", "north-college", "--email", "a@example.org", "--unit", "X", "--dry-run"),
     "--dry-run goes with --csv"),
    (("--provider", "north-college", "--email", "a@example.org", "--unit", "DEMOCS301A",
      "--start", "tomorrow"), "expected a date like 2026-03-14, not 'tomorrow'"),
    (("--provider", "north-college", "--email", "a@example.org", "--name", "A",
      "--unit", "NOPE"), "a@example.org: refused: Unknown unit code NOPE"),
    (("--provider", "north-college", "--email", "a@example.org", "--unit", "DEMOCS301A"),
     "a@example.org: refused: Enter the person's name."),
    (("--provider", "north-college", "--csv", "/nonexistent/file.csv"), "cannot be read"),
])
def test_cli_refusals(cli, session, catalogue, provider, args, message):
    before = snapshot(session)
    result = cli("enrol", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert snapshot(session) == before


def test_cli_csv_prints_the_report_and_exits_1_on_rejections(cli, session, catalogue, provider,
                                                            candidate, ada, tmp_path):
    path = tmp_path / "intake.csv"
    path.write_text(MIXED)
    before = snapshot(session)
    dry = cli("enrol", "--provider", "north-college", "--csv", str(path), "--dry-run")
    assert dry.exit_code == 1
    assert "line 2: will be enrolled: will be enrolled on ITCSCR405A v1; will be invited by " \
        "email\n" in dry.output
    assert "(checked only: nothing was changed)" in dry.output
    assert snapshot(session) == before

    result = cli("enrol", "--provider", "north-college", "--csv", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:10] == [
        "line 2: enrolled: enrolled on ITCSCR405A v1; invited by email",
        "line 3: enrolled: enrolled on DEMOCS301A v1; enrolled on RSTSU-2 v1; kept the "
        "account's name Chen Candidate",
        "line 4: rejected: invalid email address not-an-address",
        "line 5: rejected: empty name",
        "line 6: rejected: unknown unit code NOPE9",
        "line 7: rejected: duplicate row: nia@example.org is already on line 2 (put all of a "
        "person's unit codes in one row)",
        "line 8: enrolled: enrolled on RSTSU-1 v1; invited by email",
        "line 9: enrolled: enrolled on RSTSU-1 v1; invited by email",
        "line 10: already enrolled: already enrolled on DEMOCS301A v1",
        "line 11: rejected: unknown unit code SFIA9:ITCSCR405A (ITCSCR405A is a unit of HKQF)",
    ]
    assert lines[10] == "intake.csv: 10 rows; 5 enrolments made; 1 already enrolled; " \
        "5 rows rejected; 3 invited"
    assert snapshot(session)["enrolments"] == before["enrolments"] + 5
    [summary] = entries(session, "enrolment.import")
    assert summary.changes["via"] == "cli"
    assert summary.actor_id is None


def test_cli_csv_without_rejections_exits_0(cli, session, catalogue, provider, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b"name,email,unit codes\nNia,nia@example.org,DEMOCS301A\n")
    result = cli("enrol", "--provider", "north-college", "--csv", str(path))
    assert result.exit_code == 0, result.output
    assert "line 2: enrolled: enrolled on DEMOCS301A v1; invited by email" in result.output


def test_cli_csv_unreadable_enrols_nobody(cli, session, catalogue, provider, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,email,unit codes\nJosé,j@example.org,DEMOCS301A\n".encode("latin-1"))
    before = snapshot(session)
    result = cli("enrol", "--provider", "north-college", "--csv", str(path))
    assert result.exit_code == 1
    assert "latin.csv: cannot be read, so nobody was enrolled: line 2: the file is not UTF-8 " \
        "text" in result.output
    assert snapshot(session) == before


def test_cli_output_carries_no_terminal_escapes(cli, session, catalogue, provider, tmp_path):
    path = tmp_path / "esc.csv"
    path.write_bytes(b"name,email,unit codes\nA,\x1b[2Jx@example.org,DEMOCS301A\n")
    result = cli("enrol", "--provider", "north-college", "--csv", str(path))
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "line 2: rejected: invalid email address" in result.output


# --- mail through a real SMTP server ----------------------------------------------------------


def test_import_mails_arrive_by_smtp_after_commit(
        smtp_app, smtp_server, session, catalogue, admin, candidate):  # noqa: F811
    _, received = smtp_server
    client = smtp_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                "csrf_token": csrf_token(page)})
    data = (b"name,email,unit codes\nNia New,nia@example.org,DEMOCS301A\n"
            b"Chen,cand@north.example,RSTSU-1\n")
    # Checking only, or a file that cannot be read, sends nothing.
    upload(client, data, check_only="y")
    upload(client, data.replace(b"Nia", "Ni\u00e1".encode("latin-1")))
    assert received.envelopes == []

    response = upload(client, data)
    assert "2 enrolments made; 1 new candidate invited by email." in text(response)
    messages = {m["To"]: m for m in received.messages()}
    assert set(messages) == {"nia@example.org", "cand@north.example"}
    assert messages["nia@example.org"]["Subject"] == "You are invited to certify by North College"
    enrolled = messages["cand@north.example"]
    assert enrolled["Subject"] == "You are enrolled on a unit at North College"
    assert "RSTSU-1 version 1: Running a small team stand-up (Beginner)" in \
        enrolled.get_body(("plain",)).get_content()
    assert 'href="http://127.0.0.1:5000/units/CAPDIR/RSTSU-1/v1"' in \
        enrolled.get_body(("html",)).get_content()
    assert outbox(session) == []
