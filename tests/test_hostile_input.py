"""No header, cookie or form a client can send makes the middleware answer with a 5xx, and
no altered cookie ever grants a purpose."""

from __future__ import annotations

import json
import random
import time
from urllib.parse import quote

from .conftest import Driver, make_cookie

ALPHABET = [chr(c) for c in range(0x20, 0x7F)] + ["\t", "\x80", "\xff", "é"]
PATHS = [
    "/",
    "/consent",
    "/consent/",
    "/consent/state",
    "/consent/why",
    "/consent/data",
    "/consent/forget",
    "/consent/signals",
    "/consent/pause",
    "/consent/feedback",
    "/.well-known/gpc.json",
    "/token",
]


def noise(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(size)))


def test_random_requests_never_get_a_5xx(driver: Driver) -> None:
    rng = random.Random(20261129)
    valid = make_cookie(("analytics",), decided_at=int(time.time()))
    for _ in range(150):
        cookie_value = rng.choice([noise(rng, 200), valid[: rng.randrange(len(valid))], valid])
        headers = [
            ("Cookie", f"{driver.cookie_name}={cookie_value}; {noise(rng, 40)}"),
            ("Sec-GPC", noise(rng, 4)),
            ("Origin", rng.choice(["https://shop.test", noise(rng, 30), "null"])),
            ("Content-Type", rng.choice(["application/x-www-form-urlencoded", noise(rng, 20)])),
        ]
        method = rng.choice(["GET", "POST", "HEAD", "PUT"])
        body = noise(rng, 300).encode("utf-8")
        query = "&".join(f"{noise(rng, 5)}={noise(rng, 5)}" for _ in range(rng.randrange(40)))
        path = rng.choice(PATHS) + "?" + quote(query, safe="=&")
        result = driver.request(method, path, headers=headers, body=body)
        assert result.status < 500, (method, headers)
        assert not any(c.startswith(driver.cookie_name + "=") for c in result.set_cookies)


def test_random_cookies_never_grant_anything(driver: Driver) -> None:
    rng = random.Random(7)
    valid = make_cookie((), decided_at=int(time.time()))
    for _ in range(100):
        chars = list(valid)
        for _ in range(rng.randrange(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice(ALPHABET[:95])
        tampered = "".join(chars)
        if tampered == valid:
            continue
        result = driver.get("/", cookies={driver.cookie_name: tampered})
        assert result.status == 200
        assert json.loads(result.text)["granted"] == ["necessary"]
