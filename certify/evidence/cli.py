"""`certify evidence`: evidence housekeeping on the command line (retention purge)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from certify.accounts.operations.enrolments import today
from certify.evidence.operations import retention
from certify.extensions import db

VIA = "cli"


@click.group("evidence")
def evidence_group() -> None:
    """Evidence portfolio housekeeping."""


def _describe(blob: retention.PurgedBlob) -> str:
    enrolments = ", ".join(f"#{i} ended {ended.isoformat()}" for i, ended in blob.enrolments)
    return (f"{blob.sha256} {blob.size} bytes {blob.media_type} "
            f"(kept until {blob.kept_until.isoformat()}; enrolments {enrolments})")


@evidence_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List what is past retention and change nothing.")
@with_appcontext
def purge(dry_run: bool) -> None:
    """Delete stored evidence that is past every provider's retention period.

    A file is purged only when every enrolment that submitted it or whose
    candidate holds it ended more than its provider's retention period ago
    (Provider.evidence_retention_days, 730 days by default).  Prints one line
    per file; with --dry-run nothing is changed.  The database rows go first, in
    one transaction; the stored bytes are deleted after it is committed.
    """
    session = db.session
    day = today()
    if dry_run:
        found = retention.past_retention(session, day)
        for blob in found:
            click.echo(f"would purge {_describe(blob)}")
        total = sum(blob.size for blob in found)
        click.echo(f"{len(found)} file{'s' if len(found) != 1 else ''} ({total} bytes) past "
                   f"retention on {day.isoformat()} (dry run: nothing was changed)")
        session.rollback()
        return
    delete_bytes = retention.storage_deleter()
    if delete_bytes is None:
        raise click.ClickException(
            "no storage backend is available (certify.core.storage), so the stored bytes "
            "cannot be deleted; nothing was changed"
        )
    report = retention.purge_expired(session, day, via=VIA)
    lines = [f"purged {_describe(blob)}" for blob in report.blobs]
    session.commit()
    failed = []
    for key in report.storage_keys:
        try:
            delete_bytes(key)
        except Exception as error:  # every key left behind is reported, not just the first
            failed.append(f"{key}: {error}")
    for line in lines:
        click.echo(line)
    counts = report.counts
    click.echo(f"{counts['blobs']} files ({counts['bytes']} bytes) purged; "
               f"{counts['submissions']} submissions, {counts['items']} items, "
               f"{counts['submission_files'] + counts['evidence_files']} file rows deleted")
    if failed:
        for problem in failed:
            click.echo(f"could not delete stored bytes: {problem}", err=True)
        raise SystemExit(1)
