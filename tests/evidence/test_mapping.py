"""Mapping evidence to criteria: across units, remapping, refusals, the page and its messages,
and the coverage that follows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from certify.accounts.operations.enrolments import enrol_candidate, today
from certify.core.models import AuditEntry
from certify.evidence.models import Mapping
from certify.evidence.operations import items as operations
from certify.evidence.operations.items import EXPLANATION_MAX, MappingError
from certify.evidence.queries import enrolments_with_coverage
from certify.units.models import Unit
from tests.evidence import test_portfolio as portfolio
from tests.evidence.test_portfolio import (
    HOSTILE,
    criteria_of,
    make_item,
    map_to,
    switch_to,
    text,
)
from tests.people import csrf_token
from tests.units.conftest import import_bytes, import_seed  # noqa: F401

# The portfolio tests' catalogue and enrolments.
units = portfolio.units
enrolments = portfolio.enrolments


def mapped(session, item) -> set[tuple[int, str, str]]:
    session.expire_all()
    return {(m.enrolment_id, m.criterion.ref, m.explanation)
            for m in session.scalars(select(Mapping).where(Mapping.item_id == item.id))}


def test_one_item_serves_two_units_and_remaps(session, candidate, provider, enrolments, units):
    hkqf_enrolment, celo_enrolment = enrolments
    hkqf, celo = (criteria_of(session, u) for u in units)
    item = make_item(session, candidate, provider)
    changes = operations.set_mappings(session, item, [
        (hkqf_enrolment, hkqf[0], "Section 1 sets the targets"),
        (celo_enrolment, celo[1], "  The survey I ran  "),
    ], candidate)
    session.commit()
    assert len(changes.added) == 2
    assert mapped(session, item) == {(hkqf_enrolment.id, hkqf[0].ref, "Section 1 sets the targets"),
                                     (celo_enrolment.id, celo[1].ref, "The survey I ran")}

    # Unchecking removes; a new explanation is kept; a new criterion is added.
    changes = operations.set_mappings(session, item, [
        (hkqf_enrolment, hkqf[0], "Section 1 and its appendix"),
        (hkqf_enrolment, hkqf[5], "Page 4"),
    ], candidate)
    session.commit()
    assert (len(changes.added), changes.removed, len(changes.changed)) == (1, 1, 1)
    assert mapped(session, item) == {(hkqf_enrolment.id, hkqf[0].ref, "Section 1 and its appendix"),
                                     (hkqf_enrolment.id, hkqf[5].ref, "Page 4")}
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "evidence.mappings_changed").order_by(AuditEntry.seq)))
    assert len(entries) == 2
    assert entries[1].changes["removed"] == [f"{celo_enrolment.id}:{celo[1].ref}"]

    # The same again changes nothing and records nothing.
    again = operations.set_mappings(session, item, [
        (hkqf_enrolment, hkqf[0], "Section 1 and its appendix"),
        (hkqf_enrolment, hkqf[5], "Page 4"),
    ], candidate)
    assert not again.any
    session.flush()
    assert session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) \
        == entries[1].seq


def test_refusals(session, make_user, make_provider, admin, candidate, provider, enrolments,
                  units):
    hkqf_enrolment, _ = enrolments
    hkqf, celo = (criteria_of(session, u) for u in units)
    item = make_item(session, candidate, provider)

    with pytest.raises(MappingError, match="not part of the unit version"):
        operations.set_mappings(session, item, [(hkqf_enrolment, celo[0], "x")], candidate)

    neighbour = make_user(roles=["candidate"], provider=provider)
    theirs = enrol_candidate(session, provider, neighbour, units[0], starts_on=today(),
                             actor=admin)
    with pytest.raises(MappingError, match="your own enrolments"):
        operations.set_mappings(session, item, [(theirs, hkqf[0], "x")], candidate)

    elsewhere = make_provider()
    other_admin = make_user(roles=["provider_admin"], provider=elsewhere)
    abroad = enrol_candidate(session, elsewhere, candidate, units[0], starts_on=today(),
                             actor=other_admin)
    with pytest.raises(MappingError, match="your own enrolments"):
        operations.set_mappings(session, item, [(abroad, hkqf[0], "x")], candidate)

    with pytest.raises(MappingError, match="Explain how"):
        operations.set_mappings(session, item, [(hkqf_enrolment, hkqf[0], "   ")], candidate)
    with pytest.raises(MappingError, match=f"at most {EXPLANATION_MAX}"):
        operations.set_mappings(session, item,
                                [(hkqf_enrolment, hkqf[0], "x" * (EXPLANATION_MAX + 1))],
                                candidate)
    with pytest.raises(MappingError, match="chosen twice"):
        operations.set_mappings(session, item, [(hkqf_enrolment, hkqf[0], "a"),
                                                (hkqf_enrolment, hkqf[0], "b")], candidate)
    session.rollback()
    assert mapped(session, item) == set()


def test_locked_items_may_be_remapped(session, candidate, provider, enrolments, units):
    item = make_item(session, candidate, provider)
    item.locked_at = datetime.now(UTC)
    session.commit()
    map_to(session, item, enrolments[0], criteria_of(session, units[0])[:2])
    assert len(mapped(session, item)) == 2


def test_coverage_counts_distinct_criteria(session, candidate, provider, enrolments, units):
    hkqf_enrolment, celo_enrolment = enrolments
    hkqf = criteria_of(session, units[0])
    one = make_item(session, candidate, provider, "One")
    two = make_item(session, candidate, provider, "Two")
    map_to(session, one, hkqf_enrolment, hkqf[:4])
    map_to(session, two, hkqf_enrolment, hkqf[2:6])
    rows = {row.enrolment.id: row.coverage
            for row in enrolments_with_coverage(session, candidate, provider)}
    assert (rows[hkqf_enrolment.id].covered, rows[hkqf_enrolment.id].total) == (6, 18)
    assert rows[hkqf_enrolment.id].percent == 33
    assert (rows[celo_enrolment.id].covered, rows[celo_enrolment.id].total) == (0, 5)


# --- the page ---------------------------------------------------------------------------------


def test_mapping_page_groups_criteria_by_unit(session, client, login, candidate, provider,
                                              enrolments, units):
    hkqf_enrolment, celo_enrolment = enrolments
    hkqf = criteria_of(session, units[0])
    item = make_item(session, candidate, provider)
    map_to(session, item, hkqf_enrolment, hkqf[:1], "Already said")
    login(candidate)
    page = client.get(f"/evidence/items/{item.id}/mappings")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    legends = re.findall(r"<legend>(.*?)</legend>", body, re.S)
    # By unit code, as on the portfolio page.
    assert "CELO-3" in legends[0] and "ITCSCR405A" in legends[1]
    assert body.count('type="checkbox"') == 18 + 5
    assert re.search(rf'name="map-{hkqf_enrolment.id}-{hkqf[0].id}" value="1" checked', body)
    assert "Already said" in body
    assert f'for="map-{celo_enrolment.id}-' in body
    assert "How does this item show 6.1.1?" in text(page)


def test_mapping_page_saves_across_units_and_updates_coverage(session, client, login,
                                                              candidate, provider, enrolments,
                                                              units):
    hkqf_enrolment, celo_enrolment = enrolments
    hkqf, celo = (criteria_of(session, u) for u in units)
    item = make_item(session, candidate, provider)
    map_to(session, item, hkqf_enrolment, hkqf[:1], "To be removed")
    login(candidate)
    url = f"/evidence/items/{item.id}/mappings"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={
        "csrf_token": token,
        f"map-{hkqf_enrolment.id}-{hkqf[3].id}": "1",
        f"explanation-{hkqf_enrolment.id}-{hkqf[3].id}": "The budget table",
        f"map-{celo_enrolment.id}-{celo[0].id}": "1",
        f"explanation-{celo_enrolment.id}-{celo[0].id}": "Customer interviews",
        # An explanation without its box ticked is not a mapping.
        f"explanation-{celo_enrolment.id}-{celo[1].id}": "ignored",
    })
    assert response.status_code == 302
    assert mapped(session, item) == {(hkqf_enrolment.id, hkqf[3].ref, "The budget table"),
                                     (celo_enrolment.id, celo[0].ref, "Customer interviews")}
    flashed = text(client.get(response.headers["Location"]))
    assert "is mapped to 2 criteria in 2 units" in flashed
    portfolio = text(client.get("/evidence"))
    assert "1 of 18 criteria covered" in portfolio and "1 of 5 criteria covered" in portfolio


def test_mapping_page_validation_keeps_what_was_typed(session, client, login, candidate,
                                                      provider, enrolments, units):
    hkqf_enrolment, _ = enrolments
    hkqf = criteria_of(session, units[0])
    item = make_item(session, candidate, provider)
    login(candidate)
    url = f"/evidence/items/{item.id}/mappings"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={
        "csrf_token": token,
        f"map-{hkqf_enrolment.id}-{hkqf[0].id}": "1",
        f"explanation-{hkqf_enrolment.id}-{hkqf[0].id}": "",
        f"map-{hkqf_enrolment.id}-{hkqf[1].id}": "1",
        f"explanation-{hkqf_enrolment.id}-{hkqf[1].id}": "x" * (EXPLANATION_MAX + 5),
        f"map-{hkqf_enrolment.id}-{hkqf[2].id}": "1",
        f"explanation-{hkqf_enrolment.id}-{hkqf[2].id}": "Kept as typed",
    })
    assert response.status_code == 422
    words = text(response)
    assert "Explain how this evidence shows 6.1.1." in words
    assert f"use at most {EXPLANATION_MAX}" in words
    assert "Kept as typed" in words
    assert mapped(session, item) == set()


def test_mapping_page_permissions(session, client, login, make_user, candidate, provider,
                                  enrolments):
    item = make_item(session, candidate, provider)
    url = f"/evidence/items/{item.id}/mappings"
    neighbour = make_user(roles=["candidate"], provider=provider)
    login(neighbour)
    assert client.get(url).status_code == 404
    assessor = make_user(roles=["assessor"], provider=provider)
    switch_to(client, login, assessor)
    assert client.get(url).status_code == 403


def test_mapping_page_without_enrolments(session, client, login, candidate, provider):
    item = make_item(session, candidate, provider)
    login(candidate)
    assert "No units to map to" in text(client.get(f"/evidence/items/{item.id}/mappings"))


def test_hostile_criterion_choice_keys_are_ignored(session, client, login, candidate,
                                                   provider, enrolments, units):
    """Boxes for criteria not offered (another unit's, made-up ids) map nothing."""
    hkqf_enrolment, _ = enrolments
    celo = criteria_of(session, units[1])
    item = make_item(session, candidate, provider)
    login(candidate)
    url = f"/evidence/items/{item.id}/mappings"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(url, data={
        "csrf_token": token,
        f"map-{hkqf_enrolment.id}-{celo[0].id}": "1",
        f"explanation-{hkqf_enrolment.id}-{celo[0].id}": HOSTILE,
        "map-999999-1": "1",
    })
    assert response.status_code == 302
    assert mapped(session, item) == set()


def test_mapping_page_queries_stay_flat(session, client, login, admin, candidate, provider,
                                        enrolments, units, count_queries):
    item = make_item(session, candidate, provider)
    login(candidate)
    url = f"/evidence/items/{item.id}/mappings"
    client.get(url)
    with count_queries() as few:
        client.get(url)
    for code in ("CELO-4", "CELO-5", "CELO-6"):
        unit = session.scalars(select(Unit).where(Unit.code == code)).one()
        enrolment = enrol_candidate(session, provider, candidate, unit, starts_on=today(),
                                    actor=admin)
        session.commit()
        map_to(session, item, enrolment, criteria_of(session, unit)[:2])
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert few.count == many.count
