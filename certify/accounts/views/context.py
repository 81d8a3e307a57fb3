"""Choosing the provider to act for, and the navigation each person sees."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from certify.accounts import bp, permissions
from certify.accounts.sessions import PROVIDER_KEY, current_provider, provider_choices, safe_next
from certify.assessors import permissions as assessment
from certify.certificates import permissions as certification
from certify.evidence.permissions import can_keep_portfolio
from certify.units.permissions import can_manage_qualifications

# (label, endpoint, rule): shown when the endpoint exists and the rule allows it.
NAVIGATION = [
    ("Catalogue", "units.search", lambda user, provider: True),
    ("Portfolio", "evidence.portfolio", can_keep_portfolio),
    ("Progress", "assessors.progress", can_keep_portfolio),
    ("Certificates", "certificates.my_certificates", can_keep_portfolio),  # candidates
    ("Queue", "assessors.queue", assessment.can_assess),
    ("Verification", "assessors.verification", assessment.can_verify_in),
    ("People", "accounts.people", permissions.can_view_people),
    ("Enrolments", "accounts.enrolments", permissions.can_view_people),
    ("Submissions", "evidence.submissions", permissions.can_view_people),
    ("Assignments", "assessors.assignments", assessment.can_administer_assessment),
    ("Appeals", "assessors.appeals", assessment.can_administer_assessment),
    ("Dashboard", "assessors.dashboard", assessment.can_administer_assessment),
    ("Qualifications", "units.qualifications", can_manage_qualifications),
    ("Eligible", "certificates.eligible", certification.can_issue),
    ("Register", "certificates.register", certification.can_manage_certificates),
    ("Authorisations", "accounts.authorisations", permissions.can_authorise_assessors),
    ("Audit trail", "accounts.audit", permissions.can_view_audit),
    ("Providers", "accounts.providers", lambda user, _: permissions.can_manage_providers(user)),
    ("Outbox", "accounts.outbox", lambda user, _: permissions.can_read_outbox(user)),
    ("Accounts", "accounts.users", lambda user, _: permissions.can_disable_accounts(user)),
    ("Verify", "certificates.verify", lambda user, provider: True),
]


@bp.app_template_global()
def navigation() -> list[tuple[str, str]]:
    provider = current_provider()
    return [
        (label, endpoint)
        for label, endpoint, rule in NAVIGATION
        if endpoint in current_app.view_functions and rule(current_user, provider)
    ]


@bp.post("/provider")
@login_required
def switch_provider():
    """Act for another provider the user holds a role in."""
    wanted = request.form.get("provider_id", type=int)
    chosen = next((p for p in provider_choices() if p.id == wanted), None)
    if chosen is None:
        abort(404)
    session[PROVIDER_KEY] = chosen.id
    flash(f"You are now acting for {chosen.name}.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("core.home"))
