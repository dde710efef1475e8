"""A storm of hostile requests through the raw ASGI and WSGI middleware, and its checks.

One generator makes every request from a :class:`Chooser`: the test suite drives it with
Hypothesis (which shrinks a failure to a small example), ``benchmarks/storm.py`` with a
seeded ``random.Random`` for hundreds of thousands of requests. Each request is checked for:

- no 5xx, and no exception out of the middleware;
- no grant that no valid cookie backs: what the host app reads in ``ctx.granted`` is at most
  what the consent cookie sent grants, as worked out here without the middleware's parser,
  and a consent cookie set in the response grants no more, unless the request was a
  genuine consent form (its CSRF token matching its nonce cookie);
- every response the middleware serves itself refuses framing.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

from consent_middleware import ConsentMiddleware, ConsentPolicy, ConsentWSGIMiddleware
from consent_middleware.core.codec import ConsentCookieCodec, ConsentState
from consent_middleware.core.csrf import CsrfGuard
from consent_middleware.core.exceptions import ConsentError

KEY = "k" * 32 + "-newest-test-key"
OTHER_KEY = "z" * 32 + "-another-shops-key"
HOST = "shop.test"
COOKIE = "__Host-consent"
CSRF = "__Host-consent_csrf"
POLICY = ConsentPolicy.default()
ADAPTERS = ("asgi", "wsgi")

T = TypeVar("T")


class Chooser(Protocol):
    """Where the generator's choices come from."""

    def integer(self, low: int, high: int) -> int: ...

    def pick(self, options: Sequence[T]) -> T: ...

    def text(self, alphabet: str, longest: int) -> str: ...


class RandomChooser:
    """Choices from a seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.rng.random() * len(options))]

    def text(self, alphabet: str, longest: int) -> str:
        return "".join(self.rng.choices(alphabet, k=self.rng.randint(0, longest)))


# -- what the storm is made of -------------------------------------------------------------

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
ALPHABET = PRINTABLE + "\t\x80\xff\xe9"
OPTIONAL = tuple(p.id for p in POLICY.optional)
GRANTS: list[tuple[str, ...]] = [
    (),
    ("analytics",),
    ("marketing",),
    ("personalisation",),
    POLICY.accept_all_ids,
    OPTIONAL,
]


@dataclass
class Pools:
    """Cookies and tokens made once per storm: valid ones and near misses."""

    now: int
    #: Every consent cookie value that is valid now, and what it grants.
    valid: dict[str, frozenset[str]] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    #: (nonce, token) pairs the server would accept.
    csrf: list[tuple[str, str]] = field(default_factory=list)
    csrf_pairs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, now: int) -> Pools:
        pools = cls(now)
        codec = ConsentCookieCodec(POLICY, [KEY])
        other_key = ConsentCookieCodec(POLICY, [OTHER_KEY])
        old_policy = ConsentCookieCodec(ConsentPolicy.default(version="0"), [KEY])
        for number, granted in enumerate(GRANTS):
            consent_id = f"storm-consent-id-{number:04d}"
            state = ConsentState(consent_id, POLICY.grant(granted), now - 60)
            value = codec.encode(state)
            pools.valid[value] = state.granted
            for stale in (
                codec.encode(ConsentState(consent_id, state.granted, now - 400 * 86400)),
                codec.encode(ConsentState(consent_id, state.granted, now + 86400)),
                other_key.encode(state),
                old_policy.encode(state),
            ):
                pools.invalid.append(stale)
        guard = CsrfGuard([KEY.encode()], CSRF)
        for _ in range(3):
            nonce = guard.new_nonce()
            pools.csrf.append((nonce, guard.token_for(nonce)))
        pools.csrf_pairs = dict(pools.csrf)
        return pools


def noise(chooser: Chooser, longest: int, alphabet: str = ALPHABET) -> str:
    return chooser.text(alphabet, longest)


def tampered(chooser: Chooser, value: str) -> str:
    chars = list(value)
    for _ in range(chooser.integer(1, 3)):
        chars[chooser.integer(0, len(chars) - 1)] = chooser.pick(PRINTABLE)
    return "".join(chars)


def consent_value(chooser: Chooser, pools: Pools) -> str:
    valid = list(pools.valid)
    kind = chooser.integer(0, 6)
    if kind <= 1:
        return chooser.pick(valid)
    if kind == 2:
        value = chooser.pick(valid)
        return value[: chooser.integer(0, len(value) - 1)]
    if kind == 3:
        return tampered(chooser, chooser.pick(valid))
    if kind == 4:
        return chooser.pick(pools.invalid)
    if kind == 5:
        return chooser.pick([" ", "\t", ""]) + chooser.pick(valid) + chooser.pick([" ", ""])
    return noise(chooser, 120)


def cookie_part(chooser: Chooser, pools: Pools) -> str:
    kind = chooser.integer(0, 5)
    if kind <= 1:
        name = chooser.pick([COOKIE, COOKIE, f"{COOKIE} ", f" {COOKIE}", "consent", COOKIE + "x"])
        return f"{name}={consent_value(chooser, pools)}"
    if kind == 2:
        nonce = chooser.pick(pools.csrf)[0]
        return f"{CSRF}={chooser.pick([nonce, tampered(chooser, nonce), noise(chooser, 30)])}"
    if kind == 3:
        name = chooser.pick(["__Host-consent_visit", "__Host-consent_prefs", "_ga", "cart"])
        return f"{name}={noise(chooser, 60, PRINTABLE)}"
    if kind == 4:
        return noise(chooser, 40)
    return chooser.pick(["", ";", "=", "==", f"{COOKIE}", f"={COOKIE}"])


PATHS = [
    "/",
    "/",
    "/shop",
    "/token",
    "/view/tea",
    "/visit",
    "/state",
    "/consent",
    "/consent",
    "/consent/",
    "/consent/state",
    "/consent/why",
    "/consent/data",
    "/consent/forget",
    "/consent/other",
    "/consentment",
    "/.well-known/gpc.json",
    "/consent//",
    "/consent/./state",
    "/%2e%2e/consent",
]
METHODS = ["GET", "GET", "POST", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"]
ORIGINS = [
    f"https://{HOST}",
    f"http://{HOST}",
    f"https://{HOST}:80",
    f"https://{HOST}:443",
    "https://evil.example",
    "null",
    "",
]
NEXTS = ["/", "/products/tea?x=1", "//evil.example", "/.//evil.example", "https://evil.example"]


@dataclass
class StormRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes


def form_body(chooser: Chooser, pools: Pools, token: str | None = None) -> tuple[bytes, str | None]:
    """A consent form (valid-looking or not), and the token it carries."""
    fields = [("action", chooser.pick(["accept_all", "reject_all", "save", "save_preferences"]))]
    for _ in range(chooser.integer(0, 4)):
        fields.append(("purpose", chooser.pick([*OPTIONAL, "necessary", noise(chooser, 8)])))
    if chooser.integer(0, 2):
        fields.append(("next", chooser.pick(NEXTS)))
    kind = chooser.integer(0, 3)
    if token is not None:
        fields.append(("csrf_token", token))
    elif kind <= 1:
        token = chooser.pick(pools.csrf)[1]
        fields.append(("csrf_token", token))
    elif kind == 2:
        fields.append(("csrf_token", tampered(chooser, chooser.pick(pools.csrf)[1])))
    if chooser.integer(0, 5) == 0:
        fields.append((noise(chooser, 10), noise(chooser, 40)))
    return urlencode(fields).encode(), token


def hostile_request(chooser: Chooser, pools: Pools) -> StormRequest:
    """One request, from harmless to hostile; one in four is shaped like a consent form
    from the shop's own page (which the rest of the request may still spoil)."""
    if chooser.integer(0, 3) == 0:
        return consent_post(chooser, pools)
    method = chooser.pick(METHODS)
    path = chooser.pick(PATHS) if chooser.integer(0, 7) else "/" + noise(chooser, 30)
    query = ""
    if chooser.integer(0, 2) == 0:
        pairs = [(noise(chooser, 6), noise(chooser, 12)) for _ in range(chooser.integer(0, 30))]
        pairs.append(("next", chooser.pick(NEXTS)))
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    headers = [
        ("host", chooser.pick([HOST, HOST, f"{HOST}:443", "evil.example", noise(chooser, 20)]))
    ]
    for _ in range(chooser.integer(0, 3)):
        parts = [cookie_part(chooser, pools) for _ in range(chooser.integer(0, 5))]
        if chooser.integer(0, 1):
            nonce = chooser.pick(pools.csrf)[0]
            parts.append(f"{CSRF}={nonce}")
        header = chooser.pick(["; ", ";", " ; "]).join(parts)
        headers.append(("cookie", header))
    for _ in range(chooser.integer(0, 2)):
        headers.append(("sec-gpc", chooser.pick(["1", "0", " 1 ", "1, 0", noise(chooser, 4)])))
    if chooser.integer(0, 1):
        headers.append(("origin", chooser.pick(ORIGINS) or noise(chooser, 30)))
    if chooser.integer(0, 2) == 0:
        site = chooser.pick(["same-origin", "none", "cross-site", "same-site", noise(chooser, 9)])
        headers.append(("sec-fetch-site", site))
    if chooser.integer(0, 4) == 0:
        headers.append(("x-forwarded-proto", chooser.pick(["https", "http", noise(chooser, 6)])))
    if chooser.integer(0, 5) == 0:
        headers.append(
            (noise(chooser, 12, "abcdefghijklmnopqrstuvwxyz-") or "x", noise(chooser, 60))
        )
    body = b""
    if method == "POST" or chooser.integer(0, 4) == 0:
        kind = chooser.integer(0, 5)
        if kind <= 3:
            body, _ = form_body(chooser, pools)
        elif kind == 4:
            body = noise(chooser, 300).encode("latin-1")
        else:
            body = b"action=accept_all&pad=" + b"x" * chooser.integer(16_000, 20_000)
        content_type = chooser.pick(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=utf-8",
            ]
            * 3
            + ["text/plain", "application/json", noise(chooser, 20)]
        )
        headers.append(("content-type", content_type))
    return StormRequest(method, path, query, headers, body)


def consent_post(chooser: Chooser, pools: Pools) -> StormRequest:
    """A POST to /consent as the shop's page sends it, with a chance of each thing a
    forger gets wrong: another browser's token, no nonce cookie, another site's Origin."""
    nonce, token = chooser.pick(pools.csrf)
    sent_nonce = chooser.pick([nonce, nonce, nonce, chooser.pick(pools.csrf)[0], ""])
    parts = [f"{CSRF}={sent_nonce}"] if sent_nonce else []
    parts += [cookie_part(chooser, pools) for _ in range(chooser.integer(0, 3))]
    body, _ = form_body(chooser, pools, token)
    headers = [
        ("host", HOST),
        ("cookie", "; ".join(parts)),
        ("content-type", "application/x-www-form-urlencoded"),
    ]
    origin = chooser.pick([f"https://{HOST}", f"https://{HOST}", None, *ORIGINS])
    if origin is not None:
        headers.append(("origin", origin))
    if chooser.integer(0, 2) == 0:
        headers.append(("sec-gpc", "1"))
    return StormRequest("POST", "/consent", "", headers, body)


# -- the independent reading of what a request may be granted -------------------------------


def sent_cookies(request: StormRequest, name: str) -> list[str]:
    """The values of cookie ``name``, by the browsers' rule: names and values trimmed of
    spaces and tabs, every copy kept."""
    values = []
    for header_name, header in request.headers:
        if header_name != "cookie":
            continue
        for part in header.split(";"):
            key, sep, value = part.partition("=")
            if sep and key.strip(" \t") == name:
                values.append(value.strip(" \t"))
    return values


def genuine_form(request: StormRequest, pools: Pools) -> bool:
    """Whether this is a consent form the shop's own page could have sent: a POST to
    /consent whose token matches a nonce cookie it carries (anything may then be chosen)."""
    if request.method != "POST" or request.path not in ("/consent", "/consent/"):
        return False
    tokens = [v for k, v in parse_qsl(request.body.decode("utf-8", "replace")) if k == "csrf_token"]
    nonces = sent_cookies(request, CSRF)
    return bool(tokens) and any(pools.csrf_pairs.get(nonce) == tokens[0] for nonce in nonces)


def backed_grant(request: StormRequest, pools: Pools) -> frozenset[str]:
    """What the consent cookies sent can grant, read without the middleware's parser: the
    browsers' rule (names and values trimmed of spaces and tabs), all copies agreeing."""
    values = sent_cookies(request, COOKIE)
    if len(set(values)) == 1 and values[0] in pools.valid:
        return pools.valid[values[0]]
    return POLICY.required_ids


# -- the host apps ---------------------------------------------------------------------------


@dataclass
class Seen:
    """What the host app saw of the last request."""

    called: bool = False
    granted: frozenset[str] | None = None

    def reset(self) -> None:
        self.called, self.granted = False, None


def use_context(ctx: Any, path: str) -> bytes:
    """What a storefront page does with the context: read it, use data, show a token."""
    try:
        if path == "/token":
            return ctx.csrf_token.encode()  # type: ignore[no-any-return]
        if path == "/view/tea":
            ctx.visit.add("viewed_products", "tea")
        elif path == "/visit":
            return repr(ctx.visit.get("viewed_products")).encode()
        elif path == "/state":
            return repr(ctx.public_state()).encode()
    except ConsentError:
        return b"refused"
    return ctx.mode.value.encode()  # type: ignore[no-any-return]


def asgi_app(seen: Seen) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        ctx = scope["consent"]
        seen.called = True
        seen.granted = ctx.granted
        body = use_context(ctx, scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def wsgi_app(seen: Seen) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ctx = environ["consent_middleware.context"]
        seen.called = True
        seen.granted = ctx.granted
        body = use_context(ctx, environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    return app


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]


class Target:
    """One middleware around its host app, called the way a server calls it."""

    def __init__(self, adapter: str) -> None:
        self.adapter = adapter
        self.seen = Seen()
        self.loop = asyncio.new_event_loop() if adapter == "asgi" else None
        if adapter == "asgi":
            self.app: Any = ConsentMiddleware(asgi_app(self.seen), secret_keys=[KEY])
        else:
            self.app = ConsentWSGIMiddleware(wsgi_app(self.seen), secret_keys=[KEY])

    def send(self, request: StormRequest) -> Response:
        self.seen.reset()
        if self.loop is not None:
            return self.loop.run_until_complete(self._asgi(request))
        return self._wsgi(request)

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()

    async def _asgi(self, request: StormRequest) -> Response:
        scope = {
            "type": "http",
            "http_version": "1.1",
            "scheme": "https",
            "method": request.method,
            "path": request.path,
            "raw_path": request.path.encode("latin-1"),
            "root_path": "",
            "query_string": request.query.encode("latin-1"),
            "headers": [(k.encode(), v.encode("latin-1")) for k, v in request.headers],
            "server": (HOST, 443),
            "client": ("203.0.113.9", 50000),
        }
        half = len(request.body) // 2
        messages = [
            {"type": "http.request", "body": request.body[:half], "more_body": True},
            {"type": "http.request", "body": request.body[half:], "more_body": False},
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return Response(start["status"], headers)

    def _wsgi(self, request: StormRequest) -> Response:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query,
            "SERVER_NAME": HOST,
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "203.0.113.9",
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": io.StringIO(),
            "CONTENT_LENGTH": str(len(request.body)) if request.body else "",
        }
        for name, value in request.headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
                continue
            key = "HTTP_" + key
            # Servers fold repeated headers into one; cookies with "; ".
            joiner = "; " if key == "HTTP_COOKIE" else ", "
            environ[key] = f"{environ[key]}{joiner}{value}" if key in environ else value
        captured: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        body = self.app(environ, start_response)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()
        return Response(int(captured[0].split()[0]), list(captured[1]))


# -- the checks -----------------------------------------------------------------------------


_CODEC = ConsentCookieCodec(POLICY, [KEY])


def problems(request: StormRequest, response: Response, seen: Seen, pools: Pools) -> list[str]:
    """Everything wrong with one answer (an empty list when all is well)."""
    found = []
    if response.status >= 500:
        found.append("5xx")
    backed = backed_grant(request, pools)
    if seen.granted is not None and not seen.granted <= backed:
        found.append(f"wrong grant: app saw {sorted(seen.granted)}, cookie backs {sorted(backed)}")
    if not genuine_form(request, pools):
        for name, value in response.headers:
            if name.lower() != "set-cookie" or not value.startswith(COOKIE + "="):
                continue
            state = _CODEC.decode(value.partition("=")[2].partition(";")[0], time.time())
            if isinstance(state, ConsentState) and not state.granted <= backed:
                found.append(f"wrong grant: cookie set for {sorted(state.granted)}")
    if not seen.called:
        headers = {k.lower(): v for k, v in response.headers}
        if headers.get("x-frame-options") != "DENY":
            found.append("framing: no X-Frame-Options: DENY")
        if "frame-ancestors 'none'" not in headers.get("content-security-policy", ""):
            found.append("framing: no frame-ancestors 'none'")
    return found


def check(target: Target, request: StormRequest, pools: Pools) -> list[str]:
    """Send one request and return what is wrong with its answer."""
    try:
        response = target.send(request)
    except Exception as error:  # the middleware let an error out: a server would send 500
        return [f"5xx: {type(error).__name__}: {error}"]
    return problems(request, response, target.seen, pools)


@dataclass
class Tally:
    """Counts of one storm, by adapter."""

    requests: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Counter[str]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def add(self, adapter: str, request: StormRequest, found: list[str]) -> None:
        self.requests[adapter] += 1
        kinds = self.failures.setdefault(adapter, Counter())
        for problem in found:
            kinds[problem.partition(":")[0]] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{adapter}: {problem}: {request!r}")


def storm(requests: int, seed: int, progress: Callable[[int], None] | None = None) -> Tally:
    """Send ``requests`` requests, split evenly between the adapters."""
    pools = Pools.make(int(time.time()))
    chooser = RandomChooser(seed)
    targets = [Target(adapter) for adapter in ADAPTERS]
    tally = Tally()
    try:
        for number in range(requests):
            target = targets[number % len(targets)]
            request = hostile_request(chooser, pools)
            tally.add(target.adapter, request, check(target, request, pools))
            if progress is not None and number and number % 10_000 == 0:
                progress(number)
    finally:
        for target in targets:
            target.close()
    return tally


def main_counts(tally: Tally) -> list[str]:
    """The lines ``benchmarks/storm.py`` prints, one per adapter and a total."""
    lines = []
    for adapter in ADAPTERS:
        failures = tally.failures.get(adapter, Counter())
        lines.append(
            f"{adapter}: requests {tally.requests[adapter]}, 5xx {failures['5xx']}, "
            f"wrong grants {failures['wrong grant']}, unframed {failures['framing']}"
        )
    total = sum(sum(c.values()) for c in tally.failures.values())
    lines.append(f"total: requests {sum(tally.requests.values())}, failures {total}")
    return lines
