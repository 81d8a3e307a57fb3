"""wkhtmltopdf renders what it is given and nothing else: no files, no network, no script."""

from __future__ import annotations

import subprocess

import pytest

from certify.core import pdf


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_renders_text_in_any_script():
    data = pdf.render_pdf(
        '<!doctype html><html lang="pl"><meta charset="utf-8"><h1>Zażółć gęślą jaźń</h1>'
        "<p>ITCSCR405A</p></html>",
        title="Unit",
    )
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Zażółć gęślą jaźń" in text
    assert "ITCSCR405A" in text


def test_no_file_network_or_script_reaches_the_pdf(watching_server):
    port, seen = watching_server
    hostile = f"""<!doctype html><meta charset="utf-8">
    <link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">
    <p>before</p>
    <iframe src="file:///etc/passwd" width="600" height="400"></iframe>
    <img src="http://127.0.0.1:{port}/pixel.png">
    <iframe src="http://127.0.0.1:{port}/frame"></iframe>
    <script>document.write("SCRIPT-RAN");
      var r = new XMLHttpRequest(); r.open("GET", "http://127.0.0.1:{port}/xhr", false); r.send();
    </script>
    <p>after</p>"""
    text = pdf_text(pdf.render_pdf(hostile))
    assert "before" in text and "after" in text
    assert seen == []
    assert "root:" not in text
    assert "SCRIPT-RAN" not in text
    assert "FETCHED-FROM-SERVER" not in text


def test_the_hardening_options_are_always_given():
    options = pdf.hardened_options()
    for flag in ("disable-javascript", "disable-local-file-access"):
        assert flag in options
    assert options["proxy"] == pdf.CLOSED_PROXY


def test_missing_wkhtmltopdf_is_named(monkeypatch):
    monkeypatch.setattr(pdf.shutil, "which", lambda _name: None)
    with pytest.raises(pdf.PdfError, match=r"wkhtmltopdf is not installed \(Debian package"):
        pdf.render_pdf("<p>x</p>")


def test_a_renderer_that_hangs_is_stopped(monkeypatch, tmp_path):
    slow = tmp_path / "slow-renderer"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setattr(pdf, "wkhtmltopdf_path", lambda: str(slow))
    with pytest.raises(pdf.PdfError, match="took longer than 1 seconds"):
        pdf.render_pdf("<p>x</p>", timeout=1)


def test_a_renderer_that_fails_is_reported(monkeypatch, tmp_path):
    broken = tmp_path / "broken-renderer"
    broken.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(pdf, "wkhtmltopdf_path", lambda: str(broken))
    with pytest.raises(pdf.PdfError, match=r"failed \(exit 3\): cannot open display"):
        pdf.render_pdf("<p>x</p>")
