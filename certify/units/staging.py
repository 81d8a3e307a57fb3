"""Documents uploaded for import wait here between "check" and "confirm".

Each upload is streamed to a file under the instance folder with a random name,
never the uploader's file name, and its SHA-256 is checked when it is read
back.  Staged files older than a day are removed whenever new ones arrive.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
MAX_AGE_SECONDS = 24 * 3600


class TooLarge(ValueError):
    """The upload is larger than the limit; nothing was kept."""


@dataclass(frozen=True)
class Staged:
    key: str
    name: str
    size: int
    sha256: str


def _folder(instance_path: str) -> Path:
    folder = Path(instance_path) / "import-staging"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stage(instance_path: str, stream: BinaryIO, name: str, limit: int) -> Staged:
    """Copy ``stream`` to a staging file, refusing it (and keeping nothing) past ``limit`` bytes."""
    folder = _folder(instance_path)
    _clean(folder)
    key = secrets.token_hex(16)
    digest, size = hashlib.sha256(), 0
    target = folder / f"{key}.bin"
    try:
        with target.open("xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        f"{name}: the file is larger than {limit:,} bytes (CERTIFY_MAX_IMPORT_MB)"
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    staged = Staged(key=key, name=name, size=size, sha256=digest.hexdigest())
    (folder / f"{key}.json").write_text(json.dumps(staged.__dict__))
    return staged


def load(instance_path: str, key: str) -> tuple[Staged, bytes] | None:
    """The staged file's description and bytes, or None if it is gone or was altered."""
    if not key.isalnum() or len(key) != 32:
        return None
    folder = _folder(instance_path)
    try:
        staged = Staged(**json.loads((folder / f"{key}.json").read_text()))
        data = (folder / f"{key}.bin").read_bytes()
    except (OSError, ValueError, TypeError):
        return None
    if hashlib.sha256(data).hexdigest() != staged.sha256:
        return None
    return staged, data


def discard(instance_path: str, key: str) -> None:
    folder = _folder(instance_path)
    for suffix in (".bin", ".json"):
        (folder / f"{key}{suffix}").unlink(missing_ok=True)


def _clean(folder: Path) -> None:
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue
