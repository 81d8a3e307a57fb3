"""What assessment operations raise: a sentence for the person, and the field it is about."""

from __future__ import annotations

from dataclasses import dataclass, field


class AssessmentError(Exception):
    """An action that cannot be taken; ``str()`` says why, ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidMarking(AssessmentError):
    """Several fields are wrong at once: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass
class Change:
    """One field that differs between the saved assessment and the page that was posted."""

    label: str
    saved: str
    yours: str


@dataclass
class ConflictDetails:
    saved_version: int
    saved_at: str
    changes: list[Change] = field(default_factory=list)


class AssessmentConflict(AssessmentError):
    """Someone saved the assessment after this page was loaded; nothing was overwritten."""

    def __init__(self, details: ConflictDetails) -> None:
        super().__init__(
            "This assessment was saved by someone else (or in another window) at "
            f"{details.saved_at} after you opened it, so your changes were not saved. "
            "Compare them with what is saved now, then open the page again."
        )
        self.details = details
