"""Assessment pages: the assessor's queue of drafts to mark."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from certify.accounts.sessions import current_provider
from certify.assessors import bp, permissions, queries
from certify.assessors.forms.marking import QueueFilterForm
from certify.core.types import utcnow
from certify.core.web import paginate, requested_page
from certify.extensions import db


@bp.get("/assessment/queue")
@login_required
def queue():
    """The signed-in assessor's drafts in the current provider, oldest submission first,
    filtered by unit, candidate, status and age, with how long each has waited."""
    provider = current_provider()
    if provider is None or not permissions.can_assess(current_user, provider):
        abort(403)
    units = queries.queue_units(db.session, provider.id, current_user.id)
    filters = QueueFilterForm(request.args)
    titles: dict[str, str] = {}
    for unit in units:
        titles.setdefault(unit.code, unit.title)
    codes = sorted(titles)
    filters.unit.choices = [SelectChoice("", "Any unit")] + [
        SelectChoice(code, f"{code} {titles[code]}") for code in codes]
    valid = filters.validate()
    # A filter that is not valid is left out (and named above the list); the rest apply.
    now = utcnow()
    query = queries.queue_query(
        provider.id, current_user.id,
        unit_code=filters.unit.data if filters.unit.data in codes else None,
        candidate=None if filters.candidate.errors else filters.candidate.data,
        status=filters.status.data if filters.status.data in queries.QUEUE_STATUSES else None,
        older_than_days=None if filters.older_than.errors else filters.older_than.data,
        now=now,
    )
    page = paginate(db.session, query, requested_page(), current_app.config["PAGE_SIZE"])
    judged = queries.judged_counts(db.session, [a.id for a in page.items])
    criteria = queries.criteria_counts(db.session, [a.unit_id for a in page.items])
    rows = [
        {"assessment": a, "judged": judged[a.id], "criteria": criteria[a.unit_id],
         "status": queries.queue_status(a, judged[a.id]),
         "waited": queries.waited(a.submission.submitted_at, now)}
        for a in page.items
    ]
    filtered = any(request.args.get(name) for name in ("unit", "candidate", "status",
                                                         "older_than"))
    return render_template(
        "assessors/queue.html", provider=provider, page=page, rows=rows, filters=filters,
        filtered=filtered, statuses=queries.QUEUE_STATUSES,
    ), 200 if valid else 422
