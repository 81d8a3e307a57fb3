"""Assessment pages: the provider dashboard (work waiting, turnaround, competent rate) drawn as
server-side SVG charts with their tables, and each table as a CSV file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, render_template
from flask_login import current_user, login_required

from certify.accounts.models import Provider
from certify.accounts.sessions import current_provider
from certify.assessors import bp, charts, permissions, reports, statistics
from certify.certificates.queries import overdue_candidates
from certify.extensions import db


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _unit_cells(unit: statistics.UnitKey | None) -> list[Any]:
    return [unit.code, unit.version, unit.title] if unit is not None else ["All units", "", ""]


def _waiting_table(session, provider) -> tuple[list[str], list[list[Any]]]:
    return (["Assessor", "Email", "Submissions waiting"],
            [[r.name, r.email, r.waiting] for r in statistics.waiting_rows(session, provider)])


def _turnaround_table(session, provider) -> tuple[list[str], list[list[Any]]]:
    return (["Unit", "Version", "Title", "Decisions", "Median days", "90th percentile days"],
            [[*_unit_cells(r.unit), r.decisions, _days(r.median_days), _days(r.p90_days)]
             for r in statistics.turnaround_rows(session, provider)])


def _competence_table(session, provider) -> tuple[list[str], list[list[Any]]]:
    return (["Unit", "Version", "Title", "Confirmed decisions", "Competent",
             "Competent rate %"],
            [[*_unit_cells(r.unit), r.decisions, r.competent, _percent(r.percent)]
             for r in statistics.competence_rows(session, provider)])


# The CSV files, by the name in their address: (session, provider) -> (header, rows).
TABLES: dict[str, Callable[..., tuple[list[str], list[list[Any]]]]] = {
    "waiting": _waiting_table,
    "turnaround": _turnaround_table,
    "competence": _competence_table,
}


def _admin_provider() -> Provider:
    """The provider acted for, when the user administers assessment there; else 403."""
    provider = current_provider()
    if provider is None or not permissions.can_administer_assessment(current_user, provider):
        abort(403)
    return provider


def _charts(data: statistics.Dashboard) -> dict[str, Any]:
    units_turnaround = [r for r in data.turnaround if r.unit is not None]
    units_competence = [r for r in data.competence if r.unit is not None]
    return {
        "waiting": charts.bar_chart(
            "chart-waiting", "Submissions waiting per assessor",
            "Draft assessments each assessor has open, and submissions nobody has been given "
            "yet. The same numbers are in the table after the chart.",
            [charts.Bar(r.label, r.waiting, r.email) for r in data.waiting],
        ),
        "turnaround": charts.bar_chart(
            "chart-turnaround", "Median days from submission to confirmed decision, per unit",
            "One bar per unit: the median number of days between a submission and the first "
            "confirmation of a decision on it. The table after the chart also gives the "
            "90th percentile.",
            [charts.Bar(r.label, r.median_days, r.unit.title) for r in units_turnaround],
            formatter=lambda v: f"{v:.1f} days",
        ) if units_turnaround else None,
        "competence": charts.bar_chart(
            "chart-competence", "Competent rate per unit",
            "One bar per unit: the percentage of its confirmed decisions that are competent, "
            "on a scale of 0 to 100 %. The table after the chart gives the counts.",
            [charts.Bar(r.label, r.percent, r.unit.title) for r in units_competence],
            formatter=lambda v: f"{v:.0f} %", maximum=100,
        ) if units_competence else None,
    }


@bp.get("/assessment/dashboard")
@login_required
def dashboard():
    """The provider admin's dashboard: submissions waiting per assessor, median and 90th
    percentile days from submission to confirmed decision, and the competent rate per unit,
    each as a chart followed by its table and a CSV link; above them, candidates waiting
    longer than the provider allows for a certificate."""
    provider = _admin_provider()
    data = statistics.dashboard(db.session, provider)
    return render_template("assessors/dashboard.html", provider=provider, data=data,
                           charts=_charts(data),
                           overdue=overdue_candidates(db.session, provider))


@bp.get("/assessment/dashboard/<table>.csv")
@login_required
def dashboard_csv(table: str):
    """One of the dashboard's tables (waiting, turnaround or competence) as a CSV file."""
    provider = _admin_provider()
    build = TABLES.get(table)
    if build is None:
        abort(404)
    header, rows = build(db.session, provider)
    return Response(
        reports.write_csv(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="{provider.slug}-{table}.csv"'},
    )
