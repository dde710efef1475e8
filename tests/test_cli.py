"""The ``consent-middleware`` command: audit, report, purge, keygen, and its errors."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from starlette.applications import Starlette

from consent_middleware import ConfigurationError, ConsentMiddleware
from consent_middleware.cli import main
from consent_middleware.core import policy_file
from consent_middleware.ledger.postgres import PostgresLedger
from consent_middleware.ledger.sqlite import SQLiteLedger

from .ledgers import event, postgres_schema, postgres_url

ROOT = Path(__file__).parent.parent
WEEK = 7 * 86400

BAD_POLICY = """
version = "1"
consent_lifetime_days = 395

[[purposes]]
id = "necessary"
label = "Necessary"
required = true

[[purposes]]
id = "personalisation"
label = "<b>Personal</b>"

[[purposes]]
id = "marketing"
label = "Ads"
description = "Ads."

[[signals]]
id = "health"
label = "Health"
purpose = "personalisation"
sensitive = true

[[signals]]
id = "history"
label = "History"
purpose = "personalisation"
scope = "persistent"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_audit_of_a_good_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", str(ROOT / "examples" / "demo_shop" / "policy.toml"))
    assert code == 0
    assert out.startswith("Policy demo-1: 6 purposes, 4 signals\n")
    assert "health_interest       Health products you viewed in this visit" in out
    assert "error:" not in out


def test_the_example_policy_shows_every_field_and_passes_its_audit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = ROOT / "examples" / "policy.toml"
    data = tomllib.loads(path.read_text())
    assert set(data) == policy_file._POLICY_KEYS
    assert set().union(*data["purposes"]) == policy_file._PURPOSE_KEYS
    assert set().union(*data["signals"]) == policy_file._SIGNAL_KEYS
    assert set().union(*data["segments"]) == policy_file._SEGMENT_KEYS
    assert all(signal.get("description") for signal in data["signals"])
    code, out, _ = run(capsys, "audit", str(path))
    assert code == 0
    assert out.endswith("\nNo problems found.\n")


def test_audit_finds_every_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(BAD_POLICY)
    code, out, _ = run(capsys, "audit", str(path))
    assert code == 1
    assert (
        "error: signal 'health' is sensitive but uses the general purpose 'personalisation'"
    ) in out
    assert "error: signal 'history' is kept across visits with no retention" in out
    assert "warning: purpose 'marketing' declares no signal and no cookie" in out
    assert "warning: purpose 'marketing' is not switched off by Global Privacy Control" in out
    assert "note: policy asks again after 395 days" in out
    html = tmp_path / "audit.html"
    code, out, _ = run(capsys, "audit", str(path), "--html", str(html))
    assert code == 1
    page = html.read_text()
    assert "<b>Personal</b>" not in page
    assert '<li class="error"><strong>error</strong>: signal &#39;health&#39;' in page


GERMAN_POLICY = """
version = "1"
ledger_retention_days = 1000

[[purposes]]
id = "necessary"
label = { en = "Necessary", de = "Notwendig" }
description = { en = "Always on.", de = "Immer an." }
required = true

[[purposes]]
id = "marketing"
label = { de = "Werbung", en = "Ads" }
description = { de = "Werbung für Sie." }
gpc_opt_out = true
cookies = ["_ad"]
"""


@pytest.mark.parametrize(
    ("languages", "code", "shown"),
    [
        pytest.param(
            (), 0, "warning: no text in 'en' for purpose 'marketing' description:", id="used"
        ),
        pytest.param(
            ("--languages", "de,en"), 0, "warning: no text in 'en' for", id="german-first"
        ),
        pytest.param(
            ("--languages", "en,de"),
            1,
            "error: policy has no text in 'en', the shop's first language",
            id="english-first",
        ),
        pytest.param(
            ("--languages", "de,fr"),
            0,
            "warning: no text in 'fr' for purpose 'necessary' label, purpose 'necessary' "
            "description, purpose 'marketing' label, purpose 'marketing' description:",
            id="french-offered",
        ),
    ],
)
def test_audit_reports_a_language_that_lacks_a_text(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    languages: tuple[str, ...],
    code: int,
    shown: str,
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GERMAN_POLICY)
    result, out, _ = run(capsys, "audit", str(path), *languages)
    assert (result, shown in out) == (code, True), out


def test_audit_names_a_day_count_that_is_not_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        BAD_POLICY.replace("consent_lifetime_days = 395", "consent_lifetime_days = nan")
    )
    code, out, _ = run(capsys, "audit", str(path))
    assert code == 1
    # No inventory can be listed: the findings come first, with no blank line before them.
    assert out.startswith("error: ")
    assert "error: policy: consent_lifetime_days must be a positive number of days" in out


def test_report_text_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    now = time.time()
    ledger.write(
        [
            event(t=now - 2 * WEEK, granted=["necessary", "analytics"], method="banner"),
            event(t=now - 2 * WEEK, granted=["necessary"], refused=["analytics"], method="banner"),
            event(t=now, granted=["necessary", "analytics"], method="preference_centre"),
            # A choice about one signal grants or refuses no purpose: it is no opt-in.
            event(t=now, granted=["necessary"], kind="stopped", signal="viewed", method="why"),
        ]
    )
    ledger.close()
    url = f"sqlite:///{tmp_path}/ledger.db"
    code, out, _ = run(capsys, "report", "--ledger", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["week", "choices", "analytics"]
    rates = [line.split()[1:3] for line in lines[1:3]]
    assert rates == [["2", "50%"], ["1", "100%"]]
    assert any(line.startswith("banner") and line.split()[1:3] == ["2", "50%"] for line in lines)
    assert not any(line.startswith("why") for line in lines)
    html = tmp_path / "report.html"
    code, _, _ = run(capsys, "report", "--ledger", url, "--html", str(html))
    page = html.read_text()
    assert "<svg" in page and "<polyline" in page
    assert '<title id="chart-title">Weekly opt-in rate per purpose</title>' in page


def test_report_table_shows_whole_purpose_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    granted = ["necessary", "session_personalisation", "health_personalisation"]
    ledger.write(
        [
            event(granted=granted, refused=[], method="preference_centre"),
            event(granted=["necessary"], refused=granted[1:], method="banner"),
        ]
    )
    ledger.close()
    code, out, _ = run(capsys, "report", "--ledger", f"sqlite:///{tmp_path}/ledger.db")
    assert code == 0
    header, week = out.splitlines()[:2]
    assert header.split() == [
        "week",
        "choices",
        "health_personalisation",
        "session_personalisation",
    ]
    # Every rate sits right-aligned under the end of its header.
    assert week.endswith("50%") and len(week) == len(header)
    assert week.index("50%") + 3 == header.index("health_personalisation") + 22
    method_header = out.splitlines()[3]
    assert method_header.split() == ["method", "choices", *header.split()[2:]]
    assert "preference_centre        1                    100%" in out


def test_report_of_an_empty_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    SQLiteLedger(tmp_path / "empty.db").close()
    code, out, _ = run(capsys, "report", "--ledger", f"sqlite:///{tmp_path}/empty.db")
    assert code == 0
    assert out == "The ledger holds no choices yet.\n"


@pytest.mark.parametrize(
    "command",
    [
        ["report"],
        ["report", "--html", "report.html"],
        ["purge", "--days", "30"],
        ["purge", "--policy", str(ROOT / "examples" / "policy.toml")],
    ],
    ids=["report", "report-html", "purge-days", "purge-policy"],
)
def test_commands_refuse_a_ledger_file_that_does_not_exist(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the middleware makes a ledger: a mistyped path is not an empty ledger."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *command, "--ledger", "sqlite:///nope.db")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ledger file 'nope.db' does not exist")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [["report"], ["purge", "--days", "30"]],
    ids=["report", "purge"],
)
@pytest.mark.parametrize("kind", ["shop-database", "empty-file"])
def test_commands_refuse_a_sqlite_file_that_holds_no_ledger(
    command: list[str],
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A path mistyped to the shop's own database is refused, and that file left as it was."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "shop.db"
    if kind == "shop-database":
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
            db.commit()
    else:
        path.touch()
    before = path.read_bytes()
    code, out, err = run(capsys, *command, "--ledger", "sqlite:///shop.db")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ledger file 'shop.db' holds no consent ledger")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]


@pytest.mark.postgres
def test_commands_refuse_a_postgresql_database_that_holds_no_ledger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A URL naming the shop's own database is refused, and no ledger table is made there."""
    import psycopg

    with postgres_schema() as schema:
        url = postgres_url(schema)
        for command in (["report"], ["purge", "--days", "30"]):
            code, out, err = run(capsys, *command, "--ledger", url)
            assert (code, out) == (2, "")
            assert err == (
                "error: the PostgreSQL database holds no consent ledger: check the URL (the "
                "middleware creates the ledger when it records the first choice)\n"
            )
        with psycopg.connect(url) as db:
            assert db.execute("SELECT to_regclass('consent_events')").fetchone() == (None,)
        ledger = PostgresLedger(url)
        ledger.write([event()])  # the middleware's first choice makes the ledger
        ledger.close()
        code, out, _ = run(capsys, "report", "--ledger", url)
        assert code == 0
        assert out.startswith("week ")


def test_purge_by_days_and_by_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    now = time.time()
    ledger.write([event(t=now - 2000 * 86400), event(t=now - 100 * 86400), event(t=now)])
    url = f"sqlite:///{tmp_path}/ledger.db"
    policy = str(ROOT / "examples" / "policy.toml")
    code, out, _ = run(capsys, "purge", "--ledger", url, "--policy", policy)
    assert (code, out) == (0, "Deleted 1 consent events older than 1095 days.\n")
    code, out, _ = run(capsys, "purge", "--ledger", url, "--days", "30")
    assert (code, out) == (0, "Deleted 1 consent events older than 30 days.\n")
    assert len(list(ledger.events())) == 1
    ledger.close()


def test_keygen_prints_a_long_random_key(capsys: pytest.CaptureFixture[str]) -> None:
    _, first, _ = run(capsys, "keygen")
    _, second, _ = run(capsys, "keygen")
    assert len(first.strip()) >= 60
    assert first != second


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "missing.toml"], "policy file 'missing.toml' does not exist"),
        (["audit", "latin1.toml"], "policy file 'latin1.toml' is not valid TOML"),
        (["audit", "x.toml", "--languages", "en,de_DE"], "--languages: 'de_DE' is not a"),
        (["report", "--ledger", "mysql://x"], "is not supported"),
        (["report", "--ledger", "sqlite:///no/such/dir/x.db"], "does not exist"),
        (["report", "--ledger", "sqlite:///not-a-ledger.txt"], "cannot be opened"),
        (["purge", "--ledger", "sqlite:///x.db", "--days", "0"], "positive number of days"),
        (["purge", "--ledger", "sqlite:///x.db", "--days", "nan"], "positive number of days"),
        (["purge", "--ledger", "sqlite:///x.db", "--days", "inf"], "positive number of days"),
        (["report", "--ledger", "sqlite:///x.db", "--weeks", "-3"], "positive number of weeks"),
        (
            ["report", "--ledger", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"],
            "the ledger cannot be reached",
        ),
    ],
)
def test_errors_name_the_problem_and_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-ledger.txt").write_text("a shopping list, not a ledger\n" * 100)
    (tmp_path / "latin1.toml").write_bytes("version = 'caf\u00e9'\n".encode("latin-1"))
    code, _, err = run(capsys, *args)
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ([], "secret_keys is empty"),
        ([""], "secret_keys[0] is empty"),
        (["short"], "secret_keys[0] is 5 bytes"),
    ],
    ids=["no-key", "empty-key", "short-key"],
)
def test_key_errors_name_the_command_that_makes_a_key(keys: list[str], problem: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        ConsentMiddleware(Starlette(), secret_keys=keys)
    assert str(error.value).startswith(problem)
    assert str(error.value).endswith("make one with `consent-middleware keygen`")


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [Path(sys.executable).parent / "consent-middleware", "keygen"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(result.stdout.strip()) >= 60
