"""Which products to suggest, and why: one shelf per source, each item with its reason.

Non-personalised shelves use only data about all shoppers (weekly sales, baskets bought
together) and the page being viewed. Personal shelves appear only when the context allows
their signal, and health views never feed the general ones. When the policy gives the shop
only broad interests (``granularity = "segment"``), the personal shelves are built from
them and name no product viewed. One placement is paid for, and says who paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consent_middleware import PersonalisationContext, Reason

from .catalogue import CATALOGUE, Product

SHELF_SIZE = 4
#: The paid placement of the home page, and who paid for it.
SPONSORED = "glass-teapot"
SPONSOR = "Kettle & Co."


@dataclass
class Suggestion:
    product: Product
    reason: Reason


@dataclass
class Shelf:
    heading: str
    items: list[Suggestion] = field(default_factory=list)
    personal: bool = False


def _take(products: list[Product], exclude: set[str]) -> list[Product]:
    chosen: list[Product] = []
    for product in products:
        if product.slug not in exclude and product not in chosen:
            chosen.append(product)
        if len(chosen) == SHELF_SIZE:
            break
    return chosen


def _viewed(ctx: PersonalisationContext, signal: str, store: str) -> list[Product]:
    if not ctx.may_read(signal):
        return []
    values = getattr(ctx, store).get(signal)
    return [p for p in (CATALOGUE.get(slug) for slug in values) if p is not None]


def interest_shelves(ctx: PersonalisationContext, exclude: set[str]) -> list[Shelf]:
    """Shelves for the broad interests the shopper seems to have: no product viewed named."""
    shelves = []
    for segment in ctx.segments():
        category = segment.values[0]  # each interest of the demo's policy is a category
        reason = ctx.reason(segment.id)
        products = _take(CATALOGUE.in_category(category), exclude)
        shelves.append(
            Shelf(
                f"Because you seem to like {segment.label}",
                [Suggestion(p, reason) for p in products],
                True,
            )
        )
    return shelves


def personal_shelves(ctx: PersonalisationContext, exclude: set[str]) -> list[Shelf]:
    """Shelves built from this shopper's own data, as far as the consent allows."""
    if not ctx.policy.gives_values("viewed_products"):
        return interest_shelves(ctx, exclude) + _health_shelf(ctx, exclude)
    shelves = []
    if ctx.may_read("favourite_categories"):
        for category in ctx.preferences.get("favourite_categories"):
            reason = ctx.reason(
                "favourite_categories", text=f"Because you told us you like {category}."
            )
            products = _take(CATALOGUE.in_category(category), exclude)
            shelves.append(
                Shelf(
                    f"{category}, which you like", [Suggestion(p, reason) for p in products], True
                )
            )
    recent = _viewed(ctx, "viewed_products", "visit")
    if recent:
        last = recent[0]
        reason = ctx.reason(
            "viewed_products",
            text=f"Because you viewed {last.name} in this visit.",
            value=last.slug,  # what "Forget this item" removes
        )
        related = [CATALOGUE.products[s] for s in last.also_bought] + CATALOGUE.in_category(
            last.category
        )
        products = _take(related, exclude | {p.slug for p in recent})
        shelves.append(
            Shelf(
                f"Because you viewed {last.name}", [Suggestion(p, reason) for p in products], True
            )
        )
    # What was viewed before this visit (this visit's views have a shelf of their own).
    earlier = [p for p in _viewed(ctx, "past_views", "preferences") if p not in recent]
    if earlier:
        first = earlier[0]
        reason = ctx.reason(
            "past_views",
            text=f"Because you viewed {first.name} on an earlier visit.",
            value=first.slug,
        )
        related = [CATALOGUE.products[s] for s in first.also_bought]
        products = _take(related + CATALOGUE.in_category(first.category), exclude | {first.slug})
        shelves.append(
            Shelf("From your earlier visits", [Suggestion(p, reason) for p in products], True)
        )
    return shelves + _health_shelf(ctx, exclude)


def _health_shelf(ctx: PersonalisationContext, exclude: set[str]) -> list[Shelf]:
    health = _viewed(ctx, "health_interest", "visit")
    if not health:
        return []
    reason = ctx.reason(
        "health_interest", text="Because you looked at health products in this visit."
    )
    products = _take(CATALOGUE.in_category("Health"), exclude | {p.slug for p in health})
    return [Shelf("Health, as you asked", [Suggestion(p, reason) for p in products], True)]


def sponsored_shelf(ctx: PersonalisationContext) -> Shelf:
    """The paid placement: the same for everyone, unless the shopper allowed marketing and
    is interested in tea, when it is targeted and says so."""
    product = CATALOGUE.products[SPONSORED]
    reason = ctx.sponsored_reason(sponsor=SPONSOR)
    if ctx.allows("marketing"):
        if ctx.may_read("viewed_products"):
            teas = [p for p in _viewed(ctx, "viewed_products", "visit") if p.category == "Tea"]
            if teas:
                reason = ctx.sponsored_reason(
                    "viewed_products",
                    sponsor=SPONSOR,
                    text=f"Shown to you because you viewed {teas[0].name} in this visit.",
                )
        elif any(s.id == "likes_tea" for s in ctx.segments()):
            reason = ctx.sponsored_reason(
                "likes_tea", sponsor=SPONSOR, text="Shown to you because you seem to like tea."
            )
    return Shelf("Sponsored", [Suggestion(product, reason)])


def home_shelves(ctx: PersonalisationContext) -> list[Shelf]:
    """The home page: personal shelves when allowed, then what all shoppers buy."""
    shelves = personal_shelves(ctx, set())
    best = CATALOGUE.bestsellers(SHELF_SIZE)
    general = ctx.general_reason()
    shelves.append(Shelf("Bestsellers this week", [Suggestion(p, general) for p in best]))
    shelves.append(sponsored_shelf(ctx))
    seen = {p.slug for p in best}
    for category in CATALOGUE.categories:
        products = _take(CATALOGUE.in_category(category), seen)
        reason = ctx.general_reason(
            f"One of the most popular in {category} with all shoppers this week; "
            "none of your data was used."
        )
        shelves.append(Shelf(f"Popular in {category}", [Suggestion(p, reason) for p in products]))
    return shelves


def product_shelves(ctx: PersonalisationContext, product: Product) -> list[Shelf]:
    """A product page: what is bought with it, then personal shelves when allowed."""
    together = [CATALOGUE.products[s] for s in product.also_bought]
    reason = ctx.general_reason(
        f"Often bought with {product.name} by all shoppers; none of your data was used."
    )
    shelves = [
        Shelf("Shoppers who bought this also bought", [Suggestion(p, reason) for p in together])
    ]
    return shelves + personal_shelves(ctx, {product.slug})


def record_view(ctx: PersonalisationContext, product: Product) -> None:
    """Remember a product view, only where the consent allows it.

    A view of a sensitive (health) product goes only to its own sensitive signal, never to
    the general ones, so it can never shape general suggestions.
    """
    if CATALOGUE.is_sensitive(product):
        if ctx.may_use("health_interest"):
            ctx.visit.add("health_interest", product.slug, keep=10)
        return
    if ctx.may_use("viewed_products"):
        ctx.visit.add("viewed_products", product.slug, keep=10)
    if ctx.may_use("past_views"):
        ctx.preferences.add("past_views", product.slug, keep=10)
