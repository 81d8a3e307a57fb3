"""The register of certificates: the list, its search and filters, CSV and ZIP exports; one
certificate's page; revoking and reissuing from the pages; the PDF and credential downloads."""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from certify.accounts.models import Provider, User
from certify.certificates.models import Certificate, CertificateStatus
from certify.certificates.views import register as register_views
from certify.core.storage import current_storage
from certify.core.types import utcnow
from certify.units.models import Unit
from tests.accounts.test_people import signed_in
from tests.certificates.conftest import achieve, make_unit
from tests.people import csrf_token


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def numbers_on(page: str) -> list[str]:
    """The certificate numbers of the register's rows, in order."""
    return re.findall(r'<th scope="row" class="code"><a href="/certificates/\d+">([A-Z0-9-]+)</a>',
                      page)


def stored_bytes(app, certificate: Certificate) -> bytes:
    with app.app_context(), current_storage().open_verified(certificate.pdf_key) as file:
        return file.read()


def body_of(response) -> bytes:
    """A download's bytes; the response is closed (it holds its file open until then)."""
    try:
        return response.get_data()
    finally:
        response.close()


def fresh(session, certificate: Certificate) -> Certificate:
    session.expire_all()
    return session.get(Certificate, certificate.id)


def post_with_token(client, path: str, data: dict, token_from: str):
    page = client.get(token_from)
    return client.post(path, data={**data, "csrf_token": csrf_token(page.get_data(as_text=True))})


@pytest.fixture
def admin_client(app, world):
    return signed_in(app, world.admin)


@pytest.fixture
def second_unit(app, session, world):
    """A second achieved unit of the world's candidate (ITCSCR406A, 5 credits)."""
    with app.app_context():
        unit = make_unit(session, world.unit.framework_id, "ITCSCR406A",
                         "Manage a loyalty programme", 4, 5)
        enrolment = achieve(session, world.provider, world.candidate, unit, world.assessor,
                            admin=world.admin)
        session.commit()
    return unit, enrolment


# --- The list ---------------------------------------------------------------------------------


def test_register_lists_every_certificate_newest_first(app, session, world, issue, issued,
                                                       second_unit, admin_client):
    _unit, enrolment = second_unit
    later = issue(world, enrolment_ids=[enrolment.id], name="陳大文")
    response = admin_client.get("/certificates")
    page = text(response)
    assert response.status_code == 200
    assert "Register of certificates of North College" in page
    assert numbers_on(page) == [later.number, issued.number]
    assert "Showing 1–2 of 2 certificates" in page
    row = page.split(later.number, 1)[1].split("</tr>", 1)[0]
    assert "陳大文" in row and "Statement of attainment" in row
    assert "ITCSCR406A" in row and "Manage a loyalty programme" in row
    assert '<td class="num">5</td>' in row
    assert utcnow().date().isoformat() in row
    assert '<span class="status status--valid">Valid</span>' in row
    first = page.split(issued.number, 1)[1].split("</tr>", 1)[0]
    assert "Chen Candidate" in first and "ITCSCR405A" in first and '<td class="num">3</td>' in first


def test_register_shows_each_standing_in_words(app, session, world, issued, copy_certificate,
                                               admin_client):
    today = utcnow().date()
    expired = copy_certificate(issued, expires_on=today - timedelta(days=1))
    revoked = copy_certificate(issued, status=CertificateStatus.REVOKED)
    superseded = copy_certificate(issued, status=CertificateStatus.SUPERSEDED,
                                  superseded_by=issued)
    page = text(admin_client.get("/certificates"))

    def row(certificate):
        return page.split(f'class="code"><a href="/certificates/{certificate.id}">', 1)[1]\
            .split("</tr>", 1)[0]

    assert "status--expired\">Expired</span>" in row(expired)
    assert (today - timedelta(days=1)).isoformat() in row(expired)
    assert "status--revoked\">Revoked</span>" in row(revoked)
    assert "status--superseded\">Superseded</span>" in row(superseded)
    assert f">{issued.number}</a>" in row(superseded)
    assert "status--valid\">Valid</span>" in row(issued)


def test_register_query_count_is_flat(app, session, world, issued, copy_certificate,
                                      admin_client, count_queries):
    def count() -> int:
        with count_queries() as counter:
            assert admin_client.get("/certificates").status_code == 200
        return counter.count

    for n in range(2):
        copy_certificate(issued, status=CertificateStatus.SUPERSEDED, superseded_by=issued,
                         name=f"Copy {n}")
    few = count()
    for n in range(12):
        copy_certificate(issued, status=CertificateStatus.SUPERSEDED, superseded_by=issued,
                         name=f"More {n}")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 15
    assert count() == few


def test_pagination_and_result_count(app, session, world, issued, copy_certificate,
                                     admin_client):
    for _ in range(26):
        copy_certificate(issued)
    first = text(admin_client.get("/certificates"))
    assert "Showing 1–25 of 27 certificates" in first and "Page 1 of 2" in first
    second = text(admin_client.get("/certificates?page=2&status=valid"))
    assert "Showing 26–27 of 27 certificates" in second
    assert 'href="/certificates?page=1&status=valid"' in second


@pytest.fixture
def varied(app, session, world, issued, copy_certificate, make_user):
    """Certificates of every standing, kind of name and date, to search and filter."""
    today = utcnow().date()
    now = utcnow()
    rows = {
        "issued": issued,
        "expired": copy_certificate(issued, name="Ewa Expired",
                                    expires_on=today - timedelta(days=2)),
        "revoked": copy_certificate(issued, name="Zażółć Gęślą Jaźń",
                                    status=CertificateStatus.REVOKED),
        "superseded": copy_certificate(issued, name="Sam Superseded",
                                       status=CertificateStatus.SUPERSEDED,
                                       superseded_by=issued),
        "old": copy_certificate(issued, name="Olga Old",
                                issued_at=datetime(2025, 3, 10, 23, 30, tzinfo=UTC)),
        "future": copy_certificate(issued, name="Vera Valid",
                                   expires_on=today + timedelta(days=30),
                                   issued_at=now - timedelta(days=40)),
    }
    return rows


@pytest.mark.parametrize(("query", "expected"), [
    ("status=valid", ["issued", "future", "old"]),
    ("status=expired", ["expired"]),
    ("status=revoked", ["revoked"]),
    ("status=superseded", ["superseded"]),
    ("q=zaŻółć", ["revoked"]),
    ("q=olga", ["old"]),
    ("q=CAND%40NORTH", ["issued", "expired", "revoked", "superseded", "future", "old"]),
    ("q=itcscr405", ["issued", "expired", "revoked", "superseded", "future", "old"]),
    ("q=ITCSCR999", []),
    ("issued_from=2025-03-10&issued_to=2025-03-10", ["old"]),
    ("issued_to=2025-12-31", ["old"]),
    ("kind=qualification", []),
    ("kind=statement_of_attainment&status=expired", ["expired"]),
])
def test_search_and_filters(app, session, world, varied, admin_client, query, expected):
    response = admin_client.get(f"/certificates?{query}")
    assert response.status_code == 200
    page = text(response)
    found = numbers_on(page)
    wanted = [varied[name].number for name in expected]
    assert sorted(found) == sorted(wanted)
    if not expected:
        assert "No certificates found" in page and "Show every certificate" in page


def test_search_by_number(app, session, world, varied, admin_client):
    number = varied["old"].number
    for typed in (number, number.lower(), number[5:16]):
        page = text(admin_client.get("/certificates", query_string={"q": typed}))
        assert numbers_on(page) == [number], typed


def test_search_with_like_wildcards_matches_them_literally(app, session, world, varied,
                                                           admin_client):
    assert numbers_on(text(admin_client.get("/certificates?q=%25"))) == []
    assert numbers_on(text(admin_client.get("/certificates?q=_"))) == []


def test_newest_first_uses_the_issue_time(app, session, world, varied, admin_client):
    found = numbers_on(text(admin_client.get("/certificates?status=valid")))
    assert found == [varied["issued"].number, varied["future"].number, varied["old"].number]


@pytest.mark.parametrize(("query", "label", "message", "listed"), [
    ("issued_from=31/12/2026", "Issued from",
     "“31/12/2026” is not a date: enter it as YYYY-MM-DD, for example 2026-11-24.", 6),
    ("issued_to=2026-02-30", "Issued to",
     "“2026-02-30” is not a date: enter it as YYYY-MM-DD, for example 2026-11-24.", 6),
    # The "from" date is good and applies: only the 2025 certificate is left out.
    ("issued_from=2026-01-01&issued_to=2025-12-31", "Issued to",
     "The “issued to” date must not be before the “issued from” date.", 5),
    ("status=lost", "Status", "Choose valid, expired, revoked or superseded.", 6),
])
def test_bad_filters_are_named_and_left_out(app, session, world, varied, admin_client, query,
                                            label, message, listed):
    response = admin_client.get(f"/certificates?{query}")
    page = text(response)
    assert response.status_code == 422
    assert "Some filters were left out" in page
    assert f">{label}</a>: {message}" in page
    # The list is shown without the bad filter.
    assert len(numbers_on(page)) == listed


def test_empty_register(app, session, world, admin_client):
    page = text(admin_client.get("/certificates"))
    assert "No certificates yet" in page
    assert "North College has not issued a certificate yet." in page
    assert "Download this list" not in page


def test_only_the_providers_admins_keep_the_register(app, session, world, issued, make_user,
                                                     make_provider):
    for user in (world.candidate, world.assessor):
        client = signed_in(app, user)
        for path in ("/certificates", "/certificates/export.csv",
                     "/certificates/download.zip"):
            assert client.get(path).status_code == 404, (user.email, path)
    anonymous = app.test_client().get("/certificates")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    south = make_provider("South Institute", "south", "SOUTH")
    south_admin = make_user("admin@south.example", roles=["provider_admin"], provider=south)
    page = text(signed_in(app, south_admin).get("/certificates"))
    assert "Register of certificates of South Institute" in page
    assert issued.number not in page and "No certificates yet" in page
    csv_text = signed_in(app, south_admin).get("/certificates/export.csv").get_data(
        as_text=True)
    assert issued.number not in csv_text


# --- CSV --------------------------------------------------------------------------------------


def test_csv_export_is_the_filtered_register_and_safe_for_spreadsheets(
        app, session, world, issued, copy_certificate, admin_client):
    formula = copy_certificate(issued, name='=HYPERLINK("http://evil.example","x")')
    revoked = copy_certificate(issued, name="+Plus Revoked", status=CertificateStatus.REVOKED)
    response = admin_client.get("/certificates/export.csv?status=valid")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert re.search(r'filename="certificates-north-college-\d{4}-\d{2}-\d{2}\.csv"',
                     disposition)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(register_views.CSV_HEADER)
    by_number = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_number) == {issued.number, formula.number}
    assert revoked.number not in by_number
    assert by_number[formula.number]["Candidate (as printed)"] == \
        '\'=HYPERLINK("http://evil.example","x")'
    row = by_number[issued.number]
    assert row["Candidate (as printed)"] == "Chen Candidate"
    assert row["Candidate email"] == "cand@north.example"
    assert row["Kind"] == "Statement of attainment" and row["Units"] == "ITCSCR405A"
    assert row["Total credits"] == "3" and row["Standing"] == "valid"
    assert row["PDF SHA-256"] == issued.pdf_sha256
    assert row["Verification address"] == issued.snapshot["verification_url"]


def test_csv_export_of_revoked_and_superseded(app, session, world, issued, copy_certificate,
                                              admin_client):
    revoked = copy_certificate(issued, name="-Minus", status=CertificateStatus.REVOKED)
    old = copy_certificate(issued, status=CertificateStatus.SUPERSEDED, superseded_by=issued)
    rows = list(csv.DictReader(io.StringIO(
        admin_client.get("/certificates/export.csv").get_data(as_text=True))))
    by_number = {row["Number"]: row for row in rows}
    assert by_number[revoked.number]["Candidate (as printed)"] == "'-Minus"
    assert by_number[revoked.number]["Standing"] == "revoked"
    assert by_number[revoked.number]["Revocation reason"] == "Copied as revoked."
    assert by_number[old.number]["Superseded by"] == issued.number
    # Issued at the same moment: the later row first, the original last.
    assert [row["Number"] for row in rows] == [old.number, revoked.number, issued.number]


def test_csv_streams_in_batches(app, session, world, issued, copy_certificate, admin_client,
                                monkeypatch):
    monkeypatch.setattr(register_views, "CSV_BATCH", 2)
    for _ in range(4):
        copy_certificate(issued)
    response = admin_client.get("/certificates/export.csv")
    chunks = list(response.response)
    assert len(chunks) == 4  # the header, then 5 rows in batches of 2, 2 and 1
    rows = list(csv.reader(io.StringIO(b"".join(
        c if isinstance(c, bytes) else c.encode() for c in chunks).decode())))
    assert len(rows) == 6 and rows[0][0] == "Number"
    assert sum(1 for row in rows if row[0] == "Number") == 1


def test_exports_refuse_bad_filters(app, session, world, issued, admin_client):
    for path in ("/certificates/export.csv", "/certificates/download.zip"):
        response = admin_client.get(f"{path}?issued_from=yesterday")
        page = text(response)
        assert response.status_code == 422
        assert "Nothing was downloaded: correct the filters named above first." in page
        assert ">Issued from</a>: “yesterday” is not a date" in page


def test_the_download_links_carry_the_filters(app, session, world, issued, admin_client):
    page = admin_client.get("/certificates?q=chen&status=valid").get_data(as_text=True)
    assert 'href="/certificates/export.csv?q=chen&amp;status=valid"' in page
    assert 'href="/certificates/download.zip?q=chen&amp;status=valid"' in page


# --- ZIP --------------------------------------------------------------------------------------


def test_zip_holds_each_pdf_as_stored(app, session, world, issue, issued, second_unit,
                                      admin_client):
    _unit, enrolment = second_unit
    other = issue(world, enrolment_ids=[enrolment.id])
    response = admin_client.get("/certificates/download.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = body_of(response)
    assert int(response.headers["Content-Length"]) == len(body)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted([f"{issued.number}.pdf",
                                                     f"{other.number}.pdf"])
        for certificate in (issued, other):
            data = archive.read(f"{certificate.number}.pdf")
            assert data == stored_bytes(app, certificate)
            assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256
    filtered = body_of(admin_client.get("/certificates/download.zip",
                                        query_string={"q": other.number}))
    with zipfile.ZipFile(io.BytesIO(filtered)) as archive:
        assert archive.namelist() == [f"{other.number}.pdf"]


def test_zip_has_a_limit(app, session, world, issued, copy_certificate, admin_client,
                         monkeypatch):
    copy_certificate(issued)
    copy_certificate(issued, status=CertificateStatus.REVOKED)
    monkeypatch.setattr(register_views, "ZIP_MAX", 2)
    response = admin_client.get("/certificates/download.zip")
    page = text(response)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "More than 2 certificates match, too many for one download." in page
    assert "Narrow the list" in page
    listing = text(admin_client.get("/certificates"))
    assert "More than 2 certificates: filter the list" in listing
    narrowed = admin_client.get("/certificates/download.zip?status=valid")
    assert narrowed.status_code == 200 and narrowed.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body_of(narrowed))) as archive:
        assert len(archive.namelist()) == 2


def test_zip_of_nothing_says_so(app, session, world, issued, admin_client):
    response = admin_client.get("/certificates/download.zip?status=revoked")
    assert response.status_code == 422
    assert "nothing to download" in text(response)


def test_a_tampered_pdf_fails_the_zip_with_a_clear_error(app, session, world, issue, issued,
                                                         second_unit, admin_client):
    _unit, enrolment = second_unit
    other = issue(world, enrolment_ids=[enrolment.id])
    with app.app_context():
        path = current_storage().root / other.pdf_key
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"Chen Candidate", b"Chen Candidatf", 1)
                         if b"Chen Candidate" in original else original + b"%tampered")
        response = admin_client.get("/certificates/download.zip")
        page = text(response)
        assert response.status_code == 500
        assert response.mimetype == "text/html"
        assert not response.get_data().startswith(b"PK")
        assert "The ZIP could not be made" in page
        assert f"The stored PDF of {other.number} does not match the fingerprint" in page
        # The single PDF is refused the same way, never sent changed.
        single = admin_client.get(f"/certificates/{other.id}/pdf")
        assert single.status_code == 500
        assert f"The stored PDF of {other.number} does not match" in text(single)
        good = admin_client.get(f"/certificates/{issued.id}/pdf")
        assert good.status_code == 200
        assert hashlib.sha256(body_of(good)).hexdigest() == issued.pdf_sha256
    finally:
        path.write_bytes(original)


# --- One certificate --------------------------------------------------------------------------


def test_detail_shows_what_it_states_its_files_and_forms(app, session, world, issued,
                                                         admin_client):
    response = admin_client.get(f"/certificates/{issued.id}")
    page = text(response)
    assert response.status_code == 200
    assert f"Statement of attainment <span class=\"code\">{issued.number}</span>" in page
    assert "Chen Candidate" in page and "North College" in page
    assert "ITCSCR405A" in page and world.unit.title in page
    assert issued.pdf_sha256 in page
    url = issued.snapshot["verification_url"]
    assert f'value="{url}" readonly' in page
    assert 'data-copy-target="share-' in page and "Copy link" in page
    assert "/static/js/copy-link.js" in page
    assert f'href="/certificates/{issued.id}/pdf"' in page
    assert f'href="/certificates/{issued.id}/credential"' in page
    assert f'href="/certificates/{issued.id}/credential?format=json"' in page
    assert f'href="{url}"' in page
    assert f"Issued {issued.issued_at:%Y-%m-%d %H:%M} UTC by Ada Admin" in page
    assert f'action="/certificates/{issued.id}/revoke"' in page
    assert f'action="/certificates/{issued.id}/reissue"' in page
    # The reissue form starts from the printed name.
    assert re.search(r'<input[^>]*id="name"[^>]*value="Chen Candidate"', page) or \
        re.search(r'<input[^>]*value="Chen Candidate"[^>]*id="name"', page)
    assert "<script>" not in page and " style=" not in page


def test_the_holder_sees_the_page_without_the_forms(app, session, world, issued):
    page = text(signed_in(app, world.candidate).get(f"/certificates/{issued.id}"))
    assert issued.number in page and issued.pdf_sha256 in page
    assert "/revoke" not in page and "/reissue" not in page
    assert "Your certificates" in page


def test_others_get_404_on_the_certificate_and_its_files(app, session, world, issued,
                                                         make_user, make_provider):
    south = make_provider("South Institute", "south", "SOUTH")
    others = [
        make_user("admin@south.example", roles=["provider_admin"], provider=south),
        make_user("other@north.example", roles=["candidate"], provider=world.provider),
        world.assessor,
        make_user("root@example.org", platform_admin=True),
    ]
    paths = [f"/certificates/{issued.id}", f"/certificates/{issued.id}/pdf",
             f"/certificates/{issued.id}/credential",
             f"/certificates/{issued.id}/credential?format=json",
             "/certificates/999999", "/certificates/999999/pdf"]
    for user in others:
        client = signed_in(app, user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 404, (user.email, path)
            assert issued.number not in text(response)
        for action in ("revoke", "reissue"):
            response = post_with_token(client, f"/certificates/{issued.id}/{action}",
                                       {"reason": "Mine now", "confirmed": "yes",
                                        "name": "X"}, "/account")
            assert response.status_code == 404, (user.email, action)
    assert fresh(session, issued).status == CertificateStatus.VALID
    for path in paths[:3]:
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_holder_may_not_revoke_or_reissue(app, session, world, issued):
    client = signed_in(app, world.candidate)
    for action in ("revoke", "reissue"):
        response = post_with_token(client, f"/certificates/{issued.id}/{action}",
                                   {"reason": "Mine", "confirmed": "yes", "name": "Me"},
                                   f"/certificates/{issued.id}")
        assert response.status_code == 404
    assert fresh(session, issued).status == CertificateStatus.VALID


# --- Revoking from the pages ------------------------------------------------------------------


def test_revoke_asks_for_a_reason_then_confirmation(app, session, world, issued,
                                                    admin_client):
    path = f"/certificates/{issued.id}/revoke"
    empty = post_with_token(admin_client, path, {"reason": "  "}, f"/certificates/{issued.id}")
    assert empty.status_code == 422
    assert ("Give the reason for the revocation. It is shown to anyone who verifies the "
            "certificate.") in text(empty)
    asked = post_with_token(admin_client, path, {"reason": "Issued in error: <b>wrong</b>"},
                            f"/certificates/{issued.id}")
    page = text(asked)
    assert asked.status_code == 200
    assert (f"Revoke {issued.number}? This cannot be undone; anyone verifying it will see "
            "the reason") in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace(
                " ?", "?")
    assert "Issued in error: &lt;b&gt;wrong&lt;/b&gt;" in asked.get_data(as_text=True)
    assert 'name="confirmed" value="yes"' in page
    # Nothing is revoked until the confirmation is posted.
    assert fresh(session, issued).status == CertificateStatus.VALID
    done = admin_client.post(path, data={
        "reason": "Issued in error: <b>wrong</b>", "confirmed": "yes",
        "csrf_token": csrf_token(asked.get_data(as_text=True))})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/certificates/{issued.id}")
    found = fresh(session, issued)
    assert found.status == CertificateStatus.REVOKED
    assert found.revocation_reason == "Issued in error: <b>wrong</b>"
    assert found.revoked_by_id == world.admin.id
    after = text(admin_client.get(f"/certificates/{issued.id}"))
    assert f"{issued.number} is revoked." in after
    assert "Revoked</span>" in after and "by Ada Admin" in after
    assert 'action="/certificates/' + str(issued.id) + '/revoke"' not in after
    assert 'action="/certificates/' + str(issued.id) + '/reissue"' not in after


def test_revoking_an_already_revoked_certificate_says_so(app, session, world, issued,
                                                         admin_client):
    path = f"/certificates/{issued.id}/revoke"
    token_page = admin_client.get(f"/certificates/{issued.id}").get_data(as_text=True)
    data = {"reason": "Wrong", "confirmed": "yes", "csrf_token": csrf_token(token_page)}
    assert admin_client.post(path, data=data).status_code == 303
    again = admin_client.post(path, data=data)
    assert again.status_code == 409
    assert (f"{issued.number} is already revoked; only a valid certificate can be "
            "revoked.") in text(again)


def test_revoke_and_reissue_need_the_csrf_token(app, session, world, issued, admin_client):
    for action in ("revoke", "reissue"):
        response = admin_client.post(f"/certificates/{issued.id}/{action}",
                                     data={"reason": "No token", "confirmed": "yes",
                                           "name": "Someone"})
        assert response.status_code == 400
    assert fresh(session, issued).status == CertificateStatus.VALID
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 1


# --- Reissuing from the pages -----------------------------------------------------------------


def test_reissue_with_a_corrected_name(app, session, world, issued, admin_client):
    response = post_with_token(admin_client, f"/certificates/{issued.id}/reissue",
                               {"reason": "Name misspelt.", "name": "Zażółć Gęślą Jaźń"},
                               f"/certificates/{issued.id}")
    assert response.status_code == 303
    session.expire_all()
    old = session.get(Certificate, issued.id)
    new = old.superseded_by
    assert new is not None and response.headers["Location"].endswith(f"/certificates/{new.id}")
    assert new.snapshot["candidate"]["name"] == "Zażółć Gęślą Jaźń"
    assert old.snapshot["candidate"]["name"] == "Chen Candidate"
    page = text(admin_client.get(f"/certificates/{new.id}"))
    assert f"{issued.number} was reissued as {new.number}" in page
    assert f"Replaces <a href=\"/certificates/{issued.id}\">{issued.number}</a>" in page
    assert "Name misspelt." in page
    old_page = text(admin_client.get(f"/certificates/{issued.id}"))
    assert "Superseded</span>" in old_page
    assert f'by <a href="/certificates/{new.id}">{new.number}</a>' in old_page


def test_reissue_form_errors_and_refusals(app, session, world, issued, admin_client):
    path = f"/certificates/{issued.id}/reissue"
    missing = post_with_token(admin_client, path, {"reason": "", "name": " "},
                              f"/certificates/{issued.id}")
    page = text(missing)
    assert missing.status_code == 422
    assert "Give the reason for the reissue." in page
    assert "Enter the name as it should appear on the certificate." in page
    control = post_with_token(admin_client, path, {"reason": "Fix", "name": "Chen\u200bTai"},
                              f"/certificates/{issued.id}")
    assert control.status_code == 422
    assert "The name contains invisible control characters; type it again." in text(control)
    revoke_page = admin_client.get(f"/certificates/{issued.id}").get_data(as_text=True)
    admin_client.post(f"/certificates/{issued.id}/revoke", data={
        "reason": "Wrong", "confirmed": "yes", "csrf_token": csrf_token(revoke_page)})
    refused = admin_client.post(path, data={"reason": "Fix", "name": "Chen",
                                            "csrf_token": csrf_token(revoke_page)})
    assert refused.status_code == 409
    assert (f"{issued.number} is revoked; only a valid (or expired) certificate can be "
            "reissued.") in text(refused)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 1


# --- Files ------------------------------------------------------------------------------------


def test_pdf_is_the_stored_file_as_an_attachment_never_rendered_again(
        app, session, world, issued, admin_client, monkeypatch):
    from certify.certificates import rendering

    def refuse(*_args, **_kwargs):
        raise AssertionError("a download must not render the certificate")

    monkeypatch.setattr(rendering, "render_certificate", refuse)
    monkeypatch.setattr(rendering, "certificate_html", refuse)
    for client in (admin_client, signed_in(app, world.candidate)):
        response = client.get(f"/certificates/{issued.id}/pdf")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == \
            f"attachment; filename={issued.number}.pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "private, no-store"
        body = body_of(response)
        assert body == stored_bytes(app, issued)
        assert hashlib.sha256(body).hexdigest() == issued.pdf_sha256
        assert len(body) == issued.pdf_size == int(response.headers["Content-Length"])
        assert body.startswith(b"%PDF")


def test_credential_downloads(app, session, world, issued, admin_client):
    for client in (admin_client, signed_in(app, world.candidate)):
        response = client.get(f"/certificates/{issued.id}/credential")
        assert response.status_code == 200
        assert response.mimetype == "application/vc+jwt"
        assert response.headers["Content-Disposition"] == \
            f"attachment; filename={issued.number}.jwt"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.get_data(as_text=True) == issued.credential
        as_json = client.get(f"/certificates/{issued.id}/credential?format=json")
        assert as_json.mimetype == "application/json"
        assert as_json.headers["Content-Disposition"] == \
            f"attachment; filename={issued.number}.json"
        credential = json.loads(as_json.get_data(as_text=True))
        payload = issued.credential.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert credential == {k: v for k, v in claims.items()
                              if k not in ("iss", "jti", "sub", "nbf", "exp")}
        assert "OpenBadgeCredential" in credential["type"]
        assert credential["credentialSubject"]
        assert "iss" not in credential


def test_an_issued_certificate_is_frozen(app, session, world, issued, admin_client):
    admin_client.get("/account")  # shows (and so clears) the "signed in" message
    before_page = admin_client.get(f"/certificates/{issued.id}").get_data(as_text=True)
    before_pdf = body_of(admin_client.get(f"/certificates/{issued.id}/pdf"))
    before_credential = admin_client.get(f"/certificates/{issued.id}/credential").get_data()
    before_json = admin_client.get(f"/certificates/{issued.id}/credential?format=json")\
        .get_data()
    candidate = session.get(User, world.candidate.id)
    candidate.name = "Renamed Person"
    unit = session.get(Unit, world.unit.id)
    old_title = unit.title
    unit.title = "A completely different title"
    provider = session.get(Provider, world.provider.id)
    provider.name = "North Polytechnic"
    session.commit()
    page = admin_client.get(f"/certificates/{issued.id}").get_data(as_text=True)

    def main(document: str) -> str:
        # The page's own content, without the header (which names the provider as it is now).
        return document.split('<main id="main"', 1)[1]

    assert "Renamed Person" not in page and "A completely different title" not in page
    assert "North Polytechnic" not in main(page) and "North College" in main(page)
    assert html.unescape(old_title) in html.unescape(page)
    assert main(page) == main(before_page)
    pdf = body_of(admin_client.get(f"/certificates/{issued.id}/pdf"))
    assert pdf == before_pdf
    assert hashlib.sha256(pdf).hexdigest() == issued.pdf_sha256
    assert admin_client.get(f"/certificates/{issued.id}/credential").get_data() == \
        before_credential
    assert admin_client.get(f"/certificates/{issued.id}/credential?format=json")\
        .get_data() == before_json
    listing = text(admin_client.get("/certificates"))
    assert "Chen Candidate" in listing and "Renamed Person" not in listing
