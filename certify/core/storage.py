"""Where file bytes live: a local folder or S3-compatible object storage.

Both backends are content-addressed: a file's key is derived from the SHA-256 of
its bytes, so identical bytes are stored once and a key never carries a user's
file name.  ``CERTIFY_STORAGE_URL`` picks the backend (``STORAGE_URL`` in
``app.config``):

* empty (the default): the folder ``instance/blobs``;
* ``file:///absolute/folder`` or a plain path: that folder;
* ``s3://bucket/prefix?endpoint_url=http://host:port&region=us-east-1``: a bucket,
  with credentials from the usual AWS environment variables.

Reads can be verified: ``open_verified`` hashes the bytes before handing them
over, so a file changed behind certify's back is an error, never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

CHUNK_SIZE = 256 * 1024
EXTENSION_KEY = "certify.storage"


class StorageError(RuntimeError):
    """Stored bytes are missing or not what they should be."""


class MissingFile(StorageError):
    pass


class TamperedFile(StorageError):
    """The stored bytes no longer hash to the SHA-256 they were stored under."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int
    # False when identical bytes were already stored: such a file is someone else's
    # too, so whoever saved it now must never delete it when their work is undone.
    created: bool = True


def key_for(sha256: str) -> str:
    """The storage key of bytes with this SHA-256: fanned out so no folder grows huge."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _sha256_of_key(key: str) -> str:
    digest = key.rsplit("/", 1)[-1]
    try:
        made = key_for(digest)
    except ValueError:
        made = None
    if key != made:
        raise ValueError(f"not a storage key: {key!r}")
    return digest


def _spool(chunks: Iterable[bytes], file: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        if chunk:
            digest.update(chunk)
            size += len(chunk)
            file.write(chunk)
    file.flush()
    return digest.hexdigest(), size


def _check(chunks: Iterable[bytes], key: str) -> Iterator[bytes]:
    """Yield ``chunks``; at the end raise TamperedFile if they do not hash to the key."""
    expected = _sha256_of_key(key)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != expected:
        raise TamperedFile(f"stored file {key} does not match its SHA-256")


class Storage:
    """The interface every backend has."""

    def save(self, chunks: Iterable[bytes]) -> StoredFile:
        raise NotImplementedError

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes in chunks, unverified (see ``open_verified``)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def verified_chunks(self, key: str) -> Iterator[bytes]:
        """The bytes in chunks; raises TamperedFile after the last one on a mismatch.

        For consumers that stream onwards (for example into an archive) and can
        still fail the whole result at the end.
        """
        return _check(self.open(key), key)

    def open_verified(self, key: str) -> IO[bytes]:
        """A readable binary file of the stored bytes, hashed before it is returned.

        Raises MissingFile or TamperedFile; the caller closes the file.  The bytes
        are copied once to a temporary file (never held in memory), so what is
        served is exactly what was hashed.
        """
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller
        try:
            digest, _size = _spool(self.open(key), spool)
            if digest != _sha256_of_key(key):
                raise TamperedFile(f"stored file {key} does not match its SHA-256")
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool


class LocalStorage(Storage):
    """Files in a folder, each at ``sha256/ab/cd/<sha256>``, written atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        _sha256_of_key(key)  # refuses anything that is not a key we made (no ../)
        return self.root / key

    def save(self, chunks: Iterable[bytes]) -> StoredFile:
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name in the same folder tree, then renamed: a
        # reader never sees half a file, and an interrupted save leaves nothing.
        fd, temp_name = tempfile.mkstemp(dir=incoming)
        try:
            with os.fdopen(fd, "wb") as file:
                sha256, size = _spool(chunks, file)
                os.fsync(file.fileno())
            key = key_for(sha256)
            path = self.root / key
            if path.exists():
                os.unlink(temp_name)
                return StoredFile(key, sha256, size, created=False)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp_name, 0o640)
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        return StoredFile(key, sha256, size, created=True)

    def open(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise MissingFile(f"stored file {key} is missing") from None
        return self._read(file)

    @staticmethod
    def _read(file: IO[bytes]) -> Iterator[bytes]:
        with file:
            while chunk := file.read(CHUNK_SIZE):
                yield chunk

    def open_verified(self, key: str) -> IO[bytes]:
        # No copy needed here: the open file is hashed, rewound and handed over, and
        # since files are only ever replaced by rename, the handle keeps the bytes
        # that were hashed.
        path = self._path(key)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise MissingFile(f"stored file {key} is missing") from None
        try:
            digest = hashlib.sha256()
            while chunk := file.read(CHUNK_SIZE):
                digest.update(chunk)
            if digest.hexdigest() != _sha256_of_key(key):
                raise TamperedFile(f"stored file {key} does not match its SHA-256")
            file.seek(0)
        except BaseException:
            file.close()
            raise
        return file

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, each at ``<prefix>/sha256/ab/cd/<sha256>``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object(self, key: str) -> str:
        _sha256_of_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, chunks: Iterable[bytes]) -> StoredFile:
        # The key is the hash, known only at the end: spool to a temporary file on
        # disk first (never in memory), then upload it (multipart for big files).
        with tempfile.TemporaryFile() as spool:
            sha256, size = _spool(chunks, spool)
            key = key_for(sha256)
            if self.exists(key):
                return StoredFile(key, sha256, size, created=False)
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self._object(key))
        return StoredFile(key, sha256, size, created=True)

    def open(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingFile(f"stored file {key} is missing") from None
            raise
        return self._read(answer["Body"])

    @staticmethod
    def _read(body) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True


def storage_from_url(url: str, instance_path: str | os.PathLike[str]) -> Storage:
    """The backend a CERTIFY_STORAGE_URL names (empty: ``instance/blobs``)."""
    if not url:
        return LocalStorage(Path(instance_path) / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"storage URL {url!r} names no bucket")
        query = parse_qs(parts.query)
        return S3Storage(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=query.get("endpoint_url", [None])[0],
            region=query.get("region", [None])[0],
        )
    if parts.scheme == "file":
        return LocalStorage(unquote(parts.path))
    if parts.scheme == "":
        return LocalStorage(url)
    raise ValueError(f"storage URL {url!r}: use file:///folder or s3://bucket/prefix")


def current_storage() -> Storage:
    """The application's storage, made on first use and kept for the app's lifetime."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get(EXTENSION_KEY)
    if storage is None:
        storage = storage_from_url(app.config.get("STORAGE_URL", ""), app.instance_path)
        app.extensions[EXTENSION_KEY] = storage
    return storage
