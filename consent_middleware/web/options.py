"""The middleware's options: one frozen record, checked once, shared by ASGI, WSGI and
framework settings."""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from os import PathLike
from typing import Any, Literal, TypedDict

from ..core.context import PersonalisationContext
from ..core.cookie_gate import UNDECLARED_COOKIES
from ..core.exceptions import ConfigurationError
from ..core.external import ExternalReader, ExternalSource
from ..core.languages import DEFAULT_LANGUAGES, LANGUAGE_TAG
from ..core.policy import ConsentPolicy
from ..core.policy_rules import fallback_text_problem
from ..core.signing import check_secret_keys
from ..core.stores import DEFAULT_VISIT_LIFETIME, MAX_VISIT_LIFETIME, PreferenceBackend
from ..ledger.sql import Ledger
from ..ui.translations import shipped_languages
from .cookie_plan import CookieNames
from .messages import RequestInfo

__all__ = ["ConsentOptions", "ConsentSettings", "options_from"]

# Servers decode "%XX" before routing and browsers resolve "." and "..": such a prefix
# would never be reached.
_PREFIX = re.compile(r"(/(?!\.\.?(/|\Z))[A-Za-z0-9._~!$&'()*+,;=:@-]+)+\Z")
_GPC_PATH = "/.well-known/gpc.json"
_DOMAIN = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:\d+)?")
# A header name that reads the same in ASGI and WSGI: servers turn '-' and '_' alike into
# '_' in a WSGI environ, so a name with '_' could be sent by a client under another spelling.
_HEADER = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


class ConsentSettings(TypedDict, total=False):
    """The options as keywords, ``ConsentMiddleware(app, secret_keys=[...], ...)``, or as a
    settings mapping. Each key is a field of :class:`ConsentOptions`, of the same type: see
    there what it does and its default."""

    secret_keys: Sequence[str | bytes]
    policy: ConsentPolicy | None
    secure: bool
    prefix: str
    cookie_name: str
    cookie_domains: Iterable[str]
    trusted_origins: Iterable[str]
    gpc_json: bool
    preference_backend: PreferenceBackend | None
    ledger: str | Ledger | None
    spool: str | PathLike[str] | None
    language: str | None
    data_exporters: Mapping[str, Callable[[PersonalisationContext], object]] | None
    data_erasers: Mapping[str, Callable[[PersonalisationContext], str]] | None
    pseudonymise_on_erase: bool
    enforce_withdrawal: bool
    visit_lifetime: timedelta | float
    enforce_cookies: bool
    undeclared_cookies: Literal["allow", "warn", "block"]
    external: Iterable[ExternalSource[Any]]
    languages: Sequence[str] | None
    region: Callable[[RequestInfo], str | None] | None
    region_header: str | None
    region_subdivision_header: str | None


@dataclass(frozen=True, kw_only=True)
class ConsentOptions:
    """Everything the consent middleware is configured with, checked once, at construction.

    Pass it as ``ConsentMiddleware(app, options=options)`` (or to the WSGI middleware), or
    give the same names as keywords. Every mistake raises :class:`ConfigurationError`
    naming the fix. Checking does no I/O: the ledger is opened by the middleware.

    Once checked, values are in one form: ``policy`` is the policy in force,
    ``secret_keys``, ``cookie_domains`` are tuples, ``trusted_origins`` a frozenset of
    lower-case origins, ``visit_lifetime`` a ``timedelta``, the data hooks dicts. A variant
    is ``dataclasses.replace(options, prefix="/privacy")``, checked in turn.
    """

    #: Sign the consent cookie and seal the visitor stores: newest first, every key
    #: verifies, the first signs. 32 bytes or more each; keep them out of source control.
    secret_keys: Sequence[str | bytes] = field(default=(), repr=False)
    #: The declared purposes and signals; :meth:`ConsentPolicy.default` when ``None``.
    policy: ConsentPolicy | None = None
    #: ``Secure`` and ``__Host-`` prefixed cookies; ``False`` only for plain-HTTP local
    #: development.
    secure: bool = True
    #: Where the consent endpoints are served.
    prefix: str = "/consent"
    #: The consent cookie's name; its companions add ``_csrf``, ``_visit`` and ``_prefs``.
    cookie_name: str = "consent"
    #: Domains third-party tags set their cookies on (".example.com"), so that
    #: withdrawing a purpose deletes them there too.
    cookie_domains: Iterable[str] = ()
    #: Public origins accepted on consent forms when a proxy rewrites the Host header.
    trusted_origins: Iterable[str] = ()
    #: Serve /.well-known/gpc.json; turn off to serve your own.
    gpc_json: bool = True
    #: Keep stated preferences server-side (keyed by the pseudonymous consent id) instead
    #: of in an encrypted cookie.
    preference_backend: PreferenceBackend | None = None
    #: Where choices are proved: "sqlite:///consent.db", "postgresql://...", or an object.
    ledger: str | Ledger | None = None
    #: A local directory where each process keeps, durably, the choices that the ledger
    #: could not take at once (default: beside a SQLite ledger).
    spool: str | PathLike[str] | None = None
    #: Deprecated: ``languages=[language]``.
    language: str | None = None
    #: The host's own data about a visitor, for the download and for erasure.
    data_exporters: Mapping[str, Callable[[PersonalisationContext], object]] | None = None
    data_erasers: Mapping[str, Callable[[PersonalisationContext], str]] | None = None
    #: Keep erased visitors' events for statistics, cut loose from their consent id.
    pseudonymise_on_erase: bool = False
    #: Refuse a cookie that a later recorded choice replaced (replays of an old "accept
    #: all" after "reject all"); needs a ledger.
    enforce_withdrawal: bool = False
    #: How long a value of this visit is kept after it was written (a minute to a day),
    #: even if the browser keeps its session cookie.
    visit_lifetime: timedelta | float = DEFAULT_VISIT_LIFETIME
    #: Remove every ``Set-Cookie`` of the app for a cookie that only purposes the request
    #: has not been granted own (the policy's ``cookies``: names, and prefixes with ``*``).
    enforce_cookies: bool = True
    #: What becomes of an app's cookie that no purpose declares: ``"warn"`` (it goes out,
    #: and a warning names it once per process), ``"allow"`` or ``"block"``.
    undeclared_cookies: Literal["allow", "warn", "block"] = "warn"
    #: Other consent managers (``OneTrust()``, ``Cookiebot()``, ``TCF()`` from
    #: ``consent_middleware.interop``) whose cookie decides, in this order, for a visitor
    #: without a valid consent cookie of ours.
    external: Iterable[ExternalSource[Any]] = ()
    #: The languages the consent UI is shown in, the first for shoppers who accept none of
    #: them (default ``["en"]``); each request gets the one its ``Accept-Language`` prefers.
    languages: Sequence[str] | None = None
    #: Where each request comes from, for the policy's regional rule sets: a function of
    #: the request record (its ``header()``, ``path``, ``scope`` or ``environ``) returning
    #: an ISO 3166 code (``"DE"``, ``"US-CA"``) or ``None``. Called once per request.
    region: Callable[[RequestInfo], str | None] | None = None
    #: Or the header your CDN or proxy sets to the visitor's country (``"CF-IPCountry"``,
    #: ``"CloudFront-Viewer-Country"``), overwriting any the client sent: only the headers
    #: named here are read, and a value that is not an ISO 3166 code counts as unknown.
    region_header: str | None = None
    #: A second header with the subdivision (``"CloudFront-Viewer-Country-Region"``: "CA"
    #: makes "US-CA"), for the US states' rules.
    region_subdivision_header: str | None = None
    #: ``secret_keys`` as bytes, newest first.
    keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        policy = ConsentPolicy.default() if self.policy is None else self.policy
        if not isinstance(policy, ConsentPolicy):
            raise ConfigurationError(
                "policy must be a ConsentPolicy, e.g. ConsentPolicy.default() or "
                "ConsentPolicy.from_toml('policy.toml')"
            )
        keys = check_secret_keys(self.secret_keys)
        for name in (
            "secure",
            "gpc_json",
            "pseudonymise_on_erase",
            "enforce_withdrawal",
            "enforce_cookies",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be True or False")
        if not isinstance(self.prefix, str) or not _PREFIX.match(self.prefix):
            raise ConfigurationError(
                f"prefix {self.prefix!r} is invalid: use a path such as '/consent' "
                "(leading '/', no trailing '/', no query, no '%', '.' or '..' segments)"
            )
        if self.gpc_json and self.prefix == _GPC_PATH:
            raise ConfigurationError(
                f"prefix {self.prefix!r} is where the GPC file is served: choose another "
                "prefix, or gpc_json=False to serve your own file"
            )
        CookieNames.of(self.cookie_name, secure=self.secure).check_unclaimed(policy)
        if self.undeclared_cookies not in UNDECLARED_COOKIES:
            choices = ", ".join(repr(choice) for choice in UNDECLARED_COOKIES)
            raise ConfigurationError(
                f"undeclared_cookies must be one of {choices}, not {self.undeclared_cookies!r}"
            )
        if self.preference_backend is not None and not all(
            callable(getattr(self.preference_backend, m, None)) for m in ("load", "save", "delete")
        ):
            raise ConfigurationError(
                "preference_backend needs load(), save() and delete() methods "
                "(see consent_middleware.core.stores.PreferenceBackend)"
            )
        languages = _check_languages(self.languages, self.language)
        # A shopper whose language a text lacks reads it in the shop's first language.
        problem = fallback_text_problem(policy.purposes, policy.signals, languages[0])
        if problem is not None:
            raise ConfigurationError(problem)
        self._check_ledger()
        self._check_region()
        canonical = {
            "policy": policy,
            "keys": tuple(keys),
            "secret_keys": tuple(self.secret_keys),
            "cookie_domains": tuple(
                _check_domain(d) for d in _strings("cookie_domains", self.cookie_domains)
            ),
            "trusted_origins": frozenset(
                _check_origin(o) for o in _strings("trusted_origins", self.trusted_origins)
            ),
            "data_exporters": _callables("data_exporters", self.data_exporters),
            "data_erasers": _callables("data_erasers", self.data_erasers),
            "visit_lifetime": _check_visit_lifetime(self.visit_lifetime),
            "external": _check_external(policy, self.external, self.cookie_name),
            # The deprecated alias is folded in, so that a replace() does not warn again.
            "languages": languages,
            "language": None,
        }
        for name, value in canonical.items():
            object.__setattr__(self, name, value)

    def _check_ledger(self) -> None:
        ledger = self.ledger
        if ledger is not None and not isinstance(ledger, str | Ledger):
            raise ConfigurationError(
                "ledger must be a URL such as 'sqlite:///consent.db' or an object with "
                "write, history, erase, purge, events and close methods"
            )
        if self.spool is not None:
            if not isinstance(self.spool, str | PathLike) or not str(self.spool):
                raise ConfigurationError(
                    "spool must be a local directory, e.g. spool='/var/lib/shop/consent-spool'"
                )
            if ledger is None:
                raise ConfigurationError("spool= needs a ledger: pass ledger='sqlite:///...'")
        if self.enforce_withdrawal and ledger is None:
            raise ConfigurationError(
                "enforce_withdrawal=True needs a ledger to know each browser's latest "
                "choice: pass ledger='sqlite:///consent.db' (or postgresql://...)"
            )

    def _check_region(self) -> None:
        if self.region is not None and not callable(self.region):
            raise ConfigurationError(
                "region must be a function of the request returning a region code such as "
                "'US-CA' (or None), e.g. region=lambda request: request.header('x-region')"
            )
        if self.region is not None and self.region_header is not None:
            raise ConfigurationError(
                "give either region= (a function) or region_header= (a header your CDN "
                "sets), not both"
            )
        for name in ("region_header", "region_subdivision_header"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _HEADER.fullmatch(value)):
                raise ConfigurationError(
                    f"{name} must be a header name such as 'CF-IPCountry' (letters, digits "
                    f"and '-'), not {value!r}"
                )
        if self.region_subdivision_header is not None and self.region_header is None:
            raise ConfigurationError(
                "region_subdivision_header needs region_header, the header of the country "
                "(e.g. region_header='CloudFront-Viewer-Country')"
            )

    @classmethod
    def from_mapping(
        cls, settings: Mapping[str, object], *, source: str = "settings"
    ) -> ConsentOptions:
        """Options from a settings mapping, such as Django's ``CONSENT_MIDDLEWARE = {...}``.

        The keys are the keyword arguments' names; ``policy`` may also be the path of a
        policy TOML file. An unknown key or a value of the wrong type is a
        :class:`ConfigurationError` naming the key (``source`` names the mapping).
        """
        if not isinstance(settings, Mapping):
            raise ConfigurationError(
                f"{source} must be a mapping of options, e.g. {{'secret_keys': [key]}}"
            )
        check_names(settings, source)
        values: dict[str, Any] = dict(settings)
        policy = values.get("policy")
        try:
            if isinstance(policy, str | PathLike):
                values["policy"] = ConsentPolicy.from_toml(policy)
            return cls(**values)
        except ConfigurationError as e:
            raise ConfigurationError(f"{source}: {e}") from e


def options_from(options: ConsentOptions | None, settings: ConsentSettings) -> ConsentOptions:
    """The options given either as ``options=ConsentOptions(...)`` or as keywords."""
    if options is None:
        check_names(settings, "the consent middleware")
        return ConsentOptions(**settings)
    if not isinstance(options, ConsentOptions):
        raise ConfigurationError(
            "options must be a ConsentOptions, e.g. options=ConsentOptions(secret_keys=[key])"
        )
    if settings:
        raise ConfigurationError(
            f"give the options either as options=ConsentOptions(...) or as keywords, not "
            f"both: move {', '.join(sorted(settings))} into the ConsentOptions"
        )
    return options


def check_names(settings: Mapping[str, object], source: str) -> None:
    """Refuse a key that is not an option, suggesting the closest one."""
    known = [f.name for f in fields(ConsentOptions) if f.init]
    for key in settings:
        if key not in known:
            # Settings in upper case (Django's habit) still find their option.
            close = difflib.get_close_matches(str(key).lower(), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the options are {known}"
            raise ConfigurationError(f"{source} has no option {key!r}: {hint}")


def _check_visit_lifetime(value: timedelta | float) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise ConfigurationError(
            "visit_lifetime must be a timedelta or a number of seconds, "
            "e.g. visit_lifetime=timedelta(hours=4)"
        )
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    # A minute at least, so that a visit is usable; a day at most: data kept longer than a
    # visit is a profile across visits, which needs persistent signals and personalisation.
    if not 60 <= seconds <= MAX_VISIT_LIFETIME.total_seconds():
        raise ConfigurationError(
            f"visit_lifetime is {value!r}: give between one minute and one day, "
            "e.g. visit_lifetime=timedelta(hours=4)"
        )
    return timedelta(seconds=seconds)


def _strings(name: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ConfigurationError(f"{name} must be a list of strings, not one string")
    if not isinstance(values, Iterable):
        raise ConfigurationError(f"{name} must be a list of strings")
    items = list(values)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigurationError(f"{name} must hold non-empty strings")
    return items


def _callables(
    name: str, functions: Mapping[str, Callable[[PersonalisationContext], Any]] | None
) -> dict[str, Callable[[PersonalisationContext], Any]]:
    if functions is None:
        return {}
    if not isinstance(functions, Mapping) or not all(
        isinstance(k, str) and callable(f) for k, f in functions.items()
    ):
        raise ConfigurationError(f"{name} must map names to functions of the request's context")
    return dict(functions)


def _check_domain(domain: str) -> str:
    if not _DOMAIN.fullmatch(domain):
        raise ConfigurationError(
            f"cookie_domains entry {domain!r} is not a domain such as '.example.com'"
        )
    return domain


def _check_origin(origin: str) -> str:
    origin = origin.strip().lower().rstrip("/")
    if not _ORIGIN.fullmatch(origin):
        raise ConfigurationError(
            f"trusted_origins entry {origin!r} is not an origin such as 'https://shop.example'"
        )
    return origin


def _check_external(
    policy: ConsentPolicy, sources: Iterable[ExternalSource[Any]], cookie_name: str
) -> tuple[ExternalSource[Any], ...]:
    if isinstance(sources, str | ExternalSource) or not isinstance(sources, Iterable):
        raise ConfigurationError(
            "external must be a list of sources, e.g. external=[OneTrust()] "
            "(from consent_middleware.interop)"
        )
    checked = ExternalReader(policy, sources).sources
    ours = {*CookieNames.of(cookie_name, secure=True), *CookieNames.of(cookie_name, secure=False)}
    for source in checked:
        if source.cookie in ours:
            raise ConfigurationError(
                f"{source!r} reads a cookie of this middleware's own: give the consent "
                "manager's cookie"
            )
    return checked


def _check_languages(languages: Sequence[str] | None, language: str | None) -> tuple[str, ...]:
    """The shop's languages as a tuple of shipped ones, from ``languages`` or the
    deprecated ``language``."""
    if language is not None:
        if not isinstance(language, str) or not LANGUAGE_TAG.fullmatch(language):
            raise ConfigurationError(f"language {language!r} is not a language tag such as 'en'")
        warnings.warn(
            f"language= is deprecated: pass languages=[{language!r}] (the languages the "
            "consent UI is shown in, the first the fallback)",
            DeprecationWarning,
            stacklevel=4,
        )
        if languages is not None and list(languages)[:1] != [language]:
            raise ConfigurationError(
                "give languages=[...] only (language= is deprecated): "
                f"language={language!r} is not the first of languages={list(languages)!r}"
            )
        languages = languages or [language]
    if languages is None:
        return DEFAULT_LANGUAGES
    tags = _strings("languages", languages)
    shipped = shipped_languages()
    by_tag = {tag.lower(): tag for tag in shipped}
    checked: list[str] = []
    for tag in tags:
        if not LANGUAGE_TAG.fullmatch(tag):
            raise ConfigurationError(f"languages entry {tag!r} is not a language tag such as 'de'")
        found = by_tag.get(tag.lower())
        if found is None:
            raise ConfigurationError(
                f"languages entry {tag!r} has no translation shipped: choose among "
                f"{', '.join(shipped)}, or render your own consent/*.html templates"
            )
        if found not in checked:
            checked.append(found)
    if not checked:
        raise ConfigurationError("languages must name at least one language, e.g. ['en']")
    return tuple(checked)
