"""Fixtures for the browser tests: the real app served by `certify run`, and Chromium.

One server per module, on a fresh SQLite database in a temporary instance folder,
made the way `make run` makes it (`certify db upgrade`, `certify demo load
--if-empty`).  One Chromium per module (Debian's, at /usr/bin/chromium: Playwright's
own browser download is not used); each test opens fresh browser contexts, and the
last page it opened is photographed into tests/e2e/screenshots/ when it ends.
A missing Chromium is a failure, never a skip: CI installs it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CERTIFY = str(Path(sys.executable).with_name("certify"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CANDIDATE = "candidate2@harbour.example"
PASSWORD = "harbour-demo-2026"  # the demo accounts' published password


@dataclass(frozen=True)
class Server:
    url: str
    instance: Path

    @property
    def blobs(self) -> Path:
        return self.instance / "blobs"

    def stored_files(self) -> set[Path]:
        """Every file in the evidence store (the instance folder's blobs)."""
        if not self.blobs.exists():
            return set()
        return {path for path in self.blobs.rglob("*") if path.is_file()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _certify(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [CERTIFY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"certify {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """The app served by `certify run` on a free port, with the demo data loaded."""
    folder = tmp_path_factory.mktemp("e2e")
    instance = folder / "instance"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("CERTIFY_")
    } | {"CERTIFY_INSTANCE_PATH": str(instance)}
    _certify("db", "upgrade", env=env)
    _certify("demo", "load", "--if-empty", env=env)
    port = _free_port()
    log = folder / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [CERTIFY, "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310
                    assert answer.status == 200
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.2)
        yield Server(url=url, instance=instance)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright; missing, it fails the tests."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it "
            "(Debian package `chromium`, listed in the Makefile's SYSTEM_PACKAGES)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


def sign_in(page, email: str = CANDIDATE, password: str = PASSWORD) -> None:
    """Sign in through the real login form."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()


def save_screenshot(page, test_name: str, suffix: str = "") -> None:
    """Photograph the whole page as screenshots/<test name><suffix>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)


@pytest.fixture
def open_page(browser, server, request) -> Iterator[Callable[..., object]]:
    """Open a page in a fresh browser context, signed in as the demo candidate.

    ``open_page(javascript=False)`` turns JavaScript off.  When the test ends, its
    last page is saved as screenshots/<test name>.png and every context is closed.
    """
    contexts = []
    pages = []

    def opener(*, javascript: bool = True):
        context = browser.new_context(base_url=server.url, java_script_enabled=javascript)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        sign_in(page)
        return page

    try:
        yield opener
    finally:
        if pages and not pages[-1].is_closed():
            save_screenshot(pages[-1], request.node.name)
        for context in contexts:
            context.close()
