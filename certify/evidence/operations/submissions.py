"""Submitting a unit for assessment: attempt n, a frozen record of what was submitted.

``submit_attempt`` copies every mapping of the candidate's items to criteria of
the enrolment into ``SubmissionEntry`` rows (the item's title, kind,
description, link and the explanation as they are at that moment) and every
file of every mapped item into ``SubmissionFile`` rows (the blob and its
SHA-256), and locks the items, so that later edits to items or mappings never
change what was submitted.  ``return_for_resubmission`` sends an attempt back;
the candidate then submits attempt n+1, and every earlier attempt stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blinker import signal
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from certify.accounts.models import Enrolment, EnrolmentStatus, User
from certify.core import audit
from certify.core.types import utcnow
from certify.evidence.models import (
    EvidenceFile,
    EvidenceItem,
    Mapping,
    Submission,
    SubmissionEntry,
    SubmissionFile,
    SubmissionStatus,
)
from certify.units.models import Criterion, Element

DECLARATION = (
    "I declare that the evidence in this submission is my own work, and that where it "
    "includes the work of others or was produced with others, this is clearly stated."
)


# Sent with (submission, session=, actor=) once an attempt is frozen, inside the same
# transaction: assessment listens to assign an assessor, so evidence need not know about it.
submission_created = signal("certify.submission-created")


class SubmissionError(Exception):
    """A submission that cannot be made or changed; ``str()`` is a sentence for the person."""


@dataclass
class AttemptPlan:
    """What submitting ``enrolment`` now would freeze."""

    enrolment: Enrolment
    mappings: list[Mapping] = field(default_factory=list)
    criteria: list[Criterion] = field(default_factory=list)

    @property
    def items(self) -> list[EvidenceItem]:
        """Each mapped item once, in the order first mapped."""
        seen: dict[int, EvidenceItem] = {}
        for mapping in self.mappings:
            seen.setdefault(mapping.item_id, mapping.item)
        return list(seen.values())

    @property
    def files(self) -> list[EvidenceFile]:
        return [file for item in self.items for file in item.files]

    @property
    def covered_ids(self) -> set[int]:
        return {mapping.criterion_id for mapping in self.mappings}

    @property
    def covered(self) -> int:
        return len(self.covered_ids)

    @property
    def total(self) -> int:
        return len(self.criteria)

    def mappings_for(self, criterion: Criterion) -> list[Mapping]:
        return [m for m in self.mappings if m.criterion_id == criterion.id]


def unit_criteria(session: Session, unit_id: int) -> list[Criterion]:
    """The unit's criteria in the published order: by element, then by position."""
    return list(session.scalars(
        select(Criterion)
        .outerjoin(Criterion.element)
        .options(joinedload(Criterion.element))
        .where(Criterion.unit_id == unit_id)
        .order_by(func.coalesce(Element.position, -1), Criterion.position, Criterion.id)
    ))


def plan_attempt(session: Session, enrolment: Enrolment) -> AttemptPlan:
    """The mappings of the candidate's own items to criteria of ``enrolment``'s unit, with
    their items, files and blobs loaded in a fixed number of queries."""
    mappings = list(session.scalars(
        select(Mapping)
        .join(Mapping.item)
        .join(Mapping.criterion)
        .options(
            joinedload(Mapping.criterion).joinedload(Criterion.element),
            joinedload(Mapping.item)
            .selectinload(EvidenceItem.files)
            .joinedload(EvidenceFile.blob),
        )
        # Only the candidate's own items, in the enrolment's provider, for criteria of the
        # enrolled unit version: anything else is not part of this enrolment's evidence.
        .where(
            Mapping.enrolment_id == enrolment.id,
            EvidenceItem.candidate_id == enrolment.candidate_id,
            EvidenceItem.provider_id == enrolment.provider_id,
            Criterion.unit_id == enrolment.unit_id,
        )
        .order_by(Criterion.position, Mapping.id)
    ).unique())
    return AttemptPlan(enrolment=enrolment, mappings=mappings,
                       criteria=unit_criteria(session, enrolment.unit_id))


def waiting_attempt(session: Session, enrolment: Enrolment) -> Submission | None:
    """The attempt of ``enrolment`` that is waiting for assessment, if there is one."""
    return session.scalar(
        select(Submission).where(Submission.enrolment_id == enrolment.id,
                                 Submission.status == SubmissionStatus.SUBMITTED)
    )


def _next_attempt(session: Session, enrolment: Enrolment) -> int:
    latest = session.scalar(
        select(func.max(Submission.attempt)).where(Submission.enrolment_id == enrolment.id)
    )
    return (latest or 0) + 1


def check_can_submit(session: Session, enrolment: Enrolment, actor: User | None) -> None:
    """Raise SubmissionError when ``actor`` may not submit ``enrolment`` now (nothing mapped is
    checked by ``submit_attempt``, which has the plan)."""
    if actor is None or actor.id != enrolment.candidate_id:
        raise SubmissionError("Only the enrolled candidate can submit evidence for this unit.")
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise SubmissionError(
            f"This enrolment is {enrolment.status.value}; evidence can only be submitted for an "
            "active enrolment."
        )
    waiting = waiting_attempt(session, enrolment)
    if waiting is not None:
        raise SubmissionError(
            f"Attempt {waiting.attempt} was already submitted on "
            f"{waiting.submitted_at:%d %B %Y} and is waiting for assessment; you can submit "
            "again when it is returned to you."
        )
    completed = session.scalar(
        select(Submission.attempt).where(Submission.enrolment_id == enrolment.id,
                                         Submission.status == SubmissionStatus.COMPLETED)
    )
    if completed is not None:
        raise SubmissionError(
            f"Attempt {completed} of this unit was assessed competent; there is nothing more "
            "to submit."
        )
    # Counted here, apart from the number the new attempt takes in submit_attempt.
    used = session.scalar(
        select(func.count()).select_from(Submission)
        .where(Submission.enrolment_id == enrolment.id)
    ) or 0
    allowed = enrolment.provider.max_attempts
    if used >= allowed:
        raise SubmissionError(
            f"You have used all {allowed} attempts {enrolment.provider.name} allows for this "
            "unit; you may appeal the last decision or contact your provider."
        )


def submit_attempt(
    session: Session, enrolment: Enrolment, *, declaration_text: str, actor: User
) -> Submission:
    """Submit ``enrolment`` for assessment as attempt n: freeze entries and files, lock items.

    Refused (SubmissionError, and nothing changes) when ``actor`` is not the enrolled
    candidate, the enrolment is not active, an earlier attempt is still waiting for
    assessment, nothing is mapped to the unit's criteria, or another request submitted
    the same attempt at the same moment.  Flushes and audits; the caller commits once.
    """
    declaration_text = (declaration_text or "").strip()
    if not declaration_text:
        raise SubmissionError("Declare that the evidence is your own work before submitting.")
    # Taken first, so that on PostgreSQL a second submit of the same enrolment waits here
    # and then sees the first one's attempt; SQLite serialises writers on its own, and the
    # unique (enrolment, attempt) constraint below is the last word on every database.
    session.execute(
        select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update()
    )
    check_can_submit(session, enrolment, actor)
    plan = plan_attempt(session, enrolment)
    if not plan.mappings:
        raise SubmissionError(
            "Nothing is mapped to the criteria of this unit yet: map at least one evidence item "
            "to a criterion, explaining how it shows it, before submitting."
        )
    now = utcnow()
    submission = Submission(
        enrolment=enrolment, attempt=_next_attempt(session, enrolment),
        status=SubmissionStatus.SUBMITTED, declaration=declaration_text, declared_at=now,
        submitted_at=now,
    )
    for mapping in plan.mappings:
        item = mapping.item
        submission.entries.append(SubmissionEntry(
            item_id=item.id, criterion_id=mapping.criterion_id, item_title=item.title,
            item_kind=item.kind, item_description=item.description or "", item_url=item.url,
            explanation=mapping.explanation or "",
        ))
    for item in plan.items:
        for file in item.files:
            submission.files.append(SubmissionFile(
                item_id=item.id, blob_id=file.blob_id, sha256=file.blob.sha256,
                display_name=file.display_name,
            ))
    try:
        # A savepoint: a lost race leaves the caller's transaction usable (PostgreSQL aborts
        # the whole transaction on an error otherwise).
        with session.begin_nested():
            session.add(submission)
            session.flush()
    except IntegrityError:
        raise SubmissionError(
            "This unit was already submitted (another submission of the same attempt was made "
            "at the same moment); open the list of attempts to see it."
        ) from None
    for item in plan.items:
        if item.locked_at is None:
            item.locked_at = now
    session.flush()
    audit.record(
        session, "submission.created", actor=actor, provider=enrolment.provider,
        target=submission,
        changes={
            "enrolment_id": enrolment.id,
            "attempt": submission.attempt,
            "entries": len(submission.entries),
            "items": len(plan.items),
            "files": len(submission.files),
            "criteria_covered": plan.covered,
            "criteria_total": plan.total,
            "sha256": sorted({f.sha256 for f in submission.files}),
        },
    )
    submission_created.send(submission, session=session, actor=actor)
    return submission


def return_for_resubmission(
    session: Session, submission: Submission, *, actor: User | None, reason: str
) -> Submission:
    """Send a waiting attempt back to the candidate, who may then submit attempt n+1.

    Only an attempt that is waiting for assessment can be returned.  The frozen
    entries and files are not touched.  Flushes and audits; the caller commits.
    """
    if submission.status != SubmissionStatus.SUBMITTED:
        raise SubmissionError(
            f"Attempt {submission.attempt} is {submission.status.value}; only an attempt waiting "
            "for assessment can be returned."
        )
    submission.status = SubmissionStatus.RETURNED
    session.flush()
    audit.record(
        session, "submission.returned", actor=actor, provider=submission.enrolment.provider,
        target=submission,
        changes={"status": [SubmissionStatus.SUBMITTED.value, SubmissionStatus.RETURNED.value],
                 "attempt": submission.attempt, "enrolment_id": submission.enrolment_id,
                 "reason": (reason or "").strip()},
    )
    return submission


def load_submission(session: Session, submission_id: int) -> Submission | None:
    """A submission with what its page shows, in a fixed number of queries."""
    return session.scalar(
        select(Submission)
        .options(
            joinedload(Submission.enrolment).joinedload(Enrolment.unit),
            joinedload(Submission.enrolment).joinedload(Enrolment.candidate),
            joinedload(Submission.enrolment).joinedload(Enrolment.provider),
            selectinload(Submission.entries),
            selectinload(Submission.files).joinedload(SubmissionFile.blob),
        )
        .where(Submission.id == submission_id)
    )


__all__ = [
    "DECLARATION",
    "AttemptPlan",
    "SubmissionError",
    "check_can_submit",
    "load_submission",
    "plan_attempt",
    "return_for_resubmission",
    "submission_created",
    "submit_attempt",
    "unit_criteria",
    "waiting_attempt",
]
