"""Who may see what in the catalogue; views and templates ask the same rules."""

from __future__ import annotations

from typing import Any

from certify.accounts.models import Role


def can_view_catalogue(user: Any, obj: Any = None) -> bool:
    """Whether ``user`` (None when nobody is signed in) may see ``obj`` in the catalogue.

    ``obj`` is a framework, a unit, or None for the catalogue as a whole.  The
    catalogue holds published standards, which are public: anyone may read them,
    signed in or not.  The rule lives here so that a later rule (a provider's
    unpublished units, say) changes this function and no view.
    """
    return True


def can_import_standards(user: Any) -> bool:
    """Platform administrators and the admins of any training provider import standards.

    The catalogue is shared by every provider, and its documents are published
    standards, so any provider's admin may add to it.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_platform_admin) or any(
        m.role == Role.PROVIDER_ADMIN for m in user.memberships
    )


def _admin_of(user: Any, provider_id: int | None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or provider_id is None:
        return False
    return any(m.role == Role.PROVIDER_ADMIN and m.provider_id == provider_id
               for m in user.memberships)


def can_manage_qualifications(user: Any, provider: Any) -> bool:
    """Provider admins define, change and withdraw their provider's qualifications."""
    return _admin_of(user, getattr(provider, "id", None))


def can_manage_qualification(user: Any, qualification: Any) -> bool:
    """One qualification: the admins of the provider it belongs to, nobody else.

    Views answer 404 when this is false, so that another provider's
    qualification is not confirmed to exist.
    """
    return _admin_of(user, getattr(qualification, "provider_id", None))
