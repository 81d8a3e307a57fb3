"""The clamd client against a small clamd-protocol server on 127.0.0.1.

The real daemon needs signature downloads this network does not allow; this one
speaks INSTREAM (length-prefixed chunks, a zero-length terminator) and flags the
EICAR test string, which is what every scanner flags.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator

import pytest

from certify.core import clamd

# The standard antivirus test string, assembled here so this source file is not itself
# flagged by a scanner on a developer's machine.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeClamd(socketserver.ThreadingTCPServer):
    """``mode``: "scan" (OK or Eicar FOUND), "close" (hangs up mid-stream), "limit"."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str = "scan") -> None:
        self.mode = mode
        self.scanned: list[int] = []  # bytes received per completed stream
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"tcp://{host}:{port}"

    def __enter__(self) -> FakeClamd:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _Handler(socketserver.BaseRequestHandler):
    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            part = self.request.recv(size - len(data))
            if not part:
                raise ConnectionError("client went away")
            data += part
        return data

    def handle(self) -> None:
        server: FakeClamd = self.server  # type: ignore[assignment]
        try:
            command = b""
            while not command.endswith((b"\0", b"\n")):
                command += self._exactly(1)
            if command[1:-1] != b"INSTREAM":
                self.request.sendall(b"UNKNOWN COMMAND\0")
                return
            received = b""
            size_seen = 0
            while True:
                (length,) = struct.unpack(">I", self._exactly(4))
                if length == 0:
                    break
                chunk = self._exactly(length)
                size_seen += length
                if server.mode == "close":
                    self.request.shutdown(socket.SHUT_RDWR)
                    return
                if server.mode == "limit":
                    self.request.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                    return
                # Keep a tail so a signature split across chunks is still seen.
                received = (received + chunk)[-4096:]
                if EICAR in received:
                    received = EICAR
            server.scanned.append(size_seen)
            if EICAR in received:
                self.request.sendall(b"stream: Eicar-Test-Signature FOUND\0")
            else:
                self.request.sendall(b"stream: OK\0")
        except OSError:
            return


@pytest.fixture
def fake_clamd() -> Iterator[FakeClamd]:
    with FakeClamd() as server:
        yield server


def free_port_url() -> str:
    """A tcp:// URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


def test_clean_stream_is_ok(fake_clamd):
    chunks = [b"a" * 100_000, b"", b"b" * 200_000]
    assert clamd.scan(fake_clamd.url, chunks) is None
    assert fake_clamd.scanned == [300_000]


def test_eicar_is_found_by_name(fake_clamd):
    assert clamd.scan(fake_clamd.url, [EICAR]) == "Eicar-Test-Signature"


def test_eicar_split_across_chunks_is_found(fake_clamd):
    data = b"x" * (clamd.CHUNK_SIZE - 10) + EICAR + b"y" * 10
    assert clamd.scan(fake_clamd.url, [data]) == "Eicar-Test-Signature"


def test_daemon_down():
    with pytest.raises(clamd.ClamdUnavailable, match="not answering"):
        clamd.scan(free_port_url(), [b"hello"])


def test_daemon_closing_mid_stream():
    with FakeClamd("close") as server, pytest.raises(clamd.ClamdUnavailable):
        clamd.scan(server.url, [b"z" * 3_000_000])


def test_daemon_refusing_a_stream_over_its_limit():
    with FakeClamd("limit") as server, pytest.raises(clamd.ClamdError, match="size limit"):
        clamd.scan(server.url, [b"z" * 3_000_000])


def test_bad_url():
    with pytest.raises(ValueError, match="tcp://host:port"):
        clamd.scan("http://127.0.0.1:3310", [b""])
