"""Certificate PDFs signed by their provider (PAdES), and checking a PDF someone drops on /verify.

``sign_pdf`` adds a certification signature (PAdES baseline, no changes
allowed afterwards) made with the provider's signing key, so a PDF reader
shows the document as certified by the provider and unaltered since issue.
Nothing is fetched from the network: no time-stamp server, no revocation
look-ups (the signing time is the signer's own, and the register is the
authority on revocation).

``check_pdf`` answers, for any uploaded file, whether it is a certificate of
this register exactly as issued ("genuine"), a certificate of this register
changed since ("altered"), something this register did not issue ("unknown"),
or not a readable PDF at all ("unreadable").  The register's own record (the
SHA-256 of every PDF it issued) decides; the embedded signature is checked
too and reported.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from certify.accounts.models import Provider
from certify.certificates import keys
from certify.certificates.models import Certificate, SigningKey
from certify.certificates.numbering import MalformedNumber, normalise_number
from certify.core import filetypes

log = logging.getLogger(__name__)

SIGNATURE_FIELD = "Signature"
# Issued certificates are a few hundred kilobytes; nothing larger is one of them.
MAX_PDF_BYTES = 20 * 1024 * 1024
CHUNK_SIZE = 256 * 1024
# Held in memory up to this size, then in a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024

GENUINE = "genuine"
ALTERED = "altered"
UNKNOWN = "unknown"
UNREADABLE = "unreadable"


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _signer(key: keys.LoadedKey) -> signers.SimpleSigner:
    certificate = _asn1_certificate(key.certificate)
    private_key = asn1_keys.PrivateKeyInfo.load(key.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return signers.SimpleSigner(
        signing_cert=certificate, signing_key=private_key,
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )


def sign_pdf(pdf: bytes, key: keys.LoadedKey, *, number: str, provider_name: str) -> bytes:
    """``pdf`` with the provider's PAdES certification signature added (no network).

    The document title is set to the certificate number (inside what is
    signed), so a copy of the file says which certificate it claims to be.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if writer.document_meta_view.title != number:
        writer.document_meta.title = number
    writer.document_meta.author = provider_name
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"Certificate {number}, issued by {provider_name}",
        location=provider_name,
        name=provider_name,
        # A certification signature: any later change shows as one in a PDF reader.
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    output = signers.sign_pdf(writer, metadata, signer=_signer(key))
    return output.getvalue()


@dataclass
class PdfVerdict:
    """What a dropped PDF is, as far as this register can tell.

    ``status`` is genuine, altered, unknown or unreadable; ``message`` says it
    in a sentence for the page.  ``certificate`` is the register's certificate
    the file is (genuine) or claims to be (altered), with its provider loaded;
    the page shows its standing (a genuine PDF of a revoked certificate is
    still revoked).  ``signature_valid`` is None when the file carries no
    signature by a key of this register.
    """

    status: str
    message: str
    sha256: str | None = None
    size: int | None = None
    certificate: Certificate | None = None
    provider: Provider | None = None
    claimed_number: str | None = None
    signature_valid: bool | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None

    @property
    def genuine(self) -> bool:
        return self.status == GENUINE


@dataclass
class _Signature:
    """An embedded signature made with one of the register's keys, and what it is worth."""

    key: SigningKey
    intact: bool
    valid: bool
    whole_file: bool
    signed_by: str
    signed_at: datetime | None

    @property
    def sound(self) -> bool:
        return self.intact and self.valid and self.whole_file


def _spool(stream: IO[bytes]) -> tuple[IO[bytes], str, int] | None:
    """Copy ``stream`` aside, hashing it on the way; None when it passes MAX_PDF_BYTES."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        size += len(chunk)
        if size > MAX_PDF_BYTES:
            spool.close()
            return None
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, digest.hexdigest(), size


def _certificate_where(session: Session, *criteria) -> Certificate | None:
    return session.scalars(
        select(Certificate).where(*criteria)
        .options(joinedload(Certificate.provider), joinedload(Certificate.superseded_by))
        .limit(1)
    ).first()


def _trust(session: Session, provider_id: int, moment: datetime | None) -> ValidationContext:
    rows = session.scalars(select(SigningKey).where(SigningKey.provider_id == provider_id))
    roots = [asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(row.certificate_pem.encode())
        .public_bytes(serialization.Encoding.DER)) for row in rows]
    # The register is the authority on revocation; nothing is fetched.
    return ValidationContext(trust_roots=roots, allow_fetching=False, moment=moment,
                             revocation_mode="soft-fail")


def _register_signature(session: Session, embedded: EmbeddedPdfSignature,
                        moment: datetime | None = None) -> _Signature | None:
    """Check ``embedded`` when one of the register's keys made it; None otherwise."""
    try:
        public_key = x509.load_der_x509_certificate(embedded.signer_cert.dump()).public_key()
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(public_key, rsa.RSAPublicKey):
        return None
    row = session.scalars(select(SigningKey).where(
        SigningKey.kid == keys.thumbprint(public_key))).first()
    if row is None:
        return None
    signed_at = embedded.self_reported_timestamp
    try:
        status = validate_pdf_signature(
            embedded, _trust(session, row.provider_id, moment or signed_at))
    except Exception:  # a damaged signature is an invalid one, whatever pyHanko raises
        log.info("signature by key %s could not be validated", row.kid, exc_info=True)
        return _Signature(row, False, False, False, row.subject, signed_at)
    return _Signature(
        row, intact=status.intact, valid=status.valid and status.trusted,
        whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signed_by=row.subject, signed_at=signed_at,
    )


def _title(reader: PdfFileReader) -> str | None:
    try:
        title = reader.document_meta_view.title
    except (PdfError, ValueError, KeyError, TypeError):
        return None
    return str(title) if title else None


def _claimed_number(title: str | None) -> str | None:
    if not title:
        return None
    try:
        return normalise_number(title)
    except MalformedNumber:
        return None


def _issued(certificate: Certificate) -> str:
    return (f"certificate {certificate.number}, issued by {certificate.provider.name} on "
            f"{certificate.issued_at:%d %B %Y}")


def _standing_note(certificate: Certificate) -> str:
    standing = certificate.standing()
    if standing == "revoked":
        when = f" on {certificate.revoked_at:%d %B %Y}" if certificate.revoked_at else ""
        return f" The certificate has since been revoked{when}."
    if standing == "superseded":
        newer = certificate.superseded_by.number if certificate.superseded_by else "a newer one"
        return f" The certificate has since been replaced by {newer}."
    if standing == "expired":
        return f" The certificate expired on {certificate.expires_on:%d %B %Y}."
    return ""


def _genuine(session: Session, spool: IO[bytes], certificate: Certificate,
             sha256: str, size: int) -> PdfVerdict:
    signature = None
    try:
        reader = PdfFileReader(spool, strict=False)
        for embedded in reader.embedded_signatures:
            found = _register_signature(session, embedded, certificate.issued_at)
            if found is not None and found.key.provider_id == certificate.provider_id:
                signature = found
                break
    except (PdfError, ValueError, KeyError, TypeError, OSError):
        log.warning("registered PDF %s could not be parsed", sha256, exc_info=True)
    message = f"Genuine: this is {_issued(certificate)}, exactly as issued."
    if signature is not None and signature.sound:
        message += f" Its digital signature by {certificate.provider.name} is valid."
    else:
        message += " Its digital signature could not be confirmed, but the register " \
                   "holds this exact file."
    return PdfVerdict(
        GENUINE, message + _standing_note(certificate), sha256, size, certificate,
        certificate.provider, certificate.number,
        signature_valid=signature.sound if signature else None,
        signed_by=signature.signed_by if signature else None,
        signed_at=signature.signed_at if signature else None,
    )


def check_pdf(session: Session, stream: IO[bytes]) -> PdfVerdict:
    """Check a PDF against the register (see the module's description).

    Reads ``stream`` once in chunks (hashing as it goes, at most MAX_PDF_BYTES)
    and never raises for what the file contains: a file that is not a PDF, is
    damaged or is too large gets the status "unreadable" and a message saying so.
    """
    spooled = _spool(stream)
    if spooled is None:
        return PdfVerdict(UNREADABLE, f"The file is larger than {MAX_PDF_BYTES // 2**20} MB, "
                          "so it is not a certificate issued here; it was not checked.")
    spool, sha256, size = spooled
    with spool:
        certificate = _certificate_where(session, Certificate.pdf_sha256 == sha256)
        if certificate is not None:
            return _genuine(session, spool, certificate, sha256, size)
        if size == 0:
            return PdfVerdict(UNREADABLE, "The file is empty: choose the certificate's PDF.",
                              sha256, size)
        try:
            kind = filetypes.detect(spool)
        except filetypes.Refused as refused:
            return PdfVerdict(UNREADABLE, f"This file cannot be checked: it {refused.reason}.",
                              sha256, size)
        if kind != filetypes.PDF:
            return PdfVerdict(UNREADABLE, f"This file is not a PDF (it is a {kind.label}): "
                              "choose the certificate's PDF.", sha256, size)
        spool.seek(0)
        try:
            reader = PdfFileReader(spool, strict=False)
            title = _title(reader)
            signatures = [found for embedded in reader.embedded_signatures
                          if (found := _register_signature(session, embedded)) is not None]
        except (PdfError, ValueError, KeyError, TypeError, IndexError, OSError):
            return PdfVerdict(UNREADABLE, "This file could not be read as a PDF: it is damaged "
                              "or incomplete.", sha256, size)
        return _not_registered(session, sha256, size, _claimed_number(title), signatures)


def _not_registered(session: Session, sha256: str, size: int, number: str | None,
                    signatures: list[_Signature]) -> PdfVerdict:
    """A readable PDF that the register did not issue: altered, or unknown."""
    signature = signatures[0] if signatures else None
    claimed = _certificate_where(session, Certificate.number == number) if number else None
    if signature is not None and claimed is not None and \
            claimed.provider_id != signature.key.provider_id:
        # The title names another provider's certificate: go by the key that signed.
        claimed = None
    if signature is None and claimed is None:
        return PdfVerdict(UNKNOWN, "Not issued by this register: no certificate issued here "
                          "is this file.", sha256, size, claimed_number=number)
    provider = claimed.provider if claimed is not None else \
        session.get(Provider, signature.key.provider_id)
    what = (f"certificate {claimed.number} of {claimed.provider.name}" if claimed
            else f"a certificate of {provider.name}")
    if signature is not None and not signature.sound:
        message = (f"Altered: this file claims to be {what}, but it was changed after "
                   "it was signed. Ask the holder for the original file or check the "
                   "certificate by its number.")
    else:
        message = (f"Altered: this file claims to be {what}, but it differs from what was "
                   "issued. Ask the holder for the original file or check the certificate "
                   "by its number.")
    return PdfVerdict(
        ALTERED, message, sha256, size, claimed, provider, number,
        signature_valid=signature.sound if signature else None,
        signed_by=signature.signed_by if signature else None,
        signed_at=signature.signed_at if signature else None,
    )
