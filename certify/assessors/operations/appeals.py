"""Appeals: a candidate contests a confirmed decision within the provider's window; a provider
admin gives it to a different authorised assessor, whose confirmed decision replaces the old
one (both stay in the history)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Membership, Role, User
from certify.assessors.errors import AssessmentError
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
)
from certify.assessors.operations.assignment import check_allowed, start_assessment
from certify.assessors.operations.decisions import deciders
from certify.assessors.operations.marking import latest_attempt_id
from certify.core import audit
from certify.core.notifications import notify
from certify.core.types import utcnow
from certify.evidence.models import SubmissionStatus

STATEMENT_MIN, STATEMENT_MAX = 20, 10000


def appeal_deadline(assessment: Assessment):
    """The last moment the candidate may appeal ``assessment`` (None when not confirmed)."""
    if assessment.confirmed_at is None:
        return None
    return assessment.confirmed_at + timedelta(days=assessment.provider.appeal_window_days)


def why_no_appeal(session: Session, assessment: Assessment, candidate: User) -> str | None:
    """Why ``candidate`` may not appeal ``assessment`` now, or None when they may."""
    submission = assessment.submission
    if submission.enrolment.candidate_id != candidate.id:
        return "Only the candidate can appeal their decision."
    if assessment.status != AssessmentStatus.CONFIRMED:
        return "Only a confirmed decision can be appealed."
    if session.scalar(select(Appeal.id).where(Appeal.assessment_id == assessment.id)):
        return "You have already appealed this decision."
    deadline = appeal_deadline(assessment)
    if deadline is not None and utcnow() > deadline:
        return (f"The time to appeal this decision ended on {deadline:%d %B %Y} "
                f"({assessment.provider.appeal_window_days} days after it was confirmed).")
    if latest_attempt_id(session, submission.enrolment_id) != submission.id:
        return "You have submitted a later attempt since this decision."
    return None


def lodge_appeal(session: Session, assessment: Assessment, *, actor: User,
                 statement: str) -> Appeal:
    """The candidate appeals ``assessment`` with a statement; provider admins are told.

    The attempt waits for reassessment again until the appeal is decided."""
    statement = (statement or "").strip()
    reason = why_no_appeal(session, assessment, actor)
    if reason is not None:
        raise AssessmentError(reason, "statement")
    if len(statement) < STATEMENT_MIN:
        raise AssessmentError(
            f"Explain why you think the decision is wrong (at least {STATEMENT_MIN} "
            "characters).", "statement")
    if len(statement) > STATEMENT_MAX:
        raise AssessmentError(f"Keep the statement under {STATEMENT_MAX:,} characters.",
                              "statement")
    submission = assessment.submission
    enrolment = submission.enrolment
    appeal = Appeal(provider_id=assessment.provider_id, assessment=assessment,
                    candidate_id=actor.id, statement=statement, status=AppealStatus.LODGED,
                    lodged_at=utcnow())
    session.add(appeal)
    submission.status = SubmissionStatus.SUBMITTED
    session.flush()
    audit.record(session, "appeal.lodged", actor=actor, provider=assessment.provider,
                 target=appeal, changes={"assessment_id": assessment.id,
                                         "outcome": assessment.outcome.value,
                                         "statement": statement})
    admins = session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.provider_id == assessment.provider_id,
               Membership.role == Role.PROVIDER_ADMIN, User.disabled_at.is_(None))
        .order_by(User.id)
    ).unique()
    for admin in admins:
        notify(session, admin, "appeal_lodged",
               f"{enrolment.candidate.name} appealed the decision on {enrolment.unit.code}",
               body=statement[:500], endpoint="assessors.appeals",
               provider=assessment.provider)
    return appeal


def assign_appeal(session: Session, appeal: Appeal, assessor: User, *, actor: User) -> Assessment:
    """Give the appeal to ``assessor``: a different person from the one who decided, allowed
    to assess the unit on this date.  They reassess from scratch."""
    if appeal.status != AppealStatus.LODGED:
        raise AssessmentError(f"This appeal is {appeal.status.value}; it has an assessor "
                              "already.", "assessor")
    original = appeal.assessment
    if assessor.id in deciders(original):
        raise AssessmentError(f"{assessor.name} made the decision under appeal; choose a "
                              "different assessor.", "assessor")
    submission = original.submission
    check_allowed(session, submission, assessor, Role.ASSESSOR)
    reassessment = start_assessment(session, submission, assessor, actor=actor, via="admin",
                                    kind=AssessmentKind.APPEAL, replaces=original)
    appeal.status = AppealStatus.ASSIGNED
    appeal.new_assessment = reassessment
    session.flush()
    audit.record(session, "appeal.assigned", actor=actor, provider=appeal.provider,
                 target=appeal, changes={"assessor": assessor.email,
                                         "assessment_id": reassessment.id})
    return reassessment
