"""Users, training providers and roles."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Membership, Provider, Role, User
from certify.accounts.operations.auth import find_user, normalise_email
from certify.accounts.passwords import hash_password, password_problems
from certify.core import audit


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; ``str()`` says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def create_user(
    session: Session,
    email: str,
    name: str,
    *,
    password: str | None = None,
    platform_admin: bool = False,
    actor: User | None = None,
) -> User:
    """A new account; without a password it can only be entered through an invitation link."""
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise AccountError("Enter the person's name.", "name")
    if find_user(session, email) is not None:
        raise AccountError(f"An account with the email address {email} already exists.", "email")
    if password is not None:
        problems = password_problems(password, email=email, name=name)
        if problems:
            raise AccountError(" ".join(problems), "password")
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password) if password is not None else None,
        is_platform_admin=platform_admin,
    )
    session.add(user)
    session.flush()
    audit.record(session, "user.created", actor=actor, target=user,
                 changes={"email": email, "name": name, "platform_admin": platform_admin})
    return user


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
_PREFIX = re.compile(r"^[A-Z0-9]{2,12}$")


def create_provider(
    session: Session, name: str, slug: str, certificate_prefix: str, *, actor: User | None = None
) -> Provider:
    """A new training provider; its slug and certificate prefix are unique and never change."""
    name, slug, prefix = name.strip(), slug.strip().lower(), certificate_prefix.strip().upper()
    if not name:
        raise AccountError("Enter the provider's name.", "name")
    if not _SLUG.match(slug):
        raise AccountError(
            "The short name may use lower-case letters, digits and hyphens (e.g. north-college).",
            "slug",
        )
    if not _PREFIX.match(prefix):
        raise AccountError(
            "The certificate prefix is 2 to 12 capital letters or digits (e.g. NCOL).",
            "certificate_prefix",
        )
    for column, value, label, field in (
        (Provider.name, name, "name", "name"),
        (Provider.slug, slug, "short name", "slug"),
        (Provider.certificate_prefix, prefix, "certificate prefix", "certificate_prefix"),
    ):
        if session.scalar(select(Provider.id).where(column == value)) is not None:
            raise AccountError(f"Another provider already has the {label} {value}.", field)
    provider = Provider(name=name, slug=slug, certificate_prefix=prefix)
    session.add(provider)
    session.flush()
    audit.record(session, "provider.created", actor=actor, provider=provider, target=provider,
                 changes={"name": name, "slug": slug, "certificate_prefix": prefix})
    return provider


def add_role(
    session: Session, user: User, provider: Provider, role: Role, *, actor: User | None = None
) -> Membership:
    """Give ``user`` ``role`` in ``provider`` (nothing happens if they already hold it)."""
    existing = next(
        (m for m in user.memberships if m.provider_id == provider.id and m.role == role), None
    )
    if existing is not None:
        return existing
    membership = Membership(user=user, provider=provider, role=role,
                            created_by_id=getattr(actor, "id", None))
    session.add(membership)
    session.flush()
    audit.record(session, "role.granted", actor=actor, provider=provider, target=user,
                 changes={"role": role.value})
    return membership
