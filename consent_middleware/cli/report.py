"""Opt-in rates from the ledger: per purpose per week, per collection method and per rule
set (the regional rules each choice was made under)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jinja2
from markupsafe import Markup, escape

from ..ledger.events import ConsentEvent

__all__ = ["OptInReport", "build_report", "render_html", "render_text"]

COLOURS = ["#1d4f91", "#b35c00", "#2d7a27", "#8a1c7c", "#5a5a5a", "#a00000", "#007a7a"]


@dataclass
class OptInReport:
    """Choices counted per ISO week, per method and per rule set, with how many granted
    each purpose."""

    purposes: list[str]
    weeks: dict[str, dict[str, int]] = field(default_factory=dict)
    week_totals: dict[str, int] = field(default_factory=dict)
    methods: dict[str, dict[str, int]] = field(default_factory=dict)
    method_totals: dict[str, int] = field(default_factory=dict)
    rule_sets: dict[str, dict[str, int]] = field(default_factory=dict)
    rule_set_totals: dict[str, int] = field(default_factory=dict)

    def tables(self) -> list[tuple[str, dict[str, dict[str, int]], dict[str, int]]]:
        """Each table: its title, the counts per row and per purpose, the row totals."""
        return [
            ("week", self.weeks, self.week_totals),
            ("method", self.methods, self.method_totals),
            ("rule set", self.rule_sets, self.rule_set_totals),
        ]

    def rate(self, counts: dict[str, int], total: int, purpose: str) -> float:
        """The share of ``total`` choices that granted ``purpose``."""
        return counts.get(purpose, 0) / total if total else 0.0

    def week_rate(self, week: str, purpose: str) -> float:
        """The share of the week's choices that granted ``purpose``."""
        return self.rate(self.weeks.get(week, {}), self.week_totals[week], purpose)

    def cell(self, groups: dict[str, dict[str, int]], key: str, total: int, purpose: str) -> str:
        """A table cell: the rate as a whole percentage."""
        return f"{self.rate(groups.get(key, {}), total, purpose):.0%}"


def build_report(events: Iterable[ConsentEvent]) -> OptInReport:
    """Count every recorded choice; a purpose is opted in when the choice granted it."""
    weeks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    week_totals: dict[str, int] = defaultdict(int)
    methods: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    method_totals: dict[str, int] = defaultdict(int)
    rule_sets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rule_set_totals: dict[str, int] = defaultdict(int)
    purposes: set[str] = set()
    for event in events:
        year, week, _ = datetime.fromtimestamp(event.time, UTC).isocalendar()
        key = f"{year}-W{week:02d}"
        week_totals[key] += 1
        method_totals[event.method] += 1
        rule_set_totals[event.rule_set] += 1
        purposes.update(event.granted, event.refused)
        for purpose in event.granted:
            weeks[key][purpose] += 1
            methods[event.method][purpose] += 1
            rule_sets[event.rule_set][purpose] += 1
    return OptInReport(
        purposes=sorted(purposes - {"necessary"}),
        weeks={k: dict(weeks[k]) for k in sorted(week_totals)},
        week_totals=dict(sorted(week_totals.items())),
        methods={k: dict(methods[k]) for k in sorted(method_totals)},
        method_totals=dict(sorted(method_totals.items())),
        rule_sets={k: dict(rule_sets[k]) for k in sorted(rule_set_totals)},
        rule_set_totals=dict(sorted(rule_set_totals.items())),
    )


def render_text(report: OptInReport) -> str:
    """Tables of opt-in rates, for a terminal."""
    if not report.week_totals:
        return "The ledger holds no choices yet.\n"
    lines = []
    for title, groups, totals in report.tables():
        rows = [
            [key, str(total)] + [report.cell(groups, key, total, p) for p in report.purposes]
            for key, total in totals.items()
        ]
        header = [title, "choices", *report.purposes]
        # Each column as wide as its longest entry: no header is ever cut.
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells))
        lines.append("")
    return "\n".join(lines)


def chart(report: OptInReport, width: int = 720, height: int = 320) -> str:
    """An inline SVG line chart: weekly opt-in rate per purpose (0-100%)."""
    weeks = list(report.week_totals)
    left, right, top, bottom = 48, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (len(weeks) - 1) if len(weeks) > 1 else plot_w / 2)

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title">',
        '<title id="chart-title">Weekly opt-in rate per purpose</title>',
    ]
    for step in range(0, 101, 25):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(step / 100):.1f}" '
            f'y2="{y(step / 100):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(step / 100) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{step}%</text>'
        )
    for i, week in enumerate(weeks):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11">{escape(week)}</text>'
        )
    for n, purpose in enumerate(report.purposes):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(
            f"{x(i):.1f},{y(report.week_rate(week, purpose)):.1f}" for i, week in enumerate(weeks)
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(purpose)}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Consent opt-in report</title>
<style>body{font:1rem/1.5 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.3rem .6rem;text-align:right}th:first-child,
td:first-child{text-align:left}.key{display:inline-block;width:1rem;height:.3rem;
vertical-align:middle;margin-right:.3rem}</style></head>
<body><main><h1>Consent opt-in report</h1>
{% if not report.week_totals %}<p>The ledger holds no choices yet.</p>{% else %}
<figure>{{ svg }}<figcaption>{% for p in report.purposes %}<span class="key"
 style="background:{{ colours[loop.index0 % colours | length] }}"></span>{{ p }}
{% endfor %}</figcaption></figure>
{% for title, groups, totals in tables %}
<h2>Opt-in rate per {{ title }}</h2>
<table><thead><tr><th scope="col">{{ title }}</th><th scope="col">choices</th>
{% for p in report.purposes %}<th scope="col">{{ p }}</th>{% endfor %}</tr></thead><tbody>
{% for key, total in totals.items() %}<tr><td>{{ key }}</td><td>{{ total }}</td>
{% for p in report.purposes %}<td>{{ report.cell(groups, key, total, p) }}</td>
{% endfor %}</tr>{% endfor %}</tbody></table>{% endfor %}{% endif %}
</main></body></html>
"""
)


def render_html(report: OptInReport) -> str:
    """A standalone HTML page with an inline SVG chart and the tables."""
    return _PAGE.render(
        report=report,
        svg=Markup(chart(report)) if report.week_totals else "",
        colours=COLOURS,
        tables=report.tables(),
    )
