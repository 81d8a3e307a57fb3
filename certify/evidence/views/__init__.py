"""Evidence pages, split by subject; importing this module attaches every route to ``bp``."""

from certify.evidence import bp
from certify.evidence.views import (
    portfolio,  # noqa: F401 - attaches its routes
    submissions,  # noqa: F401 - attaches the routes
)

__all__ = ["bp"]
