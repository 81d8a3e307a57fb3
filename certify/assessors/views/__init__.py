"""Assessment pages, split by subject; importing this module attaches every route to ``bp``."""

from certify.assessors import bp
from certify.assessors.views import (  # noqa: F401 - each attaches its routes
    appeals,
    candidate,
    conflicts,
    dashboards,
    marking,
    quality,
    queue,
)

__all__ = ["bp"]
