"""The database: one declarative base, an engine per application, a session per app context.

certify uses SQLAlchemy directly (no Flask-SQLAlchemy) so that the session can be
bound to an outer connection in tests and so that models stay plain SQLAlchemy 2.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask.globals import app_ctx
from sqlalchemy import Engine, Enum, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool

from certify.core.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A column for a str enum: its values as VARCHAR with a CHECK constraint, on every database.

    Native PostgreSQL enums would need a migration for every new value; a CHECK
    constraint keeps the same guarantee with plain ALTERs.
    """
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


_WRITING = "certify.sqlite.writing"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL for file databases, and SQLAlchemy in charge of BEGIN.

    pysqlite's own transaction handling breaks SAVEPOINT (used by nested
    transactions and by the test fixtures), so BEGIN is emitted explicitly.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")
        connection.info[_WRITING] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _before_first_write(connection, cursor, statement, _parameters, _context, _many):
        # A deferred transaction that has read and then writes fails at once
        # ("database is locked") if another connection committed in between, which
        # happens whenever two requests overlap.  So, at the first write of a
        # top-level transaction that has written nothing yet, certify ends the
        # read-only part and takes the write lock with BEGIN IMMEDIATE, which waits
        # (busy_timeout) for the other writer.  Reads before it see what was
        # committed before them: read committed, as on PostgreSQL.
        if (
            connection.in_transaction()
            and not connection.info.get(_WRITING, True)
            and not connection.in_nested_transaction()
            and statement.lstrip()[:7].upper().startswith(_WRITES)
        ):
            cursor.execute("COMMIT")
            cursor.execute("BEGIN IMMEDIATE")
            connection.info[_WRITING] = True


def make_engine(url: str, echo: bool = False) -> Engine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _app_context_id() -> int:
    return id(app_ctx._get_current_object())


class _State:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session = self.make_session(engine)

    @staticmethod
    def make_session(bind, **options: Any) -> scoped_session:
        factory = sessionmaker(bind=bind, expire_on_commit=False, **options)
        return scoped_session(factory, scopefunc=_app_context_id)


class Database:
    """``db.session`` is the current app context's session; ``db.engine`` its engine."""

    extension_key = "certify.database"

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False))
        app.extensions[self.extension_key] = _State(engine)

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            app.extensions[self.extension_key].session.remove()

    def state(self, app: Flask | None = None) -> _State:
        return (app or current_app).extensions[self.extension_key]

    @property
    def session(self):
        return self.state().session

    @property
    def engine(self) -> Engine:
        return self.state().engine

    def bind_session(self, app: Flask, bind, **options: Any) -> None:
        """Point the app's session at ``bind`` (a connection, in tests)."""
        # Sessions of earlier app contexts were closed at their teardown.
        self.state(app).session = _State.make_session(bind, **options)
