"""`certify demo load`: fill an empty database with data to look around with."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from certify.extensions import db
from certify.units.cli import import_paths
from certify.units.models import Unit

DOCUMENTS = Path(__file__).parent / "documents"


@click.group("demo")
def demo_group() -> None:
    """Demonstration data."""


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalogue has units.")
@with_appcontext
def load(if_empty: bool) -> None:
    """Import the demonstration units through the same importers as real documents."""
    if if_empty and db.session.scalar(select(func.count(Unit.id))):
        click.echo("Demo data: the database already has data; nothing loaded.")
        return
    reports, errors = import_paths(sorted(DOCUMENTS.iterdir()))
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        raise SystemExit(1)
    created = sum(1 for r in reports for o in r.outcomes if o.action == "created")
    click.echo(f"Demo data: {created} units loaded.")
