"""Assessment pages for quality assurance and administration: giving work to assessors,
flagging a decision for sampling, the provider's assessment settings, the verifiers' queue
and answers, and the verifier report (page and CSV)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from certify.accounts.models import Authorisation, Enrolment, Membership, Provider, Role, User
from certify.accounts.operations.authorisations import today
from certify.accounts.sessions import current_provider
from certify.assessors import bp, permissions, queries, reports
from certify.assessors.errors import AssessmentError, InvalidMarking
from certify.assessors.forms.quality import AssignForm, FlagForm, SettingsForm, VerifyForm
from certify.assessors.models import (
    Assessment,
    AssessmentKind,
    AssessmentStatus,
    ConflictOfInterest,
)
from certify.assessors.operations import assignment, quality
from certify.core.types import utcnow
from certify.core.web import Page, paginate
from certify.evidence.models import Submission
from certify.extensions import db
from certify.units.models import Unit

# Query arguments the assignments page keeps from one request to the next.
ASSIGNMENT_ARGS = ("unit", "assessor", "waiting_page", "marking_page")


# Shared by the quality and appeals pages --------------------------------------------------------


def provider_page(rule) -> Provider:
    """The provider the user acts for, when ``rule`` lets them use this page of it; 403
    otherwise (a page of their own provider they hold no role for)."""
    provider = current_provider()
    if provider is None or not rule(current_user, provider):
        abort(403)
    return provider


def page_number(name: str) -> int:
    """A page number from the query argument ``name`` (1 when missing or absurd)."""
    raw = request.args.get(name, "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def id_argument(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None


def staff_member(provider: Provider, user_id: int) -> User | None:
    """A person who holds any role at ``provider``; people of other providers are not looked
    at, so a refusal never names someone the admin cannot see."""
    return db.session.scalar(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.provider_id == provider.id, User.id == user_id).limit(1)
    )


def waited(since: datetime, now: datetime) -> str:
    """How long something has waited, in words ("3 days", "5 hours", "under an hour")."""
    elapsed = max(now - since, timedelta(0))
    if elapsed.days >= 1:
        return f"{elapsed.days} day{'s' if elapsed.days != 1 else ''}"
    hours = elapsed.seconds // 3600
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return "under an hour"


def choices_with_counts(people: list[User], counts: dict[int, int]) -> list[tuple[int, str]]:
    """(id, "Name (n open)") for each person, for a select of assessors."""
    return [(p.id, f"{p.name} ({counts.get(p.id, 0)} open)") for p in people]


@bp.app_template_global()
def can_verify_assessment(assessment: Assessment) -> bool:
    """Whether the signed-in user may answer on ``assessment`` (the verify form shows)."""
    return permissions.can_verify(current_user, assessment)


@bp.app_template_global()
def can_flag_assessment(assessment: Assessment) -> bool:
    """Whether the signed-in user may flag ``assessment`` for sampling (the flag form shows)."""
    return permissions.can_flag(current_user, assessment)


def _load_assessment(assessment_id: int) -> Assessment | None:
    return db.session.scalar(
        select(Assessment)
        .options(joinedload(Assessment.provider), joinedload(Assessment.assessor),
                 joinedload(Assessment.submission).joinedload(Submission.enrolment)
                 .options(joinedload(Enrolment.candidate), joinedload(Enrolment.unit)))
        .where(Assessment.id == assessment_id)
    )


def _describe(submission: Submission) -> str:
    enrolment = submission.enrolment
    return f"{enrolment.unit.code} attempt {submission.attempt} of {enrolment.candidate.name}"


# Assignments -----------------------------------------------------------------------------------


def _assignment_filters() -> dict[str, Any]:
    """The assignments page's query arguments worth keeping, as given."""
    return {name: request.args[name] for name in ASSIGNMENT_ARGS
            if request.args.get(name, "").isascii() and request.args.get(name, "").isdigit()}


def _assignments_page(provider: Provider, *, refusal: str | None = None,
                      refused_id: int | None = None, form: AssignForm | None = None,
                      status: int = 200):
    """The assignments page, with a refusal or the posted row's form errors when given."""
    unit_id, assessor_id = id_argument("unit"), id_argument("assessor")
    per_page = current_app.config["PAGE_SIZE"]
    waiting_query = (
        assignment.unassigned_submissions_query(provider.id)
        .join(Enrolment.candidate).join(Enrolment.unit)
        .options(contains_eager(Submission.enrolment).contains_eager(Enrolment.candidate),
                 contains_eager(Submission.enrolment).contains_eager(Enrolment.unit))
        .order_by(Submission.submitted_at, Submission.id)
    )
    marking_query = (
        queries.listed_assessments(provider.id)
        .options(selectinload(Assessment.assessor))
        .where(Assessment.status == AssessmentStatus.DRAFT,
               Assessment.kind != AssessmentKind.APPEAL)
        .order_by(Submission.submitted_at, Assessment.id)
    )
    if unit_id is not None:
        waiting_query = waiting_query.where(Enrolment.unit_id == unit_id)
        marking_query = marking_query.where(Enrolment.unit_id == unit_id)
    if assessor_id is not None:
        # Work waiting for an assessor has nobody to filter by; it stays listed.
        marking_query = marking_query.where(Assessment.assessor_id == assessor_id)
    waiting: Page = paginate(db.session, waiting_query, page_number("waiting_page"), per_page)
    marking: Page = paginate(db.session, marking_query, page_number("marking_page"), per_page)

    # Who may take each row, for every row of both pages at once (a fixed number of queries).
    submissions = [*waiting.items, *(a.submission for a in marking.items)]
    allowed = assignment.allowed_people_for(db.session, submissions, Role.ASSESSOR)
    people = {p.id for found in allowed.values() for p in found}
    people |= {a.assessor_id for a in marking.items}
    counts = assignment.open_counts(db.session, provider.id, sorted(people))
    choices = {s.id: choices_with_counts(allowed[s.id], counts) for s in waiting.items}
    for draft in marking.items:
        others = [p for p in allowed[draft.submission_id] if p.id != draft.assessor_id]
        choices[draft.submission_id] = choices_with_counts(others, counts)

    units = db.session.scalars(
        select(Unit).where(Unit.id.in_(select(Enrolment.unit_id)
                                       .where(Enrolment.provider_id == provider.id)))
        .order_by(Unit.code, Unit.version)
    ).all()
    assessors = db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.provider_id == provider.id, Membership.role == Role.ASSESSOR)
        .order_by(User.name, User.id)
    ).all()
    refused = None
    if refused_id is not None:
        refused = db.session.get(Submission, refused_id)
    return render_template(
        "assessors/assignments.html", provider=provider, waiting=waiting, marking=marking,
        choices=choices, counts=counts, units=units, assessors=assessors, unit_id=unit_id,
        assessor_id=assessor_id, filters=_assignment_filters(), now=utcnow(), waited=waited,
        refusal=refusal, refused=refused, form=form,
    ), status


@bp.get("/assessment/assignments")
@login_required
def assignments():
    """Provider admins: submissions waiting for an assessor and work being marked, each with
    the people allowed to take it and how much open work they have."""
    provider = provider_page(permissions.can_administer_assessment)
    return _assignments_page(provider)


@bp.post("/assessment/submissions/<int:submission_id>/assign")
@login_required
def assign(submission_id: int):
    """Give a submission (or the draft being marked) to a chosen assessor, or automatically to
    the allowed assessor with the fewest open assessments."""
    submission = db.session.scalar(
        select(Submission)
        .options(joinedload(Submission.enrolment)
                 .options(joinedload(Enrolment.provider), joinedload(Enrolment.candidate),
                          joinedload(Enrolment.unit)))
        .where(Submission.id == submission_id)
    )
    if submission is None or not permissions.can_administer_assessment(
            current_user, submission.enrolment.provider):
        abort(404)
    provider = submission.enrolment.provider
    form = AssignForm()
    if not form.validate_on_submit():
        return _assignments_page(provider, refused_id=submission.id, form=form, status=422)
    what = _describe(submission)
    try:
        if form.chosen_id is None:
            made = assignment.assign_fewest_open(db.session, submission, actor=current_user)
        else:
            person = staff_member(provider, form.chosen_id)
            if person is None:
                form.assessor_id.errors = ["Choose an assessor from the list."]
                return _assignments_page(provider, refused_id=submission.id, form=form,
                                         status=422)
            made = assignment.assign(db.session, submission, person, actor=current_user)
    except AssessmentError as error:
        db.session.rollback()
        return _assignments_page(provider, refusal=str(error), refused_id=submission_id,
                                 status=409)
    name = made.assessor.name
    db.session.commit()
    flash(f"{what} is assigned to {name}.", "success")
    return redirect(url_for("assessors.assignments", **_assignment_filters()), 303)


# Flags -----------------------------------------------------------------------------------------


@bp.post("/assessment/assessments/<int:assessment_id>/flag")
@login_required
def flag(assessment_id: int):
    """A provider admin asks for a decision being marked to be sampled when it is signed."""
    assessment = _load_assessment(assessment_id)
    if assessment is None or not permissions.can_administer_assessment(current_user,
                                                                       assessment.provider):
        abort(404)
    form = FlagForm()
    refusal = None
    if form.validate_on_submit():
        try:
            quality.flag(db.session, assessment, actor=current_user, reason=form.reason.data)
        except AssessmentError as error:
            db.session.rollback()
            refusal, status = str(error), 409
        else:
            db.session.commit()
            flash("Flagged: this decision will be sampled for internal verification when it "
                  "is signed.", "success")
            return redirect(url_for("assessors.assessment", assessment_id=assessment_id), 303)
    else:
        status = 422
    if refusal is None and not permissions.can_flag(current_user, assessment):
        # The form is not offered again, so say why instead of pointing at its field.
        refusal = ("Only a decision that is not yet signed can be flagged for sampling."
                   if assessment.status != AssessmentStatus.DRAFT else
                   "This decision is already flagged for sampling.")
    return render_template("assessors/flag_refused.html", assessment=assessment,
                           flag_form=form, refusal=refusal), status


# Settings --------------------------------------------------------------------------------------


@bp.route("/assessment/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The provider's sampling plan, attempt limit and appeal window."""
    provider = provider_page(permissions.can_administer_assessment)
    form = SettingsForm(obj=provider)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                quality.update_settings(db.session, provider, actor=current_user,
                                        **form.values())
            except InvalidMarking as error:
                db.session.rollback()
                for name, message in error.errors.items():
                    form[name].errors = [*form[name].errors, message]
                status = 422
            else:
                db.session.commit()
                flash("The assessment settings are saved.", "success")
                return redirect(url_for("assessors.settings"), 303)
        else:
            status = 422
    return render_template("assessors/settings.html", provider=provider, form=form,
                           limits=quality.SETTINGS_LIMITS), status


# Verification ----------------------------------------------------------------------------------


def _verifiable_query(provider: Provider, verifier: User):
    """Sampled decisions of ``provider`` that ``verifier`` may answer on today, oldest signed
    first: not their own, not of a candidate who is them or with whom they declared a
    conflict, on a unit they are authorised to verify (the rules of ``why_not``, applied in
    the query so that the list pages correctly)."""
    on = today()
    grants = db.session.scalars(
        select(Authorisation).where(Authorisation.provider_id == provider.id,
                                    Authorisation.user_id == verifier.id,
                                    Authorisation.role == Role.VERIFIER,
                                    Authorisation.revoked_at.is_(None))
    ).all()
    waiting_units = db.session.scalars(
        select(Unit).where(Unit.id.in_(
            select(Assessment.unit_id).where(
                Assessment.provider_id == provider.id,
                Assessment.status == AssessmentStatus.AWAITING_VERIFICATION)))
    ).all() if grants else []
    unit_ids = [u.id for u in waiting_units if any(g.covers(u, on) for g in grants)]
    conflicts = select(ConflictOfInterest.candidate_id).where(
        ConflictOfInterest.provider_id == provider.id,
        ConflictOfInterest.staff_id == verifier.id,
        ConflictOfInterest.withdrawn_at.is_(None),
    )
    return (
        queries.listed_assessments(provider.id)
        .options(selectinload(Assessment.assessor))
        .where(Assessment.status == AssessmentStatus.AWAITING_VERIFICATION,
               Assessment.assessor_id != verifier.id,
               Enrolment.candidate_id != verifier.id,
               Enrolment.candidate_id.not_in(conflicts),
               Enrolment.unit_id.in_(unit_ids))
        .order_by(Assessment.signed_at, Assessment.id)
    )


@bp.get("/assessment/verification")
@login_required
def verification():
    """Internal verifiers: the sampled decisions they may confirm or send back, oldest first."""
    provider = provider_page(permissions.can_verify_in)
    page = paginate(db.session, _verifiable_query(provider, current_user),
                    page_number("page"), current_app.config["PAGE_SIZE"])
    waiting = db.session.scalar(
        select(func.count()).select_from(Assessment).where(
            Assessment.provider_id == provider.id,
            Assessment.status == AssessmentStatus.AWAITING_VERIFICATION)
    ) or 0
    return render_template("assessors/verification.html", provider=provider, page=page,
                           others=max(waiting - page.total, 0), now=utcnow(), waited=waited)


@bp.post("/assessment/assessments/<int:assessment_id>/verify")
@login_required
def verify(assessment_id: int):
    """A verifier agrees with a sampled decision (it is confirmed) or disagrees with a comment
    (it goes back to the assessor)."""
    assessment = _load_assessment(assessment_id)
    if assessment is None or not permissions.can_verify_in(current_user, assessment.provider):
        abort(404)
    form = VerifyForm()
    refusal = None
    if form.validate_on_submit():
        what = _describe(assessment.submission)
        assessor = assessment.assessor.name
        try:
            quality.verify(db.session, assessment, actor=current_user, agree=form.agrees,
                           comment=form.comment.data or "")
        except InvalidMarking as error:
            db.session.rollback()
            for name, message in error.errors.items():
                field = getattr(form, name, None)
                if field is not None:
                    field.errors = [*field.errors, message]
                else:
                    refusal = message
            status = 422
        except AssessmentError as error:
            db.session.rollback()
            refusal, status = str(error), 409
        else:
            db.session.commit()
            if form.agrees:
                flash(f"Confirmed: {assessor}'s decision on {what} counts now.", "success")
            else:
                flash(f"Sent back to the assessor: {assessor} reassesses {what} with your "
                      "comment.", "success")
            return redirect(url_for("assessors.verification"), 303)
    else:
        status = 422
    if refusal is None and not permissions.can_verify(current_user, assessment):
        # The form is not offered again, so say why instead of pointing at its fields.
        refusal = ("You made this decision; another verifier must verify it."
                   if assessment.assessor_id == current_user.id else
                   f"This decision is {assessment.status.label.lower()}; only a sampled "
                   "decision waiting for verification can be verified.")
    return render_template("assessors/verify_refused.html", assessment=assessment,
                           verify_form=form, refusal=refusal), status


# Verifier report -------------------------------------------------------------------------------


@bp.get("/assessment/report")
@login_required
def report():
    """Per assessor: signed decisions, how many were sampled, agreed and disagreed with."""
    provider = provider_page(permissions.can_read_verifier_report)
    rows = quality.verifier_report(db.session, provider)
    return render_template(
        "assessors/report.html", provider=provider, rows=rows,
        totals=reports.totals(rows), plan=reports.sampling_plan(provider),
        percent=reports.percent,
        can_change_plan=permissions.can_administer_assessment(current_user, provider),
    )


@bp.get("/assessment/report.csv")
@login_required
def report_csv():
    """The verifier report as a CSV file."""
    provider = provider_page(permissions.can_read_verifier_report)
    rows = quality.verifier_report(db.session, provider)
    filename = f"verifier-report-{provider.slug}-{today().isoformat()}.csv"
    return Response(
        reports.verifier_report_csv(rows), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"},
    )
