"""One suite for every storage backend: a local folder, and S3 through moto's server mode.

The S3 half talks HTTP to a real moto server on 127.0.0.1 started here, through
the same boto3 client certify uses in production.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from certify.core.storage import (
    LocalStorage,
    MissingFile,
    S3Storage,
    StoredFile,
    TamperedFile,
    current_storage,
    key_for,
    storage_from_url,
)

BUCKET = "certify-test"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 for the whole run, with the test bucket."""
    saved = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket=BUCKET
        )
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    # A fresh prefix per test keeps tests apart in the one bucket.
    prefix = f"t/{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]}"
    return storage_from_url(
        f"s3://{BUCKET}/{prefix}?endpoint_url={endpoint}&region=us-east-1", tmp_path
    )


def tamper(storage, key: str, data: bytes) -> None:
    """Change stored bytes behind the backend's back."""
    if isinstance(storage, LocalStorage):
        (storage.root / key).write_bytes(data)
    else:
        storage.client.put_object(Bucket=storage.bucket, Key=f"{storage.prefix}/{key}",
                                  Body=data)


def test_save_open_exists_delete(storage):
    data = b"evidence of competency\n" * 1000
    stored = storage.save(iter([data[:100], b"", data[100:]]))
    assert stored == StoredFile(key_for(hashlib.sha256(data).hexdigest()),
                                hashlib.sha256(data).hexdigest(), len(data), created=True)
    assert storage.exists(stored.key)
    assert b"".join(storage.open(stored.key)) == data
    assert b"".join(storage.verified_chunks(stored.key)) == data
    with storage.open_verified(stored.key) as file:
        assert file.read() == data
    storage.delete(stored.key)
    assert not storage.exists(stored.key)
    storage.delete(stored.key)  # deleting what is gone is not an error
    with pytest.raises(MissingFile):
        b"".join(storage.open(stored.key))
    with pytest.raises(MissingFile):
        storage.open_verified(stored.key)


def test_identical_bytes_are_stored_once(storage):
    first = storage.save([b"same bytes"])
    second = storage.save([b"same ", b"bytes"])
    assert first.key == second.key
    assert (first.created, second.created) == (True, False)
    assert b"".join(storage.open(first.key)) == b"same bytes"


def test_empty_file(storage):
    stored = storage.save([])
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert b"".join(storage.open(stored.key)) == b""


def test_large_file_streams_in_chunks(storage):
    """20 MB made chunk by chunk: never held whole, neither going in nor coming out."""
    chunk_count, chunk_size = 320, 64 * 1024
    expected = hashlib.sha256()

    def chunks():
        for number in range(chunk_count):
            chunk = number.to_bytes(4, "big") * (chunk_size // 4)
            expected.update(chunk)
            yield chunk

    stored = storage.save(chunks())
    assert stored.size == chunk_count * chunk_size
    assert stored.sha256 == expected.hexdigest()
    read = hashlib.sha256()
    biggest = 0
    for piece in storage.verified_chunks(stored.key):
        biggest = max(biggest, len(piece))
        read.update(piece)
    assert read.hexdigest() == stored.sha256
    assert biggest <= 1024 * 1024


def test_tampering_is_detected_on_read(storage):
    stored = storage.save([b"the original words"])
    tamper(storage, stored.key, b"the altered words!")
    with pytest.raises(TamperedFile):
        storage.open_verified(stored.key)
    with pytest.raises(TamperedFile):  # streamed onwards: fails at the end
        b"".join(storage.verified_chunks(stored.key))


def test_interrupted_save_leaves_nothing(storage, tmp_path):
    def broken():
        yield b"first part"
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        storage.save(broken())
    assert not storage.exists(key_for(hashlib.sha256(b"first part").hexdigest()))
    if isinstance(storage, LocalStorage):
        assert not [p for p in (storage.root / "incoming").iterdir()]
    else:
        assert storage.client.list_objects_v2(Bucket=BUCKET, Prefix=storage.prefix)[
            "KeyCount"] == 0


@pytest.mark.parametrize("key", ["../etc/passwd", "sha256/aa/bb/../../x", "a" * 64, ""])
def test_keys_not_made_by_storage_are_refused(storage, key):
    with pytest.raises(ValueError, match="storage key"):
        storage.exists(key)


def test_storage_from_url(tmp_path):
    assert storage_from_url("", tmp_path).root == tmp_path / "blobs"
    assert storage_from_url(f"file://{tmp_path}/x", tmp_path).root == tmp_path / "x"
    s3 = storage_from_url("s3://bucket/some/prefix?endpoint_url=http://127.0.0.1:9&region=eu-west-1",
                          tmp_path)
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == ("bucket", "some/prefix",
                                                       "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="use file"):
        storage_from_url("ftp://host/x", tmp_path)


def test_current_storage_is_made_once_per_app(app):
    with app.app_context():
        storage = current_storage()
        assert storage is current_storage()
        assert isinstance(storage, LocalStorage)
        assert storage.root == Path(app.instance_path) / "blobs"
