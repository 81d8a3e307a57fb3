"""Issuing pages for provider admins: the eligible list, issuing one certificate, bulk issues
and their progress.

Every page belongs to the provider the admin acts for: a page of it without the
right answers 403, another provider's candidate or job answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from certify.accounts.models import Provider
from certify.accounts.sessions import current_provider
from certify.certificates import bp, permissions, queries
from certify.certificates.eligibility import candidate_eligibility
from certify.certificates.errors import IssueRefused
from certify.certificates.forms.issuing import (
    STATEMENT,
    BulkIssueForm,
    EligibleFilterForm,
    IssueForm,
    qualification_value,
    statement_value,
)
from certify.certificates.jobs import could_not_start, start_bulk_issue
from certify.certificates.models import IssueJob, JobStatus
from certify.certificates.operations.issuing import issue_certificate
from certify.core.jobs import enqueue
from certify.core.web import paginate, requested_page
from certify.extensions import db

RUN_JOB = "certify.certificates.jobs:run_issue_job"


def _issuing_provider() -> Provider:
    """The provider acted for, when the user may issue its certificates; else 403."""
    provider = current_provider()
    if provider is None or not permissions.can_issue(current_user, provider):
        abort(403)
    return provider


def _page_argument(values: MultiDict, name: str) -> int:
    raw = values.get(name, "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _eligible_page(provider: Provider, values: MultiDict, bulk: BulkIssueForm,
                   status: int = 200):
    """The eligible list for the search, filter and pages in ``values`` (the query string,
    or the bulk form's copy of it when that form is shown again with its errors)."""
    filters = EligibleFilterForm(values)
    filters.validate()
    search, show = filters.values()
    listing = queries.eligible_list(
        db.session, provider, search=search, show=show,
        page=_page_argument(values, "page"), progress_page=_page_argument(values, "progress"),
        per_page=current_app.config["PAGE_SIZE"])
    checked = set(request.form.getlist("selected")) if request.method == "POST" else set()
    return render_template(
        "certificates/eligible.html", provider=provider, listing=listing, filters=filters,
        search=search, show=show, bulk=bulk, checked=checked, today=queries.today(),
        days_waiting=queries.days_waiting, is_overdue=queries.is_overdue,
        distance=queries.distance, statement_credits=queries.statement_credits,
        statement_value=statement_value,
        qualification_value=qualification_value,
        filtered=bool(search) or show != "all",
    ), status


@bp.get("/certificates/eligible")
@login_required
def eligible():
    """Every candidate who may be given a certificate (a statement of their uncertified
    units, or a qualification that is due), flagged when they have waited too long; then
    the candidates on their way to a qualification, with what they still need."""
    provider = _issuing_provider()
    return _eligible_page(provider, request.args, BulkIssueForm(provider=provider))


@bp.post("/certificates/bulk")
@login_required
def bulk():
    """Start a bulk issue of the ticked certificates and show its progress."""
    provider = _issuing_provider()
    form = BulkIssueForm(provider=provider)
    if form.validate_on_submit():
        try:
            job = start_bulk_issue(db.session, provider, form.requests, actor=current_user)
        except IssueRefused as refused:
            db.session.rollback()
            form.selected.errors = [*form.selected.errors, refused.message]
        else:
            db.session.commit()
            job_id = job.id
            try:
                enqueue(current_app._get_current_object(), RUN_JOB, job_id)
            except Exception as error:
                # The queue is unreachable (Redis down): say so on the job, not with a 500.
                current_app.logger.exception("bulk issue job %s could not be queued", job_id)
                db.session.rollback()
                could_not_start(db.session, db.session.get(IssueJob, job_id), error)
                db.session.commit()
                flash("The bulk issue could not be started: the job queue is not reachable. "
                      "Nothing was issued; try again later.", "error")
            return redirect(url_for("certificates.job", job_id=job_id), 303)
    return _eligible_page(provider, request.form, form, 422)


@bp.route("/certificates/issue/<int:candidate_id>", methods=["GET", "POST"])
@login_required
def issue(candidate_id: int):
    """Issue one certificate to a candidate: a statement of chosen units or a qualification
    that is due, under the name as it should appear."""
    provider = _issuing_provider()
    candidate = queries.provider_candidate(db.session, provider, candidate_id)
    if candidate is None:
        abort(404)
    row = candidate_eligibility(db.session, provider, candidate)
    form = IssueForm(data={"name": candidate.name})
    form.offer(row)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            # The form only offers qualifications that are due, so the choice is one of them.
            qualification = next((s.qualification for s in row.qualifications_due
                                  if s.qualification.id == form.qualification_id), None)
            try:
                certificate = issue_certificate(
                    db.session, provider, candidate=candidate, actor=current_user,
                    qualification=qualification,
                    enrolment_ids=form.units.data if qualification is None else None,
                    name=form.name.data)
            except IssueRefused as refused:
                db.session.rollback()
                _refusal_on_form(form, refused)
            else:
                certificate_id, number = certificate.id, certificate.number
                db.session.commit()
                flash(f"{certificate.kind.label} {number} was issued to "
                      f"{certificate.snapshot['candidate']['name']}.", "success")
                return redirect(url_for("certificates.detail", certificate_id=certificate_id),
                                303)
        status = 422
    return render_template("certificates/issue.html", provider=provider, candidate=candidate,
                           row=row, form=form, statement=STATEMENT,
                           distance=queries.distance), status


def _refusal_on_form(form: IssueForm, refused: IssueRefused) -> None:
    name = {"units": "units", "qualification": "certificate", "name": "name"}.get(
        refused.field or "")
    if name is None:
        form.form_errors.append(refused.message)
    else:
        form[name].errors = [*form[name].errors, refused.message]


def _job(job_id: int) -> IssueJob:
    """The job, when the user may see it (another provider's: 404)."""
    job = db.session.get(IssueJob, job_id)
    if job is None or not permissions.can_view_job(current_user, job):
        abort(404)
    return job


def job_state(job: IssueJob) -> dict[str, Any]:
    """What the progress bar shows, for the page and for its script alike."""
    return {
        "id": job.id, "status": job.status.value, "total": job.total, "issued": job.issued,
        "failed": job.failed, "done": job.done, "percent": job.percent,
        "finished": job.status in (JobStatus.FINISHED, JobStatus.FAILED),
        "error": job.error,
        "summary": f"{job.issued} of {job.total} issued, {job.failed} not issued",
    }


@bp.get("/certificates/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    """A bulk issue's progress and, per certificate, what became of it."""
    _issuing_provider()
    found = _job(job_id)
    page = paginate(db.session, queries.job_items_query(found), requested_page(),
                    current_app.config["PAGE_SIZE"])
    return render_template("certificates/job.html", job=found, page=page,
                           state=job_state(found),
                           enrolments=queries.item_units(db.session, page.items))


@bp.get("/certificates/jobs/<int:job_id>.json")
@login_required
def job_status(job_id: int):
    """The job's progress for the page's script: status, total, issued, failed, percent."""
    _issuing_provider()
    response = jsonify(job_state(_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/certificates/jobs")
@login_required
def jobs():
    """The provider's bulk issues, newest first."""
    provider = _issuing_provider()
    page = paginate(db.session, queries.jobs_query(provider), requested_page(),
                    current_app.config["PAGE_SIZE"])
    return render_template("certificates/jobs.html", provider=provider, page=page)
