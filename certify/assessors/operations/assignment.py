"""Who assesses a submission: assignment by a provider admin or automatically, and the rules
that keep an assessor away from work they must not judge.

An assessor never gets a submission from a candidate who is themselves, or with
whom they declared a conflict of interest, or for a unit they are not authorised
for on that date.  Automatic assignment picks, among those allowed, the assessor
with the fewest open (draft) assessments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from certify.accounts.models import Authorisation, Enrolment, Membership, Role, User
from certify.accounts.operations.authorisations import is_authorised, today
from certify.assessors.errors import AssessmentError
from certify.assessors.models import (
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    ConflictOfInterest,
)
from certify.core import audit
from certify.core.notifications import notify
from certify.core.types import utcnow
from certify.evidence.models import Submission, SubmissionStatus


def has_conflict(session: Session, provider_id: int, staff_id: int, candidate_id: int) -> bool:
    """Whether ``staff_id`` declared (or was recorded with) a conflict with ``candidate_id``."""
    return session.scalar(
        select(ConflictOfInterest.id).where(
            ConflictOfInterest.provider_id == provider_id,
            ConflictOfInterest.staff_id == staff_id,
            ConflictOfInterest.candidate_id == candidate_id,
            ConflictOfInterest.withdrawn_at.is_(None),
        ).limit(1)
    ) is not None


def why_not(session: Session, submission: Submission, person: User, role: Role,
            on: date | None = None) -> str | None:
    """The reason ``person`` may not act as ``role`` on ``submission``, or None when they may."""
    enrolment = submission.enrolment
    on = on or today()
    what = "assess" if role == Role.ASSESSOR else "verify"
    if person.id == enrolment.candidate_id:
        return f"{person.name} is the candidate of this submission and cannot {what} it."
    if has_conflict(session, enrolment.provider_id, person.id, enrolment.candidate_id):
        return (f"{person.name} has declared a conflict of interest with "
                f"{enrolment.candidate.name} and cannot {what} their work.")
    if not is_authorised(session, enrolment.provider, person, role, enrolment.unit, on):
        return (f"{person.name} is not authorised to {what} {enrolment.unit.code} "
                f"on {on:%d %B %Y}.")
    return None


def check_allowed(session: Session, submission: Submission, person: User, role: Role,
                  on: date | None = None, *, field: str = "assessor") -> None:
    reason = why_not(session, submission, person, role, on)
    if reason is not None:
        raise AssessmentError(reason, field)


def allowed_people(session: Session, submission: Submission, role: Role,
                   on: date | None = None, *, exclude: Iterable[int] = ()) -> list[User]:
    """Everyone who may act as ``role`` on ``submission`` on ``on``, by name.

    Read in a fixed number of queries whatever the number of staff: members with the
    role, their live authorisations for the unit or its framework, their conflicts.
    """
    return allowed_people_for(session, [submission], role, on, exclude=exclude)[submission.id]


def allowed_people_for(session: Session, submissions: Iterable[Submission], role: Role,
                       on: date | None = None, *,
                       exclude: Iterable[int] = ()) -> dict[int, list[User]]:
    """``allowed_people`` for each of several submissions of one provider, by submission id.

    The same rules as ``why_not`` (not the candidate, no conflict, authorised on ``on``)
    in the same fixed number of queries however many submissions are asked about, so
    that list pages can offer a choice of people on every row.
    """
    submissions = list(submissions)
    if not submissions:
        return {}
    provider_ids = {s.enrolment.provider_id for s in submissions}
    if len(provider_ids) != 1:
        raise ValueError("allowed_people_for answers for the submissions of one provider")
    provider_id = provider_ids.pop()
    on = on or today()
    excluded = set(exclude)
    members = list(session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .options(selectinload(User.memberships))
        .where(Membership.provider_id == provider_id, Membership.role == role,
               User.disabled_at.is_(None))
        .order_by(User.name, User.id)
    ).unique())
    members = [m for m in members if m.id not in excluded]
    answer: dict[int, list[User]] = {s.id: [] for s in submissions}
    if not members:
        return answer
    ids = [m.id for m in members]
    units = {s.enrolment.unit.id: s.enrolment.unit for s in submissions}
    grants: dict[int, list[Authorisation]] = {}
    for grant in session.scalars(
        select(Authorisation).where(
            Authorisation.provider_id == provider_id,
            Authorisation.user_id.in_(ids),
            Authorisation.role == role,
            Authorisation.revoked_at.is_(None),
            or_(Authorisation.unit_id.in_(list(units)),
                Authorisation.framework_id.in_({u.framework_id for u in units.values()})),
        )
    ):
        grants.setdefault(grant.user_id, []).append(grant)
    candidate_ids = {s.enrolment.candidate_id for s in submissions}
    conflicted = {(staff_id, candidate_id) for staff_id, candidate_id in session.execute(
        select(ConflictOfInterest.staff_id, ConflictOfInterest.candidate_id).where(
            ConflictOfInterest.provider_id == provider_id,
            ConflictOfInterest.candidate_id.in_(candidate_ids),
            ConflictOfInterest.withdrawn_at.is_(None),
            ConflictOfInterest.staff_id.in_(ids),
        )
    )}
    for submission in submissions:
        unit = submission.enrolment.unit
        candidate_id = submission.enrolment.candidate_id
        answer[submission.id] = [
            m for m in members
            if m.id != candidate_id and (m.id, candidate_id) not in conflicted
            and any(g.covers(unit, on) for g in grants.get(m.id, ()))
        ]
    return answer


def open_counts(session: Session, provider_id: int, user_ids: list[int]) -> dict[int, int]:
    """How many draft assessments each assessor has (their open work)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(Assessment.assessor_id, func.count())
        .where(Assessment.provider_id == provider_id, Assessment.assessor_id.in_(user_ids),
               Assessment.status == AssessmentStatus.DRAFT)
        .group_by(Assessment.assessor_id)
    )
    counts = dict.fromkeys(user_ids, 0)
    counts.update({assessor_id: count for assessor_id, count in rows})
    return counts


def open_assessment(session: Session, submission: Submission) -> Assessment | None:
    """The submission's assessment that is being marked or waits for verification, if any."""
    return session.scalar(
        select(Assessment).where(Assessment.submission_id == submission.id,
                                 Assessment.status.in_((AssessmentStatus.DRAFT,
                                                        AssessmentStatus.AWAITING_VERIFICATION)))
        .order_by(Assessment.id.desc()).limit(1)
    )


def _notify_assessor(session: Session, assessment: Assessment) -> None:
    submission = assessment.submission
    enrolment = submission.enrolment
    kind = "appeal_assigned" if assessment.kind == AssessmentKind.APPEAL else "submission_received"
    what = {
        AssessmentKind.INITIAL: "is waiting for your assessment",
        AssessmentKind.APPEAL: "is appealed and assigned to you for reassessment",
        AssessmentKind.REWORK: "was sent back by internal verification",
        AssessmentKind.CORRECTION: "has a correction in progress",
    }[assessment.kind]
    notify(
        session, assessment.assessor, kind,
        f"{enrolment.unit.code} attempt {submission.attempt} of {enrolment.candidate.name} {what}",
        body=f"{enrolment.unit.code} {enrolment.unit.title}",
        endpoint="assessors.assessment", assessment_id=assessment.id,
        provider=enrolment.provider,
    )


def start_assessment(
    session: Session,
    submission: Submission,
    assessor: User,
    *,
    actor: User | None,
    via: str,
    kind: AssessmentKind = AssessmentKind.INITIAL,
    replaces: Assessment | None = None,
) -> Assessment:
    """A new draft assessment of ``submission`` for ``assessor`` (checked), with notification."""
    check_allowed(session, submission, assessor, Role.ASSESSOR)
    enrolment = submission.enrolment
    assessment = Assessment(
        provider_id=enrolment.provider_id, submission=submission, unit_id=enrolment.unit_id,
        assessor=assessor, kind=kind, status=AssessmentStatus.DRAFT, replaces=replaces,
        assigned_at=utcnow(), assigned_by_id=getattr(actor, "id", None), assigned_via=via,
    )
    session.add(assessment)
    session.flush()
    audit.record(
        session, "assessment.assigned", actor=actor, provider=enrolment.provider,
        target=assessment,
        changes={"submission_id": submission.id, "attempt": submission.attempt,
                 "assessor": assessor.email, "kind": kind.value, "via": via,
                 "replaces": replaces.id if replaces is not None else None},
    )
    _notify_assessor(session, assessment)
    return assessment


def _assignable(session: Session, submission: Submission) -> Assessment | None:
    """The draft a provider admin would move, or None for a new one; raises when the
    submission cannot be given to anyone from the assignments page."""
    if submission.status != SubmissionStatus.SUBMITTED:
        raise AssessmentError(
            f"Attempt {submission.attempt} is {submission.status.value}; only a submission "
            "waiting for assessment can be assigned.", "assessor")
    current = open_assessment(session, submission)
    if current is not None and current.status != AssessmentStatus.DRAFT:
        raise AssessmentError(
            "This decision is signed and waiting for internal verification; it can no longer "
            "be given to another assessor.", "assessor")
    appealed = current is None and session.scalar(
        select(Appeal.id).join(Assessment, Appeal.assessment_id == Assessment.id)
        .where(Assessment.submission_id == submission.id, Appeal.status == AppealStatus.LODGED)
        .limit(1)
    ) is not None
    if appealed or (current is not None and current.kind == AssessmentKind.APPEAL):
        raise AssessmentError("This is an appeal; assign it from the appeals page.", "assessor")
    return current


def _sent_back(session: Session, submission: Submission) -> Assessment | None:
    """The decision a verifier sent back, when its rework was released (a conflict of
    interest) and nobody has the submission now; None otherwise."""
    latest = session.scalar(
        select(Assessment).where(Assessment.submission_id == submission.id,
                                 Assessment.status != AssessmentStatus.DISCARDED)
        .order_by(Assessment.id.desc()).limit(1)
    )
    return latest if latest is not None and latest.status == AssessmentStatus.SENT_BACK \
        else None


def assign(session: Session, submission: Submission, assessor: User, *,
           actor: User | None) -> Assessment:
    """A provider admin gives ``submission`` to ``assessor``, or moves it to them.

    A draft already being marked moves with its kind; its judgements were the
    former assessor's and are discarded (the trail records how many).
    """
    current = _assignable(session, submission)
    if current is not None and current.assessor_id == assessor.id:
        raise AssessmentError(f"{assessor.name} is already assessing this submission.",
                              "assessor")
    check_allowed(session, submission, assessor, Role.ASSESSOR)
    if current is None:
        # A rework released by a conflict of interest stays a rework (always sampled).
        sent_back = _sent_back(session, submission)
        return start_assessment(
            session, submission, assessor, actor=actor, via="admin",
            kind=AssessmentKind.INITIAL if sent_back is None else AssessmentKind.REWORK,
            replaces=sent_back)
    former = current.assessor
    discarded = len(current.judgements)
    current.judgements.clear()
    for rule in ("valid", "sufficient", "authentic", "current"):
        setattr(current, f"rule_{rule}", False)
    current.feedback = ""
    current.assessor = assessor
    current.assigned_at = utcnow()
    current.assigned_by_id = getattr(actor, "id", None)
    current.assigned_via = "admin"
    session.flush()
    audit.record(
        session, "assessment.reassigned", actor=actor, provider=submission.enrolment.provider,
        target=current,
        changes={"assessor": [former.email, assessor.email],
                 "judgements_discarded": discarded},
    )
    _notify_assessor(session, current)
    return current


def assign_automatically(
    session: Session,
    submission: Submission,
    *,
    actor: User | None = None,
    kind: AssessmentKind = AssessmentKind.INITIAL,
    replaces: Assessment | None = None,
    exclude: Iterable[int] = (),
) -> Assessment | None:
    """Give ``submission`` to the allowed assessor with the fewest open assessments (then by
    name); None, changing nothing, when nobody is allowed (an admin assigns it later)."""
    people = allowed_people(session, submission, Role.ASSESSOR, exclude=exclude)
    if not people:
        return None
    counts = open_counts(session, submission.enrolment.provider_id, [p.id for p in people])
    chosen = min(people, key=lambda p: (counts[p.id], p.name.lower(), p.id))
    return start_assessment(session, submission, chosen, actor=actor, via="automatic",
                            kind=kind, replaces=replaces)


def assign_fewest_open(session: Session, submission: Submission, *,
                       actor: User | None) -> Assessment:
    """A provider admin's "automatic" choice: the submission goes (or moves) to the allowed
    assessor with the fewest open assessments (then by name), never to the one marking it
    now.  Refused, changing nothing, when nobody else may take it."""
    current = _assignable(session, submission)
    people = allowed_people(session, submission, Role.ASSESSOR,
                            exclude=[current.assessor_id] if current is not None else [])
    if not people:
        unit = submission.enrolment.unit
        raise AssessmentError(
            f"Nobody {'else ' if current is not None else ''}is authorised to assess "
            f"{unit.code} for this candidate today; authorise an assessor first.", "assessor")
    counts = open_counts(session, submission.enrolment.provider_id, [p.id for p in people])
    chosen = min(people, key=lambda p: (counts[p.id], p.name.lower(), p.id))
    return assign(session, submission, chosen, actor=actor)


def unassigned_submissions_query(provider_id: int):
    """Submissions of the provider waiting for assessment that nobody has been given yet
    (appeals waiting for an assessor are listed with the appeals)."""
    taken = select(Assessment.submission_id).where(
        Assessment.status.in_((AssessmentStatus.DRAFT, AssessmentStatus.AWAITING_VERIFICATION))
    )
    appealed = (select(Assessment.submission_id)
                .join(Appeal, Appeal.assessment_id == Assessment.id)
                .where(Appeal.status == AppealStatus.LODGED))
    return (
        select(Submission)
        .join(Submission.enrolment)
        .where(Enrolment.provider_id == provider_id,
               Submission.status == SubmissionStatus.SUBMITTED,
               Submission.id.not_in(taken), Submission.id.not_in(appealed))
    )
