"""Fixtures shared by every test.

Every database test runs twice: on SQLite and on PostgreSQL (when
CERTIFY_TEST_DATABASE_URL names a server; CI always sets it, and there a missing
URL is an error, not a skip).  Each database is made by the Alembic history,
once per run, and each test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from certify import ROOT, create_app
from certify.config import normalise_database_url
from certify.core.migrations import alembic_config
from certify.extensions import db

pytest_plugins = ["tests.people"]

SEEDS = Path(os.environ.get("CERTIFY_SEEDS_DIR", ROOT.parent / "shared" / "seeds"))
POSTGRES_URL = os.environ.get("CERTIFY_TEST_DATABASE_URL", "")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not POSTGRES_URL:
        raise pytest.UsageError(
            "CI is set but CERTIFY_TEST_DATABASE_URL is not: the PostgreSQL half of the "
            "suite would not run"
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = make_url(normalise_database_url(POSTGRES_URL)).render_as_string() if POSTGRES_URL \
        else "not configured (set CERTIFY_TEST_DATABASE_URL to run every database test on it)"
    return [f"databases: sqlite, postgresql: {target}", f"seeds: {SEEDS}"]


DATABASES = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """An empty database of ``kind`` that exists for the duration of the block."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex}.sqlite3'}"
        return
    server = make_url(normalise_database_url(POSTGRES_URL))
    name = f"certify_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def seeds() -> Path:
    """The published documents certify was made from; their absence is a failure."""
    if not SEEDS.is_dir():
        pytest.fail(f"the seed documents are missing: {SEEDS} is not a folder")
    return SEEDS


@pytest.fixture(scope="session", params=DATABASES)
def app(request, tmp_path_factory):
    """The application on a migrated database, once per database kind."""
    folder = tmp_path_factory.mktemp(f"db-{request.param}")
    with fresh_database(request.param, folder) as url:
        application = create_app(
            {
                "ENV": "testing",
                "DATABASE_URL": url,
                "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
                "SERVER_NAME": "certify.test",
                # /verify's limit per address would otherwise trip across the whole suite's
                # requests from one address; the rate-limit tests set their own.
                "VERIFY_PER_MINUTE": 1_000_000,
            }
        )
        with application.app_context(), db.engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "head")
        yield application
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def session(app):
    """A database session whose work is rolled back after the test.

    Views and commands commit as they would in production; here a commit only
    releases a savepoint inside the outer transaction.  No application context
    stays pushed during the test, so every request the test client makes gets
    its own (its own ``g``, its own session), as in production; the test's
    session sees their committed work after ``session.expire_all()``.
    """
    connection = db.state(app).engine.connect()
    outer = connection.begin()
    db.bind_session(app, connection, join_transaction_mode="create_savepoint")
    test_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield test_session
    finally:
        test_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def cli(app, session):
    """Run a `certify` command inside the test's transaction."""
    runner = app.test_cli_runner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(args=list(args), catch_exceptions=False, **kwargs)

    return invoke


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app, session):
    """``with count_queries() as counter: ...``: the SQL statements sent meanwhile."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        engine = db.state(app).engine

        def before(_conn, _cursor, statement, *_args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def watching_server():
    """An HTTP server on a free port of 127.0.0.1 that records every request it receives:
    documents rendered from hostile text must never reach it."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"FETCHED-FROM-SERVER")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=DATABASES)
def real_app(request, tmp_path):
    """The application on a fresh database of its own, where commits are real: for tests
    with several connections at once (and background jobs, which run in threads here).
    Dropped afterwards."""
    with fresh_database(request.param, tmp_path) as url:
        application = create_app({
            "ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"),
            "SERVER_NAME": "certify.test", "JOBS": "thread",
        })
        with application.app_context(), db.engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "head")
        try:
            yield application
        finally:
            with application.app_context():
                db.engine.dispose()


@pytest.fixture
def real_session(real_app):
    """A plain session on ``real_app``'s database; its commits are real."""
    with Session(db.state(real_app).engine, expire_on_commit=False) as plain:
        yield plain
