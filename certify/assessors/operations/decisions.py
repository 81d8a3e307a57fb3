"""Making a signed decision final: confirmation, and what follows from it.

A decision is confirmed at signing when the sampling plan passes it by, or when
an internal verifier agrees with it.  Confirming is the one place where a
decision starts to count: the decision it corrects or decides on appeal is
superseded, the attempt is completed (competent) or returned (not yet
competent), the enrolment follows, an appeal is decided, and the candidate is
told.  Until then the candidate is told no result.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from certify.accounts.models import Enrolment, EnrolmentStatus, User
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentStatus,
    Outcome,
)
from certify.core import audit
from certify.core.notifications import notify
from certify.core.types import utcnow
from certify.evidence.models import Submission, SubmissionStatus


def lineage(assessment: Assessment) -> list[Assessment]:
    """``assessment`` and every decision it replaces, newest first."""
    chain: list[Assessment] = []
    seen: set[int] = set()
    current: Assessment | None = assessment
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = current.replaces
    return chain


def appeal_for(session: Session, assessment: Assessment) -> Appeal | None:
    """The appeal that ``assessment`` decides: it is the appeal's reassessment, or remakes it
    (a rework after verification); None for decisions not made on an appeal."""
    ids = [a.id for a in lineage(assessment)]
    return session.scalar(select(Appeal).where(Appeal.new_assessment_id.in_(ids)))


def counted_decisions(session: Session, enrolment: Enrolment) -> list[Assessment]:
    """The decisions that count for ``enrolment``: the confirmed one of each decided attempt,
    oldest attempt first, so the last one is the candidate's standing result on the unit.

    Only confirmed decisions count (certification reads this): a decision waiting for
    verification, sent back, superseded by a correction or an appeal, discarded or still a
    draft does not.  One query, with each decision's submission loaded.
    """
    return list(session.scalars(
        select(Assessment)
        .join(Assessment.submission)
        .options(contains_eager(Assessment.submission))
        .where(Submission.enrolment_id == enrolment.id,
               Assessment.status == AssessmentStatus.CONFIRMED)
        .order_by(Submission.attempt, Assessment.confirmed_at, Assessment.id)
    ))


def deciders(assessment: Assessment) -> set[int]:
    """Everyone who signed ``assessment`` or a decision it replaces: none of them may decide
    an appeal against it (a second appeal, too, goes to someone new)."""
    return {a.assessor_id for a in lineage(assessment) if a.signed_at is not None}


def attempts_used(session: Session, enrolment_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Submission).where(Submission.enrolment_id == enrolment_id)
    ) or 0


def confirm(session: Session, assessment: Assessment, *, actor: User | None) -> Assessment:
    """Make a signed decision count (see the module's description).  Flushes and audits."""
    submission = assessment.submission
    enrolment = submission.enrolment
    now = utcnow()
    assessment.status = AssessmentStatus.CONFIRMED
    assessment.confirmed_at = now
    superseded = None
    for earlier in lineage(assessment)[1:]:
        if earlier.status == AssessmentStatus.CONFIRMED:
            earlier.status = AssessmentStatus.SUPERSEDED
            superseded = earlier
            break
    competent = assessment.outcome == Outcome.COMPETENT
    submission.status = SubmissionStatus.COMPLETED if competent else SubmissionStatus.RETURNED
    if competent:
        enrolment.status = EnrolmentStatus.COMPLETED
    elif enrolment.status == EnrolmentStatus.COMPLETED:
        # A correction or appeal took competence away: the enrolment is open again.
        enrolment.status = EnrolmentStatus.ACTIVE
    appeal = appeal_for(session, assessment)
    if appeal is not None and appeal.status != AppealStatus.DECIDED:
        appeal.status = AppealStatus.DECIDED
        appeal.decided_at = now
        appeal.new_assessment = assessment
    session.flush()
    audit.record(
        session, "assessment.confirmed", actor=actor, provider=enrolment.provider,
        target=assessment,
        changes={"outcome": assessment.outcome.value if assessment.outcome else None,
                 "submission_id": submission.id, "attempt": submission.attempt,
                 "supersedes": superseded.id if superseded is not None else None,
                 "appeal_id": appeal.id if appeal is not None else None,
                 "submission_status": submission.status.value,
                 "enrolment_status": enrolment.status.value},
    )
    _tell_candidate(session, assessment, appeal)
    return assessment


def _tell_candidate(session: Session, assessment: Assessment, appeal: Appeal | None) -> None:
    submission = assessment.submission
    enrolment = submission.enrolment
    unit = enrolment.unit
    outcome = assessment.outcome.label.lower() if assessment.outcome else "decided"
    link = {"endpoint": "assessors.decisions", "enrolment_id": enrolment.id}
    if appeal is not None:
        notify(session, enrolment.candidate, "appeal_decided",
               f"Your appeal on {unit.code} is decided: {outcome}",
               body="The new decision replaces the one you appealed; both stay in your history.",
               provider=enrolment.provider, **link)
        return
    if assessment.outcome == Outcome.COMPETENT:
        notify(session, enrolment.candidate, "decision_released",
               f"{unit.code} attempt {submission.attempt}: competent",
               body="Your assessor's feedback on every criterion is ready to read.",
               provider=enrolment.provider, **link)
        return
    remaining = enrolment.provider.max_attempts - attempts_used(session, enrolment.id)
    if remaining > 0:
        notify(session, enrolment.candidate, "resubmission_requested",
               f"{unit.code} attempt {submission.attempt}: not yet competent; please resubmit",
               body=(f"Read the feedback on each criterion, add or change evidence and submit "
                     f"again. You have {remaining} more attempt{'s' if remaining != 1 else ''}."),
               provider=enrolment.provider, **link)
    else:
        notify(session, enrolment.candidate, "decision_released",
               f"{unit.code} attempt {submission.attempt}: not yet competent",
               body=("This was your last attempt allowed by the provider. You may appeal the "
                     "decision or contact your provider."),
               provider=enrolment.provider, **link)
