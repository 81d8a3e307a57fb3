"""Users, training providers, roles and invitations."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certify.accounts.models import (
    AuthToken,
    Enrolment,
    EnrolmentStatus,
    Membership,
    Provider,
    Role,
    TokenPurpose,
    User,
)
from certify.accounts.operations.auth import (
    digest,
    find_user,
    issue_token,
    normalise_email,
    open_session,
    redeem_token,
    set_password,
)
from certify.accounts.passwords import hash_password, password_problems
from certify.core import audit, mail
from certify.core.models import AuditEntry
from certify.core.types import utcnow


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; ``str()`` says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


EMAIL_MESSAGE = "Enter an email address like name@example.com."
NAME_MAX = 200


def _via(changes: dict, via: str | None) -> dict:
    # Changes made on the command line say so, since they have no actor.
    return {**changes, "via": via} if via else changes


def check_email(email: str) -> str:
    """``email`` normalised, or AccountError with the message the sign-in form uses.

    The same syntax rules as the sign-in form, so that nobody is given an account
    whose address could never be typed in to sign in.
    """
    email = normalise_email(email or "")
    if not email:
        raise AccountError("Enter the person's email address.", "email")
    if len(email) > 254:
        raise AccountError("An email address has at most 254 characters.", "email")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise AccountError(EMAIL_MESSAGE, "email") from None
    return email


def check_name(name: str, field: str = "name", what: str = "the person's name") -> str:
    """``name`` trimmed; refused when empty, too long, or carrying control characters."""
    name = (name or "").strip()
    if not name:
        raise AccountError(f"Enter {what}.", field)
    if len(name) > NAME_MAX:
        raise AccountError(f"Use at most {NAME_MAX} characters for {what}.", field)
    # A line break in a name would end up in mail headers and on certificates.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise AccountError(f"Use only printable characters in {what}, on one line.", field)
    return name


def create_user(
    session: Session,
    email: str,
    name: str,
    *,
    password: str | None = None,
    platform_admin: bool = False,
    actor: User | None = None,
    via: str | None = None,
) -> User:
    """A new account; without a password it can only be entered through an invitation link."""
    email = check_email(email)
    name = check_name(name)
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
                 changes=_via({"email": email, "name": name, "platform_admin": platform_admin},
                              via))
    return user


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
_PREFIX = re.compile(r"^[A-Z0-9]{2,12}$")


_PROVIDER_FIELDS = {
    "name": (Provider.name, "name"),
    "slug": (Provider.slug, "short name"),
    "certificate_prefix": (Provider.certificate_prefix, "certificate prefix"),
}


def provider_clash(session: Session, field: str, value: str) -> str | None:
    """Why ``value`` cannot be a new provider's ``field`` because another has it, if it can't."""
    column, label = _PROVIDER_FIELDS[field]
    if session.scalar(select(Provider.id).where(column == value)) is not None:
        return f"Another provider already has the {label} {value}."
    return None


def normalise_slug(slug: str) -> str:
    return (slug or "").strip().lower()


def normalise_prefix(prefix: str) -> str:
    return (prefix or "").strip().upper()


def create_provider(
    session: Session, name: str, slug: str, certificate_prefix: str, *, actor: User | None = None,
    via: str | None = None,
) -> Provider:
    """A new training provider; its slug and certificate prefix are unique and never change."""
    slug, prefix = normalise_slug(slug), normalise_prefix(certificate_prefix)
    name = check_name(name, "name", "the provider's name")
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
    for field, value in (("name", name), ("slug", slug), ("certificate_prefix", prefix)):
        problem = provider_clash(session, field, value)
        if problem:
            raise AccountError(problem, field)
    provider = Provider(name=name, slug=slug, certificate_prefix=prefix)
    session.add(provider)
    session.flush()
    audit.record(session, "provider.created", actor=actor, provider=provider, target=provider,
                 changes=_via({"name": name, "slug": slug, "certificate_prefix": prefix}, via))
    return provider


def change_provider_settings(session: Session, provider: Provider, values: dict, *,
                             action: str, actor: User | None) -> Provider:
    """Set already-checked provider settings and audit the ones that changed (``action``
    names the group of settings).  Flushes."""
    changes = {name: [getattr(provider, name), value] for name, value in values.items()
               if getattr(provider, name) != value}
    for name, value in values.items():
        setattr(provider, name, value)
    session.flush()
    if changes:
        audit.record(session, action, actor=actor, provider=provider, target=provider,
                     changes=changes)
    return provider


def add_role(
    session: Session, user: User, provider: Provider, role: Role, *, actor: User | None = None,
    via: str | None = None,
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
                 changes=_via({"role": role.value}, via))
    return membership


def roles_of(user: User, provider: Provider) -> set[Role]:
    """The roles ``user`` holds in ``provider``, from the loaded memberships."""
    return {m.role for m in user.memberships if m.provider_id == provider.id}


def _active_admins_besides(session: Session, provider: Provider, user: User) -> int:
    return session.scalar(
        select(func.count(Membership.id))
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.provider_id == provider.id,
            Membership.role == Role.PROVIDER_ADMIN,
            Membership.user_id != user.id,
            User.disabled_at.is_(None),
        )
    ) or 0


def set_roles(
    session: Session,
    user: User,
    provider: Provider,
    roles: Iterable[Role],
    *,
    actor: User | None,
    via: str | None = None,
) -> tuple[set[Role], set[Role]]:
    """Make ``user``'s roles in ``provider`` exactly ``roles``; returns (old, new).

    At least one role stays (removing someone from a provider is not a role
    change).  A provider never loses its last active admin, and an admin does not
    take their own admin role away (another admin must), so that no provider is
    left without someone who can manage it.
    """
    new = {Role(r) for r in roles}
    if not new:
        raise AccountError("Tick at least one role.", "roles")
    old = roles_of(user, provider)
    if not old:
        raise AccountError(f"{user.email} is not a member of {provider.name}.", "roles")
    if Role.PROVIDER_ADMIN in old and Role.PROVIDER_ADMIN not in new:
        if actor is not None and actor.id == user.id:
            raise AccountError(
                "You cannot remove your own provider admin role; ask another provider admin.",
                "roles",
            )
        if _active_admins_besides(session, provider, user) == 0:
            raise AccountError(
                f"{user.name} is the last provider admin of {provider.name}; make someone else "
                "a provider admin first.",
                "roles",
            )
    if new == old:
        return old, new
    for membership in list(user.memberships):
        if membership.provider_id == provider.id and membership.role not in new:
            user.memberships.remove(membership)
    for role in sorted(new - old):
        user.memberships.append(Membership(user=user, provider=provider, role=role,
                                           created_by_id=getattr(actor, "id", None)))
    session.flush()
    audit.record(
        session, "roles.changed", actor=actor, provider=provider, target=user,
        changes=_via({"roles": [sorted(r.value for r in old), sorted(r.value for r in new)]},
                     via),
    )
    return old, new


# Invitations ---------------------------------------------------------------------------------


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/invitation/{token}"


def _lifetime(lifetime: timedelta | None) -> timedelta:
    return lifetime if lifetime is not None else timedelta(
        days=current_app.config["INVITATION_DAYS"]
    )


def issue_invitation(
    session: Session,
    user: User,
    *,
    provider: Provider | None,
    actor: User | None,
    lifetime: timedelta | None = None,
    via: str | None = None,
) -> str:
    """A new invitation token for ``user`` (earlier ones stop working); returns the secret."""
    lifetime = _lifetime(lifetime)
    token = issue_token(session, user, TokenPurpose.INVITATION, lifetime)
    audit.record(session, "invitation.issued", actor=actor, provider=provider, target=user,
                 changes=_via({"email": user.email, "days": lifetime.days}, via))
    return token


def invite_person(
    session: Session,
    provider: Provider,
    email: str,
    name: str,
    roles: Iterable[Role],
    actor: User | None,
    base_url: str,
    *,
    lifetime: timedelta | None = None,
    via: str | None = None,
) -> User:
    """Give the person with ``email`` ``roles`` in ``provider``, and tell them by mail.

    A new address gets an account without a password and an invitation link to
    set one.  An existing account gets the roles and a short notice, or, while it
    has no password yet, a fresh invitation (the earlier link stops working).
    Asking again for roles someone already holds changes nothing and sends nothing,
    so a bulk run can repeat safely.
    """
    email = check_email(email)
    roles = sorted({Role(r) for r in roles})
    if not roles:
        raise AccountError("Tick at least one role.", "roles")
    user = find_user(session, email)
    created = user is None
    if user is None:
        user = create_user(session, email, name, actor=actor, via=via)
    elif user.is_disabled:
        raise AccountError(
            f"The account for {email} is disabled; a platform administrator can restore it.",
            "email",
        )
    held = roles_of(user, provider)
    added = [role for role in roles if role not in held]
    if not added and user.password_hash is not None:
        return user
    for role in added:
        add_role(session, user, provider, role, actor=actor, via=via)
    audit.record(
        session, "person.invited", actor=actor, provider=provider, target=user,
        changes=_via({"email": email, "roles_added": ", ".join(r.value for r in added),
                      "new_account": created}, via),
    )
    context = {
        "person": user,
        "provider": provider,
        "inviter": actor,
        "roles": [r.label for r in sorted(roles_of(user, provider))],
        "added": [r.label for r in added],
    }
    if user.password_hash is None:
        token = issue_invitation(session, user, provider=provider, actor=actor,
                                 lifetime=lifetime, via=via)
        context |= {"link": invitation_link(base_url, token), "days": _lifetime(lifetime).days}
        subject = f"You are invited to certify by {provider.name}"
    else:
        context |= {"link": f"{base_url.rstrip('/')}/login", "days": None}
        subject = f"New roles at {provider.name} on certify"
    mail.send(session, mail.render("invitation", user.email, subject, **context))
    return user


@dataclass
class Invitation:
    """What an invitation link leads to: its token row, or why it cannot be used."""

    token: AuthToken | None
    problem: str | None = None  # "unknown", "used" or "expired"

    @property
    def usable(self) -> bool:
        return self.problem is None


def find_invitation(session: Session, token: str) -> Invitation:
    """Look an invitation secret up without using it."""
    row = session.scalar(
        select(AuthToken).where(
            AuthToken.token_hash == digest(token), AuthToken.purpose == TokenPurpose.INVITATION
        )
    )
    if row is None:
        return Invitation(None, "unknown")
    # An account that already has a password (set through a reset, say) no longer
    # needs the link; a disabled one may not use it.
    if row.used_at is not None or row.user.password_hash is not None or row.user.is_disabled:
        return Invitation(row, "used")
    if row.expires_at <= utcnow():
        return Invitation(row, "expired")
    return Invitation(row)


@dataclass
class Accepted:
    user: User
    session_token: str


def accept_invitation(
    session: Session, token: str, password: str, *, ip: str | None, user_agent: str | None
) -> Accepted:
    """Set the invited person's password, use up the link and open a session for them."""
    found = find_invitation(session, token)
    if not found.usable:
        raise AccountError("This invitation link can no longer be used.", "token")
    user = found.token.user
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise AccountError(" ".join(problems), "password")
    if redeem_token(session, token, TokenPurpose.INVITATION) is None:
        raise AccountError("This invitation link can no longer be used.", "token")
    set_password(session, user, password, reason="set")
    user.last_login_at = utcnow()
    # After set_password: the new session carries the new session version.
    session_token = open_session(session, user, ip=ip, user_agent=user_agent)
    providers = {m.provider_id: m.provider for m in user.memberships}
    for provider in providers.values() or [None]:
        audit.record(session, "invitation.accepted", actor=user, provider=provider, target=user,
                     ip=ip)
    audit.record(session, "sign_in", actor=user, target=user, changes={"via": "invitation"},
                 ip=ip)
    return Accepted(user=user, session_token=session_token)


# Providers -----------------------------------------------------------------------------------


def create_provider_with_admin(
    session: Session,
    name: str,
    slug: str,
    certificate_prefix: str,
    *,
    admin_email: str | None,
    admin_name: str | None,
    actor: User | None,
    base_url: str,
    via: str | None = None,
) -> tuple[Provider, User | None]:
    """A new provider and, when given, its first provider admin (invited, or given the role)."""
    if admin_email:
        # Checked before anything is written, so a bad address changes nothing.
        check_email(admin_email)
        if find_user(session, admin_email) is None:
            check_name(admin_name or "", "admin_name", "the admin's name")
    provider = create_provider(session, name, slug, certificate_prefix, actor=actor, via=via)
    admin = None
    if admin_email:
        admin = invite_person(session, provider, admin_email, admin_name or "",
                              [Role.PROVIDER_ADMIN], actor, base_url, via=via)
    return provider, admin


# Reads for the pages and commands (they write nothing) ------------------------------------


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def provider_summaries(session: Session, *, limit: int | None = None, offset: int = 0
                       ) -> list[tuple[Provider, int]]:
    """Providers by name with how many people hold a role in each, in one query."""
    members = (
        select(func.count(func.distinct(Membership.user_id)))
        .where(Membership.provider_id == Provider.id)
        .correlate(Provider)
        .scalar_subquery()
    )
    query = select(Provider, members).order_by(func.lower(Provider.name), Provider.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [(provider, count) for provider, count in session.execute(query)]


def people_query(provider: Provider, term: str = "", role: Role | None = None):
    """Members of ``provider`` (each once), by name, optionally matching ``term`` or ``role``."""
    member = select(Membership.id).where(
        Membership.user_id == User.id, Membership.provider_id == provider.id
    )
    if role is not None:
        member = member.where(Membership.role == role)
    query = select(User).where(member.exists()).order_by(func.lower(User.name), User.id)
    term = term.strip()
    if term:
        pattern = f"%{escape_like(term.lower())}%"
        query = query.where(
            func.lower(User.name).like(pattern, escape="\\")
            | User.email.like(pattern, escape="\\")
        )
    return query


def roles_by_person(session: Session, provider: Provider, user_ids: list[int]
                    ) -> dict[int, list[Role]]:
    """Each listed person's roles in ``provider``, in one query."""
    found: dict[int, list[Role]] = {user_id: [] for user_id in user_ids}
    if user_ids:
        rows = session.execute(
            select(Membership.user_id, Membership.role).where(
                Membership.provider_id == provider.id, Membership.user_id.in_(user_ids)
            )
        )
        for user_id, role in rows:
            found[user_id].append(role)
    order = list(Role)
    return {user_id: sorted(roles, key=order.index) for user_id, roles in found.items()}


def active_enrolment_counts(session: Session, provider: Provider, user_ids: list[int]
                            ) -> dict[int, int]:
    """How many active enrolments each listed person has in ``provider``, in one query."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(Enrolment.candidate_id, func.count(Enrolment.id))
        .where(
            Enrolment.provider_id == provider.id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.candidate_id.in_(user_ids),
        )
        .group_by(Enrolment.candidate_id)
    )
    return {user_id: count for user_id, count in rows}


def member_of(session: Session, provider: Provider, user_id: int) -> User | None:
    """The person ``user_id`` if they hold any role in ``provider``, else None."""
    return session.scalar(people_query(provider).where(User.id == user_id))


def audit_query(
    provider_id: int | None,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: date | None = None,
    until: date | None = None,
):
    """Audit entries, newest first; ``provider_id`` None means every provider's and none."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if provider_id is not None:
        query = query.where(AuditEntry.provider_id == provider_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_email.like(f"%{escape_like(actor)}%", escape="\\"))
    if since is not None:
        query = query.where(AuditEntry.at >= datetime.combine(since, time.min, tzinfo=UTC))
    if until is not None:
        query = query.where(
            AuditEntry.at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return query


def audit_actions(session: Session, provider_id: int) -> list[str]:
    """The distinct actions recorded for a provider, for the filter's choices."""
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.provider_id == provider_id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    )
