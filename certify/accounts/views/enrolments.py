"""Enrolment pages: the provider's enrolments, one enrolment, enrolling and withdrawing."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from certify.accounts import bp, permissions
from certify.accounts.enrolment_csv import MAX_BYTES, MAX_ROWS, UnreadableFile
from certify.accounts.forms.enrolments import EnrolForm, ImportForm, WithdrawForm
from certify.accounts.models import Enrolment, EnrolmentStatus, Provider, User
from certify.accounts.operations import enrolments as operations
from certify.accounts.operations.people import AccountError
from certify.accounts.sessions import current_provider
from certify.core.web import paginate, requested_page
from certify.extensions import db
from certify.units.models import Framework, Unit
from certify.units.queries import escape_like


def _provider_for(rule) -> Provider:
    """The provider acted for, when ``rule`` lets the user do this there; else 403."""
    provider = current_provider()
    if provider is None or not rule(current_user, provider):
        abort(403)
    return provider


def _with_people_and_units():
    return (
        select(Enrolment)
        .join(Enrolment.candidate)
        .join(Enrolment.unit)
        .join(Unit.framework)
        .options(
            contains_eager(Enrolment.candidate),
            contains_eager(Enrolment.unit).contains_eager(Unit.framework),
        )
    )


def _visible_enrolment(enrolment_id: int) -> Enrolment:
    """The enrolment, if it is the user's own or of the provider they act for as staff.

    Anything else is 404, so that another provider's or another candidate's
    enrolment is not even confirmed to exist.
    """
    enrolment = db.session.scalar(
        _with_people_and_units()
        .options(contains_eager(Enrolment.provider))
        .join(Enrolment.provider)
        .where(Enrolment.id == enrolment_id)
    )
    if enrolment is None:
        abort(404)
    if enrolment.candidate_id == current_user.id:
        return enrolment
    provider = current_provider()
    if (provider is None or enrolment.provider_id != provider.id
            or not permissions.can_view_enrolment(current_user, enrolment)):
        abort(404)
    return enrolment


@bp.get("/enrolments")
@login_required
def enrolments():
    """The current provider's enrolments, with search by candidate or unit and a status filter."""
    provider = _provider_for(permissions.can_view_people)
    term = request.args.get("q", "").strip()[:200]
    status = request.args.get("status", "")
    status = status if status in {s.value for s in EnrolmentStatus} else ""
    query = (
        _with_people_and_units()
        .where(Enrolment.provider_id == provider.id)
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())
    )
    if term:
        pattern = f"%{escape_like(term)}%"
        query = query.where(or_(
            User.name.ilike(pattern, escape="\\"),
            User.email.ilike(pattern, escape="\\"),
            Unit.code.ilike(pattern, escape="\\"),
            Framework.code.ilike(pattern, escape="\\"),
        ))
    if status:
        query = query.where(Enrolment.status == EnrolmentStatus(status))
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    return render_template(
        "accounts/enrolments/list.html", page=page, term=term, status=status,
        statuses=list(EnrolmentStatus), provider=provider,
        can_enrol=permissions.can_enrol(current_user, provider),
    )


@bp.get("/enrolments/<int:enrolment_id>")
@login_required
def enrolment(enrolment_id: int):
    """One enrolment, for the candidate and for staff of its provider."""
    found = _visible_enrolment(enrolment_id)
    return render_template(
        "accounts/enrolments/detail.html", enrolment=found,
        can_withdraw=(found.status == EnrolmentStatus.ACTIVE
                      and permissions.can_withdraw_enrolment(current_user, found)
                      and found.provider_id == getattr(current_provider(), "id", None)),
    )


def _put_error(form, error: AccountError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors") and isinstance(field.errors, list):
        field.errors.append(str(error))
    else:
        form.form_errors.append(str(error))


@bp.route("/enrolments/new", methods=["GET", "POST"])
@login_required
def new_enrolment():
    """Enrol one candidate (an existing member or someone new, who is invited) on one unit."""
    provider = _provider_for(permissions.can_enrol)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            result = operations.enrol_person(
                db.session, provider, form.email.data, form.name.data or "", form.unit,
                starts_on=form.starts_on.data, ends_on=form.ends_on.data, actor=current_user,
                base_url=current_app.config["BASE_URL"],
            )
        except AccountError as error:
            db.session.rollback()
            _put_error(form, error)
        else:
            db.session.commit()
            unit = result.enrolment.unit
            told = ("An invitation to set a password was sent to them." if result.invited
                    else "They were told by email.")
            flash(f"{result.candidate.name} is enrolled on {unit.code} version {unit.version} "
                  f"({unit.title}). {told}", "success")
            return redirect(url_for("accounts.enrolment", enrolment_id=result.enrolment.id))
    status = 422 if form.errors else 200
    return render_template("accounts/enrolments/new.html", form=form, unit=form.unit,
                           provider=provider), status


@bp.route("/enrolments/import", methods=["GET", "POST"])
@login_required
def import_enrolments():
    """Enrol candidates from a CSV file, or only check it, and show a report row by row."""
    provider = _provider_for(permissions.can_enrol)
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        # One byte more than allowed is enough to know the file is too large.
        data = upload.stream.read(MAX_BYTES + 1)
        try:
            report = operations.import_enrolments(
                db.session, provider, data, upload.filename or "",
                starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                dry_run=form.check_only.data, actor=current_user,
                base_url=current_app.config["BASE_URL"],
            )
        except UnreadableFile as error:
            db.session.rollback()
            form.file.errors.append(
                f"The file cannot be read, so nobody was enrolled: {error}."
            )
        except AccountError as error:
            db.session.rollback()
            _put_error(form, error)
        else:
            if report.dry_run:
                db.session.rollback()
            else:
                db.session.commit()
    status = 422 if form.errors else 200
    return render_template(
        "accounts/enrolments/import.html", form=form, report=report, provider=provider,
        max_rows=MAX_ROWS, max_mb=MAX_BYTES // (1024 * 1024),
    ), status


@bp.route("/enrolments/<int:enrolment_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_enrolment(enrolment_id: int):
    """Ask for confirmation, then withdraw an active enrolment (it stays on record)."""
    found = _visible_enrolment(enrolment_id)
    if (found.provider_id != getattr(current_provider(), "id", None)
            or not permissions.can_withdraw_enrolment(current_user, found)):
        abort(403)
    if found.status != EnrolmentStatus.ACTIVE:
        flash(f"This enrolment is {found.status.value}; only an active one can be withdrawn.",
              "error")
        return redirect(url_for("accounts.enrolment", enrolment_id=found.id))
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            operations.withdraw_enrolment(db.session, found, actor=current_user,
                                          reason=form.reason.data or "")
        except AccountError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{found.candidate.name} is withdrawn from {found.unit.code} version "
                  f"{found.unit.version}.", "success")
            return redirect(url_for("accounts.enrolment", enrolment_id=found.id))
    status = 422 if form.errors else 200
    return render_template("accounts/enrolments/withdraw.html", form=form,
                           enrolment=found), status
