"""The data inventory of a policy file, and the problems found in it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jinja2

from ..core.inventory import SEGMENT
from ..core.policy import ConsentPolicy, check_declarations
from ..core.policy_file import Declarations, read_declarations
from ..core.policy_rules import fallback_text_problem, missing_texts, policy_languages
from ..core.reasons import retention_text

__all__ = ["Finding", "audit", "render_html", "render_text"]

#: CNIL: a refusal is kept about six months before the visitor is asked again.
ASK_AGAIN = timedelta(days=180)
#: Beyond about thirteen months, keeping data is hard to justify.
LONG_RETENTION = timedelta(days=395)


@dataclass(frozen=True)
class Finding:
    """One problem (``error``), risk (``warning``) or remark (``note``) in a policy."""

    level: str
    message: str


def audit(
    data: Mapping[str, Any], languages: Sequence[str] = ()
) -> tuple[ConsentPolicy | None, list[Finding]]:
    """Check a policy's raw data; every problem at once, not only the first.

    The errors are the policy's own problems, in its words (``ConsentPolicy.from_mapping``
    raises the same); the warnings and notes are advice, found here only. ``languages``
    are the shop's (its ``languages`` option, the first the fallback): each text they lack
    is listed; without them, the languages the policy gives any text in are checked.
    """
    declared = read_declarations(data)
    policy, problems = check_declarations(declared)
    findings = [Finding("error", problem) for problem in problems]
    findings += _language_findings(declared, tuple(languages))
    findings += _advice(declared, data)
    return policy, findings


def _language_findings(declared: Declarations, offered: tuple[str, ...]) -> list[Finding]:
    """A finding for each language that lacks any text.

    A plain string is one text for every language: it is read as written in the first
    language checked, and listed as missing in the others.
    """
    purposes, signals = declared.purposes, declared.signals
    checked = offered or policy_languages(purposes, signals)
    findings = []
    for index, language in enumerate(checked):
        if index == 0 and offered:
            # The middleware refuses to start without every text in the shop's first.
            problem = fallback_text_problem(purposes, signals, language)
            if problem is not None:
                findings.append(Finding("error", problem))
            continue
        given = set(missing_texts(purposes, signals, language))
        missing = [
            name if name in given else f"{name} (one text for every language)"
            for name in missing_texts(purposes, signals, language, plain=index > 0)
        ]
        if missing:
            findings.append(
                Finding(
                    "warning",
                    f"no text in {language!r} for {', '.join(missing)}: shoppers who read "
                    f"{language!r} are shown these in another language",
                )
            )
    return findings


def _advice(declared: Declarations, data: Mapping[str, Any]) -> list[Finding]:
    findings = []
    for signal in declared.signals:
        where = f"signal {signal.id!r}"
        if signal.retention is not None and signal.retention > LONG_RETENTION:
            findings.append(
                Finding("warning", f"{where} is kept more than 395 days: is all of it needed?")
            )
        if not signal.description:
            findings.append(Finding("note", f"{where} has no description for shoppers"))
    used = {s.purpose for s in declared.signals}
    fed = {signal for segment in declared.segments for signal in segment.signals}
    for purpose in declared.purposes:
        where = f"purpose {purpose.id!r}"
        if not purpose.description:
            findings.append(Finding("warning", f"{where} has no description for shoppers"))
        if not purpose.required and purpose.id not in used and not purpose.cookies:
            findings.append(
                Finding("warning", f"{where} declares no signal and no cookie: what does it use?")
            )
        own = {s.id for s in declared.signals if s.purpose == purpose.id}
        if purpose.granularity == SEGMENT and own and not own & fed:
            findings.append(
                Finding(
                    "warning",
                    f'{where} gives only segments (granularity = "segment") but no segment is '
                    "built from its signals: the app can use none of them",
                )
            )
        if purpose.id == "marketing" and not purpose.gpc_opt_out:
            findings.append(
                Finding("warning", f"{where} is not switched off by Global Privacy Control")
            )
    lifetime = declared.settings.get("consent_lifetime")
    if isinstance(lifetime, timedelta) and lifetime > ASK_AGAIN:
        findings.append(
            Finding(
                "note",
                f"policy asks again after {lifetime / timedelta(days=1):g} days; a refusal is "
                "usually kept about six months",
            )
        )
    if "ledger_retention_days" not in data:
        findings.append(
            Finding("note", "policy declares no ledger_retention_days: three years apply")
        )
    return findings


def _rows(policy: ConsentPolicy | None) -> list[dict[str, str]]:
    if policy is None:
        return []
    return [
        {
            "signal": s.id,
            "label": s.label_for("en"),
            "purpose": s.purpose,
            "scope": s.scope.value,
            "retention": retention_text(s).removeprefix("kept for "),
            "sensitive": "yes" if s.sensitive else "no",
        }
        for s in policy.signals
    ]


def render_text(policy: ConsentPolicy | None, findings: list[Finding]) -> str:
    """The inventory and the findings, for a terminal."""
    lines = []
    if policy is not None:
        lines.append(
            f"Policy {policy.version}: {len(policy.purposes)} purposes, "
            f"{len(policy.signals)} signals"
        )
        rows = _rows(policy)
        if rows:
            columns = list(rows[0])
            widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
            lines.append("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
            lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
        lines.append("")  # between the inventory and the findings
    if not findings:
        lines.append("No problems found.")
    for finding in findings:
        lines.append(f"{finding.level}: {finding.message}")
    return "\n".join(lines) + "\n"


_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data inventory</title>
<style>body{font:1rem/1.5 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}.error{color:#a00}
.warning{color:#8a5a00}</style></head>
<body><main><h1>Data inventory{% if policy %}: policy {{ policy.version }}{% endif %}</h1>
{% if rows %}<table><thead><tr>{% for c in rows[0] %}<th scope="col">{{ c }}</th>{% endfor %}
</tr></thead><tbody>{% for r in rows %}<tr>{% for c in r.values() %}<td>{{ c }}</td>
{% endfor %}</tr>{% endfor %}</tbody></table>{% endif %}
<h2>Findings</h2>{% if findings %}<ul>{% for f in findings %}
<li class="{{ f.level }}"><strong>{{ f.level }}</strong>: {{ f.message }}</li>
{% endfor %}</ul>{% else %}<p>No problems found.</p>{% endif %}</main></body></html>
"""
)


def render_html(policy: ConsentPolicy | None, findings: list[Finding]) -> str:
    """The inventory and the findings as a standalone HTML page."""
    return _PAGE.render(policy=policy, rows=_rows(policy), findings=findings)
