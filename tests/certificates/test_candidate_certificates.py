"""A candidate's own certificates: what each is, its standing, its files and share link."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from certify.accounts.models import Role
from certify.accounts.operations import people
from certify.certificates.models import CertificateStatus
from certify.certificates.operations import revocation
from certify.core.types import utcnow
from tests.accounts.test_people import signed_in
from tests.certificates.conftest import achieve


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def card(page: str, certificate) -> str:
    """The part of the page about one certificate."""
    return page.split(f'id="certificate-{certificate.id}"', 1)[1].split("</article>", 1)[0]


def test_empty_state_explains_where_certificates_come_from(app, session, world):
    response = signed_in(app, world.candidate).get("/my/certificates")
    page = text(response)
    assert response.status_code == 200
    assert "No certificates yet" in page
    assert "When a provider issues you a certificate" in page and "it appears here" in page


def test_staff_without_certificates_see_the_empty_page(app, session, world):
    for user in (world.admin, world.assessor):
        assert "No certificates yet" in text(signed_in(app, user).get("/my/certificates"))


def test_anonymous_visitors_are_sent_to_sign_in(app, session, world):
    response = app.test_client().get("/my/certificates")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_lists_own_certificates_with_files_and_share_link(app, session, world, issued):
    page = text(signed_in(app, world.candidate).get("/my/certificates"))
    assert "Showing 1–1 of 1 certificate" in page
    mine = card(page, issued)
    assert "Statement of attainment" in mine and issued.number in mine
    assert "ITCSCR405A" in mine and "North College" in mine
    assert issued.snapshot["issued_on"] in mine
    assert 'status--valid">Valid</span>' in mine
    assert f'href="/certificates/{issued.id}/pdf"' in mine
    assert f'href="/certificates/{issued.id}/credential"' in mine
    assert f'href="/certificates/{issued.id}/credential?format=json"' in mine
    url = issued.snapshot["verification_url"]
    # The share link is a read-only box anyone can select; the copy button needs the script.
    assert re.search(rf'<input type="text" class="share__input" id="share-{issued.id}" '
                     rf'value="{re.escape(url)}" readonly', mine)
    assert re.search(rf'<button type="button"[^>]*data-copy-target="share-{issued.id}" '
                     r'hidden>Copy link</button>', mine)
    assert '<script src="/static/js/copy-link.js" defer></script>' in page
    assert "<script>" not in page and " style=" not in page


def test_the_copy_script_is_served(app, session, world):
    response = app.test_client().get("/static/js/copy-link.js")
    script = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200
    assert "navigator.clipboard" in script and "select()" in script


def test_across_providers_newest_first(app, session, world, issue, issued, make_provider,
                                       make_user):
    south = make_provider("South Institute", "south", "SOUTH")
    south_admin = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    people.add_role(session, world.candidate, south, Role.CANDIDATE)
    with app.app_context():
        achieve(session, south, world.candidate, world.unit, world.assessor, admin=south_admin)
        session.commit()
    south_world = type(world)(south, south_admin, world.assessor, world.candidate, world.unit,
                              world.enrolment)
    later = issue(south_world)
    page = text(signed_in(app, world.candidate).get("/my/certificates"))
    assert page.index(later.number) < page.index(issued.number)
    assert "South Institute" in card(page, later) and "North College" in card(page, issued)


def test_revoked_and_superseded_are_shown_as_such(app, session, world, issued):
    with app.app_context():
        new = revocation.reissue_certificate(session, issued, reason="Name misspelt.",
                                             actor=world.admin, name="Chen Tai Man")
        session.commit()
        revocation.revoke_certificate(session, new, reason="Awarded in error.",
                                      actor=world.admin)
        session.commit()
    page = text(signed_in(app, world.candidate).get("/my/certificates"))
    old_card, new_card = card(page, issued), card(page, new)
    assert 'status--superseded">Superseded</span>' in old_card
    assert f'by <a href="/certificates/{new.id}">{new.number}</a>' in old_card
    assert 'status--revoked">Revoked</span>' in new_card
    assert "Awarded in error." in new_card
    # Neither is offered for sharing any more.
    assert "share__input" not in old_card and "share__input" not in new_card


def test_an_expired_certificate_says_so(app, session, world, issued):
    issued.expires_on = utcnow().date() - timedelta(days=1)
    session.commit()
    mine = card(text(signed_in(app, world.candidate).get("/my/certificates")), issued)
    assert 'status--expired">Expired</span>' in mine and "Ask North College to renew it" in mine


def test_other_peoples_certificates_are_not_listed(app, session, world, issued, make_user):
    other = make_user("other@north.example", roles=["candidate"], provider=world.provider)
    page = text(signed_in(app, other).get("/my/certificates"))
    assert issued.number not in page and "No certificates yet" in page
    # Nor reachable by changing the id in an address.
    client = signed_in(app, other)
    for path in (f"/certificates/{issued.id}", f"/certificates/{issued.id}/pdf",
                 f"/certificates/{issued.id}/credential"):
        assert client.get(path).status_code == 404


def test_query_count_is_flat(app, session, world, issued, copy_certificate, count_queries):
    client = signed_in(app, world.candidate)

    def count() -> int:
        with count_queries() as counter:
            assert client.get("/my/certificates").status_code == 200
        return counter.count

    copy_certificate(issued, status=CertificateStatus.SUPERSEDED, superseded_by=issued)
    few = count()
    for _ in range(12):
        copy_certificate(issued, status=CertificateStatus.SUPERSEDED, superseded_by=issued)
    assert count() == few
