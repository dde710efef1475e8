"""The framework-free heart shared by the ASGI and WSGI middleware.

The adapters translate a request into a header scan and a :class:`RequestInfo`; this class
turns that into a :class:`PersonalisationContext`, answers the consent endpoints, and says
which ``Set-Cookie`` lines an app response must carry.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from .codec import ConsentCookieCodec, ConsentState, CookieProblem, new_consent_id
from .context import PersonalisationContext
from .cookies import cookie_names, cookie_values, delete_cookie, is_cookie_name, set_cookie
from .csrf import CsrfGuard, origin_allowed
from .exceptions import ConfigurationError
from .gpc import gpc_enabled
from .http import Reply, RequestInfo
from .pages import Pages
from .policy import ConsentPolicy
from .redirects import safe_next
from .signing import check_secret_keys

__all__ = ["ConsentEngine", "GPC_PATH"]

logger = logging.getLogger("consent_middleware")

GPC_PATH = "/.well-known/gpc.json"
#: A consent form is a few hundred bytes; anything far larger is refused unread.
MAX_FORM_BYTES = 16 * 1024
_PREFIX = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+\Z")

PREFERENCES = "preferences"
STATE = "state"
GPC = "gpc"
_METHODS = {PREFERENCES: ("GET", "HEAD", "POST"), STATE: ("GET", "HEAD"), GPC: ("GET", "HEAD")}
_NO_STORE = ("Cache-Control", "no-store")


class ConsentEngine:
    """Reads consent, serves the endpoints and writes consent cookies.

    All configuration is checked here, once; a mistake raises :class:`ConfigurationError`.
    """

    def __init__(
        self,
        *,
        policy: ConsentPolicy | None = None,
        secret_keys: Sequence[str | bytes],
        secure: bool = True,
        prefix: str = "/consent",
        cookie_name: str = "consent",
        cookie_domains: Iterable[str] = (),
        trusted_origins: Iterable[str] = (),
        gpc_json: bool = True,
    ) -> None:
        if policy is None:
            policy = ConsentPolicy.default()
        if not isinstance(policy, ConsentPolicy):
            raise ConfigurationError(
                "policy must be a ConsentPolicy, e.g. ConsentPolicy.default() or "
                "ConsentPolicy.from_toml('policy.toml')"
            )
        if not isinstance(secure, bool):
            raise ConfigurationError("secure must be True or False")
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise ConfigurationError(
                f"prefix {prefix!r} is invalid: use a path such as '/consent' "
                "(leading '/', no trailing '/', no query)"
            )
        if not is_cookie_name(cookie_name):
            raise ConfigurationError(f"cookie_name {cookie_name!r} is not a valid cookie name")
        if cookie_name.lower().startswith(("__host-", "__secure-")):
            raise ConfigurationError(
                "cookie_name must not carry a __Host- or __Secure- prefix: it is added "
                "when secure=True"
            )
        keys = check_secret_keys(secret_keys)
        self.policy = policy
        self.secure = secure
        self.prefix = prefix
        self.gpc_json = bool(gpc_json)
        self.cookie_domains = tuple(
            _check_domain(d) for d in _strings("cookie_domains", cookie_domains)
        )
        self.trusted_origins = frozenset(
            _check_origin(o) for o in _strings("trusted_origins", trusted_origins)
        )
        # __Host- keeps the cookie to this host: no subdomain can set or shadow it.
        host_prefix = "__Host-" if secure else ""
        self.cookie_name = host_prefix + cookie_name
        self._cookie_key = self.cookie_name + "="
        self.csrf_cookie_name = f"{host_prefix}{cookie_name}_csrf"
        for purpose in policy.purposes:
            for name in (self.cookie_name, self.csrf_cookie_name):
                if purpose.owns_cookie(name) and not purpose.required:
                    raise ConfigurationError(
                        f"purpose {purpose.id!r} claims cookie {name!r}, which keeps the "
                        "consent itself: remove it from that purpose's cookies"
                    )
        self.codec = ConsentCookieCodec(policy, keys)
        self.csrf = CsrfGuard(keys, self.csrf_cookie_name)
        self.pages = Pages()
        self._lifetime = int(policy.consent_lifetime.total_seconds())
        self._prefix_length = len(prefix)
        #: A path starting with none of these is never an endpoint.
        self.endpoint_prefixes = (prefix, GPC_PATH) if self.gpc_json else (prefix,)

    # -- reading ---------------------------------------------------------------------------

    def read(self, cookie_header: str, gpc_values: list[str]) -> PersonalisationContext:
        """The context for a request with these ``Cookie`` and ``Sec-GPC`` headers.

        Never raises: anything wrong with the cookie, or with reading it, gives a context
        with no decision (mode ``non_personalised``).
        """
        gpc = False
        try:
            gpc = bool(gpc_values) and gpc_enabled(gpc_values)
            state = None
            values = cookie_values(cookie_header, self._cookie_key) if cookie_header else None
            if values:
                # Two different consent cookies (one shadowing the other) prove nothing.
                result = (
                    self.codec.decode(values[0], time.time())
                    if len(values) == 1 or len(set(values)) == 1
                    else CookieProblem.DUPLICATE
                )
                if isinstance(result, ConsentState):
                    state = result
                else:
                    logger.debug("consent cookie refused: %s", result.value)
            return PersonalisationContext(self.policy, state, gpc, self.csrf, cookie_header)
        except Exception:
            logger.exception("consent could not be read; treating the request as undecided")
            return PersonalisationContext(self.policy, None, gpc, self.csrf)

    # -- writing ---------------------------------------------------------------------------

    def response_cookies(self, ctx: PersonalisationContext, cookie_header: str) -> list[str]:
        """``Set-Cookie`` values an app's response must carry for this context.

        Empty unless ``ctx.new_csrf_nonce`` or ``ctx.gpc``: adapters test those first.
        """
        cookies = []
        if ctx.new_csrf_nonce and ctx.csrf_nonce is not None:
            cookies.append(self._csrf_cookie(ctx.csrf_nonce))
        state = ctx.state
        if state is not None and ctx.gpc and not state.granted <= ctx.granted:
            # GPC overrides an earlier opt-in, and a later request without it is not an
            # opt-in again: the withdrawal is written into the cookie.
            withdrawn = ConsentState(state.consent_id, ctx.granted, state.decided_at)
            cookies.extend(self._decision_cookies(withdrawn, cookie_header))
        return cookies

    def _csrf_cookie(self, nonce: str) -> str:
        return set_cookie(self.csrf_cookie_name, nonce, max_age=None, secure=self.secure)

    def _decision_cookies(self, state: ConsentState, cookie_header: str) -> list[str]:
        remaining = self._lifetime - max(0, int(time.time()) - state.decided_at)
        cookies = [
            set_cookie(
                self.cookie_name,
                self.codec.encode(state),
                max_age=max(remaining, 0),
                secure=self.secure,
            )
        ]
        for name in sorted(cookie_names(cookie_header)):
            if self._withdrawn_cookie(name, state.granted):
                cookies.append(delete_cookie(name, secure=self.secure))
                for domain in self.cookie_domains:
                    cookies.append(delete_cookie(name, secure=self.secure, domain=domain))
        return cookies

    def _withdrawn_cookie(self, name: str, granted: frozenset[str]) -> bool:
        owners = [p.id for p in self.policy.purposes if p.owns_cookie(name)]
        return bool(owners) and all(owner not in granted for owner in owners)

    # -- endpoints -------------------------------------------------------------------------

    def route(self, path: str) -> str | None:
        """The endpoint served at ``path``, or ``None`` to pass the request to the app."""
        if path.startswith(self.prefix):
            rest = path[self._prefix_length :]
            if rest in ("", "/"):
                return PREFERENCES
            if rest == "/state":
                return STATE
        elif path == GPC_PATH and self.gpc_json:
            return GPC
        return None

    @staticmethod
    def wants_body(endpoint: str, method: str) -> bool:
        """Whether the adapter must read the request body for this endpoint."""
        return endpoint == PREFERENCES and method == "POST"

    def handle(
        self, endpoint: str, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        """Answer one endpoint request."""
        allowed = _METHODS[endpoint]
        if request.method not in allowed:
            reply = Reply(
                405,
                [("Allow", ", ".join(allowed)), ("Content-Type", "text/plain; charset=utf-8")],
                b"Method Not Allowed",
            )
        elif endpoint == STATE:
            reply = _json(200, self.state_json(ctx), [_NO_STORE])
        elif endpoint == GPC:
            reply = _json(200, self._gpc_json(), [("Cache-Control", "public, max-age=86400")])
        elif request.method == "POST":
            reply = self._record_choice(request, ctx, cookie_header)
        else:
            reply = self._preferences_page(request, ctx)
        reply.headers.append(("Content-Length", str(len(reply.body))))
        if request.method == "HEAD":
            reply.body = b""
        return reply

    def _preferences_page(self, request: RequestInfo, ctx: PersonalisationContext) -> Reply:
        query = dict(parse_qsl(request.query_string, max_num_fields=20))
        html = self.pages.render(
            "consent/preferences.html",
            ctx=ctx,
            policy=self.policy,
            action=request.root_path + self.prefix,
            next=safe_next(query.get("next")),
            csrf_token=ctx.csrf_token,
        )
        headers = [("Content-Type", "text/html; charset=utf-8"), _NO_STORE]
        if ctx.new_csrf_nonce and ctx.csrf_nonce is not None:
            headers.append(("Set-Cookie", self._csrf_cookie(ctx.csrf_nonce)))
        return Reply(200, headers, html.encode())

    def _refuse(self, status: int, request: RequestInfo, reason: str) -> Reply:
        logger.info("consent form refused (%d): %s", status, reason)
        html = self.pages.render(
            "consent/error.html",
            status=status,
            reason=reason,
            retry=request.root_path + self.prefix,
        )
        return Reply(
            status, [("Content-Type", "text/html; charset=utf-8"), _NO_STORE], html.encode()
        )

    def _record_choice(
        self, request: RequestInfo, ctx: PersonalisationContext, cookie_header: str
    ) -> Reply:
        content_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return self._refuse(415, request, "The form must be sent as a normal web form.")
        if request.body_too_large or len(request.body) > MAX_FORM_BYTES:
            return self._refuse(413, request, "The form was far larger than a consent form.")
        if not origin_allowed(
            request.header("origin"),
            request.header("sec-fetch-site"),
            request.header("host"),
            self.trusted_origins,
        ):
            return self._refuse(403, request, "The form was sent from another site.")
        try:
            fields = parse_qsl(
                request.body.decode("utf-8", "replace"),
                keep_blank_values=True,
                max_num_fields=2 * len(self.policy.purposes) + 16,
            )
        except ValueError:
            return self._refuse(400, request, "The form had too many fields.")
        form: dict[str, str] = {}
        chosen = []
        for name, value in fields:
            if name == "purpose":
                chosen.append(value)
            else:
                form.setdefault(name, value)
        if not self.csrf.check(form.get("csrf_token"), ctx.csrf_nonce):
            return self._refuse(
                403, request, "The form has expired or was not sent from this shop's page."
            )
        action = form.get("action")
        if action == "accept_all":
            chosen = [p.id for p in self.policy.optional]
        elif action == "reject_all":
            chosen = []
        elif action != "save":
            return self._refuse(400, request, "The form did not say which choice was made.")
        granted = self.policy.grant(chosen)
        if ctx.gpc:
            granted -= self.policy.gpc_opt_out_ids
        state = ConsentState(ctx.consent_id or new_consent_id(), granted, int(time.time()))
        headers = [("Location", safe_next(form.get("next"))), _NO_STORE]
        headers += [("Set-Cookie", c) for c in self._decision_cookies(state, cookie_header)]
        return Reply(303, headers)

    def state_json(self, ctx: PersonalisationContext) -> dict[str, object]:
        """The visitor's consent state for client code: no secrets, no identifiers."""
        state = ctx.state
        return {
            "policy_version": self.policy.version,
            "decided": ctx.decided,
            "mode": ctx.mode.value,
            "gpc": ctx.gpc,
            "purposes": {p.id: p.id in ctx.granted for p in self.policy.purposes},
            "decided_at": None if state is None else _iso(state.decided_at),
            "expires_at": None if state is None else _iso(state.decided_at + self._lifetime),
        }

    def _gpc_json(self) -> dict[str, object]:
        document: dict[str, object] = {"gpc": True}
        if self.policy.last_updated is not None:
            document["lastUpdate"] = self.policy.last_updated.isoformat()
        return document


def _json(status: int, data: object, headers: list[tuple[str, str]]) -> Reply:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Reply(status, [("Content-Type", "application/json"), *headers], body)


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _strings(name: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ConfigurationError(f"{name} must be a list of strings, not one string")
    items = list(values)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigurationError(f"{name} must hold non-empty strings")
    return items


def _check_domain(domain: str) -> str:
    if not re.fullmatch(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", domain):
        raise ConfigurationError(
            f"cookie_domains entry {domain!r} is not a domain such as '.example.com'"
        )
    return domain


def _check_origin(origin: str) -> str:
    origin = origin.strip().lower().rstrip("/")
    if not re.fullmatch(r"https?://[a-z0-9.-]+(:\d+)?", origin):
        raise ConfigurationError(
            f"trusted_origins entry {origin!r} is not an origin such as 'https://shop.example'"
        )
    return origin
