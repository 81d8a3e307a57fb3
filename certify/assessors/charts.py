"""Horizontal bar charts drawn on the server as SVG, inline in the page.

No script and no charting library: the page's Content-Security-Policy forbids
inline script, and a chart that is markup works without JavaScript, prints, and
reads the same everywhere.  Every piece of text goes through markupsafe's
escaping (``Markup.format`` escapes its arguments), so a unit title such as
``<script>`` is drawn as text.  The chart is ``role="img"`` labelled by its
``<title>`` and ``<desc>``; the page puts a table with the same numbers after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 640
LABEL_WIDTH = 190
BAR_AREA = 330
ROW_HEIGHT = 30
BAR_HEIGHT = 18
PADDING = 10
# Longer labels are cut with an ellipsis; the full label is in the bar's tooltip.
LABEL_CHARS = 26


@dataclass(frozen=True)
class Bar:
    """One bar: ``label`` on the left, ``value`` (None: no data) drawn to scale, and
    ``detail`` added to the bar's tooltip (a unit's title, an email address)."""

    label: str
    value: float | None
    detail: str = ""


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _coordinate(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    formatter: Callable[[float], str] = _number,
    maximum: float | None = None,
) -> Markup:
    """An SVG bar chart, one horizontal bar per item of ``bars``, scaled to ``maximum`` (by
    default the largest value, and at least 1 so that a handful of tiny values are not drawn
    as full bars).  ``chart_id`` prefixes the ids of the title and description, so it must be
    unique on the page."""
    values = [b.value for b in bars if b.value is not None]
    top = maximum if maximum is not None else max(1.0, *values)
    height = PADDING * 2 + ROW_HEIGHT * max(len(bars), 1)
    parts = [
        Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
               'viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
               'aria-labelledby="{id}-title {id}-desc" focusable="false">')
        .format(w=WIDTH, h=height, id=chart_id),
        Markup('<title id="{}-title">{}</title>').format(chart_id, title),
        Markup('<desc id="{}-desc">{}</desc>').format(chart_id, description),
        Markup('<line class="chart__axis" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" '
               'stroke="#555" stroke-width="1"/>')
        .format(x=LABEL_WIDTH, y1=PADDING / 2, y2=height - PADDING / 2),
    ]
    for index, bar in enumerate(bars):
        top_y = PADDING + index * ROW_HEIGHT
        middle = top_y + ROW_HEIGHT / 2
        if bar.value is None:
            length, shown = 0.0, "no data"
        else:
            length = BAR_AREA * (bar.value / top) if top > 0 else 0.0
            length = max(0.0, min(float(BAR_AREA), length))
            shown = formatter(bar.value)
        tooltip = f"{bar.label}: {shown}" + (f" ({bar.detail})" if bar.detail else "")
        parts.append(Markup('<g class="chart__row"><title>{}</title>').format(tooltip))
        parts.append(
            Markup('<text class="chart__label" x="{x}" y="{y}" text-anchor="end" '
                   'dominant-baseline="middle">{}</text>')
            .format(_short(bar.label), x=LABEL_WIDTH - 8, y=_coordinate(middle))
        )
        if length > 0:
            parts.append(
                Markup('<rect class="chart__bar" x="{x}" y="{y}" width="{w}" height="{h}" '
                       'fill="#1d5c8a"/>')
                .format(x=LABEL_WIDTH, y=_coordinate(middle - BAR_HEIGHT / 2),
                        w=_coordinate(length), h=BAR_HEIGHT)
            )
        parts.append(
            Markup('<text class="chart__value" x="{x}" y="{y}" '
                   'dominant-baseline="middle">{}</text></g>')
            .format(shown, x=_coordinate(LABEL_WIDTH + length + 6), y=_coordinate(middle))
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
