"""Account pages, split by subject; importing this module attaches every route to ``bp``."""

from certify.accounts import bp
from certify.accounts.views import admin, auth, context, enrolments, people  # noqa: F401

__all__ = ["bp"]
