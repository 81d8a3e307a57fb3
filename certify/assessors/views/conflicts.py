"""Assessment pages: conflicts of interest, declared and withdrawn.

Assessors and internal verifiers declare their own; provider admins record
anyone's and see every declaration of the provider.  A declaration takes effect
at once (drafts for that candidate go to somebody else) and stays listed after
it is withdrawn.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload

from certify.accounts.models import Membership, Provider, Role, User
from certify.accounts.sessions import current_provider
from certify.assessors import bp, permissions
from certify.assessors.errors import AssessmentError
from certify.assessors.forms.conflicts import DeclareConflictForm, WithdrawConflictForm
from certify.assessors.models import ConflictOfInterest
from certify.assessors.operations import conflicts as operations
from certify.core.web import paginate, requested_page
from certify.extensions import db

# Where an operation's refusal is shown: its field name on the form.
FIELDS = {"staff": "staff_id", "candidate": "candidate_id", "reason": "reason"}


def _people(provider: Provider, roles: tuple[Role, ...]) -> list[User]:
    """Members of ``provider`` holding any of ``roles``, each once, by name."""
    member = select(Membership.id).where(Membership.user_id == User.id,
                                         Membership.provider_id == provider.id,
                                         Membership.role.in_(roles))
    return list(db.session.scalars(
        select(User).where(member.exists(), User.disabled_at.is_(None))
        .order_by(User.name, User.id)))


def _choices(people: list[User], exclude: int | None = None) -> list[tuple[int, str]]:
    return [(person.id, f"{person.name} ({person.email})") for person in people
            if person.id != exclude]


def _list_query(provider: Provider, admin: bool):
    query = (
        select(ConflictOfInterest)
        .options(joinedload(ConflictOfInterest.staff), joinedload(ConflictOfInterest.candidate))
        .where(ConflictOfInterest.provider_id == provider.id)
        # Declarations in force first, the newest first within each.
        .order_by(case((ConflictOfInterest.withdrawn_at.is_(None), 0), else_=1),
                  ConflictOfInterest.created_at.desc(), ConflictOfInterest.id.desc())
    )
    if not admin:
        query = query.where(ConflictOfInterest.staff_id == current_user.id)
    return query


def _page(provider: Provider, form: DeclareConflictForm, *, admin: bool, status: int = 200,
          action_error: str | None = None):
    page = paginate(db.session, _list_query(provider, admin), requested_page(),
                    current_app.config["PAGE_SIZE"])
    declarers = {c.declared_by_id for c in page.items if c.declared_by_id}
    names = dict(db.session.execute(
        select(User.id, User.name).where(User.id.in_(declarers))).all()) if declarers else {}
    return render_template(
        "assessors/conflicts.html", provider=provider, page=page, form=form, admin=admin,
        declared_by=names, action_error=action_error, withdraw_form=WithdrawConflictForm(
            formdata=None),
        can_withdraw=lambda conflict: permissions.can_withdraw_conflict(current_user, conflict,
                                                                        provider),
    ), status


def _form(provider: Provider, admin: bool) -> DeclareConflictForm:
    staff = _people(provider, (Role.ASSESSOR, Role.VERIFIER)) if admin else []
    candidates = _people(provider, (Role.CANDIDATE,))
    return DeclareConflictForm(
        staff_choices=_choices(staff), choose_staff=admin,
        candidate_choices=_choices(candidates, exclude=None if admin else current_user.id),
    )


def _provider() -> tuple[Provider, bool]:
    provider = current_provider()
    if provider is None or not permissions.can_declare_conflicts(current_user, provider):
        abort(403)
    return provider, permissions.can_administer_assessment(current_user, provider)


@bp.route("/assessment/conflicts", methods=["GET", "POST"])
@login_required
def conflicts():
    """GET: the declarations of the provider (one's own; admins see all) and the form.
    POST: declare a conflict of interest (for oneself; admins for any assessor or
    verifier of the provider)."""
    provider, admin = _provider()
    form = _form(provider, admin)
    if request.method == "GET":
        return _page(provider, form, admin=admin)
    if not form.validate_on_submit():
        return _page(provider, form, admin=admin, status=422)
    staff = db.session.get(User, form.staff_id.data) if admin else current_user
    candidate = db.session.get(User, form.candidate_id.data)
    try:
        conflict = operations.declare_conflict(db.session, provider, staff, candidate,
                                               reason=form.reason.data, actor=current_user)
    except AssessmentError as error:
        db.session.rollback()
        target = getattr(form, FIELDS.get(error.field or "", ""), None) or form.reason
        target.errors = [*target.errors, str(error)]
        return _page(provider, form, admin=admin, status=409)
    message = (f"Conflict of interest recorded: {conflict.staff.name} will not assess or "
               f"verify the work of {conflict.candidate.name}.")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("assessors.conflicts"), 303)


@bp.post("/assessment/conflicts/<int:conflict_id>/withdraw")
@login_required
def withdraw_conflict(conflict_id: int):
    """Withdraw a declaration (one's own; admins any of the provider's); it stays listed."""
    provider = current_provider()
    conflict = db.session.scalar(
        select(ConflictOfInterest)
        .options(joinedload(ConflictOfInterest.staff), joinedload(ConflictOfInterest.candidate))
        .where(ConflictOfInterest.id == conflict_id))
    if conflict is None or provider is None or not permissions.can_withdraw_conflict(
            current_user, conflict, provider):
        abort(404)
    if not WithdrawConflictForm().validate_on_submit():
        abort(400)  # only the CSRF token is checked here, as CSRFProtect already did
    try:
        operations.withdraw_conflict(db.session, conflict, actor=current_user)
    except AssessmentError as error:
        db.session.rollback()
        admin = permissions.can_administer_assessment(current_user, provider)
        return _page(provider, _form(provider, admin), admin=admin, status=409,
                     action_error=str(error))
    message = (f"Declaration withdrawn: {conflict.staff.name} may again be given the work of "
               f"{conflict.candidate.name}.")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("assessors.conflicts"), 303)
