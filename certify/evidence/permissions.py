"""Who may see and change evidence.

A candidate's evidence is visible to that candidate and to staff of the same
provider (assessors, internal verifiers, provider admins), and to nobody else.
Only the candidate changes it, and only while it is not locked by a submission.
"""

from __future__ import annotations

from typing import Any

from certify.accounts.models import STAFF_ROLES, Enrolment, Role
from certify.accounts.permissions import roles_in
from certify.evidence.models import EvidenceItem, Submission


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_staff_of(user: Any, provider: Any) -> bool:
    return bool(roles_in(user, provider) & STAFF_ROLES)


def can_keep_portfolio(user: Any, provider: Any) -> bool:
    """Candidates of ``provider`` build a portfolio there."""
    return Role.CANDIDATE in roles_in(user, provider)


def can_view_item(user: Any, item: EvidenceItem) -> bool:
    if not _signed_in(user):
        return False
    return item.candidate_id == user.id or is_staff_of(user, item.provider)


def can_edit_item(user: Any, item: EvidenceItem) -> bool:
    """The candidate, while the item is a draft (never submitted)."""
    return _signed_in(user) and item.candidate_id == user.id and not item.is_locked


def can_map_item(user: Any, item: EvidenceItem) -> bool:
    """Mappings may change for the next attempt even after the item was submitted."""
    return _signed_in(user) and item.candidate_id == user.id


def can_view_enrolment_evidence(user: Any, enrolment: Enrolment) -> bool:
    if not _signed_in(user):
        return False
    return enrolment.candidate_id == user.id or is_staff_of(user, enrolment.provider)


def can_submit(user: Any, enrolment: Enrolment) -> bool:
    return _signed_in(user) and enrolment.candidate_id == user.id


def can_view_submission(user: Any, submission: Submission) -> bool:
    return can_view_enrolment_evidence(user, submission.enrolment)
