"""The demo storefront: routes, templates and the consent middleware around them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from consent_middleware import (
    ConsentMiddleware,
    ConsentPolicy,
    PersonalisationContext,
    get_context,
)
from consent_middleware.core.codec import ConsentState
from consent_middleware.jinja import install

from .catalogue import CATALOGUE
from .recommend import home_shelves, product_shelves, record_view

HERE = Path(__file__).parent
POLICY = ConsentPolicy.from_toml(HERE / "policy.toml")
#: The purposes whose signals the shelves read, turned to segments with --segments-only.
PERSONAL = ("session_personalisation", "personalisation")


def segments_only(policy: ConsentPolicy) -> ConsentPolicy:
    """The same policy, its personal purposes giving the shelves only broad interests
    (``granularity = "segment"``), never the products viewed."""
    purposes = [
        replace(p, granularity="segment") if p.id in PERSONAL else p for p in policy.purposes
    ]
    return ConsentPolicy(
        purposes,
        version=policy.version,
        signals=policy.signals,
        consent_lifetime=policy.consent_lifetime,
        last_updated=policy.last_updated,
        ledger_retention=policy.ledger_retention,
        regions=policy.regions,
        segments=policy.segments,
        outcomes=policy.outcomes,
    )


TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
install(TEMPLATES.env)
BASKET_COOKIE = "basket"


def basket_of(request: Request) -> list[str]:
    """The basket (strictly necessary, so kept in every mode): product slugs."""
    raw = request.cookies.get(BASKET_COOKIE, "")
    return [slug for slug in raw.split(".") if slug in CATALOGUE.products][:50]


def page(request: Request, name: str, status: int = 200, **values: Any) -> Response:
    basket = basket_of(request)
    values.update(consent=get_context(request), basket_count=len(basket), catalogue=CATALOGUE)
    return TEMPLATES.TemplateResponse(request, name, values, status_code=status)


async def home(request: Request) -> Response:
    return page(request, "home.html", shelves=home_shelves(get_context(request)))


async def product(request: Request) -> Response:
    item = CATALOGUE.get(request.path_params["slug"])
    if item is None:
        return page(request, "not_found.html", status=404)
    ctx = get_context(request)
    shelves = product_shelves(ctx, item)
    record_view(ctx, item)
    ctx.count("product_view")  # a day's total per mode: are unpersonalised pages as good?
    return page(request, "product.html", product=item, shelves=shelves)


async def category(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in CATALOGUE.categories:
        return page(request, "not_found.html", status=404)
    return page(request, "category.html", category=name, products=CATALOGUE.in_category(name))


async def basket(request: Request) -> Response:
    items = [CATALOGUE.products[slug] for slug in basket_of(request)]
    return page(request, "basket.html", items=items, total=sum(p.price for p in items))


async def basket_add(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    slug = form.get("slug", [""])[0]
    target = f"/products/{slug}" if slug in CATALOGUE.products else "/basket"
    response = RedirectResponse(target, status_code=303)
    if slug in CATALOGUE.products:
        get_context(request).count("basket_add")
        contents = [*basket_of(request), slug][-50:]
        response.set_cookie(BASKET_COOKIE, ".".join(contents), httponly=True, samesite="lax")
    return response


async def basket_clear(request: Request) -> Response:
    response = RedirectResponse("/basket", status_code=303)
    response.delete_cookie(BASKET_COOKIE)
    return response


def routes() -> list[Route | Mount]:
    return [
        Route("/", home),
        Route("/products/{slug}", product),
        Route("/category/{name}", category),
        Route("/basket", basket),
        Route("/basket/add", basket_add, methods=["POST"]),
        Route("/basket/clear", basket_clear, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def without_consent_middleware(app: ASGIApp) -> ASGIApp:
    """The same shop with a fixed "rejected everything" context instead of the middleware:
    the baseline the load check compares against."""
    rejected = ConsentState("baseline-no-consent-id", POLICY.grant([]), 0)

    async def baseline(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["consent"] = PersonalisationContext(POLICY, rejected, path=scope["path"])
        await app(scope, receive, send)

    return baseline


DEFAULT_LEDGER = "sqlite:///.demo-shop/consent.db"


def create_app(
    secret_key: str | None = None,
    *,
    consent: bool = True,
    ledger: str | None = None,
    segments: bool | None = None,
    region_header: str | None = None,
    region_subdivision_header: str | None = None,
) -> Any:
    """The demo shop.

    The key comes from ``CONSENT_SECRET_KEY`` or is made per start; choices are recorded in
    ``ledger``, else ``CONSENT_LEDGER``, else a SQLite file under ``.demo-shop/``. The
    region of each request comes from ``region_header`` (and ``region_subdivision_header``),
    else ``CONSENT_REGION_HEADER`` (and ``CONSENT_REGION_SUBDIVISION_HEADER``), else from
    nowhere: then every shopper gets the opt-in rules. With ``segments`` (else
    ``DEMO_SEGMENTS_ONLY=1``) the personal shelves use broad interests only.
    """
    if segments is None:
        segments = os.environ.get("DEMO_SEGMENTS_ONLY") == "1"
    shop = Starlette(routes=routes())
    if not consent:
        return without_consent_middleware(shop)
    key = secret_key or os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)
    ledger = ledger or os.environ.get("CONSENT_LEDGER") or DEFAULT_LEDGER
    if ledger == DEFAULT_LEDGER:
        Path(".demo-shop").mkdir(exist_ok=True)
    # secure=False: the demo runs over plain HTTP on 127.0.0.1. Keep True in production.
    return ConsentMiddleware(
        shop,
        policy=segments_only(POLICY) if segments else POLICY,
        secret_keys=[key],
        secure=False,
        ledger=ledger,
        # The consent UI in the shopper's language (the shop's own pages stay English).
        languages=["en", "de", "fr", "es", "it", "nl", "pl", "pt"],
        # The rules of the shopper's region, from a header the CDN in front sets (try it
        # with curl -H "CF-IPCountry: US" -H "CF-Region-Code: CA").
        region_header=region_header or os.environ.get("CONSENT_REGION_HEADER") or None,
        region_subdivision_header=region_subdivision_header
        or os.environ.get("CONSENT_REGION_SUBDIVISION_HEADER")
        or None,
    )
