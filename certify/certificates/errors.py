"""What certification refuses, said so that the person asking can act on it."""

from __future__ import annotations


class IssueRefused(ValueError):
    """A certificate cannot be issued, revoked or reissued; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
