"""Verification, for anyone without an account: by number, by address, by PDF, by credential.

- ``/verify``: look a certificate up by its number (a GET form), drop its PDF, or
  paste or drop its signed credential.
- ``/verify/<code>``: the certificate's standing (valid, expired, revoked with the
  reason, superseded by a newer number) and what it states, from its frozen
  snapshot only; ``/verify/<code>.json`` (or ``Accept: application/json``) says
  the same to machines.

Every answer is marked ``no-store`` (a revocation shows at once, never from a
cache) and ``noindex``.  Look-ups (by number, by address, and the PDF and
credential checks) count against ``VERIFY_PER_MINUTE`` per client address
(``certify.core.ratelimit``); the blank form does not.  Uploaded files are read
from where Werkzeug spooled them and never stored.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Any

from flask import (
    Response,
    abort,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from certify.certificates import bp, credentials, signing, status_list
from certify.certificates.forms.verify import (
    CREDENTIAL_MAX_BYTES,
    PDF_MAX_BYTES,
    CredentialForm,
    NumberForm,
    PdfForm,
    megabytes,
    shown_name,
)
from certify.certificates.models import Certificate
from certify.certificates.snapshot import verification_url
from certify.core import ratelimit
from certify.extensions import db

SCOPE = "verify"
LIMIT_SETTING = "VERIFY_PER_MINUTE"
# Request bodies these routes accept, refused before anything reads them: the file, plus
# room for the multipart boundaries, the CSRF token and (credentials) pasted text.
FORM_OVERHEAD = 64 * 1024
BODY_LIMITS = {
    "certificates.verify_pdf": (PDF_MAX_BYTES, "a PDF"),
    "certificates.verify_credential": (2 * CREDENTIAL_MAX_BYTES, "a credential"),
}
# Verification codes are secrets.token_urlsafe(24): 32 characters of base64url.  Anything
# else is answered "not found" without a database look-up.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

PDF_HEADLINES = {
    "genuine": "Genuine",
    "altered": "Altered",
    "unknown": "Not issued by this register",
    "unreadable": "Not a readable PDF",
}
CREDENTIAL_HEADLINES = {
    "valid": "Valid",
    "revoked": "Revoked",
    "superseded": "Superseded",
    "expired": "Expired",
    "bad-signature": "Signature does not match",
    "unknown-issuer": "Not issued by this register",
    "malformed": "Not a credential",
}
# How each outcome is coloured (always beside its words, never instead of them).
TONES = {
    "genuine": "good", "valid": "good",
    "expired": "warning", "superseded": "warning",
    "revoked": "bad", "altered": "bad", "bad-signature": "bad",
    "unknown": "bad", "unknown-issuer": "bad", "unreadable": "neutral", "malformed": "neutral",
}


def long_date(value: date | datetime | str | None) -> str:
    """``2026-11-24`` (or a date, or a datetime, read in UTC) as ``24 November 2026``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {value:%B} {value.year}"


def issuer_links(certificate: Certificate) -> dict[str, str]:
    """Where machines find the issuer: its profile, keys (JWKS, DID) and revocation list."""
    slug = certificate.provider.slug
    profile = credentials.issuer_profile_url(slug)
    return {
        "profile": profile,
        "did": credentials.did_for_slug(slug),
        "did_document": f"{profile}/did.json",
        "jwks": f"{profile}/jwks.json",
        "status_list": status_list.list_url(slug),
    }


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"certificates/verify/{template}", long_date=long_date,
                           tones=TONES, **context), status


def wants_json() -> bool:
    if request.endpoint == "certificates.verify_certificate_json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def machine(payload: dict[str, Any], status: int = 200) -> Response:
    """JSON for machines: public data, so any origin may read it."""
    response = jsonify(payload)
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


def refused(decision: ratelimit.Decision) -> Response:
    message = (f"Too many checks from your address: at most {decision.limit} a minute. "
               f"Try again in {decision.retry_after} seconds.")
    if wants_json():
        response = machine({"status": "rate-limited", "message": message,
                            "retry_after": decision.retry_after}, 429)
    else:
        response = make_response(render("too_many.html", 429, decision=decision))
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


def verification(view):
    """Public verification: the rate limit on look-ups, and headers every answer carries."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        lookup = request.endpoint != "certificates.verify" or "number" in request.args
        decision = ratelimit.hit(SCOPE, LIMIT_SETTING) if lookup else None
        if decision is not None and not decision.allowed:
            response = refused(decision)
        else:
            response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        if request.endpoint == "certificates.verify_certificate":
            response.vary.add("Accept")
        return response

    return wrapped


@bp.url_value_preprocessor
def _limit_verification_bodies(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before anything reads the body (the CSRF check parses the form), so an upload
    # far too large is refused from its Content-Length, and one without a length stops
    # being read at the limit.
    if endpoint not in BODY_LIMITS:
        return
    limit, what = BODY_LIMITS[endpoint]
    request.max_content_length = limit + FORM_OVERHEAD
    request.max_form_memory_size = CREDENTIAL_MAX_BYTES + FORM_OVERHEAD
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        message = (f"The upload is {megabytes(request.content_length)}; {what} larger than "
                   f"{megabytes(limit)} is not checked here.")
        response = make_response(render("index.html", 413, **forms(), refusal=message))
        response.headers["Cache-Control"] = "no-store"
        abort(response)


def forms(**given: Any) -> dict[str, Any]:
    """The three forms of /verify, the posted one given (with its errors)."""
    return {
        "number_form": given.get("number_form") or NumberForm(formdata=None),
        "pdf_form": given.get("pdf_form") or PdfForm(formdata=None),
        "credential_form": given.get("credential_form") or CredentialForm(formdata=None),
    }


def find_certificate(**criteria: Any) -> Certificate | None:
    return db.session.scalar(
        select(Certificate)
        .options(joinedload(Certificate.provider), joinedload(Certificate.superseded_by))
        .filter_by(**criteria)
    )


@bp.get("/verify")
@verification
def verify():
    """Anyone: look a certificate up by its number, or check its PDF or credential."""
    if "number" not in request.args:
        return render("index.html", **forms())
    form = NumberForm(formdata=request.args)
    if not form.validate():
        return render("index.html", 422, **forms(number_form=form))
    certificate = find_certificate(number=form.normalised)
    if certificate is None:
        form.number.errors.append(
            f"No certificate with number {form.normalised} is in this register. Check the "
            "number on the certificate, or ask its holder for the verification address.")
        return render("index.html", 404, **forms(number_form=form))
    return redirect(url_for("certificates.verify_certificate",
                            code=certificate.verification_code), 303)


@bp.post("/verify/pdf")
@verification
def verify_pdf():
    """Anyone: check a dropped PDF's fingerprint and signature against the register."""
    form = PdfForm()
    if not form.validate_on_submit():
        return render("index.html", 413 if form.too_large else 422, **forms(pdf_form=form))
    upload = form.pdf.data
    verdict = signing.check_pdf(db.session, upload.stream)
    headline = PDF_HEADLINES.get(verdict.status, verdict.status)
    tone = TONES.get(verdict.status, "neutral")
    certificate = verdict.certificate
    if verdict.status == "genuine" and certificate is not None:
        # The file is the one issued, but what counts is the certificate's standing now.
        standing = certificate.standing()
        if standing != "valid":
            headline, tone = f"Genuine, but {standing}", TONES[standing]
    return render("pdf_result.html", verdict=verdict, filename=shown_name(upload),
                  headline=headline, tone=tone, certificate=certificate)


@bp.post("/verify/credential")
@verification
def verify_credential():
    """Anyone: check a pasted or dropped credential's signature and status."""
    form = CredentialForm()
    if not form.validate_on_submit():
        return render("index.html", 413 if form.too_large else 422,
                      **forms(credential_form=form))
    verdict = credentials.check_credential(db.session, form.text)
    return render("credential_result.html", verdict=verdict,
                  headline=CREDENTIAL_HEADLINES.get(verdict.status, verdict.status),
                  tone=TONES.get(verdict.status, "neutral"), certificate=verdict.certificate)


def certificate_or_none(code: str) -> Certificate | None:
    if not CODE_PATTERN.fullmatch(code):
        return None
    return find_certificate(verification_code=code)


NOT_FOUND = ("No certificate has this verification address. Check that the whole address "
             "was copied, or look the certificate up by its number.")


@bp.get("/verify/<code>")
@verification
def verify_certificate(code: str):
    """Anyone: a certificate's standing and what it states (JSON when asked for)."""
    certificate = certificate_or_none(code)
    if wants_json():
        return certificate_answer(certificate)
    if certificate is None:
        return render("not_found.html", 404, message=NOT_FOUND, **forms())
    return render("certificate.html", certificate=certificate, s=certificate.snapshot,
                  standing=certificate.standing(), newer=certificate.superseded_by,
                  links=issuer_links(certificate))


@bp.get("/verify/<code>.json")
@verification
def verify_certificate_json(code: str):
    """Anyone: a certificate's standing and what it states, as JSON."""
    return certificate_answer(certificate_or_none(code))


def certificate_answer(certificate: Certificate | None) -> Response:
    if certificate is None:
        return machine({"status": "unknown", "message": NOT_FOUND}, 404)
    return machine(certificate_json(certificate))


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def certificate_json(certificate: Certificate) -> dict[str, Any]:
    """What the verification page says, for machines: the standing from the register, the
    rest from the snapshot frozen at issue."""
    s = certificate.snapshot
    newer = certificate.superseded_by
    links = issuer_links(certificate)
    return {
        "status": certificate.status.value,
        "standing": certificate.standing(),
        "number": certificate.number,
        "kind": s["kind"],
        "kind_label": s.get("kind_label"),
        "verification_url": verification_url(certificate.verification_code),
        "issued_on": s["issued_on"],
        "issued_at": s.get("issued_at"),
        "achieved_on": s["achieved_on"],
        "expires_on": certificate.expires_on.isoformat() if certificate.expires_on else None,
        "revoked_at": _iso(certificate.revoked_at),
        "revocation_reason": certificate.revocation_reason,
        "superseded_by": None if newer is None else {
            "number": newer.number,
            "verification_url": verification_url(newer.verification_code),
        },
        "superseded_at": _iso(certificate.superseded_at),
        "replaces": s.get("replaces"),
        "candidate": {"name": s["candidate"]["name"]},
        "provider": {"name": s["provider"]["name"], "id": links["did"],
                     "url": links["profile"]},
        "qualification": s.get("qualification"),
        "units": [{key: unit.get(key) for key in (
            "code", "title", "version", "level", "credits", "framework", "framework_name",
            "case_item", "achieved_on")} for unit in s["units"]],
        "total_credits": s["total_credits"],
        "signatory": s.get("signatory"),
        "credential_status": {
            "type": "BitstringStatusListEntry",
            "status_purpose": "revocation",
            "status_list_url": links["status_list"],
            "status_list_index": certificate.status_index,
        },
        "issuer_keys": {"jwks": links["jwks"], "did_document": links["did_document"]},
    }
