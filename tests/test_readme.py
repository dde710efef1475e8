"""The READMEs are true: every Python block runs as written, and the app it makes works.

A newcomer pastes a block into a file of its own and runs it. Each block is run that way: as
a module (not ``__main__``) in an empty directory, without ``CONSENT_SECRET_KEY``. A block
that makes an ``app`` is then used as a shopper would use it, through Starlette's test client
or WebTest, and no answer may be a 5xx. Blocks that are not meant to run say what they are
with their fence (``sh``, ``toml``, ``text``, ``jinja``, ``json``, ``diff``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from consent_middleware import ConsentError, ConsentMiddleware, ConsentPolicy, get_context
from consent_middleware.cli import main as command
from consent_middleware.ledger.sqlite import SQLiteLedger

from .shopper import Shopper

ROOT = Path(__file__).parent.parent
READMES = [ROOT / "README.md", *sorted(ROOT.glob("examples/*/README.md"))]
LANGUAGES = {"python", "sh", "toml", "text", "jinja", "json", "diff"}
FENCE = re.compile(r"^```(.*)$")
BANNER = 'class="consent-banner"'
KEY = "CONSENT_SECRET_KEY"


@dataclass(frozen=True)
class Block:
    readme: Path
    line: int
    language: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.readme.relative_to(ROOT)}:{self.line}"

    @property
    def title(self) -> str:
        """What the block's first comment calls it: ``# shop.py: ...`` is ``shop.py``."""
        first = self.code.splitlines()[0] if self.code else ""
        return first.removeprefix("# ").split(":")[0] if first.startswith("# ") else ""


def blocks(readme: Path) -> list[Block]:
    """The fenced blocks of a README, in order."""
    found: list[Block] = []
    opening: tuple[int, str] | None = None
    lines: list[str] = []
    for number, line in enumerate(readme.read_text().splitlines(), start=1):
        fence = FENCE.match(line)
        if fence is None:
            if opening is not None:
                lines.append(line)
        elif opening is None:
            opening, lines = (number, fence.group(1).strip()), []
        else:
            assert fence.group(1) == "", f"{readme}:{number}: a fence opens inside a block"
            found.append(Block(readme, opening[0], opening[1], "\n".join(lines) + "\n"))
            opening = None
    assert opening is None, f"{readme}:{opening[0]}: a block is never closed"
    return found


PYTHON = [block for readme in READMES for block in blocks(readme) if block.language == "python"]


def test_every_block_says_what_it_is() -> None:
    for readme in READMES:
        for block in blocks(readme):
            assert block.language in LANGUAGES, f"{block.where}: fence {block.language!r}"
    assert len(PYTHON) >= 4


def run_block(block: Block, directory: Path) -> ModuleType:
    """Paste the block into a file of its own and run it, as ``python -c 'import it'``."""
    name = f"readme_block_{block.readme.parent.name}_{block.line}".replace("-", "_")
    path = directory / f"{name}.py"
    path.write_text(block.code)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Flask finds its app's folder through it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.fixture
def newcomer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty directory to work in, and no secret key set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(KEY, raising=False)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("readme_block_"):
            del sys.modules[name]


# -- what each app of the READMEs must do, by the name its first comment gives ------------


def check_tea_shop(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """The Quick start's shops: the banner, the general shelf, then the visit's own."""
    first = shopper.get("/")
    assert first.status == 200
    assert BANNER in first.text
    assert "Popular this week" in first.text
    assert "none of your data was used" in first.text
    assert "Privacy choices" in first.text
    # Nothing is remembered before the shopper allows it.
    assert shopper.get("/products/sencha").status == 303
    assert "Popular this week" in shopper.get("/").text
    assert shopper.choose("accept_all").status == 303
    assert shopper.get("/").text.count("Popular this week") == 1  # nothing viewed yet
    assert shopper.get("/products/sencha").location.endswith("/")
    home = shopper.get("/")
    assert BANNER not in home.text
    assert "Picked for you from this visit" in home.text
    assert "Because you viewed Sencha green tea." in home.text
    assert "Products you viewed" in home.text  # "Why am I seeing this?" names the signal
    for asset in home.local_assets():
        assert shopper.get(asset).status == 200, asset
    assert shopper.choose("reject_all").status == 303
    assert "Popular this week" in shopper.get("/").text


def check_ledger(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """A choice is in ``consent.db`` once answered; a form without ``method`` is ``api``."""
    assert shopper.get("/").status == 200
    assert shopper.choose("accept_all").status == 303
    ledger = SQLiteLedger(directory / "consent.db")
    events = list(ledger.events())
    ledger.close()
    assert [(e.method, e.kind) for e in events] == [("api", "given")]
    assert "analytics" in events[0].granted
    assert command(["report", "--ledger", "sqlite:///consent.db"]) == 0


def check_rights(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """The host's data is in the download under ``host``, and is erased with the rest."""
    assert shopper.get("/subscribe").status == 409
    # "Accept all" on the preference page at /consent, as the README does it.
    assert shopper.choose("accept_all", ("method", "preference_centre")).status == 303
    assert shopper.get("/subscribe").text == "Subscribed."
    download = shopper.get("/consent/data")
    data = json.loads(download.text)
    assert data["host"] == {"newsletter": {"subscription": "weekly tea news"}}
    assert [(e["method"], e["kind"]) for e in data["history"]] == [("preference_centre", "given")]
    (shown,) = [json.loads(b.code) for b in blocks(ROOT / "README.md") if b.language == "json"]
    assert shape(shown) == shape(data)
    for key in ("host", "visit", "preferences"):
        assert shown[key] == data[key]
    for key in ("purposes", "mode", "policy_version"):
        assert shown["consent"][key] == data["consent"][key]
    for key in ("granted", "refused", "method", "kind"):
        assert shown["history"][0][key] == data["history"][0][key]
    erased = shopper.post("/consent/forget", [("csrf_token", shopper.csrf_token())])
    assert erased.status == 200
    assert "Your newsletter subscription was deleted." in erased.text
    assert module.NEWSLETTER == {}


def check_settings(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """One options object serves both middlewares, under the prefix the settings name."""
    assert "/privacy" in shopper.get("/").text
    assert shopper.get("/privacy").status == 200
    assert shopper.get("/consent").status == 404
    with Shopper(module.legacy_app) as legacy:
        assert legacy.get("/").text == "The old part of the shop"
        assert legacy.get("/privacy").status == 200
    assert module.app.engine.options is module.legacy_app.engine.options


def check_external_shop(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """No banner of ours: OneTrust's cookie decides, and Consent Mode tells the tags."""
    first = shopper.get("/")
    assert BANNER not in first.text
    assert "Popular this week" in first.text
    head = first.text[: first.text.index("googletagmanager")]
    assert 'gtag("consent","default",{' in head  # before Google's tag
    assert '"functionality_storage":"denied"' in head
    assert 'gtag("consent","update"' not in first.text
    assert shopper.get("/products/sencha").status == 303  # nothing kept yet
    assert "Popular this week" in shopper.get("/").text
    # What OneTrust's script writes once the shopper allows functional cookies.
    choice = "interactionCount=1&groups=C0001%3A1%2CC0002%3A0%2CC0003%3A1%2CC0004%3A0"
    shopper.set_cookie("OptanonConsent", choice)
    assert shopper.get("/products/sencha").status == 303
    home = shopper.get("/")
    assert BANNER not in home.text
    assert "Because you viewed Sencha green tea." in home.text
    assert "OneTrust consent banner" in home.text
    update = home.text[home.text.index('gtag("consent","update"') :].split(");")[0]
    assert '"functionality_storage":"granted"' in update
    assert '"analytics_storage":"denied"' in update


def check_languages(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """Accept-Language chooses among the offered languages; the URL's language wins."""
    shopper._client.headers["Accept-Language"] = "de-CH, fr;q=0.8"
    home = shopper.get("/")
    assert '<html lang="de">' in home.text
    assert ">Alle akzeptieren</button>" in home.text
    assert '<html lang="de">' in shopper.get("/consent").text
    french = shopper.get("/fr/")
    assert '<html lang="fr">' in french.text
    assert ">Tout accepter</button>" in french.text
    shopper._client.headers["Accept-Language"] = "sv"
    assert ">Accept all</button>" in shopper.get("/sv/").text


def check_texts(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """The policy's own texts follow the shopper's language."""
    shopper._client.headers["Accept-Language"] = "de-AT"
    german = shopper.get("/").text
    assert '<html lang="de">' in german
    assert "Diesen Besuch anpassen." in german
    assert "Tailor this visit" not in german
    shopper._client.headers["Accept-Language"] = "en"
    assert "Tailor this visit." in shopper.get("/").text


def check_regions(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """The CDN's headers decide the rules: a notice in California, the banner in Germany."""
    headers = shopper._client.headers
    headers.update({"CF-IPCountry": "US", "CF-Region-Code": "CA"})
    california = shopper.get("/")
    assert "Do Not Sell or Share My Personal Information" in california.text
    assert "Ten per cent off green tea" in california.text
    assert california.headers["vary"] == "Cookie, CF-IPCountry, CF-Region-Code"
    headers.update({"CF-IPCountry": "BR", "CF-Region-Code": "SP"})
    brazil = shopper.get("/")
    assert "Got it" in brazil.text and "Do Not Sell" not in brazil.text
    headers.update({"CF-IPCountry": "DE", "CF-Region-Code": ""})
    germany = shopper.get("/")
    assert BANNER in germany.text and ">Accept all</button>" in germany.text
    assert "Ten per cent off green tea" not in germany.text


def check_outcomes(shopper: Shopper, module: ModuleType, directory: Path) -> None:
    """Suggestions by interest once two teas were viewed, a sponsor named, the switch for the
    visit, and orders counted per mode with no identifier."""
    first = shopper.get("/")
    assert "Popular this week" in first.text
    assert "<strong>Sponsored by Kettle &amp; Co.</strong>" in first.text
    assert shopper.choose("accept_all").status == 303
    for tea in ("sencha", "assam"):
        assert shopper.get(f"/products/{tea}").status == 303
    home = shopper.get("/")
    assert "Teas for you" in home.text
    assert home.text.count("<p>Because you seem to like tea.</p>") == 3
    assert "Only your broad interest in tea was used" in home.text
    assert "See suggestions without personalisation" in home.text
    assert shopper.post("/order/sencha", []).status == 303
    paused = [("action", "pause"), ("csrf_token", shopper.csrf_token()), ("next", "/")]
    assert shopper.post("/consent/pause", paused).status == 303
    assert "Popular this week" in shopper.get("/").text
    assert shopper.post("/order/assam", []).status == 303
    tally = module.app.engine.records.tally
    assert tally.flush()
    ledger = SQLiteLedger(directory / "consent.db")
    counts = sorted((key[2], key[3], number) for key, number in ledger.counts())
    ledger.close()
    assert counts == [("order", "non_personalised", 1), ("order", "personalised", 1)]
    assert command(["report", "--ledger", "sqlite:///consent.db"]) == 0


CHECKS: dict[str, Callable[[Shopper, ModuleType, Path], None]] = {
    "shop.py": check_tea_shop,
    "app.py": check_tea_shop,
    "django_shop.py": check_tea_shop,
    "ledger.py": check_ledger,
    "rights.py": check_rights,
    "settings.py": check_settings,
    "onetrust_shop.py": check_external_shop,
    "languages.py": check_languages,
    "texts.py": check_texts,
    "regions.py": check_regions,
    "outcomes.py": check_outcomes,
}


def shape(value: Any) -> Any:
    """The keys of a JSON document, all the way down, and the type of every leaf."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


#: Blocks that set up the whole process (Django's settings are one per process): each runs,
#: with its check, in an interpreter of its own.
APART = {"django_shop.py"}


def check_block(block: Block, directory: Path) -> None:
    """Run the block, then use the app it makes as a shopper would."""
    module = run_block(block, directory)
    app = getattr(module, "app", None)
    if app is None:
        return
    assert block.title in CHECKS, f"{block.where}: say what the app must do in CHECKS"
    with Shopper(app) as shopper:
        CHECKS[block.title](shopper, module, directory)


def check_apart(readme: str, line: int) -> None:
    """What a fresh interpreter runs for a block of :data:`APART`, in the newcomer's
    directory."""
    (block,) = [b for b in blocks(Path(readme)) if b.line == line]
    check_block(block, Path.cwd())


@pytest.mark.parametrize("block", PYTHON, ids=[block.where for block in PYTHON])
def test_python_block_runs_and_its_app_works(block: Block, newcomer: Path) -> None:
    if block.title not in APART:
        check_block(block, newcomer)
        return
    call = f"check_apart({str(block.readme)!r}, {block.line})"
    code = f"from tests.test_readme import check_apart; {call}"
    environment = {name: value for name, value in os.environ.items() if name != KEY}
    environment["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=newcomer,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{block.where}:\n{done.stdout}\n{done.stderr}"


def test_every_check_has_its_block() -> None:
    titles = [block.title for block in PYTHON]
    assert sorted(set(titles)) == sorted(CHECKS)


def test_the_quick_start_mistake_names_its_fix() -> None:
    """The README once read a signal that the default policy does not declare."""

    async def home(request: Request) -> PlainTextResponse:
        try:
            get_context(request).may_use("viewed_products")
        except ConsentError as error:
            return PlainTextResponse(str(error))
        return PlainTextResponse("no error")

    app = ConsentMiddleware(
        Starlette(routes=[Route("/", home)]),
        policy=ConsentPolicy.default(),
        secret_keys=["k" * 32],
        secure=False,
    )
    with Shopper(app) as shopper:
        message = shopper.get("/").text
    assert message.startswith("unknown signal 'viewed_products': declare it in the policy")
    assert "Signal(...)" in message


# -- the set-up commands, the examples' READMEs and what the package ships -----------------


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_readme_opens_with_the_two_set_up_commands() -> None:
    text = (ROOT / "README.md").read_text()
    quick_start = text[: text.index("\n## Quick start")].count("\n") + 2
    commands = [b for b in blocks(ROOT / "README.md") if b.line < quick_start]
    assert [b.language for b in commands] == ["sh", "sh"]
    demo, tests = (b.code.strip() for b in commands)
    assert demo.endswith('pip install -e ".[demo]" && python -m examples.demo_shop')
    assert tests.endswith('pip install -e ".[test]" && python -m pytest')
    extras = pyproject()["project"]["optional-dependencies"]
    assert (ROOT / "examples" / "demo_shop" / "__main__.py").exists()
    # The demo extra runs every example: the Starlette ones and the Flask ones.
    assert {re.split(r"[<>=\[]", d)[0] for d in extras["demo"]} == {"uvicorn", "flask"}
    assert "pytest>=8" in extras["test"]


def test_the_flask_shop_readme_shows_what_app_py_does() -> None:
    readme = ROOT / "examples" / "flask_shop" / "README.md"
    app = (ROOT / "examples" / "flask_shop" / "app.py").read_text().splitlines()
    (diff,) = [b for b in blocks(readme) if b.language == "diff"]
    hunks: list[list[str]] = []
    added: list[str] = []
    for line in diff.code.splitlines()[2:]:
        if line.startswith("@@"):
            hunks.append([])
        elif not line.startswith("-"):
            hunks[-1].append(line[1:])  # the hunk as app.py has it: context and added lines
            if line.startswith("+"):
                added.append(line[1:])
    position = 0
    for hunk in hunks:
        at = next((i for i in range(position, len(app)) if app[i : i + len(hunk)] == hunk), None)
        assert at is not None, "this part of the README is not in app.py:\n" + "\n".join(hunk)
        position = at + len(hunk)
    marked = [line for line in app if line.endswith("# consent")]
    assert [line for line in added if line.endswith("# consent")] == marked
    templates = "".join(path.read_text() for path in (readme.parent / "templates").glob("*.html"))
    (jinja,) = [b for b in blocks(readme) if b.language == "jinja"]
    for line in jinja.code.splitlines():
        assert line.split("{#")[0].strip() in templates, line


def sdist_includes(path: str) -> bool:
    include = pyproject()["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    return any(path == entry or path.startswith(entry.rstrip("/") + "/") for entry in include)


def test_everything_the_readmes_link_to_ships_in_the_sdist() -> None:
    for readme in READMES:
        for target in re.findall(r"\]\(([^)#]+)\)", readme.read_text()):
            if "://" in target:
                continue
            path = (readme.parent / target).resolve()
            assert path.exists(), f"{readme.name} links to {target}, which does not exist"
            assert sdist_includes(str(path.relative_to(ROOT))), f"{target} is not in the sdist"
    assert sdist_includes("LICENSE") and sdist_includes("docs/banner.png")


def test_the_license_is_the_one_the_metadata_names() -> None:
    assert pyproject()["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 consent_middleware developers" in text
