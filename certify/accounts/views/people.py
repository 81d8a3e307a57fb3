"""Providers, invitations, people and their roles, assessor authorisations, the audit trail.

Every page of a provider shows that provider's data only: objects are loaded
through the current provider, so an id from another provider answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from certify.accounts import bp, permissions
from certify.accounts.forms.people import (
    ROLE_VALUES,
    AcceptInvitationForm,
    AuditFilterForm,
    AuthorisationForm,
    InviteForm,
    ProviderForm,
    RevokeForm,
    RolesForm,
)
from certify.accounts.models import Authorisation, Enrolment, Provider, Role, User
from certify.accounts.operations import authorisations as grants
from certify.accounts.operations import people as operations
from certify.accounts.operations.auth import find_user
from certify.accounts.sessions import SESSION_KEY, current_provider
from certify.accounts.views.auth import client_address
from certify.core.web import Page, paginate, requested_page
from certify.extensions import db
from certify.units import queries as catalogue
from certify.units.models import Unit

STATUSES = ("active", "future", "expired", "revoked")


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _provider_for(rule) -> Provider:
    """The provider the user acts for, when ``rule`` lets them use this page of it.

    Anyone else is told there is nothing here (404), as for objects, so that pages
    a person has no role for are not confirmed to exist.
    """
    provider = current_provider()
    if provider is None or not rule(current_user, provider):
        abort(404)
    return provider


def _fail(form, error: operations.AccountError) -> None:
    """Put an operation's refusal on the form field it names (else on the whole form)."""
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors") and error.field != "csrf_token":
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))


# Providers -------------------------------------------------------------------------------------


@bp.get("/admin/providers")
@login_required
def providers():
    """Every training provider with its short name, certificate prefix and number of members."""
    if not permissions.can_manage_providers(current_user):
        abort(404)
    per_page = _page_size()
    count = db.session.scalar(select(func.count(Provider.id))) or 0
    page_number = min(requested_page(), max(1, -(-count // per_page)))
    rows = operations.provider_summaries(
        db.session, limit=per_page, offset=(page_number - 1) * per_page
    )
    page = Page(items=rows, page=page_number, per_page=per_page, total=count)
    return render_template("accounts/providers/list.html", page=page)


@bp.route("/admin/providers/new", methods=["GET", "POST"])
@login_required
def new_provider():
    """Create a training provider and invite its first provider admin."""
    if not permissions.can_manage_providers(current_user):
        abort(404)
    form = ProviderForm()
    if form.validate_on_submit():
        try:
            provider, admin = operations.create_provider_with_admin(
                db.session, form.name.data, form.slug.data, form.certificate_prefix.data,
                admin_email=form.admin_email.data, admin_name=form.admin_name.data,
                actor=current_user, base_url=current_app.config["BASE_URL"],
            )
        except operations.AccountError as error:
            _fail(form, error)
        else:
            db.session.commit()
            flash(f"{provider.name} was created; {admin.email} is its provider admin.",
                  "success")
            return redirect(url_for("accounts.providers"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/providers/new.html", form=form), status


# Invitations -----------------------------------------------------------------------------------


@bp.route("/people/invite", methods=["GET", "POST"])
@login_required
def invite():
    """Invite a person by email into the current provider with one or more roles."""
    provider = _provider_for(permissions.can_invite)
    form = InviteForm(provider=provider)
    if form.validate_on_submit():
        existing = find_user(db.session, form.email.data)
        had_password = existing is not None and existing.password_hash is not None
        try:
            person = operations.invite_person(
                db.session, provider, form.email.data, form.name.data or "",
                [Role(r) for r in form.roles.data], current_user,
                current_app.config["BASE_URL"],
            )
        except operations.AccountError as error:
            _fail(form, error)
        else:
            db.session.commit()
            if had_password:
                flash(f"{person.name} has the new roles and was told by email.", "success")
            else:
                flash(f"An invitation was sent to {person.email}.", "success")
            return redirect(url_for("accounts.person", user_id=person.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/people/invite.html", form=form, provider=provider), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Accept an invitation: choose a password and be signed in."""
    found = operations.find_invitation(db.session, token[:200])
    if not found.usable:
        providers = []
        if found.token is not None:
            providers = sorted({m.provider.name for m in found.token.user.memberships})
        status = 404 if found.problem == "unknown" else 410
        return render_template("accounts/people/invitation_invalid.html",
                               problem=found.problem, providers=providers), status
    person = found.token.user
    form = AcceptInvitationForm(email=person.email, name=person.name)
    if form.validate_on_submit():
        try:
            accepted = operations.accept_invitation(
                db.session, token, form.password.data,
                ip=client_address(), user_agent=request.user_agent.string,
            )
        except operations.AccountError as error:
            _fail(form, error)
        else:
            db.session.commit()
            # A fresh cookie, as at sign-in: nothing from before it carries over.
            session.clear()
            session.permanent = True
            session[SESSION_KEY] = accepted.session_token
            flash(f"Welcome, {accepted.user.name}. Your password is set and you are signed in.",
                  "success")
            return redirect(url_for("core.home"))
    order = list(Role)
    memberships = sorted(person.memberships,
                         key=lambda m: (m.provider.name, order.index(m.role)))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/people/invitation.html", form=form, person=person,
                           memberships=memberships), status


# People ----------------------------------------------------------------------------------------


def _role_filter(raw: str | None) -> Role | None:
    return Role(raw) if raw in ROLE_VALUES else None


@bp.get("/people")
@login_required
def people():
    """The current provider's people with their roles and active enrolments."""
    provider = _provider_for(permissions.can_view_people)
    term = request.args.get("q", "").strip()[:200]
    role = _role_filter(request.args.get("role"))
    page = paginate(db.session, operations.people_query(provider, term, role), requested_page(),
                    _page_size())
    ids = [person.id for person in page.items]
    return render_template(
        "accounts/people/list.html",
        page=page,
        term=term,
        role=role,
        roles=list(Role),
        provider=provider,
        roles_of=operations.roles_by_person(db.session, provider, ids),
        enrolments=operations.active_enrolment_counts(db.session, provider, ids),
    )


def _person_page(provider: Provider, person: User, form: RolesForm, status: int = 200):
    enrolments = db.session.scalars(
        select(Enrolment)
        .options(joinedload(Enrolment.unit).joinedload(Unit.framework))
        .where(Enrolment.provider_id == provider.id, Enrolment.candidate_id == person.id)
        .order_by(Enrolment.enrolled_on.desc(), Enrolment.id.desc())
    ).all()
    authorisations = db.session.scalars(
        grants.authorisation_query(provider, user_id=person.id, today=grants.today())
    ).all()
    return render_template(
        "accounts/people/detail.html",
        provider=provider,
        person=person,
        roles=operations.roles_by_person(db.session, provider, [person.id])[person.id],
        enrolments=enrolments,
        authorisations=authorisations,
        status_of=grants.status_of,
        today=grants.today(),
        form=form,
    ), status


def _member_or_404(provider: Provider, user_id: int) -> User:
    person = operations.member_of(db.session, provider, user_id)
    if person is None:
        abort(404)
    return person


@bp.get("/people/<int:user_id>")
@login_required
def person(user_id: int):
    """One person within the current provider: roles, enrolments, authorisations."""
    provider = _provider_for(permissions.can_view_people)
    found = _member_or_404(provider, user_id)
    form = RolesForm(data={"roles": [r.value for r in operations.roles_of(found, provider)]})
    return _person_page(provider, found, form)


@bp.post("/people/<int:user_id>/roles")
@login_required
def person_roles(user_id: int):
    """Change a person's roles in the current provider (provider admins)."""
    provider = _provider_for(permissions.can_change_roles)
    found = _member_or_404(provider, user_id)
    form = RolesForm()
    if form.validate_on_submit():
        try:
            old, new = operations.set_roles(db.session, found, provider,
                                            [Role(r) for r in form.roles.data],
                                            actor=current_user)
        except operations.AccountError as error:
            _fail(form, error)
        else:
            db.session.commit()
            if old == new:
                flash("Nothing changed: those are already their roles.", "info")
            else:
                flash(f"{found.name}'s roles were changed.", "success")
            return redirect(url_for("accounts.person", user_id=found.id))
    return _person_page(provider, found, form, 422)


# Authorisations --------------------------------------------------------------------------------


@bp.get("/authorisations")
@login_required
def authorisations():
    """The current provider's assessor and verifier authorisations, filterable."""
    provider = _provider_for(permissions.can_authorise_assessors)
    today = grants.today()
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    person_id = request.args.get("person", type=int)
    staff = db.session.scalars(
        operations.people_query(provider).where(
            User.id.in_(select(Authorisation.user_id)
                        .where(Authorisation.provider_id == provider.id))
        )
    ).all()
    if person_id not in {p.id for p in staff}:
        person_id = None
    page = paginate(
        db.session,
        grants.authorisation_query(provider, user_id=person_id, status=status or None,
                                   today=today),
        requested_page(),
        _page_size(),
    )
    return render_template(
        "accounts/authorisations/list.html",
        page=page, provider=provider, staff=staff, person_id=person_id, status=status,
        statuses=STATUSES, status_of=grants.status_of, today=today,
    )


def _authorisable_people(provider: Provider) -> list[User]:
    query = operations.people_query(provider).options(joinedload(User.memberships))
    return [
        person for person in db.session.scalars(query).unique()
        if operations.roles_of(person, provider) & set(grants.AUTHORISABLE_ROLES)
    ]


@bp.route("/authorisations/new", methods=["GET", "POST"])
@login_required
def new_authorisation():
    """Authorise an assessor or verifier for one unit or a whole framework, for a period."""
    provider = _provider_for(permissions.can_authorise_assessors)
    form = AuthorisationForm(
        provider=provider,
        people=_authorisable_people(provider),
        frameworks=catalogue.frameworks(db.session),
    )
    if request.method == "GET" and request.args.get("person", type=int) in form.people:
        form.user.data = request.args.get("person", type=int)
    if form.validate_on_submit():
        try:
            grants.authorise(
                db.session, provider, form.person, Role(form.role.data),
                unit=form.unit if form.scope.data == "unit" else None,
                framework=form.framework_obj if form.scope.data == "framework" else None,
                valid_from=form.valid_from.data, valid_to=form.valid_to.data,
                actor=current_user,
            )
        except operations.AccountError as error:
            _fail(form, error)
        else:
            db.session.commit()
            flash(f"{form.person.name} is authorised.", "success")
            return redirect(url_for("accounts.authorisations"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/authorisations/new.html", form=form,
                           provider=provider), status


@bp.route("/authorisations/<int:authorisation_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_authorisation(authorisation_id: int):
    """Confirm, then revoke an authorisation; it stays listed as revoked."""
    provider = _provider_for(permissions.can_authorise_assessors)
    found = db.session.scalar(
        grants.authorisation_query(provider, today=grants.today())
        .where(Authorisation.id == authorisation_id)
    )
    if found is None:
        abort(404)
    form = RevokeForm()
    if found.revoked_at is None and form.validate_on_submit():
        grants.revoke_authorisation(db.session, found, actor=current_user)
        db.session.commit()
        flash("The authorisation was revoked.", "success")
        return redirect(url_for("accounts.authorisations"))
    status = 422 if request.method == "POST" else 200
    if found.revoked_at is not None and request.method == "POST":
        status = 409
    return render_template("accounts/authorisations/revoke.html", form=form,
                           authorisation=found, provider=provider,
                           status_label=grants.status_of(found, grants.today())), status


# Audit trail -----------------------------------------------------------------------------------


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in sorted(value.items()))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@bp.app_template_filter("audit_value")
def audit_value(value: Any) -> str:
    """A changed value as text: a pair [old, new] as "old → new" (templates escape it)."""
    if isinstance(value, list) and len(value) == 2:
        return f"{_plain(value[0])} → {_plain(value[1])}"
    return _plain(value)


@bp.get("/audit")
@login_required
def audit():
    """The current provider's audit trail, newest first, with filters."""
    provider = _provider_for(permissions.can_view_audit)
    actions = operations.audit_actions(db.session, provider.id)
    filters = AuditFilterForm(request.args)
    filters.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a) for a in actions]
    valid = filters.validate()
    # A filter that is not valid is left out (and named above the list), the rest apply.
    query = operations.audit_query(
        provider.id,
        action=filters.action.data if filters.action.data in actions else None,
        actor=None if filters.actor.errors else filters.actor.data or None,
        since=None if filters.since.errors else filters.since.data,
        until=None if filters.until.errors else filters.until.data,
    )
    page = paginate(db.session, query, requested_page(), _page_size())
    return render_template("accounts/audit/list.html", page=page, filters=filters,
                           provider=provider), 200 if valid else 422
