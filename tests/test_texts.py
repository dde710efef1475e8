"""Policy texts per language: given in Python and TOML, checked, and chosen for a language."""

from __future__ import annotations

import copy
import html
import json
import pickle
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import pytest
import webtest

from consent_middleware import (
    ConfigurationError,
    ConsentOptions,
    ConsentPolicy,
    ConsentWSGIMiddleware,
    Purpose,
    Signal,
    get_context,
)
from consent_middleware.core.policy_rules import missing_texts, policy_languages
from consent_middleware.jinja import install
from consent_middleware.ui.translations import shipped_languages

from .conftest import KEY, make_cookie

PERSONALISATION = {"en": "Personalisation", "de": "Personalisierung", "fr": "Personnalisation"}


def _policy(**ads: Any) -> ConsentPolicy:
    return ConsentPolicy(
        [
            Purpose("necessary", {"en": "Necessary", "de": "Notwendig"}, required=True),
            Purpose("ads", **{"label": {"en": "Ads", "de": "Werbung"}, **ads}),
        ],
        version="1",
        signals=[Signal("seen", {"en": "Products seen", "de": "Angesehene Produkte"}, "ads")],
    )


def test_a_label_per_language_reads_as_its_first_text() -> None:
    purpose = Purpose("personalisation", PERSONALISATION, description="Plain, for everyone.")
    # Code written for plain labels keeps working: the label is a string.
    assert isinstance(purpose.label, str)
    assert purpose.label == "Personalisation"
    assert f"{purpose.label}!" == "Personalisation!"
    assert purpose.label.upper() == "PERSONALISATION"
    assert purpose.label_for("de") == "Personalisierung"
    assert purpose.description_for("de") == "Plain, for everyone."


@pytest.mark.parametrize(
    ("language", "fallback", "shown"),
    [
        pytest.param("de", None, "Personalisierung", id="given"),
        pytest.param("DE", None, "Personalisierung", id="any-case"),
        pytest.param("de-CH", None, "Personalisierung", id="broader-tag"),
        pytest.param("de-x-private", None, "Personalisierung", id="private-use"),
        pytest.param("it", "fr", "Personnalisation", id="the-shops-first"),
        pytest.param("it", "pl", "Personalisation", id="the-first-given"),
        pytest.param("it", None, "Personalisation", id="no-fallback"),
    ],
)
def test_the_text_of_a_language_is_chosen_by_the_documented_rule(
    language: str, fallback: str | None, shown: str
) -> None:
    signal = Signal("seen", PERSONALISATION, "ads", description=PERSONALISATION)
    assert signal.label_for(language, fallback) == shown
    assert signal.description_for(language, fallback) == shown


def test_texts_per_language_survive_replace_copy_and_pickle() -> None:
    purpose = Purpose("personalisation", PERSONALISATION)
    for other in (
        replace(purpose, cookies=("prefs",)),
        copy.deepcopy(purpose),
        pickle.loads(pickle.dumps(purpose)),
    ):
        assert other.label_for("de") == "Personalisierung"


def test_purposes_differing_in_one_translation_are_not_equal() -> None:
    first = Purpose("ads", {"en": "Ads", "de": "Werbung"})
    second = Purpose("ads", {"en": "Ads", "de": "Reklame"})
    assert first != second
    assert first == Purpose("ads", {"en": "Ads", "de": "Werbung"})
    assert first.label == "Ads"  # against a plain string, the text it reads as


def test_a_policy_file_gives_texts_per_language(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        """
version = "1"
[[purposes]]
id = "necessary"
label = { en = "Strictly necessary", de = "Unbedingt erforderlich" }
required = true

[[purposes]]
id = "personalisation"
label = { en = "Remember my preferences", de = "Meine Vorlieben merken" }
description = "One text for every language."

[[signals]]
id = "favourites"
purpose = "personalisation"
scope = "persistent"
retention_days = 30

[signals.label]
en = "Categories you like"
de = "Kategorien, die Sie mögen"
"""
    )
    policy = ConsentPolicy.from_toml(path)
    assert policy.purpose("necessary").label_for("de") == "Unbedingt erforderlich"
    assert policy.purpose("personalisation").label == "Remember my preferences"
    assert policy.purpose("personalisation").description_for("de") == (
        "One text for every language."
    )
    assert policy.signal("favourites").label_for("de-AT") == "Kategorien, die Sie mögen"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        pytest.param({}, "label is an empty mapping: give one text per language", id="empty"),
        pytest.param({"english": "Ads"}, "'english', which is not a language tag", id="not-a-tag"),
        pytest.param({"en_GB": "Ads"}, "'en_GB', which is not a language tag", id="underscore"),
        pytest.param({1: "Ads"}, "a text for 1, which is not a language tag", id="not-a-string"),
        pytest.param({"en": ""}, "label in 'en' must be a non-empty string", id="empty-text"),
        pytest.param({"en": 3}, "label in 'en' must be a non-empty string", id="not-a-text"),
        pytest.param(
            {"en": "Ads", "EN": "Adverts"}, "gives 'en' and 'EN', the same language", id="twice"
        ),
        pytest.param(["Ads"], "or one text per language such as", id="a-list"),
    ],
)
def test_a_text_per_language_is_checked_when_made(label: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        Purpose("ads", label)
    assert str(info.value).startswith("purpose 'ads': label")
    with pytest.raises(ConfigurationError, match=message.replace("label", "description")):
        Signal("seen", "Seen", "ads", description=label)


def test_a_policy_file_names_the_text_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        'version = "1"\n[[purposes]]\nid = "necessary"\nrequired = true\n'
        'label = { en = "Necessary", deutsch = "Notwendig" }\n'
    )
    with pytest.raises(ConfigurationError) as info:
        ConsentPolicy.from_toml(path)
    assert str(path) in str(info.value)
    assert "purpose 'necessary': label has a text for 'deutsch'" in str(info.value)


def test_the_shops_first_language_must_have_every_text() -> None:
    policy = _policy(description={"de": "Nur auf Deutsch"})
    with pytest.raises(ConfigurationError) as info:
        ConsentOptions(secret_keys=[KEY], policy=policy, languages=["en", "de"])
    assert str(info.value) == (
        "policy has no text in 'en', the shop's first language (shown when a shopper's "
        "language has none), for purpose 'ads' description: add a text in 'en' to each, or "
        "list first in languages=[...] a language every text has"
    )
    # German first: every text has one.
    assert ConsentOptions(secret_keys=[KEY], policy=policy, languages=["de", "en"])
    # Plain strings are one text for every language.
    assert ConsentOptions(secret_keys=[KEY], languages=["fr"])


def test_the_rules_list_the_languages_and_the_gaps() -> None:
    policy = _policy(description="Plain")
    assert policy_languages(policy.purposes, policy.signals) == ("en", "de")
    assert missing_texts(policy.purposes, policy.signals, "de") == []
    assert missing_texts(policy.purposes, policy.signals, "fr") == [
        "purpose 'necessary' label",
        "purpose 'ads' label",
        "signal 'seen' label",
    ]
    assert missing_texts(policy.purposes, policy.signals, "de", plain=True) == [
        "purpose 'ads' description"
    ]


# -- shown in the shopper's language ------------------------------------------------------------

SHOP_POLICY = ConsentPolicy(
    [
        Purpose(
            "necessary",
            {"en": "Strictly necessary", "de": "Unbedingt erforderlich", "fr": "Indispensable"},
            description={"en": "Keeps your basket.", "de": "Hält Ihren Warenkorb."},
            required=True,
        ),
        # No French: a French shopper reads the shop's first language.
        Purpose(
            "session_personalisation",
            {"en": "Tailor this visit", "de": "Diesen Besuch anpassen"},
            description={"en": "From what you look at now.", "de": "Aus dem, was Sie ansehen."},
        ),
        Purpose("analytics", {"en": "Count visits", "de": "Besuche zählen", "fr": "Compter"}),
    ],
    version="1",
    signals=[
        Signal(
            "viewed_products",
            {"en": "Products you viewed", "de": "Angesehene Produkte", "fr": "Produits vus"},
            "session_personalisation",
            description={"en": "Forgotten when you leave.", "de": "Vergessen, wenn Sie gehen."},
        )
    ],
)
ENGLISH = [
    "Strictly necessary",
    "Keeps your basket.",
    "Tailor this visit",
    "From what you look at now.",
    "Products you viewed",
    "Forgotten when you leave.",
    "Count visits",
]
_ENV = install(jinja2.Environment(autoescape=True))
_PAGE = _ENV.from_string(
    "{{ consent_banner() }}{{ why(reason) }}{{ preference_centre() }}{{ privacy_choices_link() }}"
)


def _host(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    ctx = get_context(environ)
    used = ctx.may_use("viewed_products")
    reason = ctx.reason("viewed_products") if used else ctx.general_reason()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [_PAGE.render(consent=ctx, reason=reason).encode()]


def _shop(languages: list[str]) -> webtest.TestApp:
    app = ConsentWSGIMiddleware(
        _host, secret_keys=[KEY], policy=SHOP_POLICY, secure=False, languages=languages
    )
    return webtest.TestApp(app)


def _read(page: str) -> str:
    return html.unescape(page)


def test_a_german_shopper_reads_the_policy_in_german() -> None:
    shop = _shop(["en", "de", "fr"])
    german = {"Accept-Language": "de-DE"}
    banner = _read(shop.get("/", headers=german).text)
    assert "Diesen Besuch anpassen; Besuche zählen." in banner  # the banner lists the purposes
    centre = _read(shop.get("/consent", headers=german).text)
    why_page = _read(shop.get("/consent/why", headers=german).text)
    for text in (
        "Unbedingt erforderlich",
        "Hält Ihren Warenkorb.",
        "Diesen Besuch anpassen",
        "Aus dem, was Sie ansehen.",
        "Angesehene Produkte",
        "Vergessen, wenn Sie gehen.",
    ):
        assert text in centre
    assert "Angesehene Produkte: Vergessen, wenn Sie gehen. (Diesen Besuch anpassen)" in why_page
    cookie = make_cookie(
        ("session_personalisation",), decided_at=int(time.time()), policy=SHOP_POLICY
    )
    shelf = _read(shop.get("/", headers={**german, "Cookie": f"consent={cookie}"}).text)
    # ctx.reason() wrote its own sentence: in German, with the German label (capitalised).
    assert "Grundlage dieses Vorschlags: Angesehene Produkte." in shelf
    assert "Angesehene Produkte, gemäß Ihrer Auswahl „Diesen Besuch anpassen“" in shelf
    for page in (banner, centre, why_page, shelf):
        for english in ENGLISH:
            assert english not in page


def test_a_language_without_a_text_reads_the_shops_first() -> None:
    french = {"Accept-Language": "fr"}
    english_first = _read(_shop(["en", "de", "fr"]).get("/consent", headers=french).text)
    assert "Indispensable" in english_first
    assert "Tailor this visit" in english_first
    assert "Keeps your basket." in english_first
    # The shop's first language, not the first text given.
    german_first = _read(_shop(["de", "en", "fr"]).get("/consent", headers=french).text)
    assert "Diesen Besuch anpassen" in german_first
    assert "Tailor this visit" not in german_first
    assert "Hält Ihren Warenkorb." in german_first


def test_an_english_shopper_reads_the_texts_as_before() -> None:
    shop = _shop(["en", "de"])
    cookie = make_cookie(
        ("session_personalisation",), decided_at=int(time.time()), policy=SHOP_POLICY
    )
    shelf = _read(
        shop.get("/", headers={"Accept-Language": "en", "Cookie": f"consent={cookie}"}).text
    )
    assert "Suggested from products you viewed." in shelf
    assert "Products you viewed, under your choice “Tailor this visit”" in shelf


def test_the_download_names_its_language() -> None:
    shop = _shop(["en", "de"])
    download = shop.get("/consent/data", headers={"Accept-Language": "de"})
    assert json.loads(download.text)["language"] == "de"


@pytest.mark.parametrize("language", shipped_languages())
def test_the_default_policy_is_shown_in_every_shipped_language(language: str) -> None:
    policy = ConsentPolicy.default()
    assert missing_texts(policy.purposes, policy.signals, language) == []
    app = ConsentWSGIMiddleware(
        _host, secret_keys=[KEY], secure=False, languages=["en", *shipped_languages()]
    )
    centre = _read(webtest.TestApp(app).get("/consent", headers={"Accept-Language": language}).text)
    for purpose in policy.purposes:
        assert purpose.label_for(language) in centre
        assert purpose.description_for(language) in centre
        if language != "en":
            assert purpose.label not in centre
            assert purpose.description not in centre


def test_the_order_of_the_texts_counts() -> None:
    english_first = Purpose("ads", {"en": "Ads", "de": "Werbung"})
    german_first = Purpose("ads", {"de": "Werbung", "en": "Ads"})
    assert german_first.label == "Werbung"  # the first text given
    assert english_first != german_first
