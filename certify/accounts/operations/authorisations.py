"""Authorising assessors and verifiers for units or whole frameworks, for a period.

``is_authorised`` is the one question later features ask before assigning work:
may this person act in this role on this unit, for this provider, on this day?
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from certify.accounts.models import Authorisation, Membership, Provider, Role, User
from certify.accounts.operations.people import AccountError, roles_of
from certify.core import audit
from certify.core.types import utcnow
from certify.units.models import Framework, Unit, UnitStatus

AUTHORISABLE_ROLES = (Role.ASSESSOR, Role.VERIFIER)


def today() -> date:
    """The date authorisations are judged on (UTC, like every timestamp certify stores)."""
    return utcnow().date()


def _scope(unit: Unit | None, framework: Framework | None) -> dict[str, str]:
    if unit is not None:
        return {"unit": f"{unit.framework.code} {unit.code} v{unit.version}"}
    return {"framework": framework.code}


def authorise(
    session: Session,
    provider: Provider,
    user: User,
    role: Role,
    *,
    unit: Unit | None = None,
    framework: Framework | None = None,
    valid_from: date,
    valid_to: date | None = None,
    actor: User | None,
    via: str | None = None,
) -> Authorisation:
    """Let ``user`` act as ``role`` for ``provider`` on ``unit`` or every unit of ``framework``.

    The person must hold that role in the provider; the unit must be a current
    version; an overlapping authorisation for the same scope is refused as a
    duplicate.
    """
    role = Role(role)
    if role not in AUTHORISABLE_ROLES:
        raise AccountError("Only assessors and internal verifiers are authorised.", "role")
    if role not in roles_of(user, provider):
        raise AccountError(
            f"{user.name} does not hold the {role.label.lower()} role in {provider.name}; "
            "give them the role first.",
            "user",
        )
    if (unit is None) == (framework is None):
        raise AccountError("Choose either one unit or one whole framework.", "scope")
    if unit is not None and unit.status != UnitStatus.CURRENT:
        raise AccountError(
            f"{unit.code} version {unit.version} has been superseded; authorise the current "
            "version.",
            "unit_code",
        )
    if valid_to is not None and valid_to < valid_from:
        raise AccountError("The end date must not be before the start date.", "valid_to")
    overlapping = session.scalar(
        select(Authorisation.id).where(
            Authorisation.provider_id == provider.id,
            Authorisation.user_id == user.id,
            Authorisation.role == role,
            Authorisation.revoked_at.is_(None),
            Authorisation.unit_id == unit.id if unit is not None
            else Authorisation.framework_id == framework.id,
            or_(Authorisation.valid_to.is_(None), Authorisation.valid_to >= valid_from),
            *([] if valid_to is None else [Authorisation.valid_from <= valid_to]),
        ).limit(1)
    )
    if overlapping is not None:
        raise AccountError(
            f"{user.name} already has an authorisation for this that overlaps these dates.",
            "valid_from",
        )
    authorisation = Authorisation(
        provider=provider, user=user, role=role, unit=unit, framework=framework,
        valid_from=valid_from, valid_to=valid_to, created_by_id=getattr(actor, "id", None),
    )
    session.add(authorisation)
    session.flush()
    changes = {
        "person": user.email,
        "role": role.value,
        **_scope(unit, framework),
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None,
    }
    if via:
        changes["via"] = via
    audit.record(session, "authorisation.granted", actor=actor, provider=provider,
                 target=authorisation, changes=changes)
    return authorisation


def revoke_authorisation(
    session: Session, authorisation: Authorisation, *, actor: User | None, via: str | None = None
) -> None:
    """End an authorisation now; it stays listed as revoked."""
    if authorisation.revoked_at is not None:
        raise AccountError("This authorisation has already been revoked.")
    authorisation.revoked_at = utcnow()
    session.flush()
    changes = {
        "person": authorisation.user.email,
        "role": authorisation.role.value,
        **_scope(authorisation.unit, authorisation.framework),
        "revoked_at": authorisation.revoked_at.isoformat(),
    }
    if via:
        changes["via"] = via
    audit.record(session, "authorisation.revoked", actor=actor, provider=authorisation.provider,
                 target=authorisation, changes=changes)


def is_authorised(
    session: Session, provider: Provider, user: User, role: Role, unit: Unit, on: date
) -> bool:
    """Whether ``user`` may act as ``role`` on ``unit`` for ``provider`` on the day ``on``.

    Only this provider's authorisations count, and only while the person still
    holds the role there and their account is not disabled.
    """
    if user.is_disabled:
        return False
    holds_role = session.scalar(
        select(Membership.id).where(
            Membership.provider_id == provider.id,
            Membership.user_id == user.id,
            Membership.role == Role(role),
        )
    )
    if holds_role is None:
        return False
    candidates = session.scalars(
        select(Authorisation).where(
            Authorisation.provider_id == provider.id,
            Authorisation.user_id == user.id,
            Authorisation.role == Role(role),
            Authorisation.revoked_at.is_(None),
            or_(Authorisation.unit_id == unit.id, Authorisation.framework_id == unit.framework_id),
        )
    )
    return any(a.covers(unit, on) for a in candidates)


def status_of(authorisation: Authorisation, today: date) -> str:
    """active, future, expired or revoked, as the list shows it."""
    if authorisation.revoked_at is not None:
        return "revoked"
    if authorisation.valid_from > today:
        return "future"
    if authorisation.valid_to is not None and authorisation.valid_to < today:
        return "expired"
    return "active"


def status_filter(status: str, today: date):
    """The SQL condition for one of ``status_of``'s answers."""
    live = Authorisation.revoked_at.is_(None)
    return {
        "revoked": Authorisation.revoked_at.is_not(None),
        "future": live & (Authorisation.valid_from > today),
        "expired": live & Authorisation.valid_to.is_not(None) & (Authorisation.valid_to < today),
        "active": live
        & (Authorisation.valid_from <= today)
        & or_(Authorisation.valid_to.is_(None), Authorisation.valid_to >= today),
    }[status]


def authorisation_query(provider: Provider, *, user_id: int | None = None,
                        status: str | None = None, today: date):
    """This provider's authorisations, newest first, with everything the list shows loaded."""
    query = (
        select(Authorisation)
        .options(
            joinedload(Authorisation.user),
            joinedload(Authorisation.unit).joinedload(Unit.framework),
            joinedload(Authorisation.framework),
        )
        .where(Authorisation.provider_id == provider.id)
        .order_by(Authorisation.created_at.desc(), Authorisation.id.desc())
    )
    if user_id is not None:
        query = query.where(Authorisation.user_id == user_id)
    if status:
        query = query.where(status_filter(status, today))
    return query
