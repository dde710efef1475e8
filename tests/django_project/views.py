"""The host app of tests/apps.py as Django views, and pages that use the template tags."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from consent_middleware import get_context

from ..apps import shop


@csrf_exempt
def app(request: HttpRequest, path: str = "") -> HttpResponse:
    """Every route of the shared host app; the context comes from get_context(request)."""
    status, body, headers = shop(
        get_context(request),
        request.method or "GET",
        request.path_info,
        request.META.get("QUERY_STRING", ""),
    )
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            if "Max-Age=0" in rest:
                response.delete_cookie(key, path="/")
            else:
                response.set_cookie(key, rest.partition(";")[0], path="/")
        elif name.lower() == "vary":
            response["Vary"] = value
        else:
            response[name] = value
    return response


def page(request: HttpRequest, name: str) -> HttpResponse:
    """``templates/<name>.html``, rendered with the request and the query's values."""
    values: dict[str, Any] = dict(request.GET.items())
    return render(request, f"{name}.html", values)


def viewed(request: HttpRequest) -> HttpResponse:
    """A page built from this visit's history: personal, so private."""
    ctx = request.consent  # type: ignore[attr-defined]
    if not ctx.may_use("viewed_products"):
        return HttpResponse("Popular this week")
    seen = ctx.visit.get("viewed_products")
    reason = ctx.reason("viewed_products", text="Because you viewed these.")
    return HttpResponse(f"You viewed {', '.join(seen) or 'nothing yet'}. {reason.text}")


#: How often each view ran (the cache tests count the pages the cache answered instead).
CALLS: dict[str, int] = {}


def greeting(request: HttpRequest) -> HttpResponse:
    """A page that depends only on the mode."""
    CALLS["greeting"] = CALLS.get("greeting", 0) + 1
    return HttpResponse(f"Hello, {request.consent.mode.value} shopper")  # type: ignore[attr-defined]


def news(request: HttpRequest) -> HttpResponse:
    """A page that never looks at consent."""
    CALLS["news"] = CALLS.get("news", 0) + 1
    return HttpResponse("Today's news")


def remember(request: HttpRequest, product: str) -> HttpResponse:
    """Adds a product to this visit's history, when the shopper allows it."""
    ctx = request.consent  # type: ignore[attr-defined]
    if ctx.may_use("viewed_products"):
        ctx.visit.add("viewed_products", product)
    return HttpResponse("noted")


def identity(request: HttpRequest) -> JsonResponse:
    """Where the context is found on this kind of request."""
    return JsonResponse(
        {
            "request": type(request).__name__,
            "same": get_context(request) is request.consent,  # type: ignore[attr-defined]
            "mode": request.consent.mode.value,  # type: ignore[attr-defined]
        }
    )


def raw_cookie(request: HttpRequest) -> HttpResponse:
    """A ``Set-Cookie`` header put in ``response.headers`` directly, past ``set_cookie()``."""
    response = HttpResponse("set")
    response.headers[request.GET.get("name", "Set-Cookie")] = request.GET["line"]
    return response


def form(request: HttpRequest) -> HttpResponse:
    """An app form: Django's CSRF protection, when installed, still guards it."""
    return HttpResponse(f"app saw {request.method}")
