"""The data inventory of a policy file, and the problems found in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from ..core.exceptions import ConfigurationError
from ..core.policy import ConsentPolicy
from ..core.reasons import retention_text

__all__ = ["Finding", "audit", "render_html", "render_text"]

#: CNIL: a refusal is kept about six months before the visitor is asked again.
ASK_AGAIN_DAYS = 180


@dataclass(frozen=True)
class Finding:
    """One problem (``error``), risk (``warning``) or remark (``note``) in a policy."""

    level: str
    where: str
    message: str


def _entries(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def audit(data: Mapping[str, Any]) -> tuple[ConsentPolicy | None, list[Finding]]:
    """Check a policy's raw data; every problem at once, not only the first."""
    findings: list[Finding] = []
    purposes = {p.get("id"): p for p in _entries(data, "purposes")}
    signals = _entries(data, "signals")
    for signal in signals:
        where = f"signal {signal.get('id')!r}"
        owner = purposes.get(signal.get("purpose"))
        if owner is None:
            findings.append(
                Finding("error", where, f"uses undeclared purpose {signal.get('purpose')!r}")
            )
        elif signal.get("sensitive") and not owner.get("sensitive"):
            findings.append(
                Finding(
                    "error",
                    where,
                    f"is sensitive but uses the general purpose {owner.get('id')!r}: give it "
                    "a purpose of its own, declared sensitive",
                )
            )
        if signal.get("scope") == "persistent" and "retention_days" not in signal:
            findings.append(Finding("error", where, "is kept across visits with no retention"))
        if (signal.get("retention_days") or 0) > 395:
            findings.append(
                Finding("warning", where, "is kept more than 395 days: is all of it needed?")
            )
        if not signal.get("description"):
            findings.append(Finding("note", where, "has no description for shoppers"))
    used = {s.get("purpose") for s in signals}
    for purpose_id, purpose in purposes.items():
        where = f"purpose {purpose_id!r}"
        if not purpose.get("description"):
            findings.append(Finding("warning", where, "has no description for shoppers"))
        if not purpose.get("required") and purpose_id not in used and not purpose.get("cookies"):
            findings.append(
                Finding("warning", where, "declares no signal and no cookie: what does it use?")
            )
        if purpose_id == "marketing" and not purpose.get("gpc_opt_out"):
            findings.append(
                Finding("warning", where, "is not switched off by Global Privacy Control")
            )
    lifetime = data.get("consent_lifetime_days", ASK_AGAIN_DAYS)
    if isinstance(lifetime, int | float) and lifetime > ASK_AGAIN_DAYS:
        findings.append(
            Finding(
                "note",
                "policy",
                f"asks again after {lifetime} days; a refusal is usually kept about six months",
            )
        )
    if "ledger_retention_days" not in data:
        findings.append(
            Finding("note", "policy", "declares no ledger_retention_days: three years apply")
        )
    try:
        policy: ConsentPolicy | None = ConsentPolicy.from_mapping(data)
    except ConfigurationError as e:
        policy = None
        if not any(f.level == "error" for f in findings):
            findings.append(Finding("error", "policy", str(e)))
    return policy, findings


def _rows(policy: ConsentPolicy | None) -> list[dict[str, str]]:
    if policy is None:
        return []
    return [
        {
            "signal": s.id,
            "label": s.label,
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
    lines.append("")
    if not findings:
        lines.append("No problems found.")
    for finding in findings:
        lines.append(f"{finding.level}: {finding.where} {finding.message}")
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
<li class="{{ f.level }}"><strong>{{ f.level }}</strong>: {{ f.where }} {{ f.message }}</li>
{% endfor %}</ul>{% else %}<p>No problems found.</p>{% endif %}</main></body></html>
"""
)


def render_html(policy: ConsentPolicy | None, findings: list[Finding]) -> str:
    """The inventory and the findings as a standalone HTML page."""
    return _PAGE.render(policy=policy, rows=_rows(policy), findings=findings)
