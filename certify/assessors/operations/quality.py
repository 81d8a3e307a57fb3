"""Internal verification: the provider's sampling plan, flags, verifiers' answers, the report.

The plan samples every decision among an assessor's first N on a unit, a
percentage of the rest at random, every competent decision that follows a not
yet competent one on the same enrolment, every decision remade after a
verifier disagreed, and anything a provider admin flagged.  A sampled decision
waits for a verifier who is authorised for the unit and is not its assessor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from certify.accounts.models import Provider, Role, User
from certify.accounts.operations.people import change_provider_settings
from certify.assessors.errors import AssessmentError, InvalidMarking
from certify.assessors.models import (
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    Judgement,
    Outcome,
    Verification,
)
from certify.assessors.operations.assignment import (
    allowed_people,
    assign_automatically,
    start_assessment,
    why_not,
)
from certify.assessors.operations.decisions import appeal_for, confirm, deciders, lineage
from certify.assessors.operations.locking import claim
from certify.core import audit
from certify.core.notifications import notify
from certify.core.types import utcnow
from certify.evidence.models import Submission

_system_random = random.SystemRandom()

SETTINGS_LIMITS = {
    # field: (lowest, highest, label)
    "sample_first_n": (0, 1000, "First decisions sampled per assessor and unit"),
    "sample_percent": (0, 100, "Percentage of the other decisions sampled"),
    "max_attempts": (1, 20, "Attempts allowed per enrolment"),
    "appeal_window_days": (1, 365, "Days to appeal a decision"),
}


def sample_reason(session: Session, assessment: Assessment,
                  rng: random.Random | None = None) -> str | None:
    """Why the plan samples ``assessment`` (being signed now), or None when it does not."""
    provider = assessment.provider
    if assessment.flagged_at is not None:
        return "Flagged for sampling by a provider admin"
    if assessment.kind == AssessmentKind.REWORK:
        return "Remade after an internal verifier disagreed"
    earlier = session.scalar(
        select(func.count()).select_from(Assessment).where(
            Assessment.assessor_id == assessment.assessor_id,
            Assessment.unit_id == assessment.unit_id,
            Assessment.provider_id == assessment.provider_id,
            Assessment.signed_at.is_not(None),
            Assessment.id != assessment.id,
        )
    ) or 0
    if earlier < provider.sample_first_n:
        return (f"Decision {earlier + 1} of the assessor's first {provider.sample_first_n} "
                "on this unit")
    if assessment.outcome == Outcome.COMPETENT and _followed_not_yet_competent(session,
                                                                              assessment):
        return "Competent after a not yet competent decision"
    if (rng or _system_random).random() * 100 < provider.sample_percent:
        return f"Chosen at random ({provider.sample_percent}% of the other decisions)"
    return None


def _followed_not_yet_competent(session: Session, assessment: Assessment) -> bool:
    """Whether the candidate's previous counted decision on this enrolment was not yet
    competent (an earlier attempt, or the decision this one corrects or decides on appeal)."""
    previous = session.scalar(
        select(Assessment.outcome)
        .join(Assessment.submission)
        .where(Submission.enrolment_id == assessment.submission.enrolment_id,
               Assessment.id != assessment.id,
               Assessment.status.in_((AssessmentStatus.CONFIRMED, AssessmentStatus.SUPERSEDED)))
        .order_by(Assessment.confirmed_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    return previous == Outcome.NOT_YET_COMPETENT


def flag(session: Session, assessment: Assessment, *, actor: User, reason: str) -> Assessment:
    """A provider admin asks for this decision to be sampled when it is signed."""
    reason = (reason or "").strip()
    if not reason:
        raise AssessmentError("Say why this decision should be sampled.", "reason")
    if len(reason) > 2000:
        raise AssessmentError("Keep the reason under 2,000 characters.", "reason")
    if assessment.status != AssessmentStatus.DRAFT:
        raise AssessmentError("Only a decision that is not yet signed can be flagged for "
                              "sampling.", "reason")
    if assessment.flagged_at is not None:
        raise AssessmentError("This decision is already flagged for sampling.", "reason")
    assessment.flagged_at = utcnow()
    assessment.flagged_by_id = actor.id
    assessment.flag_reason = reason
    session.flush()
    audit.record(session, "assessment.flagged", actor=actor, provider=assessment.provider,
                 target=assessment, changes={"reason": reason})
    return assessment


def send_to_verification(session: Session, assessment: Assessment, reason: str) -> None:
    """Record that the plan sampled ``assessment`` and tell the verifiers who may take it."""
    assessment.sampled = True
    assessment.sample_reason = reason[:200]
    assessment.status = AssessmentStatus.AWAITING_VERIFICATION
    session.flush()
    submission = assessment.submission
    enrolment = submission.enrolment
    verifiers = allowed_people(session, submission, Role.VERIFIER,
                               exclude=[assessment.assessor_id])
    for verifier in verifiers:
        notify(session, verifier, "sample_waiting",
               f"A sampled decision on {enrolment.unit.code} is waiting for verification",
               body=f"{assessment.assessor.name}'s decision on attempt {submission.attempt} "
                    f"({reason}).",
               endpoint="assessors.assessment", assessment_id=assessment.id,
               provider=enrolment.provider)


def verify(session: Session, assessment: Assessment, *, actor: User, agree: bool,
           comment: str) -> Verification:
    """An internal verifier agrees (the decision is confirmed) or disagrees with comments
    (it returns to the assessor as a new draft; the candidate is told nothing yet)."""
    comment = (comment or "").strip()
    if assessment.status != AssessmentStatus.AWAITING_VERIFICATION:
        raise AssessmentError(
            f"This decision is {assessment.status.label.lower()}; only a sampled decision "
            "waiting for verification can be verified.")
    if actor.id == assessment.assessor_id:
        raise AssessmentError("You made this decision; another verifier must verify it.")
    reason = why_not(session, assessment.submission, actor, Role.VERIFIER)
    if reason is not None:
        raise AssessmentError(reason)
    if not agree and not comment:
        raise InvalidMarking({"comment": "Say what the assessor should look at again: a "
                                         "comment is required when you disagree."})
    if len(comment) > 10000:
        raise InvalidMarking({"comment": "Keep the comment under 10,000 characters."})
    if not claim(session, assessment, assessment.version):
        # Another verifier answered (or an admin acted) since this page was loaded.
        session.refresh(assessment)
        raise AssessmentError(
            f"Someone else acted on this decision meanwhile; it is now "
            f"{assessment.status.label.lower()}. Nothing was changed.")
    verification = Verification(assessment=assessment, verifier=actor, agreed=agree,
                                comment=comment, at=utcnow())
    session.add(verification)
    session.flush()
    audit.record(session, "assessment.verified", actor=actor, provider=assessment.provider,
                 target=assessment,
                 changes={"agreed": agree, "comment": comment,
                          "outcome": assessment.outcome.value if assessment.outcome else None})
    if agree:
        confirm(session, assessment, actor=actor)
        return verification
    assessment.status = AssessmentStatus.SENT_BACK
    session.flush()
    rework = start_rework(session, assessment, actor=actor)
    notify(session, rework.assessor, "verification_disagreed",
           f"Internal verification disagreed with your decision on "
           f"{assessment.submission.enrolment.unit.code}",
           body=comment, endpoint="assessors.assessment", assessment_id=rework.id,
           provider=assessment.provider)
    return verification


def start_rework(session: Session, assessment: Assessment, *, actor: User) -> Assessment:
    """A new draft for the same assessor (or, when they may no longer assess it, for another
    allowed assessor) starting from the judgements of the decision that was sent back."""
    submission = assessment.submission
    # The assessor whose decision is under appeal never reassesses it, not even a rework.
    barred = appeal_barred(session, assessment)
    if (assessment.assessor_id not in barred
            and why_not(session, submission, assessment.assessor, Role.ASSESSOR) is None):
        rework = start_assessment(session, submission, assessment.assessor, actor=actor,
                                  via="automatic", kind=AssessmentKind.REWORK,
                                  replaces=assessment)
    else:
        rework = assign_automatically(session, submission, actor=actor,
                                      kind=AssessmentKind.REWORK, replaces=assessment,
                                      exclude=barred)
        if rework is None:
            raise AssessmentError(
                f"{assessment.assessor.name} may no longer assess this unit and nobody else is "
                "authorised to; authorise an assessor first.")
    copy_marking(assessment, rework)
    rework.flagged_at = assessment.flagged_at
    rework.flagged_by_id = assessment.flagged_by_id
    rework.flag_reason = assessment.flag_reason
    session.flush()
    return rework


def appeal_barred(session: Session, assessment: Assessment) -> list[int]:
    """Who may not remake ``assessment``: on an appeal, whoever signed the decision under
    appeal or one it replaced; nobody otherwise."""
    appeal = appeal_for(session, assessment)
    return [] if appeal is None else sorted(deciders(appeal.assessment))


def copy_marking(source: Assessment, target: Assessment) -> None:
    """Start ``target`` from ``source``'s judgements, rules of evidence and feedback."""
    for judgement in source.judgements:
        target.judgements.append(Judgement(criterion_id=judgement.criterion_id,
                                           satisfactory=judgement.satisfactory,
                                           comment=judgement.comment))
    for rule, value in source.rules.items():
        setattr(target, f"rule_{rule}", value)
    target.feedback = source.feedback


def update_settings(session: Session, provider: Provider, *, actor: User,
                    **values: int) -> Provider:
    """Change the provider's assessment settings (sampling plan, attempts, appeal window).

    Every value is checked against its range first; nothing changes when one is wrong.
    """
    errors: dict[str, str] = {}
    for name, value in values.items():
        if name not in SETTINGS_LIMITS:
            raise ValueError(f"unknown setting {name!r}")
        low, high, label = SETTINGS_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name] = f"{label} must be a whole number from {low} to {high}."
    if errors:
        raise InvalidMarking(errors)
    return change_provider_settings(session, provider, values,
                                    action="provider.assessment_settings_changed", actor=actor)


@dataclass
class AssessorFigures:
    assessor_id: int
    name: str
    decisions: int
    sampled: int
    agreed: int
    disagreed: int

    @property
    def agreement_rate(self) -> float | None:
        answered = self.agreed + self.disagreed
        return None if answered == 0 else self.agreed / answered


def verifier_report(session: Session, provider: Provider) -> list[AssessorFigures]:
    """Per assessor: signed decisions, sampled, agreed, disagreed (two queries in all)."""
    signed = session.execute(
        select(Assessment.assessor_id, User.name, func.count(),
               func.sum(case((Assessment.sampled.is_(True), 1), else_=0)))
        .join(User, User.id == Assessment.assessor_id)
        .where(Assessment.provider_id == provider.id, Assessment.signed_at.is_not(None))
        .group_by(Assessment.assessor_id, User.name)
    ).all()
    answers = dict(
        ((assessor_id, agreed), count) for assessor_id, agreed, count in session.execute(
            select(Assessment.assessor_id, Verification.agreed, func.count())
            .join(Verification, Verification.assessment_id == Assessment.id)
            .where(Assessment.provider_id == provider.id)
            .group_by(Assessment.assessor_id, Verification.agreed)
        )
    )
    rows = [
        AssessorFigures(assessor_id=assessor_id, name=name, decisions=count,
                        sampled=int(sampled or 0), agreed=answers.get((assessor_id, True), 0),
                        disagreed=answers.get((assessor_id, False), 0))
        for assessor_id, name, count, sampled in signed
    ]
    return sorted(rows, key=lambda r: (r.name.lower(), r.assessor_id))


__all__ = [
    "SETTINGS_LIMITS",
    "AssessorFigures",
    "appeal_barred",
    "copy_marking",
    "flag",
    "lineage",
    "sample_reason",
    "send_to_verification",
    "start_rework",
    "update_settings",
    "verifier_report",
    "verify",
]
