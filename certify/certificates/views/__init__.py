"""Certification pages; importing each module attaches its routes to the blueprint."""

from certify.certificates import bp
from certify.certificates.views import (  # noqa: F401
    candidate,
    issuers,
    issuing,
    register,
    settings,
    verify,
)

__all__ = ["bp"]
