"""``{% load shelves %}``: the product page's two shelves, each item with its reason.

"Recommended items" are the shop's own choice for a product, the same for every shopper.
"Products you recently viewed" come from Oscar's ``oscar_history`` cookie: listed only when
the shopper allowed "Tailor this visit", and health products among them only when the
shopper also allowed their sensitive purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.http import HttpRequest
from oscar.core.loading import get_class, get_model

from consent_middleware import Reason

from .catalogue import HEALTH

register = template.Library()

#: The policy's signals (policy.toml) for the products a shopper viewed.
RECENTLY_VIEWED = "recently_viewed"
HEALTH_VIEWS = "health_views"
SHELF_SIZE = 6


@dataclass(frozen=True)
class Item:
    """A product on a shelf and why it is there (``{% why item %}`` reads ``reason``)."""

    product: Any
    reason: Reason


@register.simple_tag(takes_context=True)
def recommended_items(context: template.Context, product: Any) -> list[Item]:
    """Oscar's recommendations for ``product``: chosen by the shop, not from any shopper."""
    ctx = context["request"].consent
    reason = ctx.general_reason(
        f"The shop recommends it with {product.get_title()}, for every shopper; "
        "none of your data was used."
    )
    products = product.sorted_recommended_products[:SHELF_SIZE]
    return [Item(p, reason) for p in products]


@register.simple_tag(takes_context=True)
def recently_viewed_items(context: template.Context, current: Any = None) -> list[Item]:
    """The products in Oscar's history cookie, as far as the shopper's consent allows."""
    request: HttpRequest = context["request"]
    ctx = request.consent
    if not ctx.may_use(RECENTLY_VIEWED):
        return []
    history = get_class("customer.history", "CustomerHistoryManager")
    products = [p for p in history.get(request) if p != current]
    sensitive = _in_health(products)
    health_allowed = ctx.may_use(HEALTH_VIEWS)
    items: list[Item] = []
    for product in products:
        if len(items) == SHELF_SIZE:
            break
        if product.pk not in sensitive:
            reason = ctx.reason(RECENTLY_VIEWED, text=f"You viewed {product.get_title()}.")
        elif health_allowed:
            reason = ctx.reason(
                RECENTLY_VIEWED,
                HEALTH_VIEWS,
                text=f"You viewed {product.get_title()}, a health product: listed because "
                "you allowed the shop to use your interest in health products.",
            )
        else:
            continue
        items.append(Item(product, reason))
    return items


def _in_health(products: list[Any]) -> set[int]:
    """The ids of the products filed under the sensitive category (or below it)."""
    if not products:
        return set()
    category = get_model("catalogue", "Category")
    roots = category.objects.filter(name=HEALTH)
    paths = [root.path for root in roots]
    links = (
        get_model("catalogue", "ProductCategory")
        .objects.filter(product__in=products)
        .values_list("product_id", "category__path")
    )
    return {pk for pk, path in links if any(path.startswith(p) for p in paths)}
