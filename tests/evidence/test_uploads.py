"""Receiving uploads and sending them back: the hostile corpus, dedupe, quota, clean-up.

Every case compares the Blob rows and the storage folder before and after: a
refused upload changes nothing, and an accepted one is undone completely when
its transaction rolls back.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wsgi import LimitedStream

from certify.core.storage import current_storage
from certify.evidence.downloads import PREVIEW_POLICY, blob_response
from certify.evidence.models import Blob, EvidenceFile, EvidenceItem, EvidenceKind
from certify.evidence.uploads import (
    QuotaExceeded,
    ScannerUnavailable,
    UploadError,
    UploadInterrupted,
    UploadRefused,
    UploadTooLarge,
    display_name_for,
    receive_upload,
)
from tests.core.test_clamd import FakeClamd, free_port_url
from tests.evidence.hostile import EICAR, HOSTILE, PDF_BYTES, VALID, build, jpeg, png


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(autouse=True)
def own_temp_folder(tmp_path, monkeypatch):
    """Spool files go to a folder of this test's own, so leftovers can be counted."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))


def snapshot(app, session) -> tuple[set[str], set[str], set[str]]:
    """Blob rows, stored files (the incoming folder included) and leftover spool files."""
    session.expire_all()
    rows = set(session.scalars(select(Blob.sha256)))
    root = Path(app.instance_path) / "blobs"
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} \
        if root.exists() else set()
    spools = {p.name for p in Path(tempfile.gettempdir()).glob("certify-upload-*")}
    return rows, files, spools


def upload(app, session, candidate, provider, data_or_stream, name="file.bin") -> Blob:
    stream = io.BytesIO(data_or_stream) if isinstance(data_or_stream, bytes) else data_or_stream
    with app.app_context():
        return receive_upload(session, stream, name, candidate=candidate, provider=provider)


@pytest.fixture
def arrange(app, monkeypatch):
    """Set up what a case needs (a scanner, a lower limit) for the length of the test."""
    servers = []

    def setup(needs: str) -> None:
        if needs == "clamd":
            server = FakeClamd().__enter__()
            servers.append(server)
            monkeypatch.setitem(app.config, "CLAMD_URL", server.url)
        elif needs == "clamd-down":
            monkeypatch.setitem(app.config, "CLAMD_URL", free_port_url())
        elif needs == "limit-1mb":
            monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)

    yield setup
    for server in servers:
        server.__exit__(None, None, None)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.id)
def test_hostile_corpus(case, corpus, app, session, candidate, provider, arrange):
    arrange(case.needs)
    path = build(case, corpus)
    before = snapshot(app, session)
    with path.open("rb") as stream:
        if case.refused is not None:
            with pytest.raises(UploadError) as refusal:
                upload(app, session, candidate, provider, stream, case.filename)
            assert re.search(case.refused, refusal.value.message), refusal.value.message
            assert snapshot(app, session) == before
            return
        blob = upload(app, session, candidate, provider, stream, case.filename)
    # Stored safely: typed by its bytes, under a key made from its hash, nothing else.
    assert blob.media_type == case.media_type
    assert blob.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert blob.storage_key.endswith(blob.sha256)
    rows, files, spools = snapshot(app, session)
    assert rows == before[0] | {blob.sha256}
    assert files == before[1] | {blob.storage_key}
    assert spools == before[2]
    session.rollback()
    assert snapshot(app, session) == before


def test_refusals_name_the_file_and_what_it_is(corpus, app, session, candidate, provider):
    case = next(case for case in HOSTILE if case.id == "pe-renamed-pdf")
    with build(case, corpus).open("rb") as stream, pytest.raises(UploadRefused) as refusal:
        upload(app, session, candidate, provider, stream, "C:\\Users\\me\\essay.pdf")
    assert refusal.value.message == "essay.pdf is a Windows executable, not an accepted file type"


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_every_accepted_type(case, corpus, app, session, candidate, provider):
    with build(case, corpus).open("rb") as stream:
        blob = upload(app, session, candidate, provider, stream, case.filename)
    assert blob.media_type == case.media_type


def test_identical_bytes_are_stored_once(app, session, candidate, provider):
    before = snapshot(app, session)
    first = upload(app, session, candidate, provider, PDF_BYTES + b"% once\n", "a.pdf")
    second = upload(app, session, candidate, provider, PDF_BYTES + b"% once\n", "b.pdf")
    assert first.id == second.id
    rows, files, _ = snapshot(app, session)
    assert len(rows - before[0]) == 1 and len(files - before[1]) == 1


def test_a_rollback_never_deletes_bytes_that_were_stored_before(app, session, candidate,
                                                                 provider):
    blob = upload(app, session, candidate, provider, PDF_BYTES + b"% kept\n")
    session.commit()
    kept = snapshot(app, session)
    again = upload(app, session, candidate, provider, PDF_BYTES + b"% kept\n")
    assert again.id == blob.id
    session.rollback()
    assert snapshot(app, session) == kept
    with app.app_context():
        assert current_storage().exists(blob.storage_key)


def test_a_rolled_back_savepoint_deletes_its_bytes(app, session, candidate, provider):
    before = snapshot(app, session)
    outer = upload(app, session, candidate, provider, PDF_BYTES + b"% outer\n")

    def fail_after_storing():
        with session.begin_nested():
            upload(app, session, candidate, provider, PDF_BYTES + b"% inner\n")
            raise RuntimeError("the request failed after storing")

    with pytest.raises(RuntimeError):
        fail_after_storing()
    rows, files, _ = snapshot(app, session)
    assert files == before[1] | {outer.storage_key}
    assert rows == before[0] | {outer.sha256}
    session.commit()
    assert snapshot(app, session)[1] == before[1] | {outer.storage_key}


def test_closing_without_commit_deletes_new_bytes(app, session, candidate, provider):
    before = snapshot(app, session)
    upload(app, session, candidate, provider, PDF_BYTES + b"% closed\n")
    session.close()
    assert snapshot(app, session) == before


def test_bytes_missing_from_storage_are_stored_again(app, session, candidate, provider):
    blob = upload(app, session, candidate, provider, PDF_BYTES + b"% lost\n")
    session.commit()
    with app.app_context():
        current_storage().delete(blob.storage_key)
        again = upload(app, session, candidate, provider, PDF_BYTES + b"% lost\n")
        assert again.id == blob.id
        assert current_storage().exists(blob.storage_key)


class Broken(io.RawIOBase):
    """A stream that gives some bytes, then fails as a dropped connection does."""

    def __init__(self, error: Exception) -> None:
        self.sent = 0
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.sent > 1024 * 1024:
            raise self.error
        buffer[:4] = b"%PDF"[: len(buffer)]
        self.sent += len(buffer)
        return len(buffer)


@pytest.mark.parametrize("error", [OSError("connection reset by peer"), ValueError("bad")])
def test_interrupted_upload_leaves_nothing(app, session, candidate, provider, error):
    before = snapshot(app, session)
    with pytest.raises(UploadInterrupted, match="was interrupted"):
        upload(app, session, candidate, provider, io.BufferedReader(Broken(error)), "x.pdf")
    assert snapshot(app, session) == before


def test_truncated_request_body_leaves_nothing(app, session, candidate, provider):
    """The body ends before its Content-Length: werkzeug raises ClientDisconnected."""
    body = io.BytesIO(PDF_BYTES[:40])
    storage = FileStorage(LimitedStream(body, 10_000), filename="report.pdf")
    before = snapshot(app, session)
    with pytest.raises(UploadInterrupted, match=r"report\.pdf was interrupted"):
        upload(app, session, candidate, provider, storage.stream, storage.filename)
    assert snapshot(app, session) == before


def test_size_limit_is_enforced_while_reading(app, session, candidate, provider, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            Endless.read_bytes += len(buffer)
            buffer[:] = bytes(len(buffer))
            return len(buffer)

    with pytest.raises(UploadTooLarge, match="limit of 1 MB"):
        upload(app, session, candidate, provider, io.BufferedReader(Endless()), "endless.pdf")
    assert Endless.read_bytes < 2 * 1024 * 1024  # stopped soon after the limit


def test_quota(app, session, candidate, provider, monkeypatch, make_user):
    monkeypatch.setitem(app.config, "CANDIDATE_QUOTA_MB", 1)
    big = PDF_BYTES[:-6] + b"%" + b"x" * 700_000 + b"\n%%EOF\n"
    blob = upload(app, session, candidate, provider, big, "big.pdf")
    item = EvidenceItem(provider=provider, candidate=candidate, title="Log book",
                        kind=EvidenceKind.DOCUMENT)
    item.files.append(EvidenceFile(blob=blob, display_name="big.pdf"))
    session.add(item)
    session.flush()
    before = snapshot(app, session)
    with pytest.raises(QuotaExceeded, match=r"second\.pdf .* quota of 1 MB") as refusal:
        upload(app, session, candidate, provider, big.replace(b"x", b"y"), "second.pdf")
    assert "you are using 0.7 MB" in refusal.value.message
    assert snapshot(app, session) == before
    # Their own file again costs nothing; someone else may still upload it.
    assert upload(app, session, candidate, provider, big, "again.pdf").id == blob.id
    other = make_user("other@north.example", roles=["candidate"], provider=provider)
    assert upload(app, session, other, provider, big.replace(b"x", b"y")).size == len(big)


def test_clean_files_pass_the_scanner(app, session, candidate, provider, monkeypatch):
    with FakeClamd() as server:
        monkeypatch.setitem(app.config, "CLAMD_URL", server.url)
        blob = upload(app, session, candidate, provider, PDF_BYTES, "clean.pdf")
        assert server.scanned == [len(PDF_BYTES)]
    assert blob.media_type == "application/pdf"


def test_scanner_that_hangs_up_refuses(app, session, candidate, provider, monkeypatch):
    before = snapshot(app, session)
    with FakeClamd("close") as server:
        monkeypatch.setitem(app.config, "CLAMD_URL", server.url)
        with pytest.raises(ScannerUnavailable, match="nothing was kept"):
            upload(app, session, candidate, provider, b"plain words\n" + EICAR[:3], "a.txt")
    assert snapshot(app, session) == before


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("evil\x00name.pdf", "evil name.pdf"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        ("zero\u200bwidth\u2066.pdf", "zerowidth.pdf"),
        ("tab\tand\nnewline.txt", "tab and newline.txt"),
        ("..", "unnamed file"),
        ("", "unnamed file"),
        (None, "unnamed file"),
        ("   .hidden ", "hidden"),
    ],
)
def test_display_names(raw, shown):
    assert display_name_for(raw) == shown


def test_long_display_names_keep_their_extension():
    name = display_name_for("é" * 5000 + ".pdf")
    assert len(name) <= 200
    assert name.endswith("….pdf")


# --- downloads --------------------------------------------------------------------------


def fetch(app, blob, name, **kwargs):
    with app.test_request_context():
        response = blob_response(blob, name, **kwargs)
        response.direct_passthrough = False
        body = response.get_data()
        response.close()
    return response, body


def test_download_is_an_attachment_with_the_name_encoded(app, session, candidate, provider):
    data = "Reflective account ✓\n".encode()
    blob = upload(app, session, candidate, provider, data)
    response, body = fetch(app, blob, "réflexion\u202e finale.txt", preview=True)
    assert body == data
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9flexion%20finale.txt" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Length"] == str(len(data))


def test_image_preview_is_inline_and_sandboxed(app, session, candidate, provider):
    data = jpeg(b"<?php system($_GET['c']); ?>")
    blob = upload(app, session, candidate, provider, data, "avatar.php.jpg")
    response, body = fetch(app, blob, "avatar.php.jpg", preview=True)
    assert body == data
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["Content-Security-Policy"] == PREVIEW_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Without preview, the same image is an attachment.
    response, _ = fetch(app, blob, "avatar.php.jpg")
    assert response.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(("data", "previewable"), [
    (PDF_BYTES + b"<html><script>alert(1)</script>\n%%EOF\n", True),
    (png(), True),
    (b"<b>just text</b> that is not at the start? no: it is", False),
    (b"plain words <script>alert(1)</script>\n", False),
])
def test_only_images_and_pdf_preview_inline(app, session, candidate, provider, data,
                                            previewable):
    try:
        blob = upload(app, session, candidate, provider, data)
    except UploadRefused:
        return  # refused outright is safe too
    response, _ = fetch(app, blob, "x", preview=True)
    inline = response.headers["Content-Disposition"].startswith("inline")
    assert inline is previewable
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_tampered_bytes_are_never_served(app, session, candidate, provider, caplog):
    blob = upload(app, session, candidate, provider, PDF_BYTES + b"% honest\n", "marks.pdf")
    path = Path(app.instance_path) / "blobs" / blob.storage_key
    path.write_bytes(PDF_BYTES + b"% forged\n")
    try:
        with caplog.at_level(logging.ERROR), app.test_request_context():
            from werkzeug.exceptions import HTTPException

            with pytest.raises(HTTPException) as aborted:
                blob_response(blob, "marks.pdf")
        response = aborted.value.response
        assert response.status_code == 500
        page = response.get_data(as_text=True)
        assert "cannot be sent" in page
        assert "forged" not in page
        assert any("does not match" in record.getMessage() for record in caplog.records)
    finally:
        path.unlink()
