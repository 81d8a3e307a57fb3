"""`certify audit`: check the hash chain of the audit trail, and read it."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from certify.accounts.models import Provider
from certify.accounts.operations import people
from certify.core import audit
from certify.extensions import db


@click.group("audit")
def command() -> None:
    """The audit trail."""


@command.command("verify")
@with_appcontext
def verify() -> None:
    """Check every entry's hash and link; exit 1 naming the first broken entry."""
    report = audit.verify(db.session)
    if report.ok:
        click.echo(f"Audit trail intact: {report.checked} entries checked.")
        return
    click.echo(f"Audit trail broken at entry {report.broken_seq}: {report.reason}", err=True)
    raise SystemExit(1)


@command.command("list")
@click.option("--provider", "slug", help="Only this provider's entries (its short name).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="How many of the newest entries.")
@with_appcontext
def list_entries(slug: str | None, limit: int) -> None:
    """The newest entries, newest first: number, time, who, provider, action, object, changes."""
    provider_id = None
    if slug is not None:
        provider_id = db.session.scalar(select(Provider.id).where(Provider.slug == slug))
        if provider_id is None:
            raise click.ClickException(f"No provider has the short name {slug}.")
    names = {pid: slug for pid, slug in db.session.execute(select(Provider.id, Provider.slug))}
    entries = db.session.scalars(people.audit_query(provider_id).limit(limit)).all()
    if not entries:
        click.echo("No audit entries.")
        return
    for entry in entries:
        target = f"{entry.object_type} {entry.object_id}" if entry.object_type else "-"
        changes = json.dumps(entry.changes, ensure_ascii=False, sort_keys=True) \
            if entry.changes else ""
        click.echo(
            f"{entry.seq:>6}  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor_email or '-'}  "
            f"{names.get(entry.provider_id, '-')}  {entry.action}  {target}  {changes}".rstrip()
        )
