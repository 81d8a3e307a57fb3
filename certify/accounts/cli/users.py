"""`certify users`: accounts made on the command line, with the same rules as the pages."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from certify.accounts.operations import people
from certify.extensions import db


@click.group("users")
def command() -> None:
    """User accounts."""


@command.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name.")
@click.option("--platform-admin", is_flag=True, help="May create providers and read the outbox.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@with_appcontext
def create(email: str, name: str, platform_admin: bool, password_stdin: bool) -> None:
    """Create an account for EMAIL.

    Without --password-stdin, prints a one-time link (valid for
    CERTIFY_INVITATION_DAYS) at which the person sets their own password.
    """
    password = None
    if password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password.removesuffix("\r")
    session = db.session
    try:
        user = people.create_user(session, email, name, password=password,
                                  platform_admin=platform_admin, via="cli")
        link = None
        if password is None:
            token = people.issue_invitation(session, user, provider=None, actor=None, via="cli")
            link = people.invitation_link(current_app.config["BASE_URL"], token)
    except people.AccountError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    session.commit()
    what = "platform administrator" if platform_admin else "user"
    click.echo(f"Created {what} {user.email} ({user.name}).")
    if link:
        days = current_app.config["INVITATION_DAYS"]
        click.echo(f"They set their password once at this link (valid for {days} days):")
        click.echo(link)
