"""Who may see what in the catalogue; views and templates ask the same rules."""

from __future__ import annotations

from typing import Any


def can_view_catalogue(user: Any, obj: Any = None) -> bool:
    """Whether ``user`` (None when nobody is signed in) may see ``obj`` in the catalogue.

    ``obj`` is a framework, a unit, or None for the catalogue as a whole.  The
    catalogue holds published standards, which are public: anyone may read them,
    signed in or not.  The rule lives here so that a later rule (a provider's
    unpublished units, say) changes this function and no view.
    """
    return True
