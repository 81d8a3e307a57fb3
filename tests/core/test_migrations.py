"""The schema is made by the Alembic history alone, and it agrees with the models."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from certify.core.database import Base, make_engine
from certify.core.migrations import MIGRATIONS, alembic_config, revision_id
from tests.conftest import DATABASES, fresh_database


@pytest.mark.parametrize("kind", DATABASES)
def test_migrations_build_the_models_schema_and_undo_it(kind, tmp_path):
    with fresh_database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection=connection), "head")
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                assert compare_metadata(context, Base.metadata) == []
                tables = set(inspect(connection).get_table_names())
            assert {t.name for t in Base.metadata.sorted_tables} <= tables
            with engine.begin() as connection:
                command.downgrade(alembic_config(connection=connection), "base")
            with engine.connect() as connection:
                assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection=connection), "head")
        finally:
            engine.dispose()


def test_one_linear_history_named_by_date():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert revision.revision[:10].replace("_", "").isdigit(), revision.revision
        assert (MIGRATIONS / "versions" / f"{revision.revision}.py").exists()


def test_revision_ids_are_dated_slugs():
    from datetime import UTC, datetime

    assert revision_id("Add enrolments & roles!", datetime(2026, 11, 24, tzinfo=UTC)) == (
        "2026_11_24_add_enrolments_roles"
    )
