"""Receiving an uploaded file: streamed, limited, typed by its bytes, scanned, stored once.

``receive_upload`` reads the upload in chunks into a temporary file on disk while
computing its SHA-256 and enforcing the size limit, decides its type from the
bytes, checks the candidate's quota, has clamd scan it when one is configured,
and only then stores it (content-addressed, so identical bytes are stored once)
and adds a ``Blob`` row.  Anything refused leaves storage and the database as
they were.  Bytes stored during a transaction that is rolled back are deleted
again (see ``_track``), unless they were already stored before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from typing import IO

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, scoped_session
from werkzeug.exceptions import ClientDisconnected

from certify.accounts.models import Provider, User
from certify.core import clamd, filetypes
from certify.core.storage import Storage, StoredFile, current_storage
from certify.evidence.models import Blob, EvidenceFile, EvidenceItem

CHUNK_SIZE = 256 * 1024
MB = 1024 * 1024
DISPLAY_NAME_MAX = 200
log = logging.getLogger(__name__)


class UploadError(Exception):
    """An upload was refused; ``message`` names the file and says what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UploadTooLarge(UploadError):
    """Over CERTIFY_MAX_UPLOAD_MB: views answer 413."""


class QuotaExceeded(UploadError):
    pass


class UploadRefused(UploadError):
    """The bytes are not an accepted file, or the virus scanner found something."""


class MalwareFound(UploadRefused):
    pass


class ScannerUnavailable(UploadError):
    """Scanning is configured but the scanner did not answer: never accepted unscanned."""


class UploadInterrupted(UploadError):
    pass


# --- display names ------------------------------------------------------------------

# Bidirectional overrides and isolates make "harmless‮fdp.exe" display as
# "harmlessexe.pdf"; zero-width characters hide differences between names.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def display_name_for(filename: str | None) -> str:
    """A name safe to show and offer on download; never used as a storage key.

    Drops any folder part (both slash kinds), control characters (NUL included),
    bidirectional overrides and zero-width characters; keeps the extension when
    shortening a very long name.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in name
    )
    name = _INVISIBLE.sub("", name)
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cs", "Co", "Cn"))
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > DISPLAY_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: DISPLAY_NAME_MAX - len(extension) - 2].rstrip() + "…." + extension
        else:
            name = name[: DISPLAY_NAME_MAX - 1].rstrip() + "…"
    return name or "unnamed file"


# --- cleaning up after rollbacks ----------------------------------------------------

_PENDING = "certify.uploads.pending"


def _track(session: Session, storage: Storage, stored: StoredFile) -> None:
    """Delete ``stored`` again if the transaction that stored it is rolled back.

    Each new file is remembered with the transaction (or savepoint) that was open
    when it was stored.  A rollback of that transaction, or of any transaction
    enclosing it, or a close without commit, deletes it; a commit of the outermost
    transaction forgets it.
    """
    if _PENDING not in session.info:
        session.info[_PENDING] = []
        event.listen(session, "after_soft_rollback", _after_soft_rollback)
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info[_PENDING].append((transaction, storage, stored.key))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _delete_where(session: Session, condition) -> None:
    pending = session.info.get(_PENDING, [])
    keep = []
    for transaction, storage, key in pending:
        if condition(transaction):
            try:
                storage.delete(key)
            except Exception:  # a failed clean-up must not hide the rollback's cause
                log.exception("could not delete orphaned stored file %s", key)
        else:
            keep.append((transaction, storage, key))
    session.info[_PENDING] = keep


def _untrack(session: Session, key: str) -> None:
    session.info[_PENDING] = [entry for entry in session.info.get(_PENDING, [])
                              if entry[2] != key]


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    _delete_where(session, lambda t: _within(t, previous_transaction))


def _after_commit(session: Session) -> None:
    # Fired for savepoint releases too (the savepoint is still current then): those
    # keep their files pending on the enclosing transaction.  Only the outermost
    # commit makes everything permanent.
    if session.get_nested_transaction() is None:
        session.info[_PENDING] = []


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        # Still listed at the end of the outermost transaction: it was not committed.
        _delete_where(session, lambda t: True)


# --- receiving ----------------------------------------------------------------------


def _spool(stream: IO[bytes], into: IO[bytes], name: str, limit: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := stream.read(CHUNK_SIZE):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(
                    f"{name} is larger than the limit of {limit // MB:,} MB per file"
                )
            digest.update(chunk)
            into.write(chunk)
    except (OSError, ClientDisconnected, ValueError) as error:
        raise UploadInterrupted(
            f"The upload of {name} was interrupted before it finished; nothing was kept. "
            "Please try again."
        ) from error
    into.flush()
    return digest.hexdigest(), size


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    file.seek(0)
    while chunk := file.read(CHUNK_SIZE):
        yield chunk


def candidate_usage(session: Session, candidate: User) -> int:
    """Bytes of the distinct files in the candidate's evidence items."""
    blob_ids = (
        select(EvidenceFile.blob_id)
        .join(EvidenceItem, EvidenceItem.id == EvidenceFile.item_id)
        .where(EvidenceItem.candidate_id == candidate.id)
    )
    used = session.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(
        Blob.id.in_(blob_ids)))
    return int(used or 0)


def _owns(session: Session, candidate: User, blob: Blob) -> bool:
    return session.scalar(
        select(EvidenceFile.id)
        .join(EvidenceItem, EvidenceItem.id == EvidenceFile.item_id)
        .where(EvidenceItem.candidate_id == candidate.id, EvidenceFile.blob_id == blob.id)
        .limit(1)
    ) is not None


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB"


def receive_upload(
    session: Session, stream: IO[bytes], display_name: str, *, candidate: User,
    provider: Provider,
) -> Blob:
    """Store the upload ``stream`` for ``candidate`` and return its Blob (new or reused).

    Raises an UploadError subclass with a message naming ``display_name``; then
    nothing has been stored or added.  Flushes, never commits.
    """
    if isinstance(session, scoped_session):
        # The clean-up hooks follow the real session's transactions, not the registry.
        session = session()
    config = current_app.config
    name = display_name_for(display_name)
    limit = int(config.get("MAX_UPLOAD_MB", 500)) * MB
    quota = int(config.get("CANDIDATE_QUOTA_MB", 5120)) * MB
    clamd_url = config.get("CLAMD_URL", "")
    fd, spool_path = tempfile.mkstemp(prefix="certify-upload-")
    try:
        with os.fdopen(fd, "w+b") as spool:
            sha256, size = _spool(stream, spool, name, limit)
            try:
                file_type = filetypes.detect(spool)
            except filetypes.Refused as refusal:
                raise UploadRefused(f"{name} {refusal.reason}") from None

            existing = session.scalar(select(Blob).where(Blob.sha256 == sha256))
            if existing is None or not _owns(session, candidate, existing):
                used = candidate_usage(session, candidate)
                if used + size > quota:
                    raise QuotaExceeded(
                        f"{name} ({_mb(size)}) would take you over your storage quota of "
                        f"{quota // MB:,} MB (you are using {_mb(used)}); remove files you "
                        "no longer need, or ask your provider"
                    )

            if clamd_url:
                _scan(clamd_url, spool, name)

            storage = current_storage()
            if existing is not None and storage.exists(existing.storage_key):
                return existing
            stored = storage.save(_chunks(spool))
    finally:
        os.unlink(spool_path)
    if stored.created:
        _track(session, storage, stored)
    if stored.sha256 != sha256 or stored.size != size:  # the temporary file changed under us
        raise UploadInterrupted(f"The upload of {name} could not be stored; please try again.")
    if existing is not None:
        # The row was there but its bytes were not (restored just now): keep them.
        _untrack(session, stored.key)
        return existing
    blob = Blob(sha256=sha256, size=size, media_type=file_type.media_type,
                storage_key=stored.key)
    try:
        # A savepoint, so that the same bytes arriving at the same moment in another
        # request (which inserts first) is an ordinary dedupe, not a failed request.
        with session.begin_nested():
            session.add(blob)
    except IntegrityError:
        # The other request's row now owns these bytes: never delete them on our behalf.
        _untrack(session, stored.key)
        blob = session.scalar(select(Blob).where(Blob.sha256 == sha256))
        if blob is None:
            raise
    return blob


def _scan(url: str, spool: IO[bytes], name: str) -> None:
    try:
        found = clamd.scan(url, _chunks(spool))
    except (clamd.ClamdUnavailable, clamd.ClamdError) as error:
        current_app.logger.error("virus scan of an upload failed: %s", error)
        raise ScannerUnavailable(
            f"{name} could not be checked for viruses because the virus scanner is not "
            "available; nothing was kept. Please try again later."
        ) from None
    if found:
        current_app.logger.warning("virus scanner refused an upload: %s", found)
        raise MalwareFound(f"{name} was refused: the virus scanner found {found}")
