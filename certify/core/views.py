"""The home page, the health check, and template helpers every page shares."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select, text
from sqlalchemy.orm import contains_eager

from certify.accounts import permissions
from certify.accounts.models import Enrolment, EnrolmentStatus, Provider, User
from certify.accounts.sessions import current_provider
from certify.core import bp
from certify.extensions import db
from certify.units import queries
from certify.units.models import Unit


def enrolments_of(candidate: User, provider: Provider) -> list[Enrolment]:
    """``candidate``'s enrolments in ``provider``, active ones first, with their units."""
    rows = db.session.scalars(
        select(Enrolment)
        .join(Enrolment.unit)
        .join(Unit.framework)
        .options(contains_eager(Enrolment.unit).contains_eager(Unit.framework))
        .where(Enrolment.candidate_id == candidate.id, Enrolment.provider_id == provider.id)
        .order_by(Unit.code, Unit.version)
    )
    order = {EnrolmentStatus.ACTIVE: 0, EnrolmentStatus.COMPLETED: 1, EnrolmentStatus.WITHDRAWN: 2}
    return sorted(rows, key=lambda e: order[e.status])


# (label, endpoint, rule) for the staff's shortcuts; shown when the endpoint exists.
STAFF_SHORTCUTS = [
    ("People", "accounts.people", permissions.can_view_people),
    ("Invite a person", "accounts.invite", permissions.can_invite),
    ("Enrolments", "accounts.enrolments", permissions.can_view_people),
    ("Enrol a candidate", "accounts.new_enrolment", permissions.can_enrol),
    ("Enrol from a CSV file", "accounts.import_enrolments", permissions.can_enrol),
    ("Authorisations", "accounts.authorisations", permissions.can_authorise_assessors),
    ("Audit trail", "accounts.audit", permissions.can_view_audit),
]


@bp.get("/")
def home():
    """What certify is and where to start; for candidates their units, for staff shortcuts."""
    context: dict[str, Any] = {"counts": queries.catalogue_counts(db.session)}
    if current_user.is_authenticated:
        provider = current_provider()
        if permissions.can_view_own_units(current_user, provider):
            context["my_enrolments"] = enrolments_of(current_user, provider)
        context["shortcuts"] = [
            (label, endpoint)
            for label, endpoint, rule in STAFF_SHORTCUTS
            if endpoint in current_app.view_functions and rule(current_user, provider)
        ]
    return render_template("core/home.html", **context)


@bp.get("/healthz")
def health():
    """Liveness for load balancers: the application answers and the database does too."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.app_template_global()
def url_with(**changes: Any) -> str:
    """This page's address with some query arguments changed (None removes one).

    Pagination and language links keep the visitor's search and filters.
    """
    args = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    # Path arguments win over a query argument of the same name.
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})
