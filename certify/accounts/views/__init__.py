"""Account pages, split by subject; importing this module attaches every route to ``bp``."""

from certify.accounts import bp
from certify.accounts.views import auth, context  # noqa: F401

__all__ = ["bp"]
