"""`certify certificates ...`: issue, revoke, reissue and list certificates from the shell.

The commands call the same operations as the pages, acting as the person named
by ``--as`` (who must be an admin of the certificate's provider, and is
recorded in the audit trail).  A refusal prints the operation's message and
exits with status 1, having changed nothing.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from certify.accounts.models import Provider, User
from certify.accounts.operations.auth import find_user
from certify.certificates import permissions
from certify.certificates.errors import IssueRefused
from certify.certificates.forms.register import STANDINGS
from certify.certificates.models import Certificate
from certify.certificates.numbering import MalformedNumber, normalise_number
from certify.certificates.operations import issuing, revocation
from certify.core.types import utcnow
from certify.extensions import db
from certify.units.models import Qualification

certificates_group = AppGroup("certificates", help="Issue, revoke and list certificates.")


def _provider(slug: str) -> Provider:
    provider = db.session.scalar(select(Provider).where(Provider.slug == slug.strip().lower()))
    if provider is None:
        raise click.ClickException(f"No provider has the short name {slug!r}.")
    return provider


def _person(email: str, what: str) -> User:
    person = find_user(db.session, email)
    if person is None:
        raise click.ClickException(f"Nobody has the email address {email} ({what}).")
    return person


def _admin(email: str, provider: Provider) -> User:
    """The person acting, when they are an admin of ``provider``."""
    actor = _person(email, "--as")
    if not permissions.can_manage_certificates(actor, provider):
        raise click.ClickException(f"{actor.email} is not an admin of {provider.name}, so "
                                   "cannot act on its certificates.")
    return actor


def _certificate(number: str) -> Certificate:
    try:
        wanted = normalise_number(number)
    except MalformedNumber as error:
        raise click.ClickException(str(error)) from error
    certificate = db.session.scalar(
        select(Certificate).options(joinedload(Certificate.provider))
        .where(Certificate.number == wanted))
    if certificate is None:
        raise click.ClickException(f"No certificate has the number {wanted}.")
    return certificate


def _refused(error: IssueRefused) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(error.message)


@certificates_group.command("list")
@click.argument("provider_slug")
@click.option("--status", "standing", type=click.Choice(list(STANDINGS)),
              help="Only certificates with this standing today.")
def list_certificates(provider_slug: str, standing: str | None) -> None:
    """The register of PROVIDER_SLUG, newest first: number, standing, issue date, kind,
    the name as printed and what it is for."""
    # Imported here: the query lives with the register page, which the shell shares.
    from certify.certificates.views.register import newest_first, register_conditions

    provider = _provider(provider_slug)
    today = utcnow().date()
    certificates = db.session.scalars(newest_first(
        select(Certificate).where(*register_conditions(provider.id, standing=standing,
                                                       on=today)))).all()
    if not certificates:
        click.echo(f"{provider.name} has no {standing + ' ' if standing else ''}certificates.")
        return
    for certificate in certificates:
        snapshot = certificate.snapshot
        qualification = snapshot.get("qualification")
        what = qualification["code"] if qualification else \
            ", ".join(unit["code"] for unit in snapshot["units"])
        click.echo("\t".join([certificate.number, certificate.standing(today),
                              snapshot["issued_on"], snapshot["kind"],
                              snapshot["candidate"]["name"], what]))


@certificates_group.command("issue")
@click.argument("provider_slug")
@click.argument("email")
@click.option("--qualification", "code", metavar="CODE",
              help="Issue the certificate of this qualification (default: a statement of "
                   "attainment of every achieved unit not yet on one).")
@click.option("--as", "actor_email", required=True, metavar="EMAIL",
              help="The provider admin who issues it.")
def issue(provider_slug: str, email: str, code: str | None, actor_email: str) -> None:
    """Issue a certificate of PROVIDER_SLUG to the candidate with address EMAIL."""
    provider = _provider(provider_slug)
    actor = _admin(actor_email, provider)
    candidate = _person(email, "the candidate")
    qualification = None
    if code:
        qualification = db.session.scalar(select(Qualification).where(
            Qualification.provider_id == provider.id,
            Qualification.code == code.strip()))
        if qualification is None:
            raise click.ClickException(f"{provider.name} has no qualification with the code "
                                       f"{code.strip()!r}.")
    try:
        certificate = issuing.issue_certificate(db.session, provider, candidate=candidate,
                                                actor=actor, qualification=qualification)
    except IssueRefused as error:
        raise _refused(error) from error
    number, label = certificate.number, certificate.kind.label
    db.session.commit()
    click.echo(f"Issued {label.lower()} {number} to {candidate.name} <{candidate.email}>.")


@certificates_group.command("revoke")
@click.argument("number")
@click.option("--reason", required=True, help="Why; shown to anyone who verifies it.")
@click.option("--as", "actor_email", required=True, metavar="EMAIL",
              help="The provider admin who revokes it.")
def revoke(number: str, reason: str, actor_email: str) -> None:
    """Revoke the certificate NUMBER with a reason.  It stays in the register as revoked."""
    certificate = _certificate(number)
    actor = _admin(actor_email, certificate.provider)
    try:
        revocation.revoke_certificate(db.session, certificate, reason=reason, actor=actor)
    except IssueRefused as error:
        raise _refused(error) from error
    number = certificate.number
    db.session.commit()
    click.echo(f"Revoked {number}.")


@certificates_group.command("reissue")
@click.argument("number")
@click.option("--reason", required=True, help="Why it is reissued.")
@click.option("--as", "actor_email", required=True, metavar="EMAIL",
              help="The provider admin who reissues it.")
@click.option("--name", help="The name as it should appear (default: as printed before).")
def reissue(number: str, reason: str, actor_email: str, name: str | None) -> None:
    """Reissue the certificate NUMBER: a new certificate with a new number; the old one is
    marked superseded and points to it."""
    certificate = _certificate(number)
    actor = _admin(actor_email, certificate.provider)
    try:
        new = revocation.reissue_certificate(db.session, certificate, reason=reason,
                                             actor=actor, name=name)
    except IssueRefused as error:
        raise _refused(error) from error
    old_number, new_number = certificate.number, new.number
    db.session.commit()
    click.echo(f"Reissued {old_number} as {new_number}; {old_number} is superseded.")
