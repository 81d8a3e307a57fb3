"""`certify assessment`: assessment work on the command line.

The commands call the same operations as the pages.  A refusal prints the
operation's message and exits with status 1, having changed nothing.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from certify.accounts.models import Enrolment, Provider
from certify.accounts.operations.auth import find_user
from certify.assessors import reports
from certify.assessors.errors import AssessmentError, InvalidMarking
from certify.assessors.operations import assignment, quality
from certify.evidence.models import Submission
from certify.extensions import db

# The settings' options, in the order they are printed.
SETTING_OPTIONS = {
    "sample_first_n": "--first-n",
    "sample_percent": "--percent",
    "max_attempts": "--max-attempts",
    "appeal_window_days": "--appeal-days",
}


@click.group("assessment")
def assessment_group() -> None:
    """Assessment: assignment, quality assurance reports."""


def _provider(slug: str) -> Provider:
    provider = db.session.scalar(select(Provider).where(Provider.slug == slug.strip().lower()))
    if provider is None:
        raise click.ClickException(f"No provider has the short name {slug!r}.")
    return provider


@assessment_group.command("assign")
@click.argument("submission_id", type=int)
@click.option("--to", "email", metavar="EMAIL", help="The assessor's email address.")
@click.option("--automatic", is_flag=True,
              help="The allowed assessor with the fewest open assessments.")
@with_appcontext
def assign(submission_id: int, email: str | None, automatic: bool) -> None:
    """Give submission SUBMISSION_ID (or the draft being marked) to an assessor.

    The same rules as the assignments page: never to the candidate themselves, to
    someone with a declared conflict of interest, or to someone not authorised for
    the unit today.  Appeals are assigned on the appeals page.
    """
    if bool(email) == automatic:
        raise click.UsageError("Give either --to EMAIL or --automatic.")
    session = db.session
    submission = session.scalar(
        select(Submission)
        .options(joinedload(Submission.enrolment)
                 .options(joinedload(Enrolment.candidate), joinedload(Enrolment.unit),
                          joinedload(Enrolment.provider)))
        .where(Submission.id == submission_id)
    )
    if submission is None:
        raise click.ClickException(f"There is no submission {submission_id}.")
    enrolment = submission.enrolment
    what = f"{enrolment.unit.code} attempt {submission.attempt} of {enrolment.candidate.name}"
    try:
        if automatic:
            made = assignment.assign_fewest_open(session, submission, actor=None)
        else:
            person = find_user(session, email)
            if person is None:
                raise click.ClickException(f"Nobody has the email address {email}.")
            made = assignment.assign(session, submission, person, actor=None)
    except AssessmentError as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    name, address = made.assessor.name, made.assessor.email
    session.commit()
    click.echo(f"{what} ({enrolment.provider.name}) is assigned to {name} <{address}>.")


@assessment_group.command("report")
@click.argument("provider_slug")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@with_appcontext
def report(provider_slug: str, as_csv: bool) -> None:
    """The verifier report of PROVIDER_SLUG: per assessor, decisions, sampled, agreed,
    disagreed and the agreement rate."""
    provider = _provider(provider_slug)
    rows = quality.verifier_report(db.session, provider)
    if as_csv:
        click.echo(reports.verifier_report_csv(rows), nl=False)
        return
    click.echo(f"Verifier report of {provider.name}")
    if not rows:
        click.echo("No assessor has signed a decision yet.")
        return
    table = [(*reports.REPORT_HEADER[:-1], "Agreement")]
    for row in [*rows, reports.totals(rows)]:
        table.append((row.name, str(row.decisions), str(row.sampled), str(row.agreed),
                      str(row.disagreed), reports.percent(row.agreement_rate)))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        click.echo("  ".join(cells).rstrip())


@assessment_group.command("settings")
@click.argument("provider_slug")
@click.option("--first-n", "sample_first_n", metavar="N",
              help="Sample every decision among each assessor's first N on each unit.")
@click.option("--percent", "sample_percent", metavar="P",
              help="Sample P per cent of the other decisions at random.")
@click.option("--max-attempts", "max_attempts", metavar="A",
              help="Attempts a candidate may submit per enrolment.")
@click.option("--appeal-days", "appeal_window_days", metavar="D",
              help="Days after a decision is confirmed during which it can be appealed.")
@with_appcontext
def settings(provider_slug: str, **given: str | None) -> None:
    """Print PROVIDER_SLUG's assessment settings, or change those given.

    Every value is checked before anything changes: one wrong value changes none.
    """
    session = db.session
    provider = _provider(provider_slug)
    wanted = {name: value.strip() for name, value in given.items() if value is not None}
    if wanted:
        problems = {}
        values: dict[str, int] = {}
        for name, raw in wanted.items():
            low, high, label = quality.SETTINGS_LIMITS[name]
            if raw.isascii() and raw.isdigit() and len(raw) <= 9:
                values[name] = int(raw)
            else:
                problems[name] = f"{label} must be a whole number from {low} to {high}."
        try:
            if problems:
                raise InvalidMarking(problems)
            quality.update_settings(session, provider, actor=None, **values)
        except InvalidMarking as error:
            session.rollback()
            raise click.ClickException(" ".join(
                f"{SETTING_OPTIONS[name]}: {message}" for name, message in error.errors.items()
            )) from error
        session.commit()
        click.echo(f"The assessment settings of {provider.name} are saved.")
    for name, option in SETTING_OPTIONS.items():
        label = quality.SETTINGS_LIMITS[name][2]
        click.echo(f"{label} ({option}): {getattr(provider, name)}")
