"""What `make run` does, step by step, with the installed `certify` command on a fresh folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CERTIFY = str(Path(sys.executable).with_name("certify"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CERTIFY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_migrate_load_demo_data_and_serve(tmp_path):
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("CERTIFY_")
    } | {"CERTIFY_INSTANCE_PATH": str(tmp_path / "instance")}
    upgrade = run("db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert (tmp_path / "instance" / "certify.sqlite3").exists()
    first = run("demo", "load", "--if-empty", env=env)
    assert first.returncode == 0, first.stderr
    assert "Demo data: 4 units loaded." in first.stdout
    # The second `make run` finds everything in place.
    assert run("db", "upgrade", env=env).returncode == 0
    assert "nothing loaded" in run("demo", "load", "--if-empty", env=env).stdout

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [CERTIFY, "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/units?q=DEMOCS", timeout=5) as r:
            page = r.read().decode()
        assert "DEMOCS301A" in page
    finally:
        server.terminate()
        server.wait(timeout=10)
