"""Fixtures for the browser tests: the real app served by gunicorn, and Chromium.

One server per module, on a fresh SQLite database in a temporary instance folder,
made the way `make run` makes it (`certify db upgrade`, `certify demo load
--if-empty`), and served as in production by gunicorn (two worker processes of
four threads each) on a free port of 127.0.0.1.  One Chromium per module (Debian's,
at /usr/bin/chromium: Playwright's own browser download is not used); each test
opens fresh browser contexts, and the last page it opened is photographed into
tests/e2e/screenshots/ when it ends.  A missing Chromium is a failure, never a
skip: CI installs it.

When a test fails, the page it used last is saved as
screenshots/failures/<test>.png with its HTML beside it (<test>.html), and the
failure's report names both files.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CERTIFY = str(Path(sys.executable).with_name("certify"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
FAILURES = SCREENSHOTS / "failures"
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def certify_env(instance: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its CERTIFY_* settings, plus ``settings``
    (``INSTANCE_PATH`` is always the given folder)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CERTIFY_")}
    env["CERTIFY_INSTANCE_PATH"] = str(instance)
    env.update({f"CERTIFY_{key}": value for key, value in settings.items()})
    return env


def certify(*args: str, env: Mapping[str, str], stdin: str | None = None) -> str:
    """Run the `certify` command; a failure stops the test with its output."""
    done = subprocess.run(
        [CERTIFY, *args], env=dict(env), input=stdin, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 0, f"certify {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


@contextmanager
def serve(env: Mapping[str, str], port: int, log: Path) -> Iterator[str]:
    """Serve the application with gunicorn on 127.0.0.1:``port``; its address.

    The environment carries the CERTIFY_* settings (gunicorn passes it to the
    workers, which call ``create_app()``).  Two workers of four threads each, as a
    small deployment runs: the browser's requests may land on either process.
    """
    with log.open("w") as output:
        process = subprocess.Popen(
            [GUNICORN, "certify:create_app()", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4", "--graceful-timeout", "5",
             "--access-logfile", "-", "--error-logfile", "-"],
            env=dict(env), stdout=output, stderr=subprocess.STDOUT,
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """The app served by gunicorn on a free port, with the demo data loaded."""
    folder = tmp_path_factory.mktemp("e2e")
    instance = folder / "instance"
    port = free_port()
    env = certify_env(instance, BASE_URL=f"http://127.0.0.1:{port}")
    certify("db", "upgrade", env=env)
    certify("demo", "load", "--if-empty", env=env)
    with serve(env, port, folder / "server.log") as url:
        yield Server(url=url, instance=instance)


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


# Failure evidence -----------------------------------------------------------------------------

# Pages in the order they were last used, most recent last: a failure photographs the last.
_USED: list = []


def use_page(page) -> None:
    """Mark ``page`` as the one in use: if the test fails now, it is the one saved."""
    if page in _USED:
        _USED.remove(page)
    _USED.append(page)


def _page_to_save(browser):
    live = [page for page in _USED if not page.is_closed()]
    _USED[:] = live
    if live:
        return live[-1]
    pages = [page for context in getattr(browser, "contexts", []) for page in context.pages]
    return pages[-1] if pages else None


def save_failure(page, test_name: str) -> tuple[Path, Path]:
    """Save ``page`` as failures/<test>.png and its HTML as failures/<test>.html."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    png, html = FAILURES / f"{name}.png", FAILURES / f"{name}.html"
    try:
        page.screenshot(path=str(png), full_page=True, timeout=10_000)
    except Exception as error:  # the evidence must never hide the failure itself
        png = Path(f"{png} (not saved: {type(error).__name__}: {error})")
    try:
        html.write_text(f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8")
    except Exception as error:
        html = Path(f"{html} (not saved: {type(error).__name__}: {error})")
    return png, html


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test saves its page (screenshot and HTML) and names both files."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not report.failed:
        return
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    page = _page_to_save(browser) if browser is not None else None
    if page is None:
        return
    png, html = save_failure(page, item.name)
    where = f"page {page.url}\nscreenshot: {png}\nHTML: {html}"
    longrepr = report.longrepr
    if hasattr(longrepr, "addsection"):
        longrepr.addsection("the page when it failed", where)
    else:
        report.sections.append(("the page when it failed", where))
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        # On the first line, which the short summary (-ra) shows.
        crash.message = f"[page saved: {_shown(png)}, {_shown(html)}] {crash.message}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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
        use_page(page)
        sign_in(page)
        return page

    try:
        yield opener
    finally:
        if pages and not pages[-1].is_closed():
            save_screenshot(pages[-1], request.node.name)
        for context in contexts:
            context.close()
