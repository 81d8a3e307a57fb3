"""Submission pages: submit a unit for assessment, the attempts of an enrolment, one frozen
attempt, and the provider's list of submissions for staff."""

from __future__ import annotations

from collections import defaultdict

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from certify.accounts.models import Enrolment
from certify.accounts.sessions import current_provider
from certify.core.web import paginate, requested_page
from certify.evidence import bp, permissions
from certify.evidence.downloads import blob_response
from certify.evidence.forms.submissions import SubmitForm
from certify.evidence.models import Submission, SubmissionEntry, SubmissionFile, SubmissionStatus
from certify.evidence.operations import submissions as operations
from certify.extensions import db
from certify.units.models import Unit


def _enrolment(enrolment_id: int, rule) -> Enrolment:
    """The enrolment with its unit, candidate and provider when ``rule`` allows; else 404, so
    that another candidate's or provider's enrolment is not even confirmed to exist."""
    enrolment = db.session.scalar(
        select(Enrolment)
        .options(joinedload(Enrolment.unit).joinedload(Unit.framework),
                 joinedload(Enrolment.candidate), joinedload(Enrolment.provider))
        .where(Enrolment.id == enrolment_id)
    )
    if enrolment is None or not rule(current_user, enrolment):
        abort(404)
    return enrolment


@bp.route("/evidence/enrolments/<int:enrolment_id>/submit", methods=["GET", "POST"])
@login_required
def submit(enrolment_id: int):
    """Show what would be submitted, ask for the declaration, and submit attempt n."""
    enrolment = _enrolment(enrolment_id, permissions.can_submit)
    form = SubmitForm()
    refusal = None
    try:
        operations.check_can_submit(db.session, enrolment, current_user)
    except operations.SubmissionError as error:
        refusal = str(error)
    plan = operations.plan_attempt(db.session, enrolment)
    if refusal is None and not plan.mappings:
        refusal = ("Nothing is mapped to the criteria of this unit yet: map at least one "
                   "evidence item to a criterion before submitting.")
    status = 200
    if request.method == "POST":
        if refusal is not None:
            status = 409
        elif form.validate_on_submit():
            try:
                submission = operations.submit_attempt(
                    db.session, enrolment, declaration_text=operations.DECLARATION,
                    actor=current_user,
                )
            except operations.SubmissionError as error:
                db.session.rollback()
                refusal, status = str(error), 409
            else:
                db.session.commit()
                flash(f"Attempt {submission.attempt} of {enrolment.unit.code} is submitted for "
                      "assessment. Its files can no longer be changed.", "success")
                return redirect(url_for("evidence.submission", submission_id=submission.id))
        else:
            status = 422
    return render_template(
        "evidence/submissions/submit.html", enrolment=enrolment, plan=plan, form=form,
        refusal=refusal, declaration=operations.DECLARATION,
    ), status


@bp.get("/evidence/enrolments/<int:enrolment_id>/attempts")
@login_required
def attempts(enrolment_id: int):
    """Every attempt of an enrolment, newest first, for the candidate and the provider's staff."""
    enrolment = _enrolment(enrolment_id, permissions.can_view_enrolment_evidence)
    counts = (
        select(SubmissionFile.submission_id, func.count().label("files"))
        .group_by(SubmissionFile.submission_id).subquery()
    )
    rows = db.session.execute(
        select(Submission, func.coalesce(counts.c.files, 0))
        .outerjoin(counts, counts.c.submission_id == Submission.id)
        .where(Submission.enrolment_id == enrolment.id)
        .order_by(Submission.attempt.desc())
    ).all()
    return render_template(
        "evidence/submissions/attempts.html", enrolment=enrolment, rows=rows,
        can_submit=permissions.can_submit(current_user, enrolment),
    )


@bp.get("/evidence/submissions/<int:submission_id>")
@login_required
def submission(submission_id: int):
    """One frozen attempt: per criterion, the items and explanations as submitted, and the
    files with their size and SHA-256."""
    found = operations.load_submission(db.session, submission_id)
    if found is None or not permissions.can_view_submission(current_user, found):
        abort(404)
    criteria = operations.unit_criteria(db.session, found.enrolment.unit_id)
    entries: dict[int, list[SubmissionEntry]] = defaultdict(list)
    for entry in found.entries:
        entries[entry.criterion_id].append(entry)
    files: dict[int, list[SubmissionFile]] = defaultdict(list)
    for file in found.files:
        files[file.item_id].append(file)
    return render_template(
        "evidence/submissions/detail.html", submission=found, enrolment=found.enrolment,
        criteria=criteria, entries=entries, files=files,
        covered=sum(1 for c in criteria if entries.get(c.id)),
    )


@bp.get("/evidence/submissions/<int:submission_id>/files/<int:submission_file_id>")
@login_required
def submission_file(submission_id: int, submission_file_id: int):
    """A file of an attempt as it was submitted, for those who may read the attempt."""
    found = operations.load_submission(db.session, submission_id)
    if found is None or not permissions.can_view_submission(current_user, found):
        abort(404)
    file = next((f for f in found.files if f.id == submission_file_id), None)
    if file is None:
        abort(404)
    if file.sha256 != file.blob.sha256:
        # The frozen hash is the record of what was submitted; never serve other bytes.
        current_app.logger.error("submission file %s: frozen sha256 %s, blob has %s",
                                 file.id, file.sha256, file.blob.sha256)
        abort(500)
    return blob_response(file.blob, file.display_name,
                         preview=request.args.get("preview") == "1")


@bp.get("/evidence/submissions")
@login_required
def submissions():
    """The current provider's submissions, newest first, with a status filter (staff only)."""
    provider = current_provider()
    if provider is None or not permissions.is_staff_of(current_user, provider):
        abort(403)
    status = request.args.get("status", "")
    status = status if status in {s.value for s in SubmissionStatus} else ""
    query = (
        select(Submission)
        .join(Submission.enrolment)
        .join(Enrolment.candidate)
        .join(Enrolment.unit)
        .options(contains_eager(Submission.enrolment).contains_eager(Enrolment.candidate),
                 contains_eager(Submission.enrolment).contains_eager(Enrolment.unit))
        .where(Enrolment.provider_id == provider.id)
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
    )
    if status:
        query = query.where(Submission.status == SubmissionStatus(status))
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    return render_template(
        "evidence/submissions/list.html", page=page, status=status,
        statuses=list(SubmissionStatus), provider=provider,
    )

