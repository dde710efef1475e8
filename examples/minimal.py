"""The smallest consent-aware shop: one Starlette page, the consent UI, uvicorn.

    python -m examples.minimal [--port 8000]

Open http://127.0.0.1:8000/, answer the banner, look at "Why am I seeing this?" under each
suggestion, and change your mind under "Privacy choices". The cookie is not ``Secure`` here
because the example runs over plain HTTP on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from consent_middleware import ConsentMiddleware, ConsentPolicy, get_context
from consent_middleware.jinja import install

POLICY = ConsentPolicy.from_toml(Path(__file__).parent / "policy.toml")
TEMPLATES = install(jinja2.Environment(autoescape=True))
PAGE = TEMPLATES.from_string(
    """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Minimal shop</title></head>
<body>
{{ consent_banner() }}
<header><a href="/">Minimal shop</a> | {{ privacy_choices_link() }}</header>
<main>
<h1>Minimal shop</h1>
<p>This visit is <strong>{{ consent.mode.value }}</strong>.</p>
<h2>{{ heading }}</h2>
<ul>
{% for item in items %}<li><a href="/view/{{ item.slug }}">{{ item.name }}</a> {{ why(item) }}</li>
{% endfor %}
</ul>
{% consent "analytics" %}<p>Analytics would load here (you allowed it).</p>{% endconsent %}
</main>
</body>
</html>"""
)

PRODUCTS = {"green-tea": "Green tea", "walking-socks": "Walking socks", "enamel-mug": "Enamel mug"}


async def home(request: Request) -> Response:
    ctx = get_context(request)
    viewed = ctx.visit.get("viewed_products") if ctx.may_use("viewed_products") else []
    if viewed:
        last = PRODUCTS.get(viewed[0], viewed[0])
        reason = ctx.reason("viewed_products", text=f"Because you viewed {last} in this visit.")
        heading = "Picked for you from this visit"
        items = [{"slug": s, "name": n, "reason": reason} for s, n in PRODUCTS.items()]
    else:
        heading = "Bestsellers with all shoppers this week"
        general = ctx.general_reason()
        items = [{"slug": s, "name": n, "reason": general} for s, n in PRODUCTS.items()]
    return HTMLResponse(PAGE.render(consent=ctx, heading=heading, items=items))


async def view(request: Request) -> Response:
    ctx = get_context(request)
    slug = request.path_params["slug"]
    if slug in PRODUCTS and ctx.may_use("viewed_products"):
        ctx.visit.add("viewed_products", slug)  # without guest mode nothing is remembered
    return RedirectResponse("/", status_code=303)


def create_app(secret_key: str | None = None) -> Starlette:
    """The example app; the key comes from ``CONSENT_SECRET_KEY`` or is made per start."""
    key = secret_key or os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)
    app = Starlette(routes=[Route("/", home), Route("/view/{slug}", view)])
    app.add_middleware(
        ConsentMiddleware,
        policy=POLICY,
        secret_keys=[key],
        secure=False,  # plain HTTP on 127.0.0.1; keep the default True in production
    )
    return app


def main() -> None:
    from .serving import listen, run

    parser = argparse.ArgumentParser(description="Run the minimal consent-aware shop.")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    sock = listen(args.port)
    print(f"Minimal shop on http://127.0.0.1:{args.port}/  (Ctrl+C to stop)", flush=True)
    run(create_app(), sock)


if __name__ == "__main__":
    main()
