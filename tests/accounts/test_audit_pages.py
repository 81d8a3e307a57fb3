"""The audit trail page: a provider admin reads their provider's entries, and only those."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from certify.accounts.models import Role
from certify.accounts.operations import people
from certify.core import audit
from certify.core.models import AuditEntry
from certify.core.types import utcnow
from tests.accounts.test_people import post_form, signed_in


def seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', html)]


def test_admin_reads_their_providers_entries_newest_first(app, session, provider, admin,
                                                          candidate, make_provider, make_user):
    east = make_provider("East School", "east-school", "EAST")
    make_user("eve@east.example", name="Eve East", roles=["candidate"], provider=east)
    client = signed_in(app, admin)
    post_form(client, f"/people/{candidate.id}/roles", {"roles": ["assessor", "candidate"]},
              form_path=f"/people/{candidate.id}")
    page = client.get("/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Audit trail of North College" in html
    numbers = seqs(html)
    assert numbers == sorted(numbers, reverse=True) and len(numbers) >= 3
    # The role change: when, who, what, on which object, and the values before and after.
    assert "roles.changed" in html and "admin@north.example" in html
    assert f"User {candidate.id}" in html
    assert "<dt>roles</dt><dd>candidate → assessor, candidate</dd>" in html
    # Another provider's entries, and entries of no provider (sign-ins), are not shown.
    assert "eve@east.example" not in html and "provider.created" in html
    assert "East School" not in html
    assert "sign_in" not in html


def test_filters(app, session, provider, admin, candidate, make_user):
    bea = make_user("bea@north.example", name="Bea", roles=["provider_admin"], provider=provider)
    audit.record(session, "something.old", actor=bea, provider=provider,
                 changes={"note": "long ago"})
    session.execute(update(AuditEntry).where(AuditEntry.action == "something.old")
                    .values(at=utcnow() - timedelta(days=40)))
    session.commit()
    client = signed_in(app, admin)
    html = client.get("/audit").get_data(as_text=True)
    assert '<option value="role.granted">role.granted</option>' in html
    assert '<option value="something.old">something.old</option>' in html

    only = client.get("/audit?action=role.granted").get_data(as_text=True)
    assert "role.granted" in only and "provider.created</td>" not in only
    assert "<dt>role</dt><dd>candidate</dd>" in only

    by_bea = client.get("/audit?actor=BEA@").get_data(as_text=True)
    assert "Showing 1–1 of 1 entries" in by_bea and "long ago" in by_bea

    old_day = (utcnow() - timedelta(days=40)).date().isoformat()
    ranged = client.get(f"/audit?since={old_day}&until={old_day}").get_data(as_text=True)
    assert "Showing 1–1 of 1 entries" in ranged and "something.old" in ranged
    recent = client.get(f"/audit?since={utcnow().date().isoformat()}").get_data(as_text=True)
    assert "something.old</td>" not in recent and "role.granted" in recent

    none = client.get("/audit?action=sign_in")  # not one of this provider's actions: ignored
    assert none.status_code == 200 and "role.granted" in none.get_data(as_text=True)
    assert "No entry matches these filters" in client.get("/audit?actor=nobody@") \
        .get_data(as_text=True)


def test_bad_dates_are_named_and_left_out(app, session, provider, admin):
    client = signed_in(app, admin)
    response = client.get("/audit?since=yesterday")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Some filters were left out" in html and "From</a>: Not a valid date value." in html
    assert "provider.created" in html  # the list still shows, unfiltered
    response = client.get("/audit?since=2025-02-01&until=2025-01-01")
    assert response.status_code == 422
    assert "The &#39;to&#39; date must not be before the &#39;from&#39; date." in \
        response.get_data(as_text=True)


def test_values_are_escaped(app, session, provider, admin):
    audit.record(session, "note.added", actor=admin, provider=provider,
                 changes={"text": "<script>alert(1)</script>", "pair": ["<b>", None]})
    session.commit()
    html = signed_in(app, admin).get("/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt; → —" in html


def test_pagination_and_flat_query_count(app, session, provider, admin, count_queries):
    client = signed_in(app, admin)

    def add(n):
        for i in range(n):
            audit.record(session, "test.entry", actor=admin, provider=provider,
                         changes={"i": i})
        session.commit()

    add(3)
    with count_queries() as few:
        assert client.get("/audit").status_code == 200
    add(40)
    with count_queries() as many:
        html = client.get("/audit").get_data(as_text=True)
    assert many.count == few.count
    assert "Showing 1–25 of" in html and "Page 1 of 2" in html
    second = client.get("/audit?page=2&action=test.entry").get_data(as_text=True)
    assert "Showing 26–43 of 43 entries" in second
    assert 'href="/audit?page=1&amp;action=test.entry"' in second


def test_only_provider_admins_read_the_trail(app, session, provider, admin, candidate, make_user,
                                             make_provider):
    assessor = make_user(roles=["assessor"], provider=provider)
    verifier = make_user(roles=["verifier"], provider=provider)
    for user in (candidate, assessor, verifier):
        assert signed_in(app, user).get("/audit").status_code == 404
    anonymous = app.test_client().get("/audit")
    assert anonymous.status_code == 302 and "/login?next=/audit" in anonymous.headers["Location"]
    east = make_provider("East School", "east-school", "EAST")
    east_admin = make_user(roles=["provider_admin"], provider=east)
    people.add_role(session, candidate, east, Role.ASSESSOR, actor=east_admin)
    session.commit()
    html = signed_in(app, east_admin).get("/audit").get_data(as_text=True)
    assert "Audit trail of East School" in html
    assert "admin@north.example" not in html and "north-college" not in html
