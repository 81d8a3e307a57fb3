"""Verification for anyone without an account: by number, by address, as JSON, by PDF and
by credential; revocation, reissue and expiry show at once.

Every request here is anonymous: no test signs in.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from certify.certificates.forms.verify import CREDENTIAL_MAX_BYTES, PDF_MAX_BYTES
from certify.certificates.numbering import format_number, normalise_number
from certify.certificates.operations.revocation import reissue_certificate, revoke_certificate
from certify.core import ratelimit
from certify.core.pdf import render_pdf
from certify.core.storage import current_storage
from certify.core.types import utcnow
from tests.certificates.conftest import achieve, make_qualification, make_unit
from tests.people import csrf_token

REASON = "Issued in error: the assessment was withdrawn on appeal."


@pytest.fixture(autouse=True)
def fresh_limits(app):
    """Every test starts with an unused allowance (they share one application)."""
    ratelimit.limiter(app).reset()
    yield
    ratelimit.limiter(app).reset()


def text(response) -> str:
    return response.get_data(as_text=True)


def token(client) -> str:
    return csrf_token(text(client.get("/verify")))


def page_of(client, certificate):
    return client.get(f"/verify/{certificate.verification_code}")


def pdf_bytes(app, certificate) -> bytes:
    with app.app_context(), current_storage().open_verified(certificate.pdf_key) as file:
        return file.read()


def post_files(client, path: str, fields: dict):
    """POST ``fields`` (files as (bytes, name) pairs) as multipart/form-data, the body
    encoded in memory: the test client would spool a large one to a temporary file that
    it leaves open when the application answers without reading it all."""
    values = {key: FileStorage(io.BytesIO(value[0]), filename=value[1])
              if isinstance(value, tuple) else value for key, value in fields.items()}
    boundary, body = encode_multipart(values)
    return client.post(path, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def drop_pdf(client, data: bytes, name: str = "certificate.pdf"):
    return post_files(client, "/verify/pdf", {"csrf_token": token(client), "pdf": (data, name)})


def revoke(app, session, world, certificate, reason: str = REASON):
    with app.app_context():
        revoke_certificate(session, certificate, reason=reason, actor=world.admin)
        session.commit()


def reissue(app, session, world, certificate):
    with app.app_context():
        newer = reissue_certificate(session, certificate, reason="Name corrected",
                                    actor=world.admin, name="Chen Tai Man")
        session.commit()
    return newer


def png() -> bytes:
    """A real 1×1 PNG image."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


# --- The form -----------------------------------------------------------------------

def test_the_verify_page_offers_three_ways_without_an_account(client):
    response = client.get("/verify")
    assert response.status_code == 200
    page = text(response)
    assert '<label class="field__label" for="number">Certificate number</label>' in page
    assert 'method="get" action="/verify"' in page
    example = re.search(r"for example ([A-Z0-9-]+)\.", page).group(1)
    assert normalise_number(example) == example  # the hint's example passes its own check
    # The PDF's file input sits inside the drop zone; the script only enhances it.
    zone = re.search(r'<form[^>]*action="/verify/pdf"[^>]*data-drop-zone.*?</form>', page,
                     re.S)
    assert zone and 'type="file"' in zone.group(0) and 'name="pdf"' in zone.group(0)
    assert 'enctype="multipart/form-data"' in zone.group(0)
    assert 'name="csrf_token"' in zone.group(0)
    credential = re.search(r'<form[^>]*action="/verify/credential".*?</form>', page, re.S)
    assert credential and "<textarea" in credential.group(0)
    assert 'name="credential_file"' in credential.group(0)
    assert "/static/js/verify-drop.js" in page and "/static/css/verify.css" in page
    assert '<meta name="robots" content="noindex">' in page
    assert "<script>" not in page and "style=" not in page
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("typed", "status", "message"), [
    ("hello", 422, "is not a certificate number"),
    ("NCOL-2026-000001", 422, "is not a certificate number"),
    ("", 422, "Enter the certificate number"),
])
def test_a_malformed_number_is_explained(client, typed, status, message):
    response = client.get("/verify", query_string={"number": typed})
    assert response.status_code == status
    page = text(response)
    assert message in page
    assert 'id="number-error"' in page and 'aria-invalid="true"' in page


def test_a_wrong_check_digit_is_caught_before_any_look_up(client):
    good = format_number("NCOL", 2026, 42)
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    response = client.get("/verify", query_string={"number": wrong})
    assert response.status_code == 422
    assert f"The check digit of {wrong} does not match" in text(response)


def test_an_unknown_number_is_not_in_this_register(client):
    number = format_number("NCOL", 2026, 999)
    response = client.get("/verify", query_string={"number": number.lower()})
    assert response.status_code == 404
    assert f"No certificate with number {number} is in this register" in text(response)


def test_a_number_leads_to_the_certificates_page(app, client, world, issued):
    typed = " " + issued.number.lower().replace("-", " - ", 1) + " "
    response = client.get("/verify", query_string={"number": typed})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/verify/{issued.verification_code}")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    body = text(page)
    s = issued.snapshot
    assert "Status: </span>Valid" in body
    assert "is in this register and has not been revoked" in body
    assert "Chen Candidate" in body and "North College" in body
    unit = s["units"][0]
    assert "ITCSCR405A" in body and unit["title"] in body
    assert f'<td class="num">{unit["credits"]}</td>' in body
    assert f'<td class="num">{unit["level"]}</td>' in body
    assert f'Version {unit["version"]} · HKQF · achieved' in body
    assert "Total credits" in body and "Statement of attainment" in body
    assert issued.number in body
    assert '<meta name="robots" content="noindex">' in body
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert page.headers["Cache-Control"] == "no-store"
    # The issuer's published keys and revocation list, for software.
    assert "/issuers/north-college/jwks.json" in body
    assert "/issuers/north-college/status/revocation" in body


def test_the_page_states_the_snapshot_not_the_live_rows(app, session, client, world, issued):
    world.candidate.name = "Someone Else"
    world.provider.name = "Renamed College"
    world.unit.title = "A different title"
    session.commit()
    body = text(page_of(client, issued))
    assert "Chen Candidate" in body and "North College" in body
    assert issued.snapshot["units"][0]["title"] in body
    assert "Someone Else" not in body and "Renamed College" not in body
    assert "A different title" not in body


def test_a_qualification_shows_its_title_level_units_and_signatory(app, session, client, world,
                                                                   issue):
    second = make_unit(session, world.unit.framework_id, "TST401A", "Second unit", 4, 6)
    qualification = make_qualification(session, world.provider, world.unit.framework_id,
                                       "CERT-SEC", "Certificate in Security", 4,
                                       [world.unit, second], validity_months=36)
    with app.app_context():
        achieve(session, world.provider, world.candidate, second, world.assessor,
                admin=world.admin)
        session.commit()
    certificate = issue(world, qualification=qualification)
    body = text(page_of(client, certificate))
    assert "Certificate in Security" in body and "(CERT-SEC)" in body
    assert "HKQF Level 4" in body
    assert "ITCSCR405A" in body and "TST401A" in body and "Second unit" in body
    assert '<td class="num">9</td>' in body  # total credits
    signatory = certificate.snapshot["signatory"]
    if signatory.get("name"):
        assert signatory["name"] in body
    from certify.certificates.views.verify import long_date

    with app.app_context():
        assert f"valid until {long_date(certificate.expires_on)}" in body


def test_an_unknown_or_malformed_code_is_a_not_found_page(client):
    for code in ("A" * 32, "x", "a" * 65, "A" * 31 + "."):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404, code
        assert "No certificate has this verification address" in text(response)
        assert '<meta name="robots" content="noindex">' in text(response)


# --- Revocation, reissue, expiry ---------------------------------------------------

def test_revoking_shows_at_once_with_reason_and_date(app, session, client, world, issued):
    assert "Status: </span>Valid" in text(page_of(client, issued))
    revoke(app, session, world, issued)
    body = text(page_of(client, issued))
    from certify.certificates.views.verify import long_date

    assert f"Status: </span>Revoked on {long_date(issued.revoked_at)}" in body
    assert REASON in body
    assert "verdict--bad" in body and "no longer valid" in body
    data = client.get(f"/verify/{issued.verification_code}.json").get_json()
    assert data["status"] == data["standing"] == "revoked"
    assert data["revocation_reason"] == REASON
    assert data["revoked_at"].startswith(issued.revoked_at.date().isoformat())


def test_a_reissued_certificate_points_to_its_replacement(app, session, client, world, issued):
    newer = reissue(app, session, world, issued)
    body = text(page_of(client, issued))
    assert f"Status: </span>Superseded by {newer.number}" in body
    assert f'href="/verify/{newer.verification_code}"' in body
    assert "verdict--warning" in body
    newer_page = text(page_of(client, newer))
    assert "Status: </span>Valid" in newer_page and "Chen Tai Man" in newer_page
    assert issued.number in newer_page  # "Replaces"
    data = client.get(f"/verify/{issued.verification_code}.json").get_json()
    assert data["standing"] == "superseded"
    assert data["superseded_by"]["number"] == newer.number
    assert data["superseded_by"]["verification_url"].endswith(
        f"/verify/{newer.verification_code}")
    assert client.get(f"/verify/{newer.verification_code}.json").get_json()["replaces"] == \
        issued.number


def test_an_expired_certificate_says_so(app, session, client, world, issued):
    issued.expires_on = utcnow().date() - timedelta(days=3)
    session.commit()
    body = text(page_of(client, issued))
    from certify.certificates.views.verify import long_date

    assert f"Status: </span>Expired on {long_date(issued.expires_on)}" in body
    assert "it has expired" in body
    data = client.get(f"/verify/{issued.verification_code}.json").get_json()
    assert data["status"] == "valid" and data["standing"] == "expired"
    assert data["expires_on"] == issued.expires_on.isoformat()


# --- JSON ---------------------------------------------------------------------------

def test_the_json_answer_for_machines(app, client, world, issued):
    response = client.get(f"/verify/{issued.verification_code}.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    s = issued.snapshot
    assert data["status"] == data["standing"] == "valid"
    assert data["number"] == issued.number
    assert data["kind"] == "statement_of_attainment"
    assert data["issued_on"] == s["issued_on"] and data["achieved_on"] == s["achieved_on"]
    assert data["expires_on"] is None and data["revoked_at"] is None
    assert data["revocation_reason"] is None and data["superseded_by"] is None
    assert data["candidate"] == {"name": "Chen Candidate"}
    assert data["provider"]["name"] == "North College"
    assert data["provider"]["url"].endswith("/issuers/north-college")
    assert data["provider"]["id"].startswith("did:web:")
    assert data["qualification"] is None
    assert [u["code"] for u in data["units"]] == ["ITCSCR405A"]
    frozen = s["units"][0]
    assert data["units"][0] == {key: frozen[key] for key in (
        "code", "title", "version", "level", "credits", "framework", "framework_name",
        "case_item", "achieved_on")}
    assert data["units"][0]["level"] == 4
    assert data["total_credits"] == s["total_credits"]
    assert data["verification_url"] == s["verification_url"]
    assert data["credential_status"]["status_list_url"].endswith(
        "/issuers/north-college/status/revocation")
    assert data["credential_status"]["status_list_index"] == issued.status_index
    # The same answer when asked for JSON at the page's own address.
    negotiated = client.get(f"/verify/{issued.verification_code}",
                            headers={"Accept": "application/json"})
    assert negotiated.get_json() == data
    assert "Accept" in negotiated.headers["Vary"]
    html = client.get(f"/verify/{issued.verification_code}",
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert html.mimetype == "text/html"


def test_an_unknown_code_as_json_is_404(client):
    response = client.get(f"/verify/{'B' * 32}.json")
    assert response.status_code == 404
    assert response.get_json()["status"] == "unknown"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- PDF ----------------------------------------------------------------------------

def test_the_genuine_pdf_is_genuine(app, client, world, issued):
    response = drop_pdf(client, pdf_bytes(app, issued))
    assert response.status_code == 200
    body = text(response)
    from certify.certificates.views.verify import long_date

    assert "Result: </span>Genuine</h2>" in body
    assert (f"Genuine: Statement of attainment, issued by North College on "
            f"{long_date(issued.snapshot['issued_on'])} to Chen Candidate, number "
            f"{issued.number}.") in body
    assert "Status: </span>Valid" in body
    assert f'href="/verify/{issued.verification_code}"' in body
    assert response.headers["Cache-Control"] == "no-store"


def test_a_genuine_pdf_of_a_revoked_certificate_says_revoked(app, session, client, world,
                                                            issued):
    revoke(app, session, world, issued)
    body = text(drop_pdf(client, pdf_bytes(app, issued)))
    assert "Result: </span>Genuine, but revoked</h2>" in body
    assert 'class="verdict verdict--bad" aria-labelledby="pdf-verdict"' in body
    assert "Status: </span>Revoked on" in body and REASON in body


def test_a_pdf_with_one_byte_changed_is_altered(app, client, world, issued):
    data = bytearray(pdf_bytes(app, issued))
    # A byte inside the first content stream: the file still parses, the signature breaks.
    at = data.index(b"stream", 200) + 40
    data[at] = (data[at] + 1) % 256
    response = drop_pdf(client, bytes(data))
    assert response.status_code == 200
    body = text(response)
    assert "Result: </span>Altered</h2>" in body
    assert "verdict--bad" in body and issued.number in body


def test_an_unrelated_pdf_is_not_from_this_register(app, client):
    other = render_pdf("<html><body><p>A certificate from somewhere else</p></body></html>")
    body = text(drop_pdf(client, other, "elsewhere.pdf"))
    assert "Result: </span>Not issued by this register</h2>" in body
    assert "elsewhere.pdf" in body


def test_a_png_named_pdf_is_unreadable(client):
    body = text(drop_pdf(client, png(), "photo.pdf"))
    assert "Result: </span>Not a readable PDF</h2>" in body
    assert "not a PDF" in body


def test_an_empty_or_missing_upload_is_refused_with_a_message(client):
    response = drop_pdf(client, b"", "empty.pdf")
    assert response.status_code == 422
    assert "empty.pdf is empty (0 bytes)" in text(response)
    missing = client.post("/verify/pdf", data={"csrf_token": token(client)},
                          content_type="multipart/form-data")
    assert missing.status_code == 422
    assert "Choose the certificate&#39;s PDF file" in text(missing)


def test_a_pdf_over_the_limit_is_refused(client):
    response = drop_pdf(client, b"%PDF-1.7\n" + b"0" * PDF_MAX_BYTES, "huge.pdf")
    assert response.status_code == 413
    assert "huge.pdf is 20.0 MB" in text(response) and "not checked" in text(response)
    # Far over: refused from the request's length before the body is read.
    far = drop_pdf(client, b"0" * (PDF_MAX_BYTES + 200_000), "far.pdf")
    assert far.status_code == 413
    assert "larger than 20.0 MB is not checked" in text(far)


# --- Credentials -------------------------------------------------------------------

def test_a_pasted_or_dropped_credential_is_checked(app, session, client, world, issued):
    pasted = client.post("/verify/credential",
                         data={"csrf_token": token(client), "credential": issued.credential})
    assert pasted.status_code == 200
    body = text(pasted)
    assert "Result: </span>Valid</h2>" in body and "verdict--good" in body
    assert issued.number in body and "Chen Candidate" in body
    dropped = post_files(client, "/verify/credential", {
        "csrf_token": token(client), "credential_file": (issued.credential.encode(),
                                                         "credential.jwt")})
    assert "Result: </span>Valid</h2>" in text(dropped)

    revoke(app, session, world, issued)
    after = text(client.post("/verify/credential",
                             data={"csrf_token": token(client), "credential": issued.credential}))
    assert "Result: </span>Revoked</h2>" in after and REASON in after
    assert "Status: </span>Revoked on" in after
    dropped = text(post_files(client, "/verify/credential", {
        "csrf_token": token(client),
        "credential_file": (b"\xef\xbb\xbf" + issued.credential.encode() + b"\n",
                            "credential.jwt")}))
    assert "Result: </span>Revoked</h2>" in dropped


def test_garbage_is_not_a_credential(client):
    body = text(client.post("/verify/credential",
                            data={"csrf_token": token(client), "credential": "hello there"}))
    assert "Result: </span>Not a credential</h2>" in body
    assert "three parts separated by dots" in body


@pytest.mark.parametrize(("data", "status", "message"), [
    ({}, 422, "Paste the credential (a long text"),
    ({"credential": "a.b.c", "credential_file": (b"a.b.c", "c.jwt")}, 422, "not both"),
    ({"credential_file": (b"", "empty.jwt")}, 422, "empty.jwt is empty"),
    ({"credential_file": (b"\xff\xfe\x00binary", "photo.jwt")}, 422,
     "photo.jwt is not a text file"),
    ({"credential_file": (b"a" * (CREDENTIAL_MAX_BYTES + 1), "big.jwt")}, 413,
     "big.jwt is 1.0 MB"),
])
def test_bad_credential_input_is_explained(client, data, status, message):
    response = post_files(client, "/verify/credential", {"csrf_token": token(client), **data})
    assert response.status_code == status
    assert message in text(response)


# --- Safety -------------------------------------------------------------------------

def test_markup_in_a_name_is_shown_as_text(app, client, world, issue):
    certificate = issue(world, name="Chen <script>alert(1)</script>")
    for response in (page_of(client, certificate),
                     drop_pdf(client, pdf_bytes(app, certificate)),
                     client.post("/verify/credential", data={
                         "csrf_token": token(client), "credential": certificate.credential})):
        body = text(response)
        assert "Chen &lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<script>alert(1)" not in body
    data = client.get(f"/verify/{certificate.verification_code}.json").get_json()
    assert data["candidate"]["name"] == "Chen <script>alert(1)</script>"


def test_posting_without_the_csrf_token_is_refused(client, world, issued):
    assert post_files(client, "/verify/pdf", {"pdf": (b"%PDF", "a.pdf")}).status_code == 400
    assert client.post("/verify/credential",
                       data={"credential": issued.credential}).status_code == 400


def test_the_certificate_page_costs_the_same_queries_however_many_units(
        app, session, client, world, issued, issue, count_queries):
    units = [make_unit(session, world.unit.framework_id, f"TST40{n}A", f"Unit {n}", 4, 3)
             for n in range(1, 5)]
    with app.app_context():
        for unit in units:
            achieve(session, world.provider, world.candidate, unit, world.assessor,
                    admin=world.admin)
        session.commit()
    larger = issue(world)
    assert len(larger.snapshot["units"]) == 4
    with count_queries() as one:
        assert page_of(client, issued).status_code == 200
    with count_queries() as four:
        assert page_of(client, larger).status_code == 200
    assert four.count == one.count <= 3


def test_the_verification_pages_need_no_sign_in(app, client, world, issued):
    for response in (client.get("/verify"),
                     client.get(f"/verify/{issued.verification_code}"),
                     client.get(f"/verify/{issued.verification_code}.json"),
                     drop_pdf(client, pdf_bytes(app, issued))):
        assert response.status_code == 200
        assert "/login" not in response.headers.get("Location", "")
