"""Other consent managers' cookies, as their scripts write them, read into grants; every
configuration mistake named at construction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest

from consent_middleware import ConfigurationError, ConsentPolicy, ConsentWSGIMiddleware, Purpose
from consent_middleware.core.cookiebot import cookiebot_record
from consent_middleware.core.external import MAX_EXTERNAL_VALUE, ExternalReader
from consent_middleware.core.onetrust import onetrust_groups
from consent_middleware.interop import (
    DEFAULT_ONETRUST_GROUPS,
    TCF,
    Cookiebot,
    ExternalDecision,
    ExternalSource,
    OneTrust,
)
from consent_middleware.web.options import ConsentOptions

from .conftest import KEY
from .tc_encoder import encode_tc_string
from .test_tc_string import IABTCF_CLI, VERSION_1, tc

POLICY = ConsentPolicy.default()
NECESSARY = frozenset({"necessary"})
PERSONAL = frozenset({"necessary", "session_personalisation", "personalisation"})


def grants(source: ExternalSource[Any], value: str) -> frozenset[str] | None:
    decision = ExternalReader(POLICY, [source]).read(f"a=1; {source.cookie}={value}; b=2")
    return None if decision is None else decision.granted


# -- OneTrust ---------------------------------------------------------------------------------


def optanon(groups: str, **fields: str) -> str:
    """An ``OptanonConsent`` value as OneTrust's script writes it after the visitor chose."""
    record = {
        "isGpcEnabled": "0",
        "datestamp": "Thu Nov 28 2024 10:14:44 GMT+0100 (Central European Standard Time)",
        "version": "202409.1.0",
        "browserGpcFlag": "0",
        "isIABGlobal": "false",
        "hosts": "",
        "consentId": "6b1a7c3e-2f4d-4f6a-9c1e-0a2b3c4d5e6f",
        "interactionCount": "1",
        "isAnonUser": "1",
        "landingPath": "NotLandingPage",
        "groups": groups,
        "AwaitingReconsent": "false",
        "geolocation": "DE;BY",
        **fields,
    }
    return "&".join(f"{k}={quote(v, safe='()').replace('%20', '+')}" for k, v in record.items())


TYPICAL_OPTANON = optanon("C0001:1,C0002:1,C0003:0,C0004:0")


def test_a_typical_optanon_value_is_url_encoded_as_the_tests_assume() -> None:
    assert "groups=C0001%3A1%2CC0002%3A1%2CC0003%3A0%2CC0004%3A0&" in TYPICAL_OPTANON
    assert "datestamp=Thu+Nov+28+2024+10%3A14%3A44+GMT%2B0100+(Central" in TYPICAL_OPTANON


@pytest.mark.parametrize(
    ("value", "granted"),
    [
        pytest.param(TYPICAL_OPTANON, {"analytics"}, id="analytics-only"),
        pytest.param(
            optanon("C0001:1,C0002:0,C0003:1,C0004:1"),
            {"session_personalisation", "personalisation", "marketing"},
            id="functional-and-targeting",
        ),
        pytest.param(optanon("C0001:1,C0002:0,C0003:0,C0004:0"), set(), id="rejected-all"),
        pytest.param(
            TYPICAL_OPTANON.replace("%3A", ":").replace("%2C", ","), {"analytics"}, id="unencoded"
        ),
        pytest.param(
            TYPICAL_OPTANON.replace("%3A", "%3a").replace("%2C", "%2c"), {"analytics"}, id="lower"
        ),
        pytest.param(quote(TYPICAL_OPTANON, safe=""), {"analytics"}, id="encoded-twice"),
        pytest.param(
            TYPICAL_OPTANON.replace("%3A", "%253A").replace("%2C", "%252C"),
            {"analytics"},
            id="groups-encoded-twice",
        ),
        pytest.param(f'"{TYPICAL_OPTANON}"', {"analytics"}, id="quoted"),
        pytest.param(
            optanon("C0001:1,C0002:1,C0005:1,STACK42:1,V2STACK42:0,SPD_BG:1,BG12:1,C0004:0"),
            {"analytics"},
            id="unknown-groups",
        ),
        pytest.param(
            optanon("C0004:1,C0001:1,C0003:1"), PERSONAL - NECESSARY | {"marketing"}, id="any-order"
        ),
        pytest.param(
            optanon("C0001:1,C0002:1,C0003:1,C0003:0"), {"analytics"}, id="conflicting-group"
        ),
        pytest.param(optanon("C0002:1,C0002:1"), {"analytics"}, id="repeated-group"),
        pytest.param(
            optanon("C0002:1,C0003:true,C0004:yes,C0003: 1,:1,C0004"), {"analytics"}, id="odd"
        ),
        pytest.param(
            "interactionCount=2&groups=C0001%3A1%2CC0002%3A1", {"analytics"}, id="few-fields"
        ),
        pytest.param("groups=C0001%3A1%2CC0002%3A1", {"analytics"}, id="no-interaction-count"),
        pytest.param(
            optanon("C0001:1,C0002:1", AwaitingReconsent="true"),
            {"analytics"},
            id="awaiting-reconsent",
        ),
    ],
)
def test_onetrust_groups_grant_their_purposes(value: str, granted: set[str]) -> None:
    assert grants(OneTrust(), value) == NECESSARY | granted


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(optanon("C0001:1,C0002:1", interactionCount="0"), id="before-interaction"),
        pytest.param(TYPICAL_OPTANON.replace("&groups=", "&other="), id="no-groups"),
        pytest.param(optanon(""), id="empty-groups"),
        pytest.param(optanon("C0002"), id="group-without-state"),
        pytest.param(optanon("C0002:true,C0003:yes,C0004:2"), id="only-odd-entries"),
        pytest.param(TYPICAL_OPTANON + "&groups=C0002%3A0", id="two-groups-fields"),
        pytest.param("", id="empty"),
        pytest.param("-1", id="minus-one"),
        pytest.param("hello", id="word"),
        pytest.param("%%%", id="bad-escapes"),
        pytest.param("groups", id="name-only"),
        pytest.param("&" * 500 + "groups=C0002:1", id="too-many-fields"),
        pytest.param("\x00\x01groups=\xff", id="binary"),
        pytest.param('{"groups":"C0002:1"}', id="json"),
    ],
)
def test_an_optanon_value_without_a_choice_decides_nothing(value: str) -> None:
    assert grants(OneTrust(), value) is None


def test_onetrust_groups_reads_every_group_it_lists() -> None:
    assert onetrust_groups(optanon("C0001:1,C0002:0,SPD_BG:1")) == {
        "C0001": True,
        "C0002": False,
        "SPD_BG": True,
    }


def test_onetrust_mapping_is_configurable_and_a_purpose_needs_all_its_groups() -> None:
    social = OneTrust(groups={**DEFAULT_ONETRUST_GROUPS, "C0005": "marketing"})
    assert grants(social, optanon("C0004:1,C0005:0")) == NECESSARY
    assert grants(social, optanon("C0004:1,C0005:1")) == NECESSARY | {"marketing"}
    only = OneTrust(groups={"C0003": "session_personalisation"})
    assert grants(only, optanon("C0002:1,C0003:1,C0004:1")) == {
        "necessary",
        "session_personalisation",
    }


def test_a_mapping_grants_what_its_purposes_imply() -> None:
    assert grants(OneTrust(groups={"C0003": "personalisation"}), optanon("C0003:1")) == PERSONAL


# -- Cookiebot ----------------------------------------------------------------------------


def cookie_consent(
    preferences: bool,
    statistics: bool,
    marketing: bool,
    *,
    method: str = "explicit",
    safe: str = "{}:",
) -> str:
    """A ``CookieConsent`` value as Cookiebot's script writes it."""

    def js(flag: bool) -> str:
        return "true" if flag else "false"

    literal = (
        "{stamp:'qLv3jbmWBtwBGsMS+E2s5v2JSQoZfPZH7hM0r5wx8BmBzRy5A0KPMQ==',necessary:true,"
        f"preferences:{js(preferences)},statistics:{js(statistics)},marketing:{js(marketing)},"
        f"method:'{method}',ver:2,utc:1732785284551,region:'de'}}"
    )
    return quote(literal, safe=safe)


TYPICAL_COOKIEBOT = cookie_consent(False, True, False)


def test_a_typical_cookiebot_value_is_encoded_as_the_tests_assume() -> None:
    assert TYPICAL_COOKIEBOT.startswith("{stamp:%27qLv3jbmWBtwBGsMS%2BE2s5v2")
    assert "%3D%3D%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2C" in (
        TYPICAL_COOKIEBOT
    )
    assert TYPICAL_COOKIEBOT.endswith("%2Cregion:%27de%27}")


@pytest.mark.parametrize(
    ("value", "granted"),
    [
        pytest.param(TYPICAL_COOKIEBOT, {"analytics"}, id="statistics"),
        pytest.param(
            cookie_consent(True, True, True),
            PERSONAL - NECESSARY | {"analytics", "marketing"},
            id="accept-all",
        ),
        pytest.param(cookie_consent(False, False, False), set(), id="necessary-only"),
        pytest.param(cookie_consent(True, False, False), PERSONAL - NECESSARY, id="preferences"),
        pytest.param(
            cookie_consent(False, True, False, method="implied"), {"analytics"}, id="implied"
        ),
        pytest.param(cookie_consent(False, True, False, safe=""), {"analytics"}, id="all-encoded"),
        pytest.param(
            quote(cookie_consent(False, True, False, safe=""), safe=""),
            {"analytics"},
            id="encoded-twice",
        ),
        pytest.param(
            TYPICAL_COOKIEBOT.replace("%27", "'").replace("%2C", ","), {"analytics"}, id="plain"
        ),
        pytest.param(f'"{TYPICAL_COOKIEBOT}"', {"analytics"}, id="quoted"),
        pytest.param(
            quote("{'stamp':'x','necessary':true,\"statistics\":true}", safe=""),
            {"analytics"},
            id="quoted-keys",
        ),
        pytest.param(
            quote(
                "{stamp:'x',necessary:true,preferences:false,statistics:true,marketing:true,"
                "method:'explicit',ver:11,utc:1732785284551,iab2:'CQI...AAA',"
                "gacm:'2~~dv.',region:'fr'}",
                safe="{}:",
            ),
            {"analytics", "marketing"},
            id="with-iab2-and-gacm",
        ),
        pytest.param(
            quote("{ stamp : 'x' , statistics : true , marketing : false }", safe="{}:"),
            {"analytics"},
            id="spaces",
        ),
        pytest.param(
            quote("{stamp:'x',statistics:true,statistics:false,marketing:true}", safe="{}:"),
            {"marketing"},
            id="conflicting-category",
        ),
        pytest.param(
            quote("{stamp:'x',statistics:true,statistics:true}", safe="{}:"),
            {"analytics"},
            id="repeated-category",
        ),
        pytest.param(
            quote("{stamp:'x',statistics:1,marketing:'yes',preferences:True}", safe="{}:"),
            set(),
            id="only-true-is-true",
        ),
        pytest.param(
            quote("{stamp:'x',necessary:true,statistics:true,}", safe="{}:"),
            {"analytics"},
            id="trailing-comma",
        ),
    ],
)
def test_cookiebot_categories_grant_their_purposes(value: str, granted: set[str]) -> None:
    assert grants(Cookiebot(), value) == NECESSARY | granted


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("-1", id="no-consent-required"),
        pytest.param("%2D1", id="no-consent-required-encoded"),
        pytest.param('"-1"', id="no-consent-required-quoted"),
        pytest.param(
            quote("{stamp:'-1',necessary:true,preferences:true,statistics:true,marketing:true}"),
            id="stamp-minus-one",
        ),
        pytest.param("", id="empty"),
        pytest.param("{}", id="empty-object"),
        pytest.param(quote("{stamp:'x',method:'explicit'}", safe="{}:"), id="no-category"),
        pytest.param("true", id="word"),
        pytest.param("{stamp:'x',statistics:true", id="unclosed"),
        pytest.param("{statistics:{a:true}}", id="nested"),
        pytest.param("{stamp:'x,statistics:true}", id="unclosed-quote"),
        pytest.param("{:true}", id="no-key"),
        pytest.param("%7B%ZZ%7D", id="bad-escape"),
        pytest.param("{" + "a:1," * 2000 + "statistics:true}", id="long"),
    ],
)
def test_a_cookiebot_value_without_a_choice_decides_nothing(value: str) -> None:
    assert grants(Cookiebot(), value) is None


def test_cookiebot_record_keeps_the_fields_unquoted() -> None:
    assert cookiebot_record(TYPICAL_COOKIEBOT) == {
        "stamp": "qLv3jbmWBtwBGsMS+E2s5v2JSQoZfPZH7hM0r5wx8BmBzRy5A0KPMQ==",
        "necessary": "true",
        "preferences": "false",
        "statistics": "true",
        "marketing": "false",
        "method": "explicit",
        "ver": "2",
        "utc": "1732785284551",
        "region": "de",
    }


def test_cookiebot_mapping_is_configurable() -> None:
    both = Cookiebot(categories={"statistics": "analytics", "marketing": ["analytics"]})
    assert grants(both, TYPICAL_COOKIEBOT) == NECESSARY
    assert grants(both, cookie_consent(False, True, True)) == NECESSARY | {"analytics"}


# -- TCF ----------------------------------------------------------------------------------


def tc_string(*purposes: int, vendors: frozenset[int] = frozenset({2, 755})) -> str:
    return encode_tc_string(tc(purposes_consent=frozenset(purposes), vendor_consents=vendors))


@pytest.mark.parametrize(
    ("purposes", "granted"),
    [
        pytest.param((1, 5, 6), PERSONAL - NECESSARY, id="content"),
        pytest.param((1, 3, 4), {"marketing"}, id="ads"),
        pytest.param((1, 8), {"analytics"}, id="measurement"),
        pytest.param((5, 6, 3, 4, 8), set(), id="without-purpose-1"),
        pytest.param((1, 5), set(), id="profile-without-use"),
        pytest.param(
            tuple(range(1, 12)), PERSONAL - NECESSARY | {"analytics", "marketing"}, id="all"
        ),
        pytest.param((), set(), id="none"),
    ],
)
def test_tcf_purposes_grant_ours(purposes: tuple[int, ...], granted: set[str]) -> None:
    assert grants(TCF(), tc_string(*purposes)) == NECESSARY | granted


@pytest.mark.parametrize("encoding", ["bitfield", "range"])
def test_vendor_consent_is_read_only_when_configured(encoding: Any) -> None:
    with_vendor = encode_tc_string(
        tc(purposes_consent=frozenset({1, 8}), vendor_consents=frozenset({2, *range(50, 90)})),
        encoding,
    )
    assert grants(TCF(), with_vendor) == NECESSARY | {"analytics"}
    assert grants(TCF(vendor=60), with_vendor) == NECESSARY | {"analytics"}
    assert grants(TCF(vendor=755), with_vendor) == NECESSARY


def test_tcf_mapping_is_configurable() -> None:
    strict = TCF(purposes={"analytics": [1, 7, 8, 9]})
    assert grants(strict, tc_string(1, 8)) == NECESSARY
    assert grants(strict, tc_string(1, 7, 8, 9)) == NECESSARY | {"analytics"}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(VERSION_1, id="version-1"),
        pytest.param(IABTCF_CLI[:20], id="truncated"),
        pytest.param("not a tc string", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("-1", id="minus-one"),
    ],
)
def test_a_tc_string_that_does_not_decode_decides_nothing(value: str) -> None:
    assert grants(TCF(), value) is None


def test_a_quoted_tc_string_decodes() -> None:
    assert grants(TCF(), f'"{tc_string(1, 8)}"') == NECESSARY | {"analytics"}


# -- the reader ---------------------------------------------------------------------------


def test_the_first_source_that_finds_a_decision_decides() -> None:
    header = f"CookieConsent={TYPICAL_COOKIEBOT}; OptanonConsent={optanon('C0004:1')}"
    first = ExternalReader(POLICY, [OneTrust(), Cookiebot()]).read(header)
    assert first == ExternalDecision("onetrust", "OneTrust", NECESSARY | {"marketing"})
    other = ExternalReader(POLICY, [Cookiebot(), OneTrust()]).read(header)
    assert other == ExternalDecision("cookiebot", "Cookiebot", NECESSARY | {"analytics"})


def test_a_source_without_a_decision_leaves_it_to_the_next() -> None:
    reader = ExternalReader(POLICY, [Cookiebot(), OneTrust(), TCF()])
    header = f"CookieConsent=-1; OptanonConsent=garbage; euconsent-v2={tc_string(1, 8)}"
    assert reader.read(header) == ExternalDecision("tcf", "IAB TCF", NECESSARY | {"analytics"})
    assert reader.read("CookieConsent=-1; OptanonConsent=garbage") is None
    assert reader.read("") is None


def test_a_cookie_sent_twice_with_different_values_decides_nothing() -> None:
    reader = ExternalReader(POLICY, [OneTrust(), Cookiebot()])
    twice = f"OptanonConsent={optanon('C0004:1')}; OptanonConsent={TYPICAL_OPTANON}"
    assert reader.read(twice) is None
    fallback = f"{twice}; CookieConsent={TYPICAL_COOKIEBOT}"
    assert reader.read(fallback) == ExternalDecision(
        "cookiebot", "Cookiebot", NECESSARY | {"analytics"}
    )
    same = f"OptanonConsent={TYPICAL_OPTANON}; OptanonConsent={TYPICAL_OPTANON}"
    decision = reader.read(same)
    assert decision is not None and decision.granted == NECESSARY | {"analytics"}


def test_an_oversized_value_is_refused_unread() -> None:
    padding = "&x=" + "y" * MAX_EXTERNAL_VALUE
    reader = ExternalReader(POLICY, [OneTrust()])
    assert reader.read(f"OptanonConsent={TYPICAL_OPTANON}{padding[:200]}") is not None
    assert reader.read(f"OptanonConsent={TYPICAL_OPTANON}{padding}") is None


def test_decoded_values_are_remembered_and_the_memory_is_bounded() -> None:
    calls: list[str] = []

    class Counting(OneTrust):
        def consents(self, value: str) -> frozenset[str] | None:
            calls.append(value)
            return super().consents(value)

    reader = ExternalReader(POLICY, [Counting()])
    for _ in range(3):
        reader.read(f"OptanonConsent={TYPICAL_OPTANON}")
    assert len(calls) == 1
    for n in range(3000):
        reader.read(f"OptanonConsent={TYPICAL_OPTANON}&n={n}")
    (bound,) = reader._sources
    assert bound.decide.cache_info().currsize <= 1024
    assert reader._known.cache_info().currsize <= 1024


def test_a_failing_custom_source_decides_nothing(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(ExternalSource[str]):
        name, label = "broken", "Broken CMP"

        def __init__(self) -> None:
            super().__init__(
                cookie="broken", requirements=None, default={"analytics": frozenset("a")}
            )

        def consents(self, value: str) -> frozenset[str] | None:
            raise RuntimeError("bug")

    reader = ExternalReader(POLICY, [Broken(), OneTrust()])
    decision = reader.read(f"broken=1; OptanonConsent={TYPICAL_OPTANON}")
    assert decision is not None and decision.source == "onetrust"
    assert "could not read its cookie" in caplog.text


def test_a_custom_source_needs_a_name_and_a_label() -> None:
    class Nameless(ExternalSource[str]):
        def __init__(self) -> None:
            super().__init__(
                cookie="didomi", requirements=None, default={"analytics": frozenset("a")}
            )

        def consents(self, value: str) -> frozenset[str] | None:
            return None

    with pytest.raises(ConfigurationError, match="has no name or label: set both"):
        ExternalReader(POLICY, [Nameless()])


def test_defaults_leave_out_the_purposes_a_policy_does_not_declare() -> None:
    small = ConsentPolicy(
        [
            Purpose("necessary", "Necessary", "Always on.", required=True),
            Purpose("analytics", "Measure", "Counts visits."),
        ],
        version="small",
    )
    header = f"OptanonConsent={optanon('C0002:1,C0003:1,C0004:1')}"
    decision = ExternalReader(small, [OneTrust()]).read(header)
    assert decision is not None and decision.granted == {"necessary", "analytics"}


# -- configuration mistakes ---------------------------------------------------------------


def options(*sources: Any, policy: ConsentPolicy = POLICY) -> ConsentOptions:
    return ConsentOptions(secret_keys=[KEY], policy=policy, external=list(sources))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: [OneTrust(groups={"C0002": "analytic"})],
            "maps to purpose 'analytic', which the policy does not declare: use one of",
            id="unknown-purpose",
        ),
        pytest.param(
            lambda: [TCF(purposes={"marketting": [1, 3, 4]})],
            "maps to purpose 'marketting'",
            id="unknown-purpose-tcf",
        ),
        pytest.param(
            lambda: [Cookiebot(categories={"necessary": "necessary"})],
            "'necessary', which is required and always granted: leave it out",
            id="required-purpose",
        ),
        pytest.param(lambda: "onetrust", "external must be a list of sources", id="string"),
        pytest.param(
            lambda: ["onetrust"],
            "external must list consent manager sources such as OneTrust(), Cookiebot() or "
            "TCF() from consent_middleware.interop, not str",
            id="string-in-list",
        ),
        pytest.param(lambda: [OneTrust], "not ABCMeta", id="class-not-instance"),
        pytest.param(lambda: OneTrust(), "external must be a list of sources", id="bare-source"),
        pytest.param(
            lambda: [OneTrust(), OneTrust(groups={"C0002": "analytics"})],
            "two sources of cookie 'OptanonConsent': keep one",
            id="twice",
        ),
        pytest.param(
            lambda: [OneTrust(cookie="consent_visit")],
            "reads a cookie of this middleware's own",
            id="own-cookie",
        ),
        pytest.param(
            lambda: [TCF(cookie="__Host-consent")],
            "reads a cookie of this middleware's own",
            id="own-host-cookie",
        ),
    ],
)
def test_a_wrong_external_option_names_its_fix(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConsentOptions(secret_keys=[KEY], external=make())
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: OneTrust(groups=["C0002"]), "must be a mapping", id="list"),
        pytest.param(lambda: OneTrust(groups={"C 2": "analytics"}), "has 'C 2'", id="group-id"),
        pytest.param(lambda: OneTrust(groups={"C0002": 2}), "give a purpose id", id="value"),
        pytest.param(lambda: OneTrust(groups={}), "maps nothing", id="empty"),
        pytest.param(lambda: OneTrust(cookie="a b"), "cookie='a b'", id="cookie-name"),
        pytest.param(
            lambda: Cookiebot(categories={"statistic": "analytics"}),
            "necessary, preferences, statistics, marketing",
            id="category",
        ),
        pytest.param(lambda: TCF(purposes={"analytics": [0, 8]}), "from 1 to 24", id="zero"),
        pytest.param(lambda: TCF(purposes={"analytics": [25]}), "from 1 to 24", id="too-big"),
        pytest.param(lambda: TCF(purposes={"analytics": [True]}), "from 1 to 24", id="bool"),
        pytest.param(lambda: TCF(purposes={"analytics": []}), "one or more", id="none"),
        pytest.param(lambda: TCF(purposes={"analytics": "18"}), "TCF purpose numbers", id="str"),
        pytest.param(lambda: TCF(purposes={"analytics": 8}), "TCF purpose numbers", id="int"),
        pytest.param(lambda: TCF(vendor=0), "1 to 65535", id="vendor-zero"),
        pytest.param(lambda: TCF(vendor="755"), "1 to 65535", id="vendor-str"),
    ],
)
def test_a_wrong_source_names_its_fix_when_made(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make()
    assert message in str(raised.value)


def test_the_middleware_refuses_a_wrong_source_when_built() -> None:
    with pytest.raises(ConfigurationError, match="maps to purpose 'analytic'"):
        ConsentWSGIMiddleware(
            lambda e, s: [], secret_keys=[KEY], external=[OneTrust(groups={"C0002": "analytic"})]
        )


def test_the_options_keep_the_sources_in_order_as_a_tuple() -> None:
    onetrust, tcf = OneTrust(), TCF()
    checked = options(onetrust, tcf)
    assert checked.external == (onetrust, tcf)
    assert replace(checked, prefix="/privacy").external == (onetrust, tcf)
    assert ConsentOptions(secret_keys=[KEY]).external == ()
