"""A certificate's PDF: HTML from its snapshot, rendered by wkhtmltopdf (hardened).

``certificate_html`` needs the application (templates, storage); the HTML it
returns carries everything inline (style, logo and QR code as data: URIs) and
every piece of candidate text escaped, so ``render_certificate`` and
``render_many`` can run anywhere, in any thread, without a database or an
application context: the work happens in wkhtmltopdf subprocesses.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import segno
from flask import current_app

from certify.core.pdf import render_pdf
from certify.core.storage import current_storage

TEMPLATE = "certificates/pdf/certificate.html"
# A statement lists its units on the face when they fit there; more units, or
# very long titles, go on a schedule overleaf so the face never overflows.
FACE_UNITS = 4
FACE_TITLE_CHARACTERS = 240
# A logo larger than this is not a logo; it would only bloat every PDF.
LOGO_MAX_BYTES = 2 * 1024 * 1024
_IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def long_date(iso: str | None) -> str:
    """``2026-11-24`` as ``24 November 2026`` (the same in every locale)."""
    if not iso:
        return ""
    day = date.fromisoformat(iso[:10])
    return f"{day.day} {day:%B} {day.year}"


def qr_data_uri(url: str) -> str:
    """The QR code of ``url`` as an SVG data: URI (vector, so it prints sharp at any size)."""
    return segno.make(url, error="m", micro=False).svg_data_uri(
        scale=4, border=0, dark="#111111", light=None)


def _size_class(text: str, long: int, very_long: int) -> str:
    if len(text) > very_long:
        return "very-long"
    return "long" if len(text) > long else ""


def certificate_html(snapshot: dict[str, Any], logo_data_uri: str | None = None) -> str:
    """The certificate's HTML document (needs an application context, not a request).

    Autoescaped like every .html template: all candidate text is printed as text.
    """
    units = [{**unit, "achieved": long_date(unit.get("achieved_on"))}
             for unit in snapshot.get("units") or []]
    qualification = snapshot.get("qualification")
    on_face = qualification is None and len(units) <= FACE_UNITS and \
        sum(len(u.get("title") or "") for u in units) <= FACE_TITLE_CHARACTERS
    # Straight from the environment, not render_template: the context processors
    # of web pages need a request, and a PDF rendered by a job has none.
    return current_app.jinja_env.get_template(TEMPLATE).render(
        s=snapshot,
        qualification=qualification,
        units=units,
        units_on_face=on_face,
        # A qualification's transcript, or the schedule of a long statement.
        second_page=qualification is not None or not on_face,
        logo=logo_data_uri,
        qr=qr_data_uri(snapshot["verification_url"]),
        achieved_on=long_date(snapshot.get("achieved_on")),
        issued_on=long_date(snapshot.get("issued_on")),
        expires_on=long_date(snapshot.get("expires_on")),
        name_size=_size_class(snapshot["candidate"]["name"], 28, 60),
        title_size=_size_class((qualification or {}).get("title") or "", 60, 120),
    )


def render_certificate(html: str, *, title: str) -> bytes:
    """The PDF of ``html`` (A4 landscape, ``title`` as its metadata title).

    Thread-safe and free of the application: wkhtmltopdf runs as a subprocess.
    Raises certify.core.pdf.PdfError.
    """
    return render_pdf(html, landscape=True, title=title)


def _render_one(document: tuple[str, str]) -> bytes | Exception:
    html, title = document
    try:
        return render_certificate(html, title=title)
    except Exception as error:  # the caller fails only this certificate
        return error


def render_many(documents: list[tuple[str, str]], processes: int) -> list[bytes | Exception]:
    """Render (html, title) pairs, ``processes`` wkhtmltopdf processes at a time.

    Results come in the order of ``documents``; a document that fails has its
    exception in its place, so one bad certificate does not stop the others.
    """
    if not documents:
        return []
    workers = max(1, min(processes, len(documents)))
    if workers == 1:
        return [_render_one(document) for document in documents]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
        return list(pool.map(_render_one, documents))


def image_data_uri(data: bytes) -> str | None:
    """``data`` as a data: URI when it is a PNG or a JPEG (by its bytes), else None."""
    for signature, media_type in _IMAGE_TYPES:
        if data.startswith(signature):
            return f"data:{media_type};base64,{base64.b64encode(data).decode()}"
    return None


def logo_data_uri(provider_logo_key: str | None) -> str | None:
    """The provider's stored logo as a data: URI, or None without a usable logo.

    The stored bytes are verified against their SHA-256 (a changed file raises
    certify.core.storage.TamperedFile rather than being printed).
    """
    if not provider_logo_key:
        return None
    with current_storage().open_verified(provider_logo_key) as file:
        data = file.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        return None
    return image_data_uri(data)
