"""The verifier report as figures and CSV, and the sampling plan in words.

CSV cells are made safe for spreadsheets: a cell that starts with a character a
spreadsheet reads as the start of a formula (= + - @, and the tab and carriage
return some read the same way) is prefixed with an apostrophe, so that a name
like ``=HYPERLINK(...)`` is shown as text and never run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from certify.accounts.models import Provider
from certify.assessors.operations.quality import AssessorFigures

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

REPORT_HEADER = ("Assessor", "Decisions", "Sampled", "Agreed", "Disagreed",
                 "Agreement rate (%)")


def safe_cell(value: Any) -> str:
    """``value`` as CSV text a spreadsheet will not evaluate."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (CRLF line ends, every cell made safe) from a header and rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def percent(rate: float | None) -> str:
    """An agreement rate as the page shows it: "83.3 %", or "—" when nobody answered yet."""
    return "—" if rate is None else f"{rate * 100:.1f} %"


def verifier_report_csv(rows: Iterable[AssessorFigures]) -> str:
    """The verifier report, one line per assessor; the rate is a number of per cent with one
    decimal, empty when no sampled decision was answered yet."""
    return write_csv(REPORT_HEADER, (
        (row.name, row.decisions, row.sampled, row.agreed, row.disagreed,
         "" if row.agreement_rate is None else f"{row.agreement_rate * 100:.1f}")
        for row in rows
    ))


def totals(rows: Sequence[AssessorFigures]) -> AssessorFigures:
    """The figures of every assessor added up (the report's last line)."""
    return AssessorFigures(
        assessor_id=0, name="All assessors",
        decisions=sum(r.decisions for r in rows), sampled=sum(r.sampled for r in rows),
        agreed=sum(r.agreed for r in rows), disagreed=sum(r.disagreed for r in rows),
    )


def sampling_plan(provider: Provider) -> list[str]:
    """The provider's sampling plan, one sentence a rule, in the order the plan applies them."""
    first = provider.sample_first_n
    plan = []
    if first:
        plan.append(f"Every decision among each assessor's first {first} on each unit.")
    else:
        plan.append("No decisions are sampled just for being among an assessor's first.")
    if provider.sample_percent:
        plan.append(f"{provider.sample_percent} % of the other decisions, chosen at random.")
    else:
        plan.append("No decisions are chosen at random.")
    plan += [
        "Every competent decision that follows a not yet competent one.",
        "Every decision remade after an internal verifier disagreed.",
        "Every decision a provider admin flagged for sampling.",
    ]
    return plan
