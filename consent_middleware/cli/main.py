"""``consent-middleware``: audit a policy, report on and purge the ledger, make a key."""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..core.exceptions import ConfigurationError
from ..core.languages import LANGUAGE_TAG
from ..core.policy import ConsentPolicy
from ..core.policy_file import read_toml
from ..ledger.sql import Ledger, LedgerUnavailable
from ..ledger.tally import today
from ..ledger.url import open_ledger
from . import audit as audit_module
from . import report as report_module

__all__ = ["main"]


def _write(text: str, html_path: str | None, html: str | None) -> None:
    if html_path is not None and html is not None:
        try:
            Path(html_path).write_text(html)
        except OSError as e:
            raise ConfigurationError(f"cannot write {html_path!r}: {e}") from e
        print(f"HTML written to {html_path}")
    else:
        sys.stdout.write(text)


def _languages(value: str | None) -> tuple[str, ...]:
    """``--languages de,fr`` as tags; a mistake is a ConfigurationError (exit 2)."""
    if value is None:
        return ()
    tags = tuple(tag.strip() for tag in value.split(","))
    for tag in tags:
        if not LANGUAGE_TAG.fullmatch(tag):
            raise ConfigurationError(
                f"--languages: {tag!r} is not a language tag: give the shop's languages, the "
                "first the fallback, such as --languages en,de,fr"
            )
    return tags


def _audit(args: argparse.Namespace) -> int:
    languages = _languages(args.languages)
    policy, findings = audit_module.audit(read_toml(args.policy), languages)
    _write(
        audit_module.render_text(policy, findings),
        args.html,
        audit_module.render_html(policy, findings) if args.html else None,
    )
    return 1 if any(f.level == "error" for f in findings) else 0


def _ledger(url: str) -> Ledger:
    # Only the middleware makes a ledger; a command given a mistyped path says so.
    return open_ledger(url, create=False)


def _report(args: argparse.Namespace) -> int:
    if args.weeks < 0:
        raise ConfigurationError("--weeks must be a positive number of weeks (or 0 for all)")
    ledger = _ledger(args.ledger)
    since = time.time() - args.weeks * 7 * 86400 if args.weeks else 0.0
    built = report_module.build_report(ledger.events(since))
    # Feedback and outcomes, where the ledger keeps them (a ledger of ours does).
    read_counts = getattr(ledger, "counts", None)
    rows = read_counts(today(since) if since else "") if callable(read_counts) else []
    counts = report_module.build_counts(rows)
    ledger.close()
    _write(
        report_module.render_text(built, counts),
        args.html,
        report_module.render_html(built, counts) if args.html else None,
    )
    return 0


def _purge(args: argparse.Namespace) -> int:
    if args.days is not None:
        if not (math.isfinite(args.days) and args.days > 0):
            raise ConfigurationError("--days must be a positive number of days")
        days = float(args.days)
    else:
        days = ConsentPolicy.from_toml(args.policy).ledger_retention.total_seconds() / 86400
    ledger = _ledger(args.ledger)
    deleted = ledger.purge(time.time() - days * 86400)
    ledger.close()
    print(f"Deleted {deleted} consent events older than {days:g} days.")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    print(secrets.token_urlsafe(48))
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="consent-middleware", description="Tools for consent_middleware's policy and ledger."
    )
    commands = main_parser.add_subparsers(dest="command", required=True)

    audit = commands.add_parser("audit", help="the data inventory of a policy and its problems")
    audit.add_argument("policy", help="the policy's TOML file")
    audit.add_argument("--html", metavar="FILE", help="write an HTML page instead of text")
    audit.add_argument(
        "--languages",
        metavar="LANGS",
        help="the shop's languages, the first the fallback (en,de,fr): list the texts each "
        "lacks (default: every language the policy gives a text in)",
    )
    audit.set_defaults(run=_audit)

    report = commands.add_parser(
        "report", help="opt-in rates per purpose, week and method; feedback and outcomes per mode"
    )
    report.add_argument("--ledger", required=True, help="sqlite:///path.db or postgresql://...")
    report.add_argument("--weeks", type=int, default=0, help="only the last N weeks")
    report.add_argument("--html", metavar="FILE", help="write an HTML page with a chart")
    report.set_defaults(run=_report)

    purge = commands.add_parser("purge", help="delete events older than the retention")
    purge.add_argument("--ledger", required=True, help="sqlite:///path.db or postgresql://...")
    source = purge.add_mutually_exclusive_group(required=True)
    source.add_argument("--policy", help="take the retention from this policy file")
    source.add_argument("--days", type=float, help="the retention in days")
    purge.set_defaults(run=_purge)

    keygen = commands.add_parser("keygen", help="print a new random secret key")
    keygen.set_defaults(run=_keygen)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print a sentence and exit with status 2."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigurationError as e:
        _error(str(e))
    except LedgerUnavailable as e:
        _error(f"the ledger cannot be reached: {e}")
    return 2


def _error(message: str) -> None:
    # One line, even when a database driver's message spans several.
    print("error:", " ".join(message.split()), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
