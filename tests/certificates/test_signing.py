"""Certificate PDFs signed by their provider (PAdES), and a dropped PDF checked against the
register: genuine, altered, unknown or unreadable."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from certify.certificates import keys, signing
from certify.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    SigningKey,
)
from certify.certificates.numbering import format_number, verification_code
from certify.core import pdf as core_pdf
from certify.core.storage import key_for
from tests.certificates.test_pdf import pdf_info, render, sample_png, statement


def signed_certificate(app, session, provider, candidate, sequence: int = 1,
                       name: str = "陳大文"):
    """A certificate of ``provider`` as issuing leaves it: rendered, signed, in the register."""
    number = format_number(provider.certificate_prefix, 2026, sequence)
    code = verification_code()
    snapshot = statement(name, number=number, verification_code=code,
                         verification_url=f"http://127.0.0.1:5000/verify/{code}",
                         provider={"name": provider.name, "slug": provider.slug,
                                   "prefix": provider.certificate_prefix, "logo_key": None})
    with app.app_context():
        key = keys.signing_key(session, provider)
    signed = signing.sign_pdf(render(app, snapshot), key, number=number,
                              provider_name=provider.name)
    sha256 = hashlib.sha256(signed).hexdigest()
    certificate = Certificate(
        provider_id=provider.id, candidate_id=candidate.id, kind=CertificateKind.STATEMENT,
        number=number, year=2026, sequence=sequence, verification_code=code,
        status=CertificateStatus.VALID, snapshot=snapshot, achieved_on=date(2026, 11, 20),
        issued_at=datetime(2026, 11, 24, 19, 0, tzinfo=UTC), expires_on=None,
        pdf_key=key_for(sha256), pdf_sha256=sha256, pdf_size=len(signed),
        credential="header.payload.signature", status_index=sequence - 1,
    )
    session.add(certificate)
    session.flush()
    return SimpleNamespace(certificate=certificate, pdf=signed, key=key, number=number)


@pytest.fixture
def issued(app, session, make_provider, make_user):
    provider = make_provider("Harbour Institute 海港學院", "harbour", "HBR")
    candidate = make_user(name="陳大文")
    made = signed_certificate(app, session, provider, candidate)
    made.provider, made.candidate = provider, candidate
    return made


def check(session, data: bytes) -> signing.PdfVerdict:
    return signing.check_pdf(session, io.BytesIO(data))


def trusting(*certificates) -> ValidationContext:
    roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
             for c in certificates]
    return ValidationContext(trust_roots=roots, allow_fetching=False)


def one_byte_changed(data: bytes) -> bytes:
    """``data`` with one byte of the signed content changed (the page is 1/10^6 pt wider)."""
    at = data.index(b"595.000000]") + len(b"595.00000")
    return data[:at] + b"1" + data[at + 1:]


# --- signing -------------------------------------------------------------------------------


def test_a_signed_certificate_validates_against_the_providers_certificate(issued):
    reader = PdfFileReader(io.BytesIO(issued.pdf))
    (embedded,) = reader.embedded_signatures
    status = validate_pdf_signature(embedded, trusting(issued.key.certificate))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line
    assert embedded.field_name == "Signature"
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert embedded.docmdp_level == fields.MDPPerm.NO_CHANGES
    assert "Harbour Institute" in embedded.sig_object["/Reason"]
    assert issued.number in embedded.sig_object["/Reason"]
    assert embedded.signer_cert.subject.native["common_name"] == "Harbour Institute 海港學院"
    # Made without the network: no time-stamp token, no revocation data fetched.
    assert status.timestamp_validity is None
    assert pdf_info(issued.pdf)["Title"] == issued.number


def test_changing_one_byte_after_signing_breaks_the_signature(issued):
    changed = one_byte_changed(issued.pdf)
    (embedded,) = PdfFileReader(io.BytesIO(changed)).embedded_signatures
    status = validate_pdf_signature(embedded, trusting(issued.key.certificate))
    assert not status.intact
    assert not status.bottom_line


def test_another_key_is_not_trusted(issued):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = keys.self_signed_certificate(stranger, SimpleNamespace(name="Somebody Else"))
    (embedded,) = PdfFileReader(io.BytesIO(issued.pdf)).embedded_signatures
    status = validate_pdf_signature(embedded, trusting(other))
    assert status.intact and not status.trusted


# --- checking a dropped PDF ----------------------------------------------------------------


def test_the_issued_file_is_genuine(app, session, issued):
    verdict = check(session, issued.pdf)
    assert verdict.status == signing.GENUINE and verdict.genuine
    assert verdict.certificate.id == issued.certificate.id
    assert verdict.provider.id == issued.provider.id
    assert verdict.signature_valid is True
    assert verdict.signed_by == issued.key.row.subject
    assert verdict.sha256 == issued.certificate.pdf_sha256 and verdict.size == len(issued.pdf)
    assert verdict.message == (
        f"Genuine: this is certificate {issued.number}, issued by Harbour Institute 海港學院 on "
        "24 November 2026, exactly as issued. Its digital signature by Harbour Institute "
        "海港學院 is valid.")


def test_a_genuine_pdf_of_a_revoked_certificate_says_it_is_revoked(session, issued):
    issued.certificate.status = CertificateStatus.REVOKED
    issued.certificate.revoked_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    issued.certificate.revocation_reason = "Issued in error"
    session.flush()
    verdict = check(session, issued.pdf)
    assert verdict.status == signing.GENUINE
    assert verdict.certificate.standing() == "revoked"
    assert verdict.message.endswith("The certificate has since been revoked on 01 December 2026.")


def test_a_file_changed_after_signing_is_altered(session, issued):
    verdict = check(session, one_byte_changed(issued.pdf))
    assert verdict.status == signing.ALTERED
    assert verdict.certificate.id == issued.certificate.id
    assert verdict.claimed_number == issued.number
    assert verdict.signature_valid is False
    assert verdict.message.startswith(
        f"Altered: this file claims to be certificate {issued.number} of Harbour Institute "
        "海港學院, but it was changed after it was signed.")


def test_an_edit_saved_after_signing_is_altered(session, issued):
    # What a PDF editor does: append a revision after the signature.
    writer = IncrementalPdfFileWriter(io.BytesIO(issued.pdf))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    writer.document_meta.subject = "Distinction"
    edited = io.BytesIO()
    writer.write(edited)
    verdict = check(session, edited.getvalue())
    assert verdict.status == signing.ALTERED
    assert verdict.certificate.id == issued.certificate.id
    assert verdict.signature_valid is False
    assert "changed after it was signed" in verdict.message


def test_a_pdf_titled_with_a_registered_number_but_other_bytes_is_altered(session, issued):
    forged = core_pdf.render_pdf(
        '<!doctype html><meta charset="utf-8"><h1>陳大文</h1><p>Diploma with distinction</p>',
        landscape=True, title=issued.number)
    verdict = check(session, forged)
    assert verdict.status == signing.ALTERED
    assert verdict.certificate.id == issued.certificate.id
    assert verdict.signature_valid is None
    assert verdict.message.startswith(
        f"Altered: this file claims to be certificate {issued.number} of Harbour Institute "
        "海港學院, but it differs from what was issued.")


def test_a_pdf_signed_with_a_register_key_but_never_issued_is_altered(app, session, issued):
    unissued = format_number(issued.provider.certificate_prefix, 2026, 99)
    signed = signing.sign_pdf(core_pdf.render_pdf("<p>Certificate</p>", title=unissued),
                              issued.key, number=unissued, provider_name=issued.provider.name)
    verdict = check(session, signed)
    assert verdict.status == signing.ALTERED
    assert verdict.certificate is None and verdict.provider.id == issued.provider.id
    assert verdict.signature_valid is True
    assert verdict.message.startswith("Altered: this file claims to be a certificate of "
                                      "Harbour Institute 海港學院, but it differs")


def test_an_unrelated_pdf_is_unknown(session, issued):
    verdict = check(session, core_pdf.render_pdf("<p>A diploma from elsewhere</p>",
                                                 title="Diploma"))
    assert verdict.status == signing.UNKNOWN
    assert verdict.certificate is None
    assert verdict.message.startswith("Not issued by this register")


def test_a_pdf_signed_by_a_key_outside_the_register_is_unknown(session, issued):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    outsider = SimpleNamespace(name="Elsewhere College")
    key = keys.LoadedKey(SigningKey(kid="outside"), stranger,
                         keys.self_signed_certificate(stranger, outsider))
    other_number = format_number("ELSE", 2026, 1)
    signed = signing.sign_pdf(core_pdf.render_pdf("<p>Certificate</p>"), key,
                              number=other_number, provider_name="Elsewhere College")
    verdict = check(session, signed)
    assert verdict.status == signing.UNKNOWN
    assert verdict.claimed_number == other_number


@pytest.mark.parametrize(("make", "message"), [
    (lambda pdf: sample_png(40, 20),
     "This file is not a PDF (it is a PNG image): choose the certificate's PDF."),
    (lambda pdf: b"", "The file is empty: choose the certificate's PDF."),
    (lambda pdf: pdf[: len(pdf) // 2],
     "This file cannot be checked: it is an incomplete PDF (it has no end-of-file marker)."),
    (lambda pdf: b"%PDF-1.7\n" + b"\x00garbage " * 200 + b"\n%%EOF\n",
     "This file could not be read as a PDF: it is damaged or incomplete."),
])
def test_what_is_not_a_readable_pdf_is_unreadable(session, issued, make, message):
    verdict = check(session, make(issued.pdf))
    assert verdict.status == signing.UNREADABLE
    assert verdict.message == message
    assert verdict.certificate is None


def test_a_file_larger_than_the_limit_is_refused_unread(session, issued, monkeypatch):
    monkeypatch.setattr(signing, "MAX_PDF_BYTES", 4096)
    verdict = check(session, issued.pdf)
    assert verdict.status == signing.UNREADABLE
    assert verdict.message.startswith("The file is larger than")


class CountingStream(io.BytesIO):
    """A stream that records how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def test_the_upload_is_read_in_chunks_never_whole(session, issued):
    stream = CountingStream(issued.pdf)
    verdict = signing.check_pdf(session, stream)
    assert verdict.status == signing.GENUINE
    assert stream.asked and all(0 < size <= signing.CHUNK_SIZE for size in stream.asked)
    assert verdict.size == len(issued.pdf)


def test_each_provider_is_checked_against_its_own_keys(app, session, issued, make_provider,
                                                       make_user):
    other = make_provider("Lakeside College", "lakeside", "LAKE")
    theirs = signed_certificate(app, session, other, make_user(name="Zażółć Gęślą Jaźń"))
    mine, yours = check(session, issued.pdf), check(session, theirs.pdf)
    assert (mine.status, yours.status) == (signing.GENUINE, signing.GENUINE)
    assert (mine.provider.id, yours.provider.id) == (issued.provider.id, other.id)
    assert yours.signature_valid is True
    assert "Lakeside College" in yours.message
