"""Who may do what in assessment, as ``can_*`` rules used by views and templates alike.

Roles are read from the user's loaded memberships (no queries).  Whether an
assessor or verifier is *authorised* for a unit on a date, and free of conflicts
of interest, is checked by the operations (it needs the database); these rules
decide who may open a page or press a button at all.  Views answer 404 for
objects the rule refuses, so another provider's work is not confirmed to exist.
"""

from __future__ import annotations

from typing import Any

from certify.accounts.models import STAFF_ROLES, Role
from certify.accounts.permissions import roles_in
from certify.assessors.models import (
    Appeal,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    ConflictOfInterest,
)


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _roles(user: Any, provider: Any) -> frozenset[Role]:
    return roles_in(user, provider)


def can_assess(user: Any, provider: Any) -> bool:
    """Assessors of ``provider`` have a queue there."""
    return Role.ASSESSOR in _roles(user, provider)


def can_verify_in(user: Any, provider: Any) -> bool:
    """Internal verifiers of ``provider`` have a verification queue there."""
    return Role.VERIFIER in _roles(user, provider)


def can_administer_assessment(user: Any, provider: Any) -> bool:
    """Provider admins assign work, set the sampling plan, flag decisions, handle appeals,
    read the dashboards."""
    return Role.PROVIDER_ADMIN in _roles(user, provider)


def can_read_verifier_report(user: Any, provider: Any) -> bool:
    return bool(_roles(user, provider) & {Role.VERIFIER, Role.PROVIDER_ADMIN})


def can_declare_conflicts(user: Any, provider: Any) -> bool:
    """Assessors and verifiers declare their own conflicts; admins record anyone's."""
    return bool(_roles(user, provider) & {Role.ASSESSOR, Role.VERIFIER, Role.PROVIDER_ADMIN})


def can_withdraw_conflict(user: Any, conflict: ConflictOfInterest, provider: Any) -> bool:
    if not _signed_in(user) or provider is None or conflict.provider_id != provider.id:
        return False
    return conflict.staff_id == user.id or can_administer_assessment(user, provider)


def can_view_assessment(user: Any, assessment: Assessment) -> bool:
    """The full marking page: staff of the assessment's provider (read-only for all but its
    assessor while it is a draft).  Candidates read released decisions on their own page."""
    return bool(_roles(user, assessment.provider) & STAFF_ROLES)


def can_mark(user: Any, assessment: Assessment) -> bool:
    """The assigned assessor, while the decision is a draft."""
    return (_signed_in(user) and assessment.assessor_id == user.id
            and assessment.status == AssessmentStatus.DRAFT
            and can_assess(user, assessment.provider))


def can_correct(user: Any, assessment: Assessment) -> bool:
    """The assessor who made a confirmed decision may start a correction of it."""
    return (_signed_in(user) and assessment.assessor_id == user.id
            and assessment.status == AssessmentStatus.CONFIRMED
            and can_assess(user, assessment.provider))


def can_discard(user: Any, assessment: Assessment) -> bool:
    return can_mark(user, assessment) and assessment.kind == AssessmentKind.CORRECTION


def can_verify(user: Any, assessment: Assessment) -> bool:
    """Verifiers of the provider, on a sampled decision that is not their own."""
    return (_signed_in(user) and can_verify_in(user, assessment.provider)
            and assessment.assessor_id != user.id
            and assessment.status == AssessmentStatus.AWAITING_VERIFICATION)


def can_flag(user: Any, assessment: Assessment) -> bool:
    return (can_administer_assessment(user, assessment.provider)
            and assessment.status == AssessmentStatus.DRAFT and assessment.flagged_at is None)


def is_released(assessment: Assessment) -> bool:
    """The candidate is told a result only once it is confirmed (or later superseded)."""
    return assessment.status in (AssessmentStatus.CONFIRMED, AssessmentStatus.SUPERSEDED)


def can_read_decision(user: Any, assessment: Assessment) -> bool:
    """The candidate reads their released decisions; staff of the provider read any."""
    if not _signed_in(user):
        return False
    if assessment.submission.enrolment.candidate_id == user.id:
        return is_released(assessment)
    return can_view_assessment(user, assessment)


def can_appeal(user: Any, assessment: Assessment) -> bool:
    """The candidate, on their own confirmed decision (the window and the rest are checked by
    the operation, which explains a refusal)."""
    return (_signed_in(user) and assessment.submission.enrolment.candidate_id == user.id
            and assessment.status == AssessmentStatus.CONFIRMED)


def can_manage_appeal(user: Any, appeal: Appeal) -> bool:
    return can_administer_assessment(user, appeal.provider)
