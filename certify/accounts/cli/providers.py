"""`certify providers`: training providers, with the same rules as the pages."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from certify.accounts.operations import people
from certify.extensions import db


@click.group("providers")
def command() -> None:
    """Training providers."""


@command.command("create")
@click.argument("name")
@click.option("--slug", required=True, help="Short name: lower-case letters, digits, hyphens.")
@click.option("--prefix", required=True, help="Certificate number prefix: 2-12 capitals/digits.")
@click.option("--admin-email", help="Invite this person as the first provider admin.")
@click.option("--admin-name", help="The admin's name (needed when they have no account yet).")
@with_appcontext
def create(name: str, slug: str, prefix: str, admin_email: str | None,
           admin_name: str | None) -> None:
    """Create the training provider NAME, optionally inviting its first provider admin."""
    if admin_name and not admin_email:
        raise click.UsageError("--admin-name needs --admin-email.")
    session = db.session
    try:
        provider, admin = people.create_provider_with_admin(
            session, name, slug, prefix, admin_email=admin_email, admin_name=admin_name,
            actor=None, base_url=current_app.config["BASE_URL"], via="cli",
        )
    except people.AccountError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"Created provider {provider.name} ({provider.slug}, certificate prefix "
               f"{provider.certificate_prefix}).")
    if admin is not None:
        if admin.password_hash is None:
            click.echo(f"Invited {admin.email} as provider admin; the invitation was mailed.")
        else:
            click.echo(f"{admin.email} is now a provider admin; they were told by mail.")


@command.command("list")
@with_appcontext
def list_providers() -> None:
    """Every provider with its short name, certificate prefix and number of members."""
    rows = people.provider_summaries(db.session)
    if not rows:
        click.echo("No providers. Create one with: certify providers create NAME --slug S "
                   "--prefix P")
        return
    width = max(len(provider.slug) for provider, _ in rows)
    for provider, members in rows:
        click.echo(f"{provider.slug:<{width}}  {provider.certificate_prefix:<12}  "
                   f"{members:>5} member{'' if members == 1 else 's'}  {provider.name}")
