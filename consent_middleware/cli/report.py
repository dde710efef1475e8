"""Opt-in rates from the ledger: per purpose per week, per collection method and per rule
set (the regional rules each choice was made under); beside them, shoppers' feedback and
the shop's outcomes, counted per day and mode with no identifier."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jinja2
from markupsafe import Markup, escape

from ..ledger.events import ConsentEvent
from ..ledger.tally import CountKey

__all__ = [
    "CountsReport",
    "OptInReport",
    "build_counts",
    "build_report",
    "render_html",
    "render_text",
]

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
        if event.signal:
            continue  # a choice about one signal grants or refuses no purpose
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


#: The modes, in the order the report shows them.
MODES = ("personalised", "session", "non_personalised")
#: The feedback answers, in the order the report shows them.
ANSWERS = ("helpful", "too_personal")


@dataclass
class CountsReport:
    """Feedback and outcomes, summed from the ledger's day counts.

    ``outcome_weeks`` holds each ISO week's totals by ``(mode, outcome)``;
    ``outcome_totals`` the whole period's; ``feedback`` the answers by ``(mode, kind of
    reason, signal)``.
    """

    outcomes: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    outcome_weeks: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    outcome_totals: dict[tuple[str, str], int] = field(default_factory=dict)
    feedback: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether nothing was counted."""
        return not (self.outcome_totals or self.feedback)


def build_counts(rows: Iterable[tuple[CountKey, int]]) -> CountsReport:
    """Sum the day counts: outcomes per ISO week and mode, feedback per mode, kind of reason
    and signal."""
    weeks: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[tuple[str, str], int] = defaultdict(int)
    feedback: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    outcomes: set[str] = set()
    modes: set[str] = set()
    for (day, kind, name, mode, reason, signal), number in rows:
        modes.add(mode)
        if kind == "outcome":
            year, week, _ = datetime.strptime(day, "%Y-%m-%d").isocalendar()
            weeks[f"{year}-W{week:02d}"][mode, name] += number
            totals[mode, name] += number
            outcomes.add(name)
        elif kind == "feedback":
            feedback[mode, reason, signal][name] += number
    order = {mode: i for i, mode in enumerate(MODES)}
    return CountsReport(
        outcomes=sorted(outcomes),
        modes=sorted(modes, key=lambda m: (order.get(m, len(order)), m)),
        outcome_weeks={w: dict(weeks[w]) for w in sorted(weeks)},
        outcome_totals=dict(totals),
        feedback={
            key: dict(feedback[key])
            for key in sorted(feedback, key=lambda k: (order.get(k[0], len(order)), k))
        },
    )


def _table(header: list[str], rows: list[list[str]], *, names: int = 1) -> list[str]:
    """Text columns, the first ``names`` left-aligned and the numbers right-aligned; each
    as wide as its longest entry, so no header is ever cut."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if i < names else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def outcome_rows(counts: CountsReport) -> list[list[str]]:
    """One row per week and mode: the week, the mode, each outcome's total."""
    return [
        [week, mode] + [str(totals.get((mode, name), 0)) for name in counts.outcomes]
        for week, totals in counts.outcome_weeks.items()
        for mode in counts.modes
        if any((mode, name) in totals for name in counts.outcomes)
    ]


def feedback_rows(counts: CountsReport) -> list[list[str]]:
    """One row per mode, kind of reason and signal: the answers' totals."""
    return [
        [mode, reason, signal or "-"] + [str(answers.get(a, 0)) for a in ANSWERS]
        for (mode, reason, signal), answers in counts.feedback.items()
    ]


def render_text(report: OptInReport, counts: CountsReport | None = None) -> str:
    """Tables of opt-in rates, then of feedback and outcomes, for a terminal."""
    lines = []
    tables = report.tables()
    if not report.week_totals:
        lines += ["The ledger holds no choices yet.", ""]
        tables = []
    for title, groups, totals in tables:
        rows = [
            [key, str(total)] + [report.cell(groups, key, total, p) for p in report.purposes]
            for key, total in totals.items()
        ]
        lines += _table([title, "choices", *report.purposes], rows)
        lines.append("")
    if counts is not None and counts.outcome_totals:
        lines += ["Outcomes per week and mode (counted with no identifier)"]
        lines += _table(["week", "mode", *counts.outcomes], outcome_rows(counts), names=2)
        lines.append("")
    if counts is not None and counts.feedback:
        lines += ["Feedback per mode, kind of reason and signal (counted with no identifier)"]
        header = ["mode", "reason", "signal", "helpful", "too personal"]
        lines += _table(header, feedback_rows(counts), names=3)
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


def bar_chart(
    title: str,
    groups: list[str],
    series: list[str],
    values: dict[tuple[str, str], int],
    *,
    width: int = 720,
    height: int = 320,
) -> str:
    """An inline SVG bar chart: for each of ``groups``, one bar per ``series``, of
    ``values[group, series]``."""
    left, right, top, bottom = 56, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max(values.values(), default=0) or 1
    step = _nice_step(highest)
    top_value = step * -(-highest // step)
    slot = plot_w / max(1, len(groups))
    bar = slot * 0.8 / max(1, len(series))
    ident = "chart-" + "".join(c for c in title.lower() if c.isalnum())[:24]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}">',
        f'<title id="{ident}">{escape(title)}</title>',
    ]
    for tick in range(0, top_value + 1, step):
        y = top + plot_h * (1 - tick / top_value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{tick}</text>"
        )
    for g, group in enumerate(groups):
        x0 = left + slot * g + slot * 0.1
        parts.append(
            f'<text x="{left + slot * (g + 0.5):.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" font-size="11">{escape(group)}</text>'
        )
        for n, name in enumerate(series):
            value = values.get((group, name), 0)
            bar_h = plot_h * value / top_value
            parts.append(
                f'<rect x="{x0 + bar * n:.1f}" y="{top + plot_h - bar_h:.1f}" '
                f'width="{bar * 0.9:.1f}" height="{bar_h:.1f}" '
                f'fill="{COLOURS[n % len(COLOURS)]}"><title>{escape(group)}, {escape(name)}: '
                f"{value}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(highest: int) -> int:
    """A round step for about four grid lines up to ``highest``."""
    step = 1
    while step * 4 < highest:
        for factor in (2, 5, 10):
            if step * factor * 4 >= highest or factor == 10:
                step *= factor
                break
    return step


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
{% if counts and not counts.empty %}
<h2>Feedback and outcomes per mode</h2>
<p>Counted per day and personalisation mode, with no identifier of any shopper.</p>
{% for figure in figures %}<figure>{{ figure.svg }}<figcaption>{% for name in figure.series %}
<span class="key" style="background:{{ colours[loop.index0 % colours | length] }}"></span>{{ name }}
{% endfor %}</figcaption></figure>{% endfor %}
{% if counts.outcome_totals %}<h2>Outcomes per week and mode</h2>
<table><thead><tr><th scope="col">week</th><th scope="col">mode</th>
{% for name in counts.outcomes %}<th scope="col">{{ name }}</th>{% endfor %}</tr></thead><tbody>
{% for row in outcome_rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endif %}
{% if counts.feedback %}<h2>Feedback per mode, kind of reason and signal</h2>
<table><thead><tr><th scope="col">mode</th><th scope="col">reason</th><th scope="col">signal</th>
<th scope="col">helpful</th><th scope="col">too personal</th></tr></thead><tbody>
{% for row in feedback_rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endif %}{% endif %}
</main></body></html>
"""
)


def render_html(report: OptInReport, counts: CountsReport | None = None) -> str:
    """A standalone HTML page with inline SVG charts and the tables."""
    figures = []
    if counts is not None and counts.outcome_totals:
        svg = bar_chart(
            "Outcomes per mode", counts.outcomes, counts.modes, _by_group(counts.outcome_totals)
        )
        figures.append({"svg": Markup(svg), "series": counts.modes})
    if counts is not None and counts.feedback:
        answers: dict[tuple[str, str], int] = defaultdict(int)
        for (mode, _, _), given in counts.feedback.items():
            for answer, number in given.items():
                answers[mode, answer] += number
        svg = bar_chart("Feedback per mode", counts.modes, list(ANSWERS), dict(answers))
        figures.append({"svg": Markup(svg), "series": list(ANSWERS)})
    return _PAGE.render(
        report=report,
        svg=Markup(chart(report)) if report.week_totals else "",
        colours=COLOURS,
        tables=report.tables(),
        counts=counts,
        figures=figures,
        outcome_rows=[] if counts is None else outcome_rows(counts),
        feedback_rows=[] if counts is None else feedback_rows(counts),
    )


def _by_group(totals: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """``(mode, outcome)`` totals as ``(outcome, mode)``: outcomes grouped, a bar per mode."""
    return {(name, mode): number for (mode, name), number in totals.items()}
