"""What the assessor's pages read: the queue, the marking page and the comparison of attempts.

Loading functions read in a fixed number of queries whatever the number of
criteria, evidence entries or files.  The rest are pure functions over loaded
objects (what changed since the previous attempt, the live summary of a
marking, how long something has waited), so that they are tested without a
request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from certify.accounts.models import Enrolment, User
from certify.assessors.models import (
    RULES_OF_EVIDENCE,
    Appeal,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    Judgement,
    Outcome,
    Verification,
)
from certify.assessors.operations.marking import Mark, derive_outcome
from certify.core.types import utcnow
from certify.evidence.models import Submission, SubmissionEntry, SubmissionFile
from certify.units.models import Criterion, Element, Unit

# --- the queue ----------------------------------------------------------------------------------

# The queue's status filter: what kind of work a draft is, and how far it has got.
QUEUE_STATUSES = {
    "new": "New",
    "in_progress": "In progress",
    "rework": "Rework after verification",
    "appeal": "Appeal",
    "correction": "Correction",
}
AGE_LIMIT_DAYS = 3650


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _judged(assessment_id):
    """Whether the assessment has judged at least one criterion (an EXISTS clause)."""
    return exists().where(Judgement.assessment_id == assessment_id)


def listed_assessments(provider_id: int) -> Select:
    """The provider's assessments with their submission, enrolment, candidate and unit loaded
    in the same query: the start of every list of assessments."""
    return (
        select(Assessment)
        .join(Assessment.submission)
        .join(Submission.enrolment)
        .join(Enrolment.candidate)
        .join(Enrolment.unit)
        .options(contains_eager(Assessment.submission).contains_eager(Submission.enrolment)
                 .contains_eager(Enrolment.candidate),
                 contains_eager(Assessment.submission).contains_eager(Submission.enrolment)
                 .contains_eager(Enrolment.unit))
        .where(Assessment.provider_id == provider_id)
    )


def queue_query(provider_id: int, assessor_id: int, *, unit_code: str | None = None,
                candidate: str | None = None, status: str | None = None,
                older_than_days: int | None = None, now: datetime | None = None) -> Select:
    """The assessor's drafts in the provider, oldest submission first, with the candidate, the
    unit and the submission loaded in the same query."""
    query = (
        listed_assessments(provider_id)
        .where(Assessment.assessor_id == assessor_id, Assessment.status == AssessmentStatus.DRAFT)
        .order_by(Submission.submitted_at, Assessment.id)
    )
    if unit_code:
        query = query.where(Unit.code == unit_code)
    term = (candidate or "").strip().lower()
    if term:
        pattern = f"%{escape_like(term)}%"
        query = query.where(or_(func.lower(User.name).like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\")))
    if status == "new":
        query = query.where(Assessment.kind == AssessmentKind.INITIAL,
                            ~_judged(Assessment.id))
    elif status == "in_progress":
        query = query.where(Assessment.kind == AssessmentKind.INITIAL, _judged(Assessment.id))
    elif status in ("rework", "appeal", "correction"):
        query = query.where(Assessment.kind == AssessmentKind(status))
    if older_than_days is not None:
        cutoff = (now or utcnow()) - timedelta(days=older_than_days)
        query = query.where(Submission.submitted_at < cutoff)
    return query


def queue_units(session: Session, provider_id: int, assessor_id: int) -> list[Unit]:
    """The units the assessor has drafts for (the choices of the unit filter)."""
    return list(session.scalars(
        select(Unit).where(Unit.id.in_(
            select(Assessment.unit_id).where(Assessment.provider_id == provider_id,
                                             Assessment.assessor_id == assessor_id,
                                             Assessment.status == AssessmentStatus.DRAFT)))
        .order_by(Unit.code, Unit.version)
    ))


def judged_counts(session: Session, assessment_ids: Iterable[int]) -> dict[int, int]:
    """How many criteria each assessment has judged so far, in one query."""
    ids = list(assessment_ids)
    counts = dict.fromkeys(ids, 0)
    if ids:
        counts.update(session.execute(
            select(Judgement.assessment_id, func.count()).where(Judgement.assessment_id.in_(ids))
            .group_by(Judgement.assessment_id)
        ).all())
    return counts


def criteria_counts(session: Session, unit_ids: Iterable[int]) -> dict[int, int]:
    """How many criteria each unit has, in one query."""
    ids = list(set(unit_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        counts.update(session.execute(
            select(Criterion.unit_id, func.count()).where(Criterion.unit_id.in_(ids))
            .group_by(Criterion.unit_id)
        ).all())
    return counts


def queue_status(assessment: Assessment, judged: int) -> str:
    """The queue status of a draft: its kind, or for a first assessment whether it has begun."""
    if assessment.kind == AssessmentKind.INITIAL:
        return "in_progress" if judged else "new"
    return assessment.kind.value


def waited(since: datetime, now: datetime | None = None) -> str:
    """How long since ``since``, as a person says it: "under an hour", "5 hours", "3 days"."""
    seconds = max(0.0, ((now or utcnow()) - since).total_seconds())
    hours = int(seconds // 3600)
    if hours < 1:
        return "under an hour"
    if hours < 24:
        return f"{hours} hour{'' if hours == 1 else 's'}"
    days = hours // 24
    return f"{days} day{'' if days == 1 else 's'}"


# --- the marking page ---------------------------------------------------------------------------


def load_assessment(session: Session, assessment_id: int) -> Assessment | None:
    """An assessment with everything its page shows, in a fixed number of queries."""
    return session.scalar(
        select(Assessment)
        .options(
            joinedload(Assessment.provider),
            joinedload(Assessment.unit).joinedload(Unit.framework),
            joinedload(Assessment.assessor),
            joinedload(Assessment.assigned_by),
            joinedload(Assessment.submission).joinedload(Submission.enrolment)
            .joinedload(Enrolment.candidate),
            joinedload(Assessment.submission).selectinload(Submission.entries),
            joinedload(Assessment.submission).selectinload(Submission.files)
            .joinedload(SubmissionFile.blob),
            selectinload(Assessment.judgements),
            selectinload(Assessment.verifications).joinedload(Verification.verifier),
            joinedload(Assessment.replaces).joinedload(Assessment.assessor),
            joinedload(Assessment.replaces).selectinload(Assessment.verifications)
            .joinedload(Verification.verifier),
        )
        .where(Assessment.id == assessment_id)
    )


def appeal_for(session: Session, assessment: Assessment) -> Appeal | None:
    """The appeal this assessment decides (for an appeal), with the candidate's statement."""
    if assessment.kind != AssessmentKind.APPEAL:
        return None
    return session.scalar(select(Appeal).where(Appeal.new_assessment_id == assessment.id))


def decisions_on(session: Session, submission_id: int) -> list[Assessment]:
    """Every decision made on one attempt, oldest first, with their assessors."""
    return list(session.scalars(
        select(Assessment).options(joinedload(Assessment.assessor))
        .where(Assessment.submission_id == submission_id)
        .order_by(Assessment.assigned_at, Assessment.id)
    ))


@dataclass
class ElementGroup:
    """Consecutive criteria of one element (or of none), as the unit publishes them."""

    element: Element | None
    criteria: list[Criterion] = field(default_factory=list)


def group_by_element(criteria: Iterable[Criterion]) -> list[ElementGroup]:
    groups: list[ElementGroup] = []
    for criterion in criteria:
        if not groups or groups[-1].element is not criterion.element:
            groups.append(ElementGroup(criterion.element))
        groups[-1].criteria.append(criterion)
    return groups


def previewable(media_type: str | None) -> bool:
    """Images and PDFs open as a preview; everything else only downloads."""
    media_type = (media_type or "").lower()
    if media_type == "image/svg+xml":
        return False
    return media_type == "application/pdf" or media_type.startswith("image/")


@dataclass
class Evidence:
    """One evidence item as mapped to one criterion in an attempt, with the item's files."""

    entry: SubmissionEntry
    files: list[SubmissionFile]


def evidence_by_criterion(submission: Submission) -> dict[int, list[Evidence]]:
    """The attempt's frozen entries per criterion, each with the files of its item."""
    files: dict[int, list[SubmissionFile]] = defaultdict(list)
    for file in submission.files:
        files[file.item_id].append(file)
    found: dict[int, list[Evidence]] = defaultdict(list)
    for entry in submission.entries:
        found[entry.criterion_id].append(Evidence(entry, files.get(entry.item_id, [])))
    return dict(found)


# --- what changed since the previous attempt ----------------------------------------------------


def previous_attempt(session: Session, submission: Submission
                     ) -> tuple[Submission, Assessment | None] | None:
    """The attempt before ``submission`` with its entries and files, and the decision that
    counted on it (the confirmed one, else the latest signed), in four queries."""
    previous = session.scalar(
        select(Submission)
        .options(selectinload(Submission.entries),
                 selectinload(Submission.files).joinedload(SubmissionFile.blob))
        .where(Submission.enrolment_id == submission.enrolment_id,
               Submission.attempt < submission.attempt)
        .order_by(Submission.attempt.desc()).limit(1)
    )
    if previous is None:
        return None
    decision = session.scalar(
        select(Assessment)
        .options(selectinload(Assessment.judgements), joinedload(Assessment.assessor))
        .where(Assessment.submission_id == previous.id, Assessment.signed_at.is_not(None))
        .order_by(case((Assessment.status == AssessmentStatus.CONFIRMED, 0), else_=1),
                  Assessment.signed_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    return previous, decision


# Evidence changes on one criterion, in the order they are listed.
CHANGE_LABELS = {
    "new": "New evidence",
    "mapped_here": "Now mapped here",
    "explanation_changed": "Explanation changed",
    "unmapped_here": "No longer mapped here",
    "removed": "Removed",
}


@dataclass(frozen=True)
class EvidenceChange:
    """How one item's mapping to one criterion differs from the previous attempt.

    ``new``: the item was not in the previous attempt; ``removed``: it is not in this one;
    ``mapped_here`` / ``unmapped_here``: the item is in both attempts, mapped to this
    criterion in only one of them; ``explanation_changed``: mapped here in both, explained
    differently (``before`` is the earlier explanation).
    """

    kind: str
    item_id: int
    title: str
    explanation: str = ""
    before: str = ""

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self.kind]


@dataclass(frozen=True)
class FileChange:
    """A file added to or removed from an item present in both attempts (by content)."""

    kind: str  # "added" or "removed"
    item_id: int
    item_title: str
    display_name: str
    sha256: str
    # The SubmissionFile in its own attempt (this one for added, the previous for removed).
    file_id: int


@dataclass
class PreviousJudgement:
    satisfactory: bool
    comment: str


@dataclass
class CriterionChanges:
    criterion_id: int
    evidence: list[EvidenceChange] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    previous: PreviousJudgement | None = None

    @property
    def changed(self) -> bool:
        return bool(self.evidence or self.files)


@dataclass
class AttemptComparison:
    """What changed between the previous attempt and this one, per criterion and overall."""

    previous: Submission
    decision: Assessment | None
    criteria: dict[int, CriterionChanges]
    new_items: list[str]
    removed_items: list[str]
    remapped_items: list[str]
    files_added: list[FileChange]
    files_removed: list[FileChange]

    def for_criterion(self, criterion_id: int) -> CriterionChanges:
        return self.criteria.get(criterion_id) or CriterionChanges(criterion_id)

    @property
    def unchanged(self) -> bool:
        return not (self.new_items or self.removed_items or self.remapped_items
                    or self.files_added or self.files_removed)


def _entries(submission: Submission) -> dict[tuple[int, int], SubmissionEntry]:
    return {(e.item_id, e.criterion_id): e for e in submission.entries}


def _titles(submission: Submission) -> dict[int, str]:
    return {e.item_id: e.item_title for e in submission.entries}


def _files(submission: Submission) -> dict[int, dict[str, SubmissionFile]]:
    found: dict[int, dict[str, SubmissionFile]] = defaultdict(dict)
    for file in submission.files:
        found[file.item_id].setdefault(file.sha256, file)
    return found


def compare_attempts(previous: Submission, current: Submission, criteria: Iterable[Criterion],
                     decision: Assessment | None = None) -> AttemptComparison:
    """Compare two attempts of one enrolment by item and by file content (SHA-256).

    Items are matched by ``item_id``: the same evidence item in both attempts is "kept",
    whatever its criteria.  Files are compared only for kept items (a new or removed item
    brings or takes all its files with it).  ``decision`` is the previous attempt's decision:
    its judgement and comment are attached per criterion.
    """
    before, after = _entries(previous), _entries(current)
    titles_before, titles_after = _titles(previous), _titles(current)
    items_before, items_after = set(titles_before), set(titles_after)
    kept = items_before & items_after
    judgements = {j.criterion_id: j for j in (decision.judgements if decision else [])}
    result: dict[int, CriterionChanges] = {}
    remapped: set[int] = set()
    for criterion in criteria:
        changes = CriterionChanges(criterion.id)
        judgement = judgements.get(criterion.id)
        if judgement is not None:
            changes.previous = PreviousJudgement(judgement.satisfactory, judgement.comment)
        here_after = {item for item, cid in after if cid == criterion.id}
        here_before = {item for item, cid in before if cid == criterion.id}
        for item in sorted(here_after - here_before, key=lambda i: (titles_after[i], i)):
            entry = after[(item, criterion.id)]
            kind = "mapped_here" if item in items_before else "new"
            if kind == "mapped_here":
                remapped.add(item)
            changes.evidence.append(EvidenceChange(kind, item, entry.item_title,
                                                   entry.explanation))
        for item in sorted(here_after & here_before, key=lambda i: (titles_after[i], i)):
            now, then = after[(item, criterion.id)], before[(item, criterion.id)]
            if now.explanation.strip() != then.explanation.strip():
                remapped.add(item)
                changes.evidence.append(EvidenceChange("explanation_changed", item,
                                                       now.item_title, now.explanation,
                                                       then.explanation))
        for item in sorted(here_before - here_after, key=lambda i: (titles_before[i], i)):
            entry = before[(item, criterion.id)]
            kind = "unmapped_here" if item in items_after else "removed"
            if kind == "unmapped_here":
                remapped.add(item)
            changes.evidence.append(EvidenceChange(kind, item, entry.item_title,
                                                   entry.explanation))
        changes.evidence.sort(key=lambda c: list(CHANGE_LABELS).index(c.kind))
        result[criterion.id] = changes
    files_before, files_after = _files(previous), _files(current)
    added: list[FileChange] = []
    removed: list[FileChange] = []
    for item in sorted(kept, key=lambda i: (titles_after[i], i)):
        now, then = files_after.get(item, {}), files_before.get(item, {})
        added += [FileChange("added", item, titles_after[item], f.display_name, sha, f.id)
                  for sha, f in now.items() if sha not in then]
        removed += [FileChange("removed", item, titles_before[item], f.display_name, sha, f.id)
                    for sha, f in then.items() if sha not in now]
    for change in result.values():
        mapped_items = {item for item, cid in (*after, *before) if cid == change.criterion_id}
        change.files = [f for f in (*added, *removed) if f.item_id in mapped_items]
    return AttemptComparison(
        previous=previous, decision=decision, criteria=result,
        new_items=sorted(titles_after[i] for i in items_after - items_before),
        removed_items=sorted(titles_before[i] for i in items_before - items_after),
        remapped_items=sorted(titles_after[i] for i in remapped),
        files_added=added, files_removed=removed,
    )


# --- the live summary of a marking --------------------------------------------------------------


@dataclass(frozen=True)
class MarkingSummary:
    total: int
    judged: int
    satisfactory: int
    not_yet: int
    unconfirmed_rules: tuple[str, ...]
    outcome: Outcome
    sentence: str

    @property
    def complete(self) -> bool:
        return self.judged == self.total


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _listed(words: list[str]) -> str:
    quoted = [f"'{w}'" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def summarise(criteria: list[Criterion], marks: Mapping[int, Mark],
              rules: Mapping[str, bool]) -> MarkingSummary:
    """Criteria judged, satisfactory, not yet satisfactory, and the outcome the marking would
    give if signed now (by the same rule signing uses), with a sentence saying why."""
    known = {c.id for c in criteria}
    judged = {cid: m for cid, m in marks.items() if cid in known and m.satisfactory is not None}
    draft = SimpleNamespace(
        judgements=[SimpleNamespace(criterion_id=cid, satisfactory=m.satisfactory)
                    for cid, m in judged.items()],
        rules={rule: bool(rules.get(rule)) for rule in RULES_OF_EVIDENCE},
    )
    outcome = derive_outcome(draft, criteria)
    satisfactory = sum(1 for m in judged.values() if m.satisfactory)
    not_yet = len(judged) - satisfactory
    unjudged = len(criteria) - len(judged)
    unconfirmed = tuple(rule for rule in RULES_OF_EVIDENCE if not rules.get(rule))
    if outcome == Outcome.COMPETENT:
        sentence = ("Competent: every criterion is satisfactory and all four rules of evidence "
                    "are confirmed.")
    else:
        reasons = []
        if not criteria:
            reasons.append("the unit has no criteria to judge")
        if not_yet:
            reasons.append(_plural(not_yet, "criterion", "criteria") + " not yet satisfactory")
        if unjudged:
            reasons.append(_plural(unjudged, "criterion", "criteria") + " not judged yet")
        if unconfirmed:
            word = "rule" if len(unconfirmed) == 1 else "rules"
            reasons.append(f"{word} {_listed(list(unconfirmed))} not confirmed")
        sentence = "Not yet competent: " + ", ".join(reasons) + "."
    return MarkingSummary(total=len(criteria), judged=len(judged), satisfactory=satisfactory,
                          not_yet=not_yet, unconfirmed_rules=unconfirmed, outcome=outcome,
                          sentence=sentence)


def saved_marks(assessment: Assessment) -> dict[int, Mark]:
    return {j.criterion_id: Mark(j.satisfactory, j.comment) for j in assessment.judgements}


__all__ = [
    "AGE_LIMIT_DAYS",
    "CHANGE_LABELS",
    "QUEUE_STATUSES",
    "AttemptComparison",
    "CriterionChanges",
    "ElementGroup",
    "Evidence",
    "EvidenceChange",
    "FileChange",
    "MarkingSummary",
    "PreviousJudgement",
    "appeal_for",
    "compare_attempts",
    "criteria_counts",
    "decisions_on",
    "evidence_by_criterion",
    "group_by_element",
    "judged_counts",
    "load_assessment",
    "previewable",
    "previous_attempt",
    "queue_query",
    "queue_status",
    "queue_units",
    "saved_marks",
    "summarise",
    "waited",
]
