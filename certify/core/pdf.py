"""HTML to PDF through wkhtmltopdf (via pdfkit), kept away from files and the network.

wkhtmltopdf's WebKit is old, so every document is rendered with JavaScript off,
local file access off, all traffic sent to a proxy on a closed local port, and
a time limit.  Documents must therefore carry everything inline (CSS in a
<style> element, images as data: URIs); anything they try to fetch fails.
"""

from __future__ import annotations

import shutil
import subprocess

import pdfkit

# Port 9 (discard) has nothing listening; every request through this proxy fails.
CLOSED_PROXY = "http://127.0.0.1:9"
DEFAULT_TIMEOUT = 60


class PdfError(RuntimeError):
    """wkhtmltopdf is missing, failed, or ran past its time limit."""


def wkhtmltopdf_path() -> str:
    path = shutil.which("wkhtmltopdf")
    if path is None:
        raise PdfError("wkhtmltopdf is not installed (Debian package: wkhtmltopdf)")
    return path


def hardened_options(*, landscape: bool = False, title: str | None = None) -> dict[str, str | None]:
    options: dict[str, str | None] = {
        "quiet": None,
        "encoding": "UTF-8",
        "page-size": "A4",
        "orientation": "Landscape" if landscape else "Portrait",
        "disable-javascript": None,
        "disable-local-file-access": None,
        "disable-external-links": None,
        "disable-internal-links": None,
        "proxy": CLOSED_PROXY,
        "load-error-handling": "ignore",
        "load-media-error-handling": "ignore",
        "margin-top": "15mm",
        "margin-bottom": "15mm",
        "margin-left": "15mm",
        "margin-right": "15mm",
    }
    if title:
        options["title"] = title
    return options


def render_pdf(
    html: str, *, landscape: bool = False, title: str | None = None,
    timeout: int = DEFAULT_TIMEOUT,
) -> bytes:
    """Render ``html`` (already escaped, self-contained) to PDF bytes."""
    configuration = pdfkit.configuration(wkhtmltopdf=wkhtmltopdf_path())
    command = pdfkit.PDFKit(
        html, "string", options=hardened_options(landscape=landscape, title=title),
        configuration=configuration,
    ).command()
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv built by pdfkit
            command, input=html.encode(), capture_output=True, timeout=timeout, check=False,
            env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": "/tmp"},  # noqa: S108
        )
    except subprocess.TimeoutExpired:
        raise PdfError(f"wkhtmltopdf took longer than {timeout} seconds") from None
    if not result.stdout.startswith(b"%PDF-"):
        message = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise PdfError(f"wkhtmltopdf failed (exit {result.returncode}): {message[0]}")
    return result.stdout
