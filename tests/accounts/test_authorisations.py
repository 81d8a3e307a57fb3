"""Authorising assessors and verifiers: the rule later features ask, and the pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Authorisation, Role
from certify.accounts.operations import people
from certify.accounts.operations.authorisations import (
    authorise,
    is_authorised,
    revoke_authorisation,
    status_of,
    today,
)
from certify.accounts.operations.people import AccountError
from certify.core.models import AuditEntry
from certify.units.models import Framework, Unit, UnitStatus
from tests.accounts.conftest import csrf_token
from tests.accounts.test_people import post_form, signed_in
from tests.units.conftest import (  # noqa: F401 - fixtures
    HKQF,
    SFIA_CELO_EN,
    import_bytes,
    import_seed,
)

JAN_1 = date(2025, 1, 1)


@pytest.fixture
def unit(import_seed, session):  # noqa: F811 - the fixture imported above
    import_seed(HKQF)
    return session.scalar(select(Unit).where(Unit.code == "ITCSCR405A"))


@pytest.fixture
def skill(import_seed, session):  # noqa: F811
    import_seed(SFIA_CELO_EN)
    return session.scalar(select(Unit).where(Unit.code == "CELO-4"))


@pytest.fixture
def assessor(make_user, provider):
    return make_user("ash@north.example", name="Ash Assessor", roles=["assessor"],
                     provider=provider)


@pytest.fixture
def verifier(make_user, provider):
    return make_user("vic@north.example", name="Vic Verifier", roles=["verifier"],
                     provider=provider)


def revise(session, unit: Unit) -> Unit:
    """A new version of ``unit``, as the importer makes when a standard is revised."""
    newer = Unit(framework_id=unit.framework_id, code=unit.code, version=unit.version + 1,
                 title=unit.title + " (revised)", content_sha256="1" * 64)
    session.add(newer)
    session.flush()
    unit.status, unit.superseded_by_id = UnitStatus.SUPERSEDED, newer.id
    session.commit()
    return newer


# The rule ------------------------------------------------------------------------------------


def test_unit_authorisation_within_its_dates(session, provider, admin, assessor, unit):
    authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
              valid_to=date(2025, 6, 30), actor=admin)
    check = lambda on, role=Role.ASSESSOR: is_authorised(  # noqa: E731
        session, provider, assessor, role, unit, on)
    assert not check(date(2024, 12, 31))
    assert check(JAN_1) and check(date(2025, 3, 15)) and check(date(2025, 6, 30))
    assert not check(date(2025, 7, 1))
    # As an assessor, not as a verifier.
    assert not check(date(2025, 3, 15), Role.VERIFIER)


def test_open_ended_and_future_authorisations(session, provider, admin, assessor, unit):
    authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=date(2030, 1, 1),
              actor=admin)
    assert not is_authorised(session, provider, assessor, Role.ASSESSOR, unit, date(2029, 12, 31))
    assert is_authorised(session, provider, assessor, Role.ASSESSOR, unit, date(2099, 1, 1))


def test_framework_scope_covers_every_unit_including_new_versions(session, provider, admin,
                                                                  verifier, unit, skill):
    hkqf = session.scalar(select(Framework).where(Framework.code == "HKQF"))
    authorise(session, provider, verifier, Role.VERIFIER, framework=hkqf, valid_from=JAN_1,
              actor=admin)
    session.commit()
    newer = revise(session, unit)
    for covered in (unit, newer):
        assert is_authorised(session, provider, verifier, Role.VERIFIER, covered, JAN_1)
    # Another framework's unit is not covered.
    assert not is_authorised(session, provider, verifier, Role.VERIFIER, skill, JAN_1)


def test_unit_scope_covers_that_unit_only(session, provider, admin, assessor, unit, skill):
    authorise(session, provider, assessor, Role.ASSESSOR, unit=skill, valid_from=JAN_1,
              actor=admin)
    assert is_authorised(session, provider, assessor, Role.ASSESSOR, skill, JAN_1)
    assert not is_authorised(session, provider, assessor, Role.ASSESSOR, unit, JAN_1)


def test_revoked_authorisations_do_not_count(session, provider, admin, assessor, unit):
    granted = authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
                        actor=admin)
    revoke_authorisation(session, granted, actor=admin)
    assert not is_authorised(session, provider, assessor, Role.ASSESSOR, unit, JAN_1)
    assert status_of(granted, today()) == "revoked"
    with pytest.raises(AccountError, match="already been revoked"):
        revoke_authorisation(session, granted, actor=admin)


def test_another_providers_authorisation_does_not_count(session, provider, admin, assessor,
                                                        unit, make_provider, make_user):
    east = make_provider("East School", "east-school", "EAST")
    people.add_role(session, assessor, east, Role.ASSESSOR)
    east_admin = make_user(roles=["provider_admin"], provider=east)
    authorise(session, east, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
              actor=east_admin)
    assert is_authorised(session, east, assessor, Role.ASSESSOR, unit, JAN_1)
    assert not is_authorised(session, provider, assessor, Role.ASSESSOR, unit, JAN_1)


def test_losing_the_role_or_the_account_ends_the_authorisation(session, provider, admin,
                                                               assessor, unit):
    authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
              actor=admin)
    people.set_roles(session, assessor, provider, [Role.CANDIDATE], actor=admin)
    assert not is_authorised(session, provider, assessor, Role.ASSESSOR, unit, JAN_1)
    people.set_roles(session, assessor, provider, [Role.ASSESSOR], actor=admin)
    assert is_authorised(session, provider, assessor, Role.ASSESSOR, unit, JAN_1)
    from certify.core.types import utcnow

    assessor.disabled_at = utcnow()
    assert not is_authorised(session, provider, assessor, Role.ASSESSOR, unit, JAN_1)


def test_authorise_refuses(session, provider, admin, assessor, candidate, unit):
    hkqf = unit.framework
    cases = [
        (dict(user=candidate, role=Role.ASSESSOR, unit=unit),
         "Chen Candidate does not hold the assessor role in North College"),
        (dict(user=assessor, role=Role.VERIFIER, unit=unit),
         "does not hold the internal verifier role"),
        (dict(user=admin, role=Role.PROVIDER_ADMIN, unit=unit),
         "Only assessors and internal verifiers"),
        (dict(user=assessor, role=Role.ASSESSOR), "Choose either one unit or one whole framework"),
        (dict(user=assessor, role=Role.ASSESSOR, unit=unit, framework=hkqf),
         "Choose either one unit or one whole framework"),
        (dict(user=assessor, role=Role.ASSESSOR, unit=unit, valid_to=date(2024, 12, 31)),
         "The end date must not be before the start date."),
    ]
    for kwargs, message in cases:
        user = kwargs.pop("user")
        role = kwargs.pop("role")
        with pytest.raises(AccountError, match=message):
            authorise(session, provider, user, role, valid_from=JAN_1, actor=admin, **kwargs)
    assert session.scalar(select(func.count(Authorisation.id))) == 0


def test_overlapping_duplicates_and_superseded_units_are_refused(session, provider, admin,
                                                                 assessor, unit):
    authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
              valid_to=date(2025, 12, 31), actor=admin)
    with pytest.raises(AccountError, match="already has an authorisation for this"):
        authorise(session, provider, assessor, Role.ASSESSOR, unit=unit,
                  valid_from=date(2025, 6, 1), actor=admin)
    # A later, non-overlapping period is fine.
    authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=date(2026, 1, 1),
              actor=admin)
    session.commit()
    revise(session, unit)
    with pytest.raises(AccountError, match="has been superseded"):
        authorise(session, provider, assessor, Role.ASSESSOR, unit=unit,
                  valid_from=date(2030, 1, 1), actor=admin)


def test_status_of_each_kind():
    on = date(2025, 5, 5)

    def grant(**kwargs):
        return Authorisation(valid_from=kwargs.get("valid_from", JAN_1),
                             valid_to=kwargs.get("valid_to"), revoked_at=kwargs.get("revoked_at"))

    assert status_of(grant(), on) == "active"
    assert status_of(grant(valid_from=date(2025, 5, 6)), on) == "future"
    assert status_of(grant(valid_to=date(2025, 5, 4)), on) == "expired"
    assert status_of(grant(valid_to=on), on) == "active"
    from certify.core.types import utcnow

    assert status_of(grant(revoked_at=utcnow()), on) == "revoked"


# The pages -----------------------------------------------------------------------------------


def test_authorise_for_a_unit_through_the_page(app, session, provider, admin, assessor, unit):
    client = signed_in(app, admin)
    page = client.get("/authorisations/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ash Assessor (ash@north.example)" in html
    assert "Chen Candidate" not in html
    assert f'value="{today().isoformat()}"' in html  # valid from defaults to today
    response = post_form(client, "/authorisations/new", {
        "user": assessor.id, "role": "assessor", "scope": "unit", "unit_code": " itcscr405a ",
        "framework": "", "valid_from": "2025-01-01", "valid_to": "2025-12-31"})
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    granted = session.scalar(select(Authorisation))
    assert (granted.user_id, granted.unit_id, granted.framework_id) == (assessor.id, unit.id, None)
    assert (granted.valid_from, granted.valid_to) == (JAN_1, date(2025, 12, 31))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "authorisation.granted"))
    assert entry.provider_id == provider.id and entry.actor_id == admin.id
    assert entry.changes == {"person": "ash@north.example", "role": "assessor",
                             "unit": "HKQF ITCSCR405A v1", "valid_from": "2025-01-01",
                             "valid_to": "2025-12-31"}
    listing = client.get("/authorisations").get_data(as_text=True)
    assert "Ash Assessor" in listing and "ITCSCR405A" in listing and "2025-12-31" in listing


def test_authorise_for_a_whole_framework_through_the_page(app, session, provider, admin, verifier,
                                                          unit):
    client = signed_in(app, admin)
    response = post_form(client, "/authorisations/new", {
        "user": verifier.id, "role": "verifier", "scope": "framework", "unit_code": "",
        "framework": "HKQF", "valid_from": "2025-01-01", "valid_to": ""})
    assert response.status_code == 302
    session.expire_all()
    granted = session.scalar(select(Authorisation))
    assert granted.framework.code == "HKQF" and granted.unit_id is None
    assert granted.valid_to is None
    assert "open-ended" in client.get("/authorisations").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unit_code": "NOPE999"}, "No current unit has the code NOPE999."),
        ({"unit_code": ""}, "Enter the code of the unit, for example ITCSCR405A."),
        ({"unit_code": "ITCSCR405A", "framework": "SFIA9"},
         "No current unit has the code ITCSCR405A in SFIA9."),
        ({"valid_to": "2024-12-31"}, "The end date must not be before the start date."),
        ({"valid_from": "31/01/2025"}, "Not a valid date value."),
        ({"valid_from": ""}, "Enter the start date."),
        ({"role": "verifier"},
         "Ash Assessor does not hold the internal verifier role in North College; give them "
         "the role first."),
        ({"role": "provider_admin"}, "Not a valid choice."),
        ({"scope": "framework", "framework": ""}, "Choose the framework."),
        ({"scope": "framework", "framework": "NOSUCH"}, "Choose the framework."),
        ({"scope": "everything"}, "Not a valid choice."),
        ({"user": "0"}, "Choose the person to authorise."),
        ({"user": "abc"}, "Choose the person to authorise."),
    ],
)
def test_bad_authorisations_are_refused(app, session, provider, admin, assessor, unit, skill,
                                        changes, message):
    client = signed_in(app, admin)
    data = {"user": assessor.id, "role": "assessor", "scope": "unit", "unit_code": "ITCSCR405A",
            "framework": "", "valid_from": "2025-01-01", "valid_to": ""}
    response = post_form(client, "/authorisations/new", {**data, **changes})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in html, html[html.find("alert"):][:800]
    session.expire_all()
    assert session.scalar(select(func.count(Authorisation.id))) == 0


def test_people_without_the_role_are_refused_even_when_posted(app, session, provider, admin,
                                                              assessor, candidate, make_user,
                                                              make_provider, unit):
    outsider = make_user(roles=["assessor"], provider=make_provider())
    client = signed_in(app, admin)
    for person in (candidate, outsider):
        response = post_form(client, "/authorisations/new", {
            "user": person.id, "role": "assessor", "scope": "unit", "unit_code": "ITCSCR405A",
            "valid_from": "2025-01-01"})
        assert response.status_code == 422
        assert "Choose the person to authorise." in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count(Authorisation.id))) == 0


def test_nobody_to_authorise_yet(app, session, provider, admin):
    html = signed_in(app, admin).get("/authorisations/new").get_data(as_text=True)
    assert "Nobody can be authorised yet" in html


def test_list_filters_by_person_and_status(app, session, provider, admin, assessor, verifier,
                                           unit):
    current = authorise(session, provider, assessor, Role.ASSESSOR, unit=unit,
                        valid_from=today() - timedelta(days=10), actor=admin)
    authorise(session, provider, verifier, Role.VERIFIER, framework=unit.framework,
              valid_from=today() - timedelta(days=100), valid_to=today() - timedelta(days=1),
              actor=admin)
    authorise(session, provider, assessor, Role.ASSESSOR, framework=unit.framework,
              valid_from=today() + timedelta(days=30), actor=admin)
    revoked = authorise(session, provider, verifier, Role.VERIFIER, unit=unit,
                        valid_from=today(), actor=admin)
    revoke_authorisation(session, revoked, actor=admin)
    session.commit()
    client = signed_in(app, admin)
    everything = client.get("/authorisations").get_data(as_text=True)
    assert "Showing 1–4 of 4 authorisations" in everything
    for status in ("active", "expired", "future", "revoked"):
        html = client.get(f"/authorisations?status={status}").get_data(as_text=True)
        assert "Showing 1–1 of 1 authorisations" in html, status
        assert f"status--{status}" in html
    html = client.get(f"/authorisations?person={assessor.id}").get_data(as_text=True)
    assert "of 2 authorisations" in html and "Vic Verifier</a></th>" not in html
    html = client.get(f"/authorisations?person={assessor.id}&status=active") \
        .get_data(as_text=True)
    assert "of 1 authorisations" in html
    assert f'href="/authorisations/{current.id}/revoke"' in html
    # Unknown filters are ignored.
    assert "of 4 authorisations" in client.get("/authorisations?status=bogus&person=99999") \
        .get_data(as_text=True)
    assert "No authorisation matches these filters" in client.get(
        f"/authorisations?person={verifier.id}&status=future").get_data(as_text=True)


def test_list_query_count_is_flat(app, session, provider, admin, make_user, unit, skill,
                                  count_queries):
    client = signed_in(app, admin)

    def add(n):
        for i in range(n):
            person = make_user(roles=["assessor"], provider=provider, password=None)
            scope = {"unit": unit} if i % 2 else {"framework": skill.framework}
            authorise(session, provider, person, Role.ASSESSOR, valid_from=JAN_1, actor=admin,
                      **scope)
        session.commit()

    add(2)
    with count_queries() as few:
        assert client.get("/authorisations").status_code == 200
    add(20)
    with count_queries() as many:
        assert client.get("/authorisations").status_code == 200
    assert many.count == few.count


def test_revoke_with_confirmation(app, session, provider, admin, assessor, unit):
    granted = authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
                        actor=admin)
    session.commit()
    client = signed_in(app, admin)
    path = f"/authorisations/{granted.id}/revoke"
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ash Assessor" in html and "I understand" in html
    session.expire_all()
    assert granted.revoked_at is None  # showing the page changes nothing
    response = client.post(path, data={"csrf_token": csrf_token(html)})
    assert response.status_code == 422
    assert "Tick the box to confirm." in response.get_data(as_text=True)
    session.expire_all()
    assert granted.revoked_at is None
    response = client.post(path, data={"csrf_token": csrf_token(html), "confirm": "y"})
    assert response.status_code == 302
    session.expire_all()
    assert granted.revoked_at is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "authorisation.revoked"))
    assert entry.object_id == str(granted.id) and entry.provider_id == provider.id
    assert entry.changes["person"] == "ash@north.example"
    again = client.post(path, data={"csrf_token": csrf_token(html), "confirm": "y"})
    assert again.status_code == 409
    assert "was revoked on" in again.get_data(as_text=True)


def test_other_providers_authorisations_answer_404(app, session, provider, admin, assessor, unit,
                                                   make_provider, make_user):
    east = make_provider("East School", "east-school", "EAST")
    east_admin = make_user(roles=["provider_admin"], provider=east)
    east_assessor = make_user(name="Eve East", roles=["assessor"], provider=east)
    theirs = authorise(session, east, east_assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
                       actor=east_admin)
    session.commit()
    client = signed_in(app, admin)
    assert "Eve East" not in client.get("/authorisations").get_data(as_text=True)
    assert client.get(f"/authorisations/{theirs.id}/revoke").status_code == 404
    assert client.get(f"/authorisations?person={east_assessor.id}").status_code == 200
    response = post_form(client, f"/authorisations/{theirs.id}/revoke", {"confirm": "y"},
                         form_path="/authorisations")
    assert response.status_code == 404
    session.expire_all()
    assert theirs.revoked_at is None
    assert client.get("/authorisations/987654/revoke").status_code == 404


def test_only_provider_admins_reach_authorisations(app, session, provider, admin, assessor,
                                                   candidate, verifier, unit):
    granted = authorise(session, provider, assessor, Role.ASSESSOR, unit=unit, valid_from=JAN_1,
                        actor=admin)
    session.commit()
    paths = ["/authorisations", "/authorisations/new", f"/authorisations/{granted.id}/revoke"]
    for path in paths:
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for user in (assessor, candidate, verifier):
        client = signed_in(app, user)
        for path in paths:
            assert client.get(path).status_code == 404, (user.email, path)
        response = post_form(client, f"/authorisations/{granted.id}/revoke", {"confirm": "y"},
                             form_path="/")
        assert response.status_code == 404
    session.expire_all()
    assert granted.revoked_at is None
