"""`certify db ...`: the schema is made and changed only through the Alembic history."""

from __future__ import annotations

import click
from alembic import command
from flask import current_app
from flask.cli import with_appcontext

from certify.core.migrations import alembic_config, revision_id


def _config():
    return alembic_config(current_app.config["DATABASE_URL"])


@click.group("db")
def db_group() -> None:
    """Create and migrate the database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    command.upgrade(_config(), revision)


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' for an empty database)."""
    command.downgrade(_config(), revision)


@db_group.command("current")
@with_appcontext
def current() -> None:
    """Show the revision the database is at."""
    command.current(_config(), verbose=False)


@db_group.command("check")
@with_appcontext
def check() -> None:
    """Fail when the models and the migrations disagree."""
    command.check(_config())


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--autogenerate/--empty", default=True, help="Compare the models with the database.")
@with_appcontext
def revision(message: str, autogenerate: bool) -> None:
    """Write a new revision file named by today's date and MESSAGE, for review by hand."""
    command.revision(
        _config(), message=message, autogenerate=autogenerate, rev_id=revision_id(message)
    )


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker(burst: bool) -> None:
    """Process background jobs (bulk certificate issues) from Redis (CERTIFY_REDIS_URL)."""
    from rq import Worker

    from certify.core.jobs import QUEUE, redis_connection

    url = current_app.config["REDIS_URL"]
    if not url:
        raise click.UsageError("CERTIFY_REDIS_URL is not set; without it jobs run inside the "
                               "web process and no worker is needed.")
    Worker([QUEUE], connection=redis_connection(url)).work(burst=burst)
