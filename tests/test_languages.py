"""The consent UI in the shop's languages: catalogues, negotiation, pages and the ledger."""

from __future__ import annotations

import asyncio
import gettext
import html
import io
import re
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jinja2
import pytest
import webtest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from consent_middleware import (
    ConsentMiddleware,
    ConsentOptions,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    PersonalisationContext,
    get_context,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.core.csrf import CsrfGuard
from consent_middleware.core.exceptions import ConfigurationError, ConsentError
from consent_middleware.core.inventory import SignalScope
from consent_middleware.core.languages import negotiate
from consent_middleware.core.reasons import SUGGESTED_FROM
from consent_middleware.interop import OneTrust
from consent_middleware.jinja import install
from consent_middleware.ledger.sqlite import SQLiteLedger
from consent_middleware.ui.translations import (
    DOMAIN,
    LOCALE_DIR,
    retention_texts,
    shipped_languages,
    translations,
)

from .apps import asgi_context
from .conftest import KEY

ROOT = Path(__file__).parent.parent
TRANSLATED = ("de", "fr", "es", "it", "nl", "pl", "pt")
POLICY = ConsentPolicy.from_toml(ROOT / "examples" / "policy.toml")
#: Source texts that read the same in a translation, by design.
SAME_BY_DESIGN = {"Global Privacy Control"}


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue(language: str) -> Any:
    with po_path(language).open("rb") as file:
        return read_po(file, locale=language)


# -- choosing the language -------------------------------------------------------------------

OFFER = ("en", "de", "fr", "pt")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, "en"),
        ("", "en"),
        ("de-CH, fr;q=0.8", "de"),
        ("fr;q=0.8, de-CH", "de"),
        ("de;q=0.5, fr;q=0.9", "fr"),
        ("pt-BR", "pt"),
        ("sv, nb;q=0.9", "en"),  # none offered: the shop's first
        ("sv, fr;q=0.1", "fr"),
        ("de;q=0, fr", "fr"),
        ("de;q=0, *", "en"),
        ("*", "en"),
        ("en;q=0, de;q=0, *;q=0.5", "fr"),
        ("DE-de", "de"),
        ("de-x-private", "de"),
        ("zh-Hant-TW, fr", "fr"),
        ("de;q=abc, fr", "fr"),  # a malformed weight drops its range only
        ("de;q=2, fr", "fr"),
        ("!!!, fr", "fr"),
        ("fr;q=0.8, de;q=0.8", "fr"),  # equal weights: the order sent
    ],
)
def test_accept_language_is_looked_up_as_rfc_4647_says(header: str | None, chosen: str) -> None:
    assert negotiate(header, OFFER) == chosen


def test_a_single_offer_needs_no_header() -> None:
    assert negotiate("fr", ("de",)) == "de"


def test_the_options_offer_english_unless_told() -> None:
    assert ConsentOptions(secret_keys=[KEY]).languages == ("en",)
    options = ConsentOptions(secret_keys=[KEY], languages=["DE", "en", "de"])
    assert options.languages == ("de", "en")


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        (["sv"], "languages entry 'sv' has no translation shipped: choose among en, de"),
        (["de_DE"], "languages entry 'de_DE' is not a language tag"),
        ([], "languages must name at least one language"),
        ("de", "languages must be a list of strings, not one string"),
    ],
)
def test_languages_without_a_catalogue_are_refused(languages: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        ConsentOptions(secret_keys=[KEY], languages=languages)


def test_the_language_option_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match=r"pass languages=\['fr'\]"):
        options = ConsentOptions(secret_keys=[KEY], language="fr")
    assert (options.languages, options.language) == (("fr",), None)
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigurationError, match="not the first"):
        ConsentOptions(secret_keys=[KEY], language="fr", languages=["de"])


def test_the_host_fixes_the_language_of_a_request() -> None:
    app = ConsentWSGIMiddleware(_host_app, secret_keys=[KEY], languages=["en", "it"])
    seen: list[str] = []

    def fixed(ctx: PersonalisationContext) -> None:
        ctx.language = "IT"
        seen.append(ctx.language)
        with pytest.raises(ConsentError, match=r"'sv' is not one the shop offers \(en, it\)"):
            ctx.language = "sv"

    page = webtest.TestApp(app).get("/", extra_environ={"test.hook": fixed})
    assert seen == ["it"]
    assert "Accetta tutto" in page.text


# -- the catalogues -----------------------------------------------------------------------------


def test_every_language_asked_for_is_shipped() -> None:
    assert set(shipped_languages()) == {"en", *TRANSLATED}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str) -> None:
    messages = [m for m in catalogue(language) if m.id]
    assert messages
    for message in messages:
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: {message.id!r} has no translation"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = sorted(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for string in strings:
            assert sorted(re.findall(r"%\(\w+\)[sd]", string)) == wanted, string


def test_polish_has_three_plural_forms() -> None:
    kept = retention_texts("pl")
    (signal, *_) = [s for s in POLICY.signals if s.scope is SignalScope.PERSISTENT]
    texts = [kept(replace(signal, retention=timedelta(days=n))) for n in (1, 3, 5, 22)]
    assert texts == [
        "przechowywane przez 1 dzień",
        "przechowywane przez 3 dni",
        "przechowywane przez 5 dni",
        "przechowywane przez 22 dni",
    ]
    hours = [kept(replace(signal, retention=timedelta(hours=n))) for n in (1, 3, 5, 22)]
    assert hours == [
        "przechowywane przez 1 godzinę",
        "przechowywane przez 3 godziny",
        "przechowywane przez 5 godzin",
        "przechowywane przez 22 godziny",
    ]
    history = [
        translations("pl").ngettext(
            "Your consent history (%(num)d choice) was deleted.",
            "Your consent history (%(num)d choices) was deleted.",
            n,
        )
        % {"num": n}
        for n in (1, 4, 12)
    ]
    assert [line.split("(")[1].split(")")[0] for line in history] == [
        "1 wybór",
        "4 wybory",
        "12 wyborów",
    ]


def test_the_catalogues_hold_every_text_of_the_package() -> None:
    """A text added to a template or the code without `pybabel extract` and `update` fails."""
    method_map = [
        ("consent_middleware/**.py", "python"),
        ("consent_middleware/ui/templates/**.html", "jinja2"),
    ]
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map):
        found.add(message if isinstance(message, str) else message[0])
    for language in TRANSLATED:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue(language) if m.id}
        assert ids == found, f"{language}: run pybabel extract and pybabel update"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_shipped_mo_files_are_compiled_from_the_po_files(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as file:
        shipped = gettext.GNUTranslations(file)
    assert shipped._catalog == fresh._catalog, (  # type: ignore[attr-defined]
        f"recompile: pybabel compile -d consent_middleware/ui/locale -D {DOMAIN}"
    )


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
def test_accept_all_and_reject_all_keep_equal_weight(language: str) -> None:
    accept = translations(language).gettext("Accept all")
    reject = translations(language).gettext("Reject all")
    assert max(len(accept), len(reject)) <= 1.5 * min(len(accept), len(reject))


# -- the pages ----------------------------------------------------------------------------------

_ENV = install(jinja2.Environment(autoescape=True))
_PAGE = _ENV.from_string(
    '<html lang="{{ consent.language }}"><body>{{ consent_banner() }}'
    "{{ why(reason) }}{{ privacy_choices_link() }}</body></html>"
)


def _host_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    ctx = get_context(environ)
    hook = environ.get("test.hook")
    if hook is not None:
        hook(ctx)
    body = _PAGE.render(consent=ctx, reason=ctx.general_reason())
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body.encode()]


def _shop(tmp_path: Path | None = None) -> webtest.TestApp:
    ledger = None if tmp_path is None else f"sqlite:///{tmp_path}/ledger.db"
    app = ConsentWSGIMiddleware(
        _host_app,
        secret_keys=[KEY],
        policy=POLICY,
        secure=False,
        languages=["en", *TRANSLATED],
        ledger=ledger,
    )
    return webtest.TestApp(app)


class _Text(HTMLParser):
    """The text a shopper reads: text nodes and the values of buttons' labels, no markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def shown_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    text = " ".join(" ".join(parser.parts).split())
    # The policy's own labels and descriptions are the shop's texts, in English here.
    for text_of_shop in sorted(_policy_texts(), key=len, reverse=True):
        text = text.replace(text_of_shop, "")
    return text


def _policy_texts() -> set[str]:
    texts = set()
    for item in (*POLICY.purposes, *POLICY.signals):
        texts.add(item.label)
        texts.add(item.label.lower())
        if item.description:
            texts.add(item.description)
    return {t for t in texts if t}


def source_texts(language: str) -> list[str]:
    """The catalogue's English texts as a shopper reads them, where the translation differs."""
    texts = []
    for message in catalogue(language):
        if not message.id:
            continue
        for source in message.id if isinstance(message.id, tuple) else (message.id,):
            for part in re.split(r"%\(\w+\)[sd]", html.unescape(source)):
                part = part.strip(" .,:;()")
                if len(part) > 3 and part not in SAME_BY_DESIGN:
                    texts.append(part)
    return texts


def assert_no_english(page: str, language: str) -> None:
    text = shown_text(page)
    for source in source_texts(language):
        assert source not in text, f"{language}: English left: {source!r} in {text!r}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_language_shows_no_english(language: str) -> None:
    shop = _shop()
    header = {"Accept-Language": f"{language}, en;q=0.5"}
    for path in ("/", "/consent", "/consent/why"):
        page = shop.get(path, headers=header)
        assert f'<html lang="{language}">' in page.text
        assert_no_english(page.text, language)
    home = shop.get("/", headers=header).text
    accept, reject = (translations(language).gettext(m) for m in ("Accept all", "Reject all"))
    # The same element and style for both: only their text differs.
    assert (
        f'<button type="submit" class="consent-button" name="action" value="accept_all">'
        f"{html.escape(accept)}</button>"
    ) in home
    assert (
        f'<button type="submit" class="consent-button" name="action" value="reject_all">'
        f"{html.escape(reject)}</button>"
    ) in home


_PERSONAL_PAGE = _ENV.from_string(
    '<html lang="{{ consent.language }}"><body>{{ why(reason) }}</body></html>'
)


def _personal_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A shelf picked from this visit, with the reason ctx.reason() writes itself."""
    ctx = get_context(environ)
    reason = ctx.reason("viewed_products") if ctx.may_use("viewed_products") else None
    body = _PERSONAL_PAGE.render(consent=ctx, reason=reason or ctx.general_reason())
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [body.encode()]


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_choice_made_in_another_consent_manager_shows_no_english(language: str) -> None:
    app = ConsentWSGIMiddleware(
        _personal_app,
        secret_keys=[KEY],
        policy=POLICY,
        secure=False,
        languages=["en", *TRANSLATED],
        external=[OneTrust()],
    )
    shop = webtest.TestApp(app)
    # OneTrust's record of a shopper who allowed functional cookies.
    shop.set_cookie("OptanonConsent", "interactionCount=1&groups=C0001%3A1%2CC0003%3A1")
    header = {"Accept-Language": language}
    catalogue = translations(language)
    said = catalogue.gettext(SUGGESTED_FROM).partition("%")[0]
    home = shop.get("/", headers=header).text
    assert html.escape(said, quote=False) in home
    for page in (home, shop.get("/consent", headers=header).text):
        assert "OneTrust" in page  # the sentence naming the other banner is there
        assert_no_english(page, language)
    why_page = shop.get("/consent/why", headers=header).text
    assert "OneTrust" in why_page
    assert_no_english(why_page, language)
    # Preferences are kept under a choice made here only: the refusal says so.
    centre = shop.get("/consent", headers=header).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', centre)
    assert token is not None
    refused = shop.post(
        "/consent",
        {"action": "save_preferences", "csrf_token": html.unescape(token.group(1))},
        headers={"Origin": "http://localhost", **header},
        expect_errors=True,
    )
    assert refused.status_int == 403
    assert catalogue.gettext("Save your privacy choices here first.") in refused.text
    assert_no_english(refused.text, language)


def test_the_checks_would_see_english() -> None:
    """The check above fails on an English page."""
    page = _shop().get("/consent", headers={"Accept-Language": "en"}).text
    assert '<html lang="en">' in page
    with pytest.raises(AssertionError, match="English left"):
        assert_no_english(page, "de")


def test_an_unknown_language_gets_the_shops_first() -> None:
    page = _shop().get("/consent", headers={"Accept-Language": "sv, nb;q=0.8"}).text
    assert '<html lang="en">' in page
    assert "Accept all" in page


def test_the_ledger_records_the_language_shown(tmp_path: Path) -> None:
    shop = _shop(tmp_path)
    page = shop.get("/consent", headers={"Accept-Language": "pl"}).text
    assert 'name="language" value="pl"' in page
    token = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    fields = {"action": "accept_all", "csrf_token": token, "next": "/", "language": "pl"}
    # The form was shown in Polish; this request's own header does not change that.
    answer = shop.post(
        "/consent", fields, headers={"Origin": "http://localhost", "Accept-Language": "de"}
    )
    assert answer.status_int == 303
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    deadline = time.monotonic() + 10
    events: list[Any] = []
    while not events and time.monotonic() < deadline:
        events = list(ledger.events())
        time.sleep(0.01)
    ledger.close()
    assert [event.language for event in events] == ["pl"]


def test_an_error_page_is_in_the_shoppers_language() -> None:
    shop = _shop()
    page = shop.post(
        "/consent",
        {"action": "accept_all", "csrf_token": "forged"},
        headers={"Origin": "http://localhost", "Accept-Language": "fr"},
        expect_errors=True,
    )
    assert page.status_int == 403
    assert '<html lang="fr">' in page.text
    assert "Votre choix n’a pas été enregistré" in page.text
    assert_no_english(page.text, "fr")


def test_an_asgi_page_reads_the_header_through_get_context() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from consent_middleware import ConsentMiddleware

    async def home(request: Request) -> HTMLResponse:
        ctx = get_context(request)
        return HTMLResponse(_PAGE.render(consent=ctx, reason=ctx.general_reason()))

    app = ConsentMiddleware(
        Starlette(routes=[Route("/", home)]),
        secret_keys=[KEY],
        secure=False,
        languages=["en", "nl"],
    )

    async def visit() -> str:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            answer = await client.get("/", headers={"Accept-Language": "nl-BE"})
            return answer.text

    page = asyncio.run(visit())
    assert '<html lang="nl">' in page
    assert_no_english(page, "nl")


def test_a_page_without_the_consent_ui_never_reads_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unexpected(*args: object) -> str:
        raise AssertionError("Accept-Language was read for a page without the consent UI")

    monkeypatch.setattr("consent_middleware.core.context.negotiate", unexpected)

    def plain(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ctx = get_context(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [ctx.mode.value.encode()]

    app = ConsentWSGIMiddleware(plain, secret_keys=[KEY], languages=["en", "de"])
    page = webtest.TestApp(app).get("/", headers={"Accept-Language": "de"})
    assert page.text == "non_personalised"
    with pytest.raises(AssertionError, match="was read"):
        _shop().get("/", headers={"Accept-Language": "de"})


def test_why_keeps_each_language_apart_in_one_environment() -> None:
    env = install(jinja2.Environment(autoescape=True))
    template = env.from_string("{{ why(r) }}")
    granted = POLICY.grant(POLICY.accept_all_ids)
    csrf = CsrfGuard([KEY.encode()], "csrf")
    host = SimpleNamespace(languages=("en", "de", "fr"), csrf=csrf)
    cookies = f"csrf={csrf.new_nonce()}"  # one browser: the same form token each time
    shown: dict[str, str] = {}
    for header in ("de", "fr", "de-AT", "en"):
        state = ConsentState("id-1", granted, int(time.time()))
        ctx = PersonalisationContext(POLICY, state, host=host, cookie_header=cookies)  # type: ignore[arg-type]
        ctx.accept_language(header)
        signal = next(s.id for s in POLICY.signals if ctx.may_use(s.id))
        html_ = template.render(consent=ctx, r=ctx.reason(signal, text="X"))
        shown.setdefault(ctx.language, html_)
        assert shown[ctx.language] == html_
    assert "Warum sehe ich das?" in shown["de"]
    assert "Pourquoi est-ce que je vois ceci" in shown["fr"]
    assert "Why am I seeing this?" in shown["en"]


def test_a_context_read_from_the_scope_has_the_shoppers_language() -> None:
    # Read from scope["consent"], with no get_context() on the way.
    middleware = ConsentMiddleware(None, secret_keys=[KEY], languages=["en", "de"])
    seen = [
        asgi_context(
            middleware, {"type": "http", "method": "GET", "path": "/", "headers": h}
        ).language
        for h in ([(b"accept-language", b"de-CH, fr;q=0.8")], [(b"sec-gpc", b"1")])
    ]
    assert seen == ["de", "en"]
