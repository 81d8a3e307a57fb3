"""`certify enrol`: enrol one candidate, or many from a CSV file, as the enrolment pages do."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from certify.accounts.enrolment_csv import MAX_BYTES, UnreadableFile
from certify.accounts.models import Provider
from certify.accounts.operations import enrolments as operations
from certify.accounts.operations.people import AccountError
from certify.extensions import db

VIA = "cli"


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date like 2026-03-14, not {value!r}",
                                 param_hint=option) from None


def _read(path: Path) -> bytes:
    """At most one byte more than the limit: enough to refuse a larger file."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise click.ClickException(f"{path}: cannot be read ({error.strerror or error})") from None


@click.command("enrol")
@click.option("--provider", "slug", required=True, help="The provider's short name (slug).")
@click.option("--email", help="The candidate's email address (one candidate).")
@click.option("--name", default="", help="The candidate's name, for someone without an account.")
@click.option("--unit", "unit_code", help="The unit code, or FRAMEWORK:CODE (one candidate).")
@click.option("--version", type=click.IntRange(min=1),
              help="An older version of the unit (default: the current version).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A CSV file with the columns name, email and unit codes.")
@click.option("--dry-run", is_flag=True, help="With --csv: check the file and change nothing.")
@click.option("--start", "start", metavar="YYYY-MM-DD", help="Start date (default: today).")
@click.option("--end", "end", metavar="YYYY-MM-DD", help="End date (default: none).")
@with_appcontext
def command(slug: str, email: str | None, name: str, unit_code: str | None,
            version: int | None, csv_path: Path | None, dry_run: bool, start: str | None,
            end: str | None) -> None:
    """Enrol candidates on units, with the same checks, mails and audit as the pages.

    \b
    One candidate:  certify enrol --provider SLUG --email E --name N --unit CODE [--version V]
    From a file:    certify enrol --provider SLUG --csv FILE [--dry-run]

    Prints one line per candidate (for a file: "line N: outcome") and exits with
    status 1 when anything was refused.  People without an account are invited
    by email to set a password.
    """
    if csv_path is not None and (email or unit_code or version):
        raise click.UsageError("give either --csv, or --email and --unit, not both")
    if csv_path is None and not (email and unit_code):
        raise click.UsageError("give --email and --unit for one candidate, or --csv FILE")
    if dry_run and csv_path is None:
        raise click.UsageError("--dry-run goes with --csv")
    starts_on = _date(start, "--start") or operations.today()
    ends_on = _date(end, "--end")
    session = db.session
    provider = session.scalar(select(Provider).where(Provider.slug == slug.strip().lower()))
    if provider is None:
        raise click.ClickException(f"there is no provider with the short name {slug!r}")
    base_url = current_app.config["BASE_URL"]
    if csv_path is not None:
        _enrol_file(provider, csv_path, starts_on, ends_on, dry_run, base_url)
    else:
        _enrol_one(provider, email, name, unit_code, version, starts_on, ends_on, base_url)


def _enrol_one(provider: Provider, email: str, name: str, unit_code: str, version: int | None,
               starts_on: date, ends_on: date | None, base_url: str) -> None:
    session = db.session
    try:
        unit = operations.find_unit_for_enrolment(session, unit_code, version)
        result = operations.enrol_person(
            session, provider, email, name, unit, starts_on=starts_on, ends_on=ends_on,
            actor=None, base_url=base_url, via=VIA,
        )
    except AccountError as error:
        session.rollback()
        click.echo(f"{email.strip()}: refused: {error}")
        raise SystemExit(1) from None
    session.commit()
    how = "invited by email" if result.invited else "told by email"
    click.echo(f"{result.candidate.email}: enrolled on {operations.unit_label(unit)} "
               f"({unit.title}); {how}")


def _enrol_file(provider: Provider, path: Path, starts_on: date, ends_on: date | None,
                dry_run: bool, base_url: str) -> None:
    session = db.session
    data = _read(path)
    try:
        report = operations.import_enrolments(
            session, provider, data, path.name, starts_on=starts_on, ends_on=ends_on,
            dry_run=dry_run, actor=None, base_url=base_url, via=VIA,
        )
    except UnreadableFile as error:
        session.rollback()
        click.echo(f"{path.name}: cannot be read, so nobody was enrolled: {error}")
        raise SystemExit(1) from None
    except AccountError as error:
        session.rollback()
        click.echo(f"{path.name}: refused, so nobody was enrolled: {error}")
        raise SystemExit(1) from None
    if dry_run:
        session.rollback()
    else:
        session.commit()
    for row in report.rows:
        click.echo(f"line {row.line}: {_printable(row.summary(dry_run))}")
    counts = report.counts
    verb = "would be made" if dry_run else "made"
    click.echo(
        f"{path.name}: {_count(counts['rows'], 'row')}; "
        f"{_count(counts['enrolled'], 'enrolment')} {verb}; "
        f"{counts['already_enrolled']} already enrolled; "
        f"{_count(counts['rejected'], 'row')} rejected; "
        f"{counts['invited']} {'to invite' if dry_run else 'invited'}"
        + (" (checked only: nothing was changed)" if dry_run else "")
    )
    if report.has_rejections:
        raise SystemExit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _printable(text: str) -> str:
    # Cells come from a file: no escape sequences reach the terminal.
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
