"""Conflicts of interest: an assessor or verifier who must not judge a candidate's work.

Declaring one takes effect at once: drafts the person holds for that candidate
go back to be assigned to somebody else, and they are never offered that
candidate's work again until the declaration is withdrawn.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Enrolment, Membership, Provider, Role, User
from certify.assessors.errors import AssessmentError
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    ConflictOfInterest,
)
from certify.assessors.operations.assignment import assign_automatically, has_conflict
from certify.assessors.operations.decisions import appeal_for
from certify.core import audit
from certify.core.types import utcnow
from certify.evidence.models import Submission


def _roles(session: Session, provider: Provider, user: User) -> set[Role]:
    return set(session.scalars(select(Membership.role).where(
        Membership.provider_id == provider.id, Membership.user_id == user.id)))


def declare_conflict(session: Session, provider: Provider, staff: User, candidate: User, *,
                     reason: str, actor: User) -> ConflictOfInterest:
    """Record that ``staff`` must not assess or verify ``candidate``'s work in ``provider``."""
    reason = (reason or "").strip()
    if not reason:
        raise AssessmentError("Say what the conflict of interest is (for example a family "
                              "member, a friend, their manager).", "reason")
    if len(reason) > 2000:
        raise AssessmentError("Keep the reason under 2,000 characters.", "reason")
    if not _roles(session, provider, staff) & {Role.ASSESSOR, Role.VERIFIER}:
        raise AssessmentError(f"{staff.name} is neither an assessor nor an internal verifier "
                              f"in {provider.name}.", "staff")
    if Role.CANDIDATE not in _roles(session, provider, candidate):
        raise AssessmentError(f"{candidate.name} is not a candidate of {provider.name}.",
                              "candidate")
    if staff.id == candidate.id:
        raise AssessmentError("Nobody assesses their own work; there is no need to declare it.",
                              "candidate")
    if has_conflict(session, provider.id, staff.id, candidate.id):
        raise AssessmentError(f"A conflict of interest between {staff.name} and "
                              f"{candidate.name} is already recorded.", "candidate")
    conflict = ConflictOfInterest(provider_id=provider.id, staff=staff, candidate=candidate,
                                  reason=reason, declared_by_id=actor.id)
    session.add(conflict)
    session.flush()
    audit.record(session, "conflict.declared", actor=actor, provider=provider, target=conflict,
                 changes={"staff": staff.email, "candidate": candidate.email, "reason": reason})
    _release_drafts(session, provider, staff, candidate, actor)
    return conflict


def _release_drafts(session: Session, provider: Provider, staff: User, candidate: User,
                    actor: User) -> None:
    drafts = session.scalars(
        select(Assessment).join(Assessment.submission).join(Submission.enrolment)
        .where(Assessment.provider_id == provider.id, Assessment.assessor_id == staff.id,
               Assessment.status == AssessmentStatus.DRAFT,
               Enrolment.candidate_id == candidate.id)
    ).all()
    for draft in drafts:
        draft.status = AssessmentStatus.DISCARDED
        session.flush()
        audit.record(session, "assessment.released_for_conflict", actor=actor,
                     provider=provider, target=draft,
                     changes={"assessor": staff.email, "kind": draft.kind.value})
        if draft.kind == AssessmentKind.APPEAL:
            appeal = session.scalar(select(Appeal).where(Appeal.new_assessment_id == draft.id))
            if appeal is not None:
                appeal.status = AppealStatus.LODGED
                appeal.new_assessment = None
        elif draft.kind in (AssessmentKind.INITIAL, AssessmentKind.REWORK):
            # The next assessor starts afresh: the conflicted judgements are not copied.
            appeal = appeal_for(session, draft)
            barred = [] if appeal is None else [appeal.assessment.assessor_id]
            again = assign_automatically(session, draft.submission, actor=actor,
                                         kind=draft.kind, replaces=draft.replaces,
                                         exclude=[staff.id, *barred])
            if again is not None and draft.flagged_at is not None:
                # An admin's request to sample it stands whoever assesses it.
                again.flagged_at = draft.flagged_at
                again.flagged_by_id = draft.flagged_by_id
                again.flag_reason = draft.flag_reason
            if again is None and appeal is not None:
                # A rework on an appeal nobody may take: the appeal waits for an assessor
                # on the appeals page again, and is reassessed from the decision appealed.
                appeal.status = AppealStatus.LODGED
                appeal.new_assessment = None
        session.flush()


def withdraw_conflict(session: Session, conflict: ConflictOfInterest, *,
                      actor: User) -> ConflictOfInterest:
    """End a declaration; it stays listed as withdrawn."""
    if conflict.withdrawn_at is not None:
        raise AssessmentError("This declaration has already been withdrawn.")
    conflict.withdrawn_at = utcnow()
    session.flush()
    audit.record(session, "conflict.withdrawn", actor=actor,
                 provider=session.get(Provider, conflict.provider_id), target=conflict,
                 changes={"staff": conflict.staff.email, "candidate": conflict.candidate.email})
    return conflict
