"""Who may do what, as ``can_*(user, ...)`` rules used by views and templates alike.

A rule answers for one user about one provider or object.  Views turn "no"
into 404 for objects (another provider's or candidate's data is not confirmed
to exist) and into 403 for pages of the user's own provider they lack a role for.
"""

from __future__ import annotations

from typing import Any

from certify.accounts.models import STAFF_ROLES, Enrolment, Provider, Role, User


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def roles_in(user: Any, provider: Provider | None) -> frozenset[Role]:
    """The roles ``user`` holds in ``provider`` (memberships are loaded with the user)."""
    if not _signed_in(user) or provider is None:
        return frozenset()
    return frozenset(m.role for m in user.memberships if m.provider_id == provider.id)


def providers_of(user: Any) -> list[Provider]:
    if not _signed_in(user):
        return []
    seen: dict[int, Provider] = {}
    for membership in user.memberships:
        seen.setdefault(membership.provider_id, membership.provider)
    return sorted(seen.values(), key=lambda p: p.name.lower())


def is_platform_admin(user: Any) -> bool:
    return _signed_in(user) and bool(user.is_platform_admin)


def can_manage_providers(user: Any) -> bool:
    """Create training providers and name their first admin: platform administrators."""
    return is_platform_admin(user)


def can_read_outbox(user: Any) -> bool:
    return is_platform_admin(user)


def can_disable_accounts(user: Any) -> bool:
    return is_platform_admin(user)


def can_administer(user: Any, provider: Provider | None) -> bool:
    """Invite people, change roles, authorise assessors, enrol candidates, read the trail."""
    return Role.PROVIDER_ADMIN in roles_in(user, provider)


can_invite = can_administer
can_change_roles = can_administer
can_authorise_assessors = can_administer
can_enrol = can_administer
can_view_audit = can_administer


def can_view_people(user: Any, provider: Provider | None) -> bool:
    """Staff see their provider's people and enrolments."""
    return bool(roles_in(user, provider) & STAFF_ROLES)


def can_view_person(user: Any, provider: Provider | None, person: User) -> bool:
    """Staff see members of their own provider; anyone sees themself."""
    if not _signed_in(user):
        return False
    if user.id == person.id:
        return True
    return can_view_people(user, provider) and any(
        m.provider_id == provider.id for m in person.memberships
    )


def can_view_enrolment(user: Any, enrolment: Enrolment) -> bool:
    """The candidate enrolled, and staff of the enrolment's provider."""
    if not _signed_in(user):
        return False
    if enrolment.candidate_id == user.id:
        return True
    return can_view_people(user, enrolment.provider)


def can_use_staff_pages(user: Any, provider: Provider | None) -> bool:
    return can_view_people(user, provider)


def can_disable_user(user: Any, person: User) -> bool:
    """Platform administrators disable other people's accounts, never their own."""
    return can_disable_accounts(user) and user.id != person.id


def can_withdraw_enrolment(user: Any, enrolment: Enrolment) -> bool:
    """Provider admins of the enrolment's provider withdraw enrolments."""
    return can_enrol(user, enrolment.provider)


def can_view_own_units(user: Any, provider: Provider | None) -> bool:
    """Candidates of ``provider`` see the units they are enrolled on there."""
    return Role.CANDIDATE in roles_in(user, provider)
