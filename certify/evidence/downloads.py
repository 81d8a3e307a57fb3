"""Sending a stored file: verified against its SHA-256 first, never rendered as a page.

Views check permission and then return ``blob_response``.  Every file goes out
as an attachment with the display name RFC 6266-encoded, ``nosniff`` and a
sandboxing Content-Security-Policy; only images and PDFs may be previewed
inline.  Bytes that no longer match their hash are logged and refused with a
500 page: they are never served.
"""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, send_file

from certify.core.filetypes import PREVIEWABLE
from certify.core.storage import StorageError, current_storage
from certify.evidence.models import Blob
from certify.evidence.uploads import display_name_for

# A preview may show itself and nothing else: no script, no requests, no forms.
PREVIEW_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
DOWNLOAD_POLICY = "default-src 'none'; sandbox"
NEVER_INLINE = frozenset({"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml",
                          "application/xml"})


def blob_response(blob: Blob, display_name: str, *, preview: bool = False) -> Response:
    """The response that sends ``blob`` as ``display_name`` (inline only for a safe preview)."""
    try:
        file = current_storage().open_verified(blob.storage_key)
    except StorageError as error:
        current_app.logger.error(
            "refused to send blob %s (sha256 %s): %s", blob.id, blob.sha256, error
        )
        abort(Response(
            render_template(
                "core/error.html",
                code=500,
                title="This file cannot be sent",
                message=(
                    "The stored copy of this file does not match the fingerprint recorded "
                    "when it was uploaded, so it was not sent. The problem has been logged; "
                    "please tell your provider."
                ),
            ),
            status=500,
        ))
    inline = preview and blob.media_type in PREVIEWABLE and blob.media_type not in NEVER_INLINE
    response = send_file(
        file,
        # Werkzeug adds "; charset=utf-8" to text types: the only text accepted is UTF-8.
        mimetype=blob.media_type,
        as_attachment=not inline,
        download_name=display_name_for(display_name),
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.content_length = blob.size
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = PREVIEW_POLICY if inline else DOWNLOAD_POLICY
    # Evidence is personal: no shared cache may keep a copy.
    headers["Cache-Control"] = "private, no-store"
    if inline:
        # The preview may sit in a frame of our own pages, never anyone else's.
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
