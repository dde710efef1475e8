"""The smallest consent-aware shop: one Starlette page, the consent endpoints, uvicorn.

    python -m examples.minimal [--port 8000]

Open http://127.0.0.1:8000/, make a choice under "Privacy choices" and watch the page
change mode. The cookie is not ``Secure`` here because the example runs over plain HTTP.
"""

from __future__ import annotations

import argparse
import os
import secrets

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent_middleware import ConsentMiddleware, ConsentPolicy, Mode, get_context

PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Minimal shop</title></head>
<body>
<header><a href="/consent?next=/">Privacy choices</a></header>
<main>
<h1>Minimal shop</h1>
<p>This visit is <strong>{{ mode }}</strong>{% if not decided %} (no choice made yet){% endif %}.
{% if gpc %}Your browser sends Global Privacy Control: marketing stays off.{% endif %}</p>
<h2>{{ heading }}</h2>
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
{% if analytics %}<p>Analytics would load here (you allowed it).</p>{% endif %}
</main>
</body>
</html>"""
)

BESTSELLERS = ["Green tea", "Walking socks", "Enamel mug"]


async def home(request: Request) -> HTMLResponse:
    ctx = get_context(request)
    if ctx.mode is Mode.PERSONALISED:
        heading, items = "Picked for you from your saved preferences", ["Oolong tea", *BESTSELLERS]
    elif ctx.mode is Mode.SESSION:
        heading, items = "Picked for you from this visit", ["Tea strainer", *BESTSELLERS]
    else:
        heading, items = "Bestsellers with all shoppers this week", BESTSELLERS
    html = PAGE.render(
        mode=ctx.mode.value,
        decided=ctx.decided,
        gpc=ctx.gpc,
        heading=heading,
        items=items,
        analytics=ctx.allows("analytics"),
    )
    return HTMLResponse(html)


def create_app(secret_key: str | None = None) -> Starlette:
    """The example app; the key comes from ``CONSENT_SECRET_KEY`` or is made per start."""
    key = secret_key or os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)
    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(
        ConsentMiddleware,
        policy=ConsentPolicy.default(),
        secret_keys=[key],
        secure=False,  # plain HTTP on 127.0.0.1; keep the default True in production
    )
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Run the minimal consent-aware shop.")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    print(f"Minimal shop on http://127.0.0.1:{args.port}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
