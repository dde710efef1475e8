"""Outcomes per mode: ``ctx.count(name)`` for the names a policy declares, counted per day and
mode with no identifier, and the report that shows them beside the opt-in rates."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import webtest

from consent_middleware import (
    ConfigurationError,
    ConsentError,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    get_context,
)
from consent_middleware.cli.main import main
from consent_middleware.cli.report import build_counts, build_report, render_html, render_text
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.ledger.tally import today

from .conftest import KEY, make_cookie
from .ledgers import Switchable, event

POLICY = ConsentPolicy.from_toml(Path(__file__).parent.parent / "examples" / "policy.toml")


def counting_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A basket that counts every add, whatever the shopper chose."""
    ctx = get_context(environ)
    ctx.count(environ["PATH_INFO"].strip("/"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"added"]


def shop(ledger: Any) -> tuple[webtest.TestApp, ConsentWSGIMiddleware]:
    middleware = ConsentWSGIMiddleware(
        counting_app, policy=POLICY, secret_keys=[KEY], secure=False, ledger=ledger
    )
    return webtest.TestApp(middleware), middleware


def test_each_outcome_is_counted_under_the_mode_of_its_request(tmp_path: Path) -> None:
    client, middleware = shop(f"sqlite:///{tmp_path}/ledger.db")
    personal = make_cookie(("personalisation",), decided_at=int(time.time()), policy=POLICY)
    client.get("/basket_add")
    client.get("/basket_add", headers={"Cookie": f"consent={personal}"})
    page = client.get("/order", headers={"Cookie": f"consent={personal}; consent_pause=1"})
    # Counting reads no consent of the page's own: the response does not vary.
    assert "Vary" not in page.headers and "Cache-Control" not in page.headers
    middleware.close()
    counts = SQLiteLedger(tmp_path / "ledger.db").counts()
    day = today()
    assert counts == [
        ((day, "outcome", "basket_add", "non_personalised", "", ""), 1),
        ((day, "outcome", "basket_add", "personalised", "", ""), 1),
        ((day, "outcome", "order", "non_personalised", "", ""), 1),  # paused for the visit
    ]


def test_an_undeclared_outcome_is_a_programming_error() -> None:
    client, middleware = shop(None)
    with pytest.raises(ConsentError, match="unknown outcome 'basket'.*declares: basket_add, order"):
        client.get("/basket")
    middleware.close()


def test_a_count_the_ledger_cannot_take_never_fails_the_page(tmp_path: Path) -> None:
    ledger = Switchable(SQLiteLedger(tmp_path / "ledger.db"))
    client, middleware = shop(ledger)
    ledger.down = True
    ledger.inner.add_counts = _down  # type: ignore[attr-defined]
    assert client.get("/order").status_int == 200
    tally = middleware.engine.records.tally
    assert tally is not None and tally.flush() is False
    del ledger.inner.add_counts
    middleware.close()  # the last flush writes what waited
    assert SQLiteLedger(tmp_path / "ledger.db").counts()[0][1] == 1


def _down(counts: object) -> None:
    raise OSError("disk full")


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        pytest.param(["Basket add"], "outcome 'Basket add' is invalid", id="name"),
        pytest.param(["order", "order"], "declares outcome 'order' twice", id="twice"),
        pytest.param("order", "must be a list of names", id="string"),
        pytest.param(3, "must be a list of names", id="number"),
    ],
)
def test_outcomes_are_checked_with_the_policy(outcomes: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ConsentPolicy(POLICY.purposes, version="1", outcomes=outcomes)
    with pytest.raises(ConfigurationError, match=message):
        ConsentPolicy.from_mapping(
            {"version": "1", "purposes": [{"id": "n", "label": "N"}], "outcomes": outcomes}
        )


# -- the report ---------------------------------------------------------------------------------


def filled_ledger(path: Path) -> None:
    ledger = SQLiteLedger(path)
    now = time.time()
    ledger.write([event(t=now, granted=["necessary", "analytics"], method="banner")])
    day, old = today(now), today(now - 60 * 86400)
    ledger.add_counts(
        [
            ((old, "outcome", "order", "personalised", "", ""), 7),
            ((day, "outcome", "order", "personalised", "", ""), 3),
            ((day, "outcome", "order", "non_personalised", "", ""), 4),
            ((day, "outcome", "basket_add", "session", "", ""), 9),
            ((day, "feedback", "helpful", "session", "personal", "viewed_products"), 5),
            ((day, "feedback", "too_personal", "session", "personal", "viewed_products"), 2),
            ((day, "feedback", "helpful", "non_personalised", "general", ""), 6),
        ]
    )
    ledger.close()


def test_the_report_shows_feedback_and_outcomes_beside_the_opt_in_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filled_ledger(tmp_path / "ledger.db")
    url = f"sqlite:///{tmp_path}/ledger.db"
    assert main(["report", "--ledger", url, "--weeks", "2"]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    assert blocks[0].splitlines()[0].split()[:3] == ["week", "choices", "analytics"]
    (outcomes,) = [b.splitlines() for b in blocks if b.startswith("Outcomes per week and mode")]
    assert outcomes[1].split() == ["week", "mode", "basket_add", "order"]
    assert [line.split()[1:] for line in outcomes[2:]] == [
        ["personalised", "0", "3"],
        ["session", "9", "0"],
        ["non_personalised", "0", "4"],
    ]
    (feedback,) = [b.splitlines() for b in blocks if b.startswith("Feedback per mode")]
    assert [line.split() for line in feedback[2:]] == [
        ["session", "personal", "viewed_products", "5", "2"],
        ["non_personalised", "general", "-", "6", "0"],
    ]
    # Without --weeks, the week of the older count is there too.
    assert main(["report", "--ledger", url]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    (outcomes,) = [b.splitlines() for b in blocks if b.startswith("Outcomes per week and mode")]
    assert len(outcomes) == 6 and outcomes[2].split()[1:] == ["personalised", "0", "7"]


def test_the_html_report_charts_outcomes_and_feedback_per_mode(tmp_path: Path) -> None:
    filled_ledger(tmp_path / "ledger.db")
    url = f"sqlite:///{tmp_path}/ledger.db"
    assert main(["report", "--ledger", url, "--html", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert '<title id="chart-outcomespermode">Outcomes per mode</title>' in page
    assert '<title id="chart-feedbackpermode">Feedback per mode</title>' in page
    assert "<title>order, personalised: 10</title>" in page
    assert "<title>session, too_personal: 2</title>" in page
    assert "<h2>Outcomes per week and mode</h2>" in page
    assert "<td>viewed_products</td><td>5</td><td>2</td>" in page


def test_a_report_of_counts_alone_and_of_nothing() -> None:
    counts = build_counts([(("2026-12-01", "outcome", "order", "session", "", ""), 2)])
    text = render_text(build_report([]), counts)
    assert text.startswith("The ledger holds no choices yet.\n")
    assert "week      mode     order\n2026-W49  session      2\n" in text
    assert render_text(build_report([]), build_counts([])) == "The ledger holds no choices yet.\n"
    assert "Feedback and outcomes" not in render_html(build_report([]), build_counts([]))
