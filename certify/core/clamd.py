"""A client for clamd's INSTREAM command: scan bytes as they stream past.

``CERTIFY_CLAMD_URL`` (``CLAMD_URL`` in ``app.config``) names the daemon as
``tcp://host:3310`` or ``unix:///run/clamav/clamd.ctl``.  The protocol: send
``zINSTREAM\\0``, then each chunk as a 4-byte big-endian length and the bytes, then
a zero length; the daemon answers ``stream: OK`` or ``stream: <signature> FOUND``
(or an ``... ERROR`` line), terminated by NUL.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterable
from urllib.parse import urlsplit

# clamd's default StreamMaxLength is 25 MB per stream but each chunk must be
# smaller than its buffers: 64 KiB chunks are what clamdscan itself sends.
CHUNK_SIZE = 64 * 1024
MAX_REPLY = 4096


class ClamdUnavailable(RuntimeError):
    """The daemon could not be reached or did not finish the scan; nothing was scanned."""


class ClamdError(RuntimeError):
    """The daemon answered with an error (for example a stream over its size limit)."""


def _connect(url: str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    try:
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
            return sock
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            return socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    except OSError as error:
        raise ClamdUnavailable(f"the virus scanner at {url} is not answering ({error})") from None
    raise ValueError(f"clamd URL {url!r}: use tcp://host:port or unix:///path")


def _split(chunks: Iterable[bytes]) -> Iterable[bytes]:
    for chunk in chunks:
        for start in range(0, len(chunk), CHUNK_SIZE):
            yield chunk[start : start + CHUNK_SIZE]


def _reply(sock: socket.socket) -> bytes:
    data = b""
    while b"\0" not in data and len(data) < MAX_REPLY:
        part = sock.recv(MAX_REPLY)
        if not part:
            break
        data += part
    return data


def scan(url: str, chunks: Iterable[bytes], *, timeout: float = 60.0) -> str | None:
    """Stream ``chunks`` to clamd: None when clean, else the name of what it found.

    Raises ClamdUnavailable when the daemon is down or drops the connection, and
    ClamdError when it answers with an error: either way the bytes were not scanned.
    """
    with contextlib.closing(_connect(url, timeout)) as sock:
        try:
            sock.sendall(b"zINSTREAM\0")
            for chunk in _split(chunks):
                if chunk:
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
            sock.sendall(struct.pack(">I", 0))
            reply = _reply(sock)
        except OSError as error:
            # clamd closes the connection when a stream exceeds StreamMaxLength, after
            # writing why: read that if it is there.
            reply = b""
            with contextlib.suppress(OSError):
                reply = _reply(sock)
            if not reply:
                raise ClamdUnavailable(
                    f"the virus scanner at {url} stopped answering mid-scan ({error})"
                ) from None
    text = reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    if not text:
        raise ClamdUnavailable(f"the virus scanner at {url} closed the connection without a result")
    # "stream: OK", "stream: Eicar-Test-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
    _, _, verdict = text.partition(": ")
    if text.endswith(" FOUND"):
        return (verdict or text).removesuffix(" FOUND").strip()
    if verdict == "OK":
        return None
    raise ClamdError(f"the virus scanner answered: {text}")
