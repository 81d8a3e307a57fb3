"""Marking: judgements per criterion saved as a draft, signing, corrections.

``save_marking`` is refused when the page was loaded from an older version of
the assessment (someone else, or another window, saved in between): the
refusal lists what differs and nothing is overwritten.  Two saves racing from
the same version cannot both land, on SQLite or PostgreSQL: each first claims
the row at its version (operations.locking), and the later one finds it moved.

``sign`` derives the outcome (competent only when every criterion is
satisfactory and all four rules of evidence are confirmed), records the
signature with its time, and either confirms the decision or sends it to
internal verification according to the provider's sampling plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certify.accounts.models import Role, User
from certify.accounts.passwords import check_password
from certify.assessors.errors import (
    AssessmentConflict,
    AssessmentError,
    Change,
    ConflictDetails,
    InvalidMarking,
)
from certify.assessors.models import (
    RULE_LABELS,
    RULES_OF_EVIDENCE,
    Appeal,
    AppealStatus,
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    Judgement,
    Outcome,
)
from certify.assessors.operations.assignment import open_assessment, start_assessment, why_not
from certify.assessors.operations.decisions import confirm
from certify.assessors.operations.locking import claim
from certify.assessors.operations.quality import copy_marking, sample_reason, send_to_verification
from certify.core import audit
from certify.core.types import utcnow
from certify.evidence.models import Submission
from certify.evidence.operations.submissions import unit_criteria
from certify.units.models import Criterion

COMMENT_LIMIT = 10000


@dataclass(frozen=True)
class Mark:
    """What the page says for one criterion: None (not judged yet), True or False."""

    satisfactory: bool | None
    comment: str = ""


def _label(criterion: Criterion) -> str:
    return f"Criterion {criterion.ref}" if criterion.ref else f"Criterion {criterion.position}"


def _shown(mark: Mark | None) -> str:
    if mark is None or mark.satisfactory is None:
        return "not judged"
    verdict = "satisfactory" if mark.satisfactory else "not yet satisfactory"
    return f"{verdict}: {mark.comment}" if mark.comment else verdict


def _saved_marks(assessment: Assessment) -> dict[int, Mark]:
    return {j.criterion_id: Mark(j.satisfactory, j.comment) for j in assessment.judgements}


def differences(assessment: Assessment, criteria: list[Criterion], marks: dict[int, Mark],
                rules: dict[str, bool], feedback: str) -> list[Change]:
    """What the posted page says that differs from what is saved now, field by field."""
    saved = _saved_marks(assessment)
    changes = []
    for criterion in criteria:
        mine = marks.get(criterion.id, Mark(None))
        theirs = saved.get(criterion.id)
        if _shown(mine) != _shown(theirs):
            changes.append(Change(_label(criterion), _shown(theirs), _shown(mine)))
    for rule in RULES_OF_EVIDENCE:
        if bool(rules.get(rule)) != assessment.rules[rule]:
            changes.append(Change(RULE_LABELS[rule].split(":")[0] + " (rule of evidence)",
                                  "confirmed" if assessment.rules[rule] else "not confirmed",
                                  "confirmed" if rules.get(rule) else "not confirmed"))
    if (feedback or "").strip() != (assessment.feedback or ""):
        changes.append(Change("Overall feedback", assessment.feedback or "(empty)",
                              (feedback or "").strip() or "(empty)"))
    return changes


def _conflict(session: Session, assessment: Assessment, criteria: list[Criterion],
              marks: dict[int, Mark], rules: dict[str, bool], feedback: str
              ) -> AssessmentConflict:
    session.refresh(assessment)
    session.refresh(assessment, ["judgements"])
    when = assessment.updated_at.strftime("%H:%M:%S on %d %B %Y") if assessment.updated_at \
        else "a moment ago"
    return AssessmentConflict(ConflictDetails(
        saved_version=assessment.version, saved_at=when,
        changes=differences(assessment, criteria, marks, rules, feedback),
    ))


def check_marker(session: Session, assessment: Assessment, actor: User) -> None:
    """Only the assigned assessor changes a draft, and only while still allowed to assess it."""
    if assessment.status != AssessmentStatus.DRAFT:
        raise AssessmentError(
            f"This decision is {assessment.status.label.lower()} and can no longer be changed; "
            "a correction is made as a new decision.")
    if actor.id != assessment.assessor_id:
        raise AssessmentError("Only the assessor this submission is assigned to can mark it.")
    reason = why_not(session, assessment.submission, actor, Role.ASSESSOR)
    if reason is not None:
        raise AssessmentError(reason)


def save_marking(
    session: Session,
    assessment: Assessment,
    *,
    marks: dict[int, Mark],
    rules: dict[str, bool],
    feedback: str,
    expected_version: int,
    actor: User,
) -> Assessment:
    """Save judgements, rules of evidence and feedback as a draft.

    ``marks`` maps criterion ids of the unit to a Mark; a criterion left out or with
    ``satisfactory=None`` is not judged yet.  Refused (InvalidMarking, per field) when a
    not yet satisfactory judgement has no comment, a criterion is not the unit's, or text
    is too long; refused (AssessmentConflict) when ``expected_version`` is not the saved
    version.  Nothing changes when refused.  Flushes and audits; the caller commits.
    """
    check_marker(session, assessment, actor)
    criteria = unit_criteria(session, assessment.unit_id)
    known = {c.id for c in criteria}
    feedback = (feedback or "").strip()
    errors: dict[str, str] = {}
    for criterion_id in marks:
        if criterion_id not in known:
            errors[f"criterion-{criterion_id}"] = (
                f"Criterion {criterion_id} is not a criterion of this unit.")
    for criterion in criteria:
        mark = marks.get(criterion.id)
        if mark is None:
            continue
        if mark.satisfactory is False and not mark.comment.strip():
            errors[f"comment-{criterion.id}"] = (
                f"{_label(criterion)}: say what is missing: a comment is required when a "
                "criterion is not yet satisfactory.")
        if len(mark.comment.strip()) > COMMENT_LIMIT:
            errors[f"comment-{criterion.id}"] = (
                f"{_label(criterion)}: keep the comment under {COMMENT_LIMIT:,} characters.")
    if len(feedback) > COMMENT_LIMIT:
        errors["feedback"] = f"Keep the overall feedback under {COMMENT_LIMIT:,} characters."
    unknown_rules = set(rules) - set(RULES_OF_EVIDENCE)
    if unknown_rules:
        errors["rules"] = f"Unknown rule of evidence: {', '.join(sorted(unknown_rules))}."
    if errors:
        raise InvalidMarking(errors)
    if expected_version != assessment.version or not claim(session, assessment,
                                                           expected_version):
        raise _conflict(session, assessment, criteria, marks, rules, feedback)

    before = {cid: _shown(m) for cid, m in _saved_marks(assessment).items()}
    existing = {j.criterion_id: j for j in assessment.judgements}
    for criterion in criteria:
        mark = marks.get(criterion.id, Mark(None))
        judgement = existing.get(criterion.id)
        if mark.satisfactory is None:
            if judgement is not None:
                assessment.judgements.remove(judgement)
            continue
        if judgement is None:
            assessment.judgements.append(Judgement(criterion_id=criterion.id,
                                                   satisfactory=mark.satisfactory,
                                                   comment=mark.comment.strip()))
        else:
            judgement.satisfactory = mark.satisfactory
            judgement.comment = mark.comment.strip()
    for rule in RULES_OF_EVIDENCE:
        setattr(assessment, f"rule_{rule}", bool(rules.get(rule)))
    assessment.feedback = feedback
    # Touching the row makes every save raise the version, also when only judgements changed.
    assessment.updated_at = utcnow()
    # The claim above holds the row at this version, so the versioned UPDATE matches.
    session.flush()
    after = {cid: _shown(m) for cid, m in _saved_marks(assessment).items()}
    changed = {str(cid): [before.get(cid, "not judged"), after.get(cid, "not judged")]
               for cid in sorted(set(before) | set(after))
               if before.get(cid) != after.get(cid)}
    audit.record(session, "assessment.draft_saved", actor=actor, provider=assessment.provider,
                 target=assessment,
                 changes={"judgements": changed, "rules": assessment.rules,
                          "judged": len(assessment.judgements), "criteria": len(criteria),
                          "version": assessment.version})
    return assessment


def derive_outcome(assessment: Assessment, criteria: list[Criterion]) -> Outcome:
    """Competent only when every criterion is judged satisfactory and every rule of evidence
    is confirmed; otherwise not yet competent."""
    saved = {j.criterion_id: j.satisfactory for j in assessment.judgements}
    every_criterion = bool(criteria) and all(saved.get(c.id) is True for c in criteria)
    every_rule = all(assessment.rules.values())
    return Outcome.COMPETENT if every_criterion and every_rule else Outcome.NOT_YET_COMPETENT


def sign(
    session: Session,
    assessment: Assessment,
    *,
    actor: User,
    password: str,
    expected_version: int | None = None,
    rng: random.Random | None = None,
) -> Assessment:
    """Sign the draft as the decision: every criterion must be judged, the password is
    checked, the outcome is derived, and the sampling plan either confirms the decision now
    or sends it to internal verification.  Refused with nothing changed otherwise."""
    check_marker(session, assessment, actor)
    submission = assessment.submission
    if (assessment.kind == AssessmentKind.CORRECTION
            and latest_attempt_id(session, submission.enrolment_id) != submission.id):
        # Confirming it would complete or reopen the enrolment under a later attempt.
        raise AssessmentError("The candidate has submitted a later attempt since this "
                              "correction was started; discard it and assess the later "
                              "attempt instead.")
    version = assessment.version if expected_version is None else expected_version
    if version != assessment.version or not claim(session, assessment, version):
        # Another window saved or signed it since this page (or this object) was loaded.
        criteria = unit_criteria(session, assessment.unit_id)
        raise _conflict(session, assessment, criteria, _saved_marks(assessment),
                        assessment.rules, assessment.feedback)
    if not check_password(actor.password_hash, password or ""):
        raise AssessmentError("That is not your password; re-enter it to sign.", "password")
    criteria = unit_criteria(session, assessment.unit_id)
    saved = {j.criterion_id: j for j in assessment.judgements}
    missing = [_label(c) for c in criteria if c.id not in saved]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        raise AssessmentError(f"Judge every criterion before signing: {shown} "
                              f"{'is' if len(missing) == 1 else 'are'} not judged yet.",
                              "judgements")
    outcome = derive_outcome(assessment, criteria)
    if outcome == Outcome.NOT_YET_COMPETENT and not assessment.feedback.strip():
        raise AssessmentError("Write overall feedback for the candidate: it is required when "
                              "the decision is not yet competent.", "feedback")
    now = utcnow()
    assessment.outcome = outcome
    assessment.signed_at = now
    assessment.signature_method = "password"
    session.flush()
    reason = sample_reason(session, assessment, rng)
    audit.record(
        session, "assessment.signed", actor=actor, provider=assessment.provider,
        target=assessment,
        changes={"outcome": outcome.value, "signed_at": now.isoformat(),
                 "signature": "password re-entered", "kind": assessment.kind.value,
                 "satisfactory": sum(1 for j in assessment.judgements if j.satisfactory),
                 "not_yet_satisfactory": sum(1 for j in assessment.judgements
                                             if not j.satisfactory),
                 "rules": assessment.rules, "sampled": reason is not None,
                 "sample_reason": reason},
    )
    if reason is None:
        confirm(session, assessment, actor=actor)
    else:
        send_to_verification(session, assessment, reason)
    return assessment


def latest_attempt_id(session: Session, enrolment_id: int) -> int | None:
    return session.scalar(
        select(Submission.id).where(Submission.enrolment_id == enrolment_id)
        .order_by(Submission.attempt.desc()).limit(1)
    )


def start_correction(session: Session, assessment: Assessment, *, actor: User,
                     reason: str) -> Assessment:
    """The assessor corrects their confirmed decision: a new draft that starts from it and,
    once signed and confirmed, supersedes it.  The signed decision itself never changes."""
    reason = (reason or "").strip()
    if not reason:
        raise AssessmentError("Say why the decision needs correcting.", "reason")
    if len(reason) > 2000:
        raise AssessmentError("Keep the reason under 2,000 characters.", "reason")
    if assessment.status != AssessmentStatus.CONFIRMED:
        raise AssessmentError("Only a confirmed decision can be corrected.", "reason")
    if actor.id != assessment.assessor_id:
        raise AssessmentError("Only the assessor who made a decision corrects it; a provider "
                              "admin can assign an appeal to another assessor.", "reason")
    submission = assessment.submission
    if latest_attempt_id(session, submission.enrolment_id) != submission.id:
        raise AssessmentError("The candidate has submitted a later attempt since; correct the "
                              "decision on that attempt instead.", "reason")
    if open_assessment(session, submission) is not None:
        raise AssessmentError("This attempt already has a decision in progress.", "reason")
    open_appeal = session.scalar(select(Appeal.id).where(
        Appeal.assessment_id == assessment.id, Appeal.status != AppealStatus.DECIDED))
    if open_appeal is not None:
        raise AssessmentError("The candidate has appealed this decision; the appeal decides it.",
                              "reason")
    correction = start_assessment(session, submission, actor, actor=actor, via="correction",
                                  kind=AssessmentKind.CORRECTION, replaces=assessment)
    correction.reason = reason
    copy_marking(assessment, correction)
    session.flush()
    audit.record(session, "assessment.correction_started", actor=actor,
                 provider=assessment.provider, target=correction,
                 changes={"corrects": assessment.id, "reason": reason})
    return correction


def discard_draft(session: Session, assessment: Assessment, *, actor: User) -> Assessment:
    """Abandon a draft correction; the decision it would have corrected stands."""
    if assessment.status != AssessmentStatus.DRAFT or assessment.kind != AssessmentKind.CORRECTION:
        raise AssessmentError("Only a correction that is not signed yet can be discarded.")
    if actor.id != assessment.assessor_id:
        raise AssessmentError("Only the assessor making the correction can discard it.")
    assessment.status = AssessmentStatus.DISCARDED
    session.flush()
    audit.record(session, "assessment.discarded", actor=actor, provider=assessment.provider,
                 target=assessment, changes={"kind": assessment.kind.value,
                                             "replaces": assessment.replaces_id})
    return assessment
