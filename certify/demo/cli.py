"""`certify demo load`: fill an empty database with data to look around with."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from certify.accounts.models import User
from certify.accounts.operations.people import AccountError
from certify.demo import people
from certify.extensions import db
from certify.units.cli import import_paths
from certify.units.models import Unit

DOCUMENTS = Path(__file__).parent / "documents"


@click.group("demo")
def demo_group() -> None:
    """Demonstration data."""


@demo_group.command("load")
@click.option("--if-empty", is_flag=True,
              help="Load the demo units only into an empty catalogue, and the demo people "
                   "only when there are no accounts.")
@with_appcontext
def load(if_empty: bool) -> None:
    """Import the demonstration units and make a demonstration provider with its people.

    The units go through the same importers as real documents; the provider
    "Harbour Training Centre", its admin, assessor, verifier and two enrolled
    candidates, and a platform administrator, through the same operations as
    real accounts.  Their logins are printed at the end.
    """
    session = db.session
    has_units = bool(session.scalar(select(func.count(Unit.id))))
    has_people = bool(session.scalar(select(func.count(User.id))))
    if if_empty and has_units and has_people:
        click.echo("Demo data: the database already has data; nothing loaded.")
        if people.already_made(session):
            # Every `make run` reminds whoever starts it how to sign in.
            click.echo(people.logins_line())
        return
    if not (if_empty and has_units):
        reports, errors = import_paths(sorted(DOCUMENTS.iterdir()))
        for error in errors:
            click.echo(f"error: {error}", err=True)
        if errors:
            raise SystemExit(1)
        created = sum(1 for r in reports for o in r.outcomes if o.action == "created")
        click.echo(f"Demo data: {created} units loaded.")
    if if_empty and has_people:
        return
    if people.already_made(session):
        click.echo("Demo data: the demo provider and accounts exist already; none made.")
        return
    missing = people.missing_units(session)
    if missing:
        # A real catalogue without the demo units: nothing to enrol the demo candidates on.
        click.echo(f"Demo data: the catalogue has no {' or '.join(missing)}; no demo accounts "
                   "made.")
        return
    try:
        people.load_people(session)
    except (people.DemoError, AccountError) as error:
        session.rollback()
        click.echo(f"Demo data: no demo accounts made: {error}", err=True)
        raise SystemExit(1) from None
    session.commit()
    provider_name, slug, _prefix = people.PROVIDER
    click.echo(f"Demo data: provider {provider_name} ({slug}) with {len(people.PEOPLE)} "
               f"accounts and {len(people.ENROLMENTS)} enrolments.")
    click.echo(people.logins_line())
