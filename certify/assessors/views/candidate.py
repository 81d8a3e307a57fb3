"""Assessment pages for candidates: the decision history of an enrolment with per-criterion
feedback, the appeal against a confirmed decision, and progress across enrolled units.

A candidate is told a result only once it is released (confirmed, or confirmed and
later superseded); until then the attempt is "being assessed", with no outcome and
no comment.  Staff of the provider read the same history with every signed decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from certify.accounts.models import Enrolment, EnrolmentStatus
from certify.accounts.sessions import current_provider
from certify.assessors import bp, permissions
from certify.assessors.errors import AssessmentError
from certify.assessors.forms.candidate import AppealForm
from certify.assessors.models import (
    RULE_LABELS,
    RULES_OF_EVIDENCE,
    SIGNED_STATUSES,
    Appeal,
    Assessment,
    AssessmentStatus,
    Judgement,
    Outcome,
)
from certify.assessors.operations import appeals as appeal_operations
from certify.evidence.models import Submission, SubmissionStatus
from certify.evidence.operations.submissions import unit_criteria
from certify.evidence.permissions import (
    can_keep_portfolio,
    can_view_enrolment_evidence,
    is_staff_of,
)
from certify.extensions import db
from certify.units.models import Criterion, Unit

RELEASED_STATUSES = (AssessmentStatus.CONFIRMED, AssessmentStatus.SUPERSEDED)
# Ids are 32-bit integers; a larger number in an address is a 404, never a database error.
ID = "int(max=2147483647)"


@dataclass
class DecisionView:
    """One decision as the page shows it."""

    assessment: Assessment
    # Released decisions are shown in full; for staff, signed ones that are not are marked so.
    released: bool
    superseded_by: Assessment | None = None
    appeal: Appeal | None = None
    # Set only for the one decision that could be appealed now (see _appeal_state).
    appeal_allowed: bool = False
    appeal_refusal: str | None = None
    deadline: datetime | None = None

    @property
    def judgements(self) -> dict[int, Judgement]:
        return {j.criterion_id: j for j in self.assessment.judgements}

    @property
    def satisfied(self) -> int:
        return sum(1 for j in self.assessment.judgements if j.satisfactory)


@dataclass
class AttemptView:
    submission: Submission
    decisions: list[DecisionView] = field(default_factory=list)
    # Drafts (staff only): who is marking, and what kind of decision.
    being_marked: list[Assessment] = field(default_factory=list)


def _load_enrolment(enrolment_id: int) -> Enrolment:
    """The enrolment with its unit, candidate and provider, for its candidate and for staff of
    its provider; 404 for anyone else, so that it is not even confirmed to exist."""
    enrolment = db.session.scalar(
        select(Enrolment)
        .options(joinedload(Enrolment.unit).joinedload(Unit.framework),
                 joinedload(Enrolment.candidate), joinedload(Enrolment.provider))
        .where(Enrolment.id == enrolment_id)
    )
    if enrolment is None or not can_view_enrolment_evidence(current_user, enrolment):
        abort(404)
    return enrolment


def _supersessions(assessments: list[Assessment]) -> dict[int, Assessment]:
    """Which decision superseded which, replayed in the order they were confirmed: confirming
    a decision supersedes the first still-confirmed decision it (transitively) replaces."""
    by_id = {a.id: a for a in assessments}
    confirmed: set[int] = set()
    superseded_by: dict[int, Assessment] = {}
    released = sorted((a for a in assessments if a.confirmed_at is not None),
                      key=lambda a: (a.confirmed_at, a.id))
    for newer in released:
        seen = {newer.id}
        earlier_id = newer.replaces_id
        while earlier_id is not None and earlier_id not in seen and earlier_id in by_id:
            if earlier_id in confirmed:
                confirmed.discard(earlier_id)
                superseded_by[earlier_id] = newer
                break
            seen.add(earlier_id)
            earlier_id = by_id[earlier_id].replaces_id
        confirmed.add(newer.id)
    return superseded_by


def _appeal_state(view: DecisionView, latest_submission_id: int) -> None:
    """Whether the candidate may appeal this decision now, and until when.

    ``why_no_appeal`` sends two queries; the conditions it checks that the page already holds
    (the candidate's own confirmed decision on the latest attempt, not appealed yet) are tested
    first, so it runs for at most one decision per page."""
    assessment = view.assessment
    if (not permissions.can_appeal(current_user, assessment) or view.appeal is not None
            or assessment.submission_id != latest_submission_id):
        return
    view.deadline = appeal_operations.appeal_deadline(assessment)
    view.appeal_refusal = appeal_operations.why_no_appeal(db.session, assessment, current_user)
    view.appeal_allowed = view.appeal_refusal is None


@bp.get(f"/assessment/enrolments/<{ID}:enrolment_id>/decisions")
@login_required
def decisions(enrolment_id: int):
    """Every attempt of an enrolment, newest first, with its decisions: for the candidate the
    released ones (outcome, feedback, the rules of evidence, each criterion's judgement and
    comment, the appeal); for staff of the provider every signed decision and the drafts."""
    enrolment = _load_enrolment(enrolment_id)
    own = enrolment.candidate_id == current_user.id
    submissions = list(db.session.scalars(
        select(Submission).where(Submission.enrolment_id == enrolment.id)
        .order_by(Submission.attempt.desc())
    ))
    assessments = list(db.session.scalars(
        select(Assessment)
        .options(joinedload(Assessment.assessor), selectinload(Assessment.judgements))
        .where(Assessment.submission_id.in_([s.id for s in submissions]))
        .order_by(Assessment.id.desc())
    )) if submissions else []
    appeals = {a.assessment_id: a for a in db.session.scalars(
        select(Appeal).where(Appeal.assessment_id.in_([a.id for a in assessments]))
    )} if assessments else {}
    superseded_by = _supersessions(assessments)
    criteria = unit_criteria(db.session, enrolment.unit_id)

    latest_id = submissions[0].id if submissions else None
    attempts = {s.id: AttemptView(s) for s in submissions}
    for assessment in assessments:
        attempt = attempts[assessment.submission_id]
        released = permissions.is_released(assessment)
        if own and not released:
            # Not a word of an unreleased decision reaches the candidate.
            continue
        if assessment.status == AssessmentStatus.DRAFT:
            attempt.being_marked.append(assessment)
            continue
        if assessment.status not in SIGNED_STATUSES:
            continue  # a discarded draft was never a decision
        view = DecisionView(assessment, released=released,
                            superseded_by=superseded_by.get(assessment.id),
                            appeal=appeals.get(assessment.id))
        _appeal_state(view, latest_id)
        attempt.decisions.append(view)

    latest = attempts[latest_id] if latest_id is not None else None
    current = next((d for d in latest.decisions
                    if d.assessment.status == AssessmentStatus.CONFIRMED), None) if latest else None
    used, allowed = len(submissions), enrolment.provider.max_attempts
    may_resubmit = bool(
        own and enrolment.status == EnrolmentStatus.ACTIVE and latest is not None
        and latest.submission.status == SubmissionStatus.RETURNED
        and current is not None and current.assessment.outcome == Outcome.NOT_YET_COMPETENT
    )
    return render_template(
        "assessors/decisions.html", enrolment=enrolment, unit=enrolment.unit, own=own,
        attempts=list(attempts.values()), criteria=criteria, rule_labels=RULE_LABELS,
        rules=RULES_OF_EVIDENCE, used=used, allowed=allowed,
        resubmit=may_resubmit and used < allowed, out_of_attempts=may_resubmit and used >= allowed,
        staff=not own and is_staff_of(current_user, enrolment.provider),
    )


def _own_released_assessment(assessment_id: int) -> Assessment:
    """The signed-in candidate's own released decision, with what the appeal page shows; 404
    for anyone else's and for a decision that is not released."""
    assessment = db.session.scalar(
        select(Assessment)
        .options(joinedload(Assessment.submission).joinedload(Submission.enrolment)
                 .joinedload(Enrolment.unit),
                 joinedload(Assessment.submission).joinedload(Submission.enrolment)
                 .joinedload(Enrolment.provider),
                 joinedload(Assessment.assessor), joinedload(Assessment.provider))
        .where(Assessment.id == assessment_id)
    )
    if (assessment is None
            or assessment.submission.enrolment.candidate_id != current_user.id
            or not permissions.is_released(assessment)):
        abort(404)
    return assessment


@bp.route(f"/assessment/assessments/<{ID}:assessment_id>/appeal", methods=["GET", "POST"])
@login_required
def appeal(assessment_id: int):
    """The candidate appeals their confirmed decision with a statement, within the provider's
    window; the page says why when they may not (409 when such a post is refused, 422 for a
    statement too short or too long)."""
    assessment = _own_released_assessment(assessment_id)
    enrolment = assessment.submission.enrolment
    existing = db.session.scalar(select(Appeal).where(Appeal.assessment_id == assessment.id))
    refusal = appeal_operations.why_no_appeal(db.session, assessment, current_user)
    form = AppealForm()
    status = 200
    if request.method == "POST":
        if refusal is not None:
            status = 409
        elif not form.validate_on_submit():
            status = 422
        else:
            try:
                appeal_operations.lodge_appeal(db.session, assessment, actor=current_user,
                                               statement=form.statement.data)
            except AssessmentError as error:
                db.session.rollback()
                refusal, status = str(error), 409
            else:
                db.session.commit()
                flash(f"Your appeal on {enrolment.unit.code} is lodged. The provider will give "
                      "it to a different assessor; you will be told the new decision.",
                      "success")
                return redirect(url_for("assessors.decisions", enrolment_id=enrolment.id),
                                code=303)
    return render_template(
        "assessors/appeal.html", assessment=assessment, enrolment=enrolment,
        unit=enrolment.unit, existing=existing, refusal=refusal, form=form,
        deadline=appeal_operations.appeal_deadline(assessment),
        statement_min=appeal_operations.STATEMENT_MIN,
        statement_max=appeal_operations.STATEMENT_MAX,
    ), status


@dataclass
class UnitProgress:
    """One enrolment on the progress page."""

    enrolment: Enrolment
    total: int
    attempts: int
    allowed: int
    # The latest released decision, if any: its outcome, when, and how many criteria it
    # judged satisfactory.
    outcome: Outcome | None = None
    decided_at: datetime | None = None
    satisfied: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.satisfied / self.total) if self.total else 0


@bp.get("/assessment/progress")
@login_required
def progress():
    """The candidate's progress at the provider acted for: per enrolled unit, the criteria
    satisfied in the latest released decision out of the unit's criteria, attempts used and
    allowed, and the latest decision; two queries however many units and attempts."""
    provider = current_provider()
    if provider is None or not can_keep_portfolio(current_user, provider):
        abort(403)
    totals = (select(Criterion.unit_id, func.count(Criterion.id).label("total"))
              .group_by(Criterion.unit_id).subquery())
    tries = (select(Submission.enrolment_id, func.count(Submission.id).label("attempts"))
             .group_by(Submission.enrolment_id).subquery())
    rows = db.session.execute(
        select(Enrolment, func.coalesce(totals.c.total, 0), func.coalesce(tries.c.attempts, 0))
        .join(Enrolment.unit)
        .options(contains_eager(Enrolment.unit))
        .outerjoin(totals, totals.c.unit_id == Enrolment.unit_id)
        .outerjoin(tries, tries.c.enrolment_id == Enrolment.id)
        .where(Enrolment.candidate_id == current_user.id, Enrolment.provider_id == provider.id)
        .order_by(Unit.code, Unit.version, Enrolment.id)
    ).all()
    units = {e.id: UnitProgress(e, total, attempts, provider.max_attempts)
             for e, total, attempts in rows}
    if units:
        satisfied = func.sum(case((Judgement.satisfactory.is_(True), 1), else_=0))
        released = db.session.execute(
            select(Submission.enrolment_id, Assessment.outcome, Assessment.confirmed_at,
                   func.coalesce(satisfied, 0))
            .join(Submission, Submission.id == Assessment.submission_id)
            .outerjoin(Judgement, Judgement.assessment_id == Assessment.id)
            .where(Submission.enrolment_id.in_(list(units)),
                   Assessment.status.in_(RELEASED_STATUSES))
            .group_by(Assessment.id, Submission.enrolment_id, Assessment.outcome,
                      Assessment.confirmed_at)
        ).all()
        for enrolment_id, outcome, confirmed_at, count in released:
            row = units[enrolment_id]
            # The latest released decision wins (a later attempt, correction or appeal).
            if row.decided_at is None or confirmed_at > row.decided_at:
                row.outcome, row.decided_at, row.satisfied = outcome, confirmed_at, int(count)
    return render_template("assessors/progress.html", provider=provider,
                           units=list(units.values()))
