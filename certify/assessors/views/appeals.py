"""Assessment pages: the appeals a provider admin handles, and giving one to a different
assessor."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload, selectinload

from certify.accounts.models import Enrolment, Provider, Role
from certify.assessors import bp, permissions
from certify.assessors.errors import AssessmentError
from certify.assessors.forms.appeals import AssignAppealForm
from certify.assessors.models import Appeal, AppealStatus, Assessment
from certify.assessors.operations import appeals as operations
from certify.assessors.operations import assignment
from certify.assessors.operations.decisions import deciders
from certify.assessors.views.quality import (
    choices_with_counts,
    page_number,
    provider_page,
    staff_member,
)
from certify.core.web import paginate
from certify.evidence.models import Submission
from certify.extensions import db

# Lodged appeals wait for someone: they come first, oldest first.
STATUS_ORDER = case({AppealStatus.LODGED: 0, AppealStatus.ASSIGNED: 1},
                    value=Appeal.status, else_=2)


def _status_filter() -> AppealStatus | None:
    wanted = request.args.get("status", "")
    return AppealStatus(wanted) if wanted in {s.value for s in AppealStatus} else None


def _filters() -> dict[str, str]:
    args = {}
    if _status_filter() is not None:
        args["status"] = request.args["status"]
    page = request.args.get("page", "")
    if page.isascii() and page.isdigit():
        args["page"] = page
    return args


def _with_decision(path):
    """Load an assessment of the list with its assessor, attempt, candidate and unit."""
    return path.options(
        selectinload(Assessment.assessor),
        selectinload(Assessment.submission).selectinload(Submission.enrolment)
        .options(selectinload(Enrolment.candidate), selectinload(Enrolment.unit)),
    )


def _appeals_page(provider: Provider, *, refusal: str | None = None,
                  refused_id: int | None = None, form: AssignAppealForm | None = None,
                  status: int = 200):
    """The appeals list, with a refusal or the posted row's form errors when given."""
    wanted = _status_filter()
    query = (
        select(Appeal)
        .options(_with_decision(selectinload(Appeal.assessment)),
                 selectinload(Appeal.new_assessment).selectinload(Assessment.assessor))
        .where(Appeal.provider_id == provider.id)
        .order_by(STATUS_ORDER, Appeal.lodged_at, Appeal.id)
    )
    if wanted is not None:
        query = query.where(Appeal.status == wanted)
    page = paginate(db.session, query, page_number("page"), current_app.config["PAGE_SIZE"])

    # The people who may reassess each lodged appeal, for the whole page at once; the
    # assessor whose decision is appealed is never offered.
    lodged = [a for a in page.items if a.status == AppealStatus.LODGED]
    allowed = assignment.allowed_people_for(
        db.session, [a.assessment.submission for a in lodged], Role.ASSESSOR)
    offered = {
        a.id: [p for p in allowed[a.assessment.submission_id]
               if p.id not in deciders(a.assessment)]
        for a in lodged
    }
    counts = assignment.open_counts(
        db.session, provider.id, sorted({p.id for people in offered.values() for p in people}))
    choices = {appeal_id: choices_with_counts(people, counts)
               for appeal_id, people in offered.items()}
    return render_template(
        "assessors/appeals.html", provider=provider, page=page, wanted=wanted,
        statuses=list(AppealStatus), choices=choices, filters=_filters(),
        refusal=refusal, refused_id=refused_id, form=form,
    ), status


@bp.get("/assessment/appeals")
@login_required
def appeals():
    """Provider admins: candidates' appeals with the decision appealed, the statement, and who
    reassesses each; lodged ones can be given to a different authorised assessor."""
    provider = provider_page(permissions.can_administer_assessment)
    return _appeals_page(provider)


@bp.post("/assessment/appeals/<int:appeal_id>/assign")
@login_required
def assign_appeal(appeal_id: int):
    """Give a lodged appeal to a different assessor allowed to assess the unit today."""
    appeal = db.session.scalar(
        select(Appeal)
        .options(joinedload(Appeal.provider), joinedload(Appeal.candidate),
                 joinedload(Appeal.assessment).joinedload(Assessment.submission)
                 .joinedload(Submission.enrolment).joinedload(Enrolment.unit))
        .where(Appeal.id == appeal_id)
    )
    if appeal is None or not permissions.can_manage_appeal(current_user, appeal):
        abort(404)
    provider = appeal.provider
    form = AssignAppealForm()
    if not form.validate_on_submit():
        return _appeals_page(provider, refused_id=appeal.id, form=form, status=422)
    person = staff_member(provider, form.chosen_id)
    if person is None:
        form.assessor_id.errors = ["Choose an assessor from the list."]
        return _appeals_page(provider, refused_id=appeal.id, form=form, status=422)
    unit = appeal.assessment.submission.enrolment.unit
    what = f"{appeal.candidate.name}'s appeal on {unit.code}"
    try:
        operations.assign_appeal(db.session, appeal, person, actor=current_user)
    except AssessmentError as error:
        db.session.rollback()
        return _appeals_page(provider, refusal=str(error), refused_id=appeal_id, status=409)
    name = person.name
    db.session.commit()
    flash(f"{what} is assigned to {name} for reassessment.", "success")
    return redirect(url_for("assessors.appeals", **_filters()), 303)
