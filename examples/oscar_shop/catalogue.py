"""The shop's catalogue, loaded into Oscar's own models: categories, products, prices, stock
and the shop's recommendations. Loading it again changes nothing."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from oscar.core.loading import get_model

#: The category whose products say something sensitive about a shopper.
HEALTH = "Health"

#: Category: (UPC, title, price in GBP, description), in the order of the shelves.
PRODUCTS: dict[str, list[tuple[str, str, str, str]]] = {
    "Tea": [
        ("TEA-001", "Sencha green tea", "6.50", "A grassy Japanese green tea, steamed."),
        ("TEA-002", "Jasmine pearls", "9.00", "Green tea rolled into pearls with jasmine."),
        ("TEA-003", "Assam breakfast tea", "5.20", "A strong, malty black tea for milk."),
        ("TEA-004", "Earl Grey", "5.80", "Black tea with bergamot oil."),
        ("TEA-005", "Rooibos chai", "6.10", "Caffeine-free rooibos with warming spices."),
        ("TEA-006", "Oolong Tieguanyin", "11.40", "A floral, lightly oxidised oolong."),
    ],
    "Teaware": [
        ("WARE-001", "Cast iron teapot", "34.00", "Keeps a pot hot for an hour."),
        ("WARE-002", "Glass infuser mug", "14.50", "A mug with a removable glass infuser."),
        ("WARE-003", "Bamboo tea scoop", "4.20", "One scoop is one cup."),
        ("WARE-004", "Porcelain tea cups, set of four", "22.00", "Thin white porcelain."),
        ("WARE-005", "Tea caddy", "12.80", "An airtight tin for loose leaves."),
        ("WARE-006", "Kettle with temperature control", "49.00", "From 60 to 100 degrees."),
    ],
    "Books": [
        ("BOOK-001", "The world of tea", "18.00", "Where tea grows and how it is made."),
        ("BOOK-002", "Brewing at home", "12.50", "Times and temperatures for every tea."),
        ("BOOK-003", "Tea and cake", "15.00", "Forty bakes to go with a pot."),
        ("BOOK-004", "A history of the tea trade", "21.00", "Ships, ports and merchants."),
        ("BOOK-005", "Gardening for tea lovers", "16.40", "Growing herbs for tisanes."),
    ],
    "Kitchen": [
        ("KIT-001", "Honey from the hills", "7.90", "A mild wildflower honey."),
        ("KIT-002", "Lemon shortbread", "3.60", "Butter shortbread with lemon zest."),
        ("KIT-003", "Linen tea towel", "8.00", "Washed linen, in three colours."),
        ("KIT-004", "Oat milk, barista", "2.40", "Froths like dairy milk."),
        ("KIT-005", "Sugar cubes, brown", "1.90", "Demerara sugar in cubes."),
    ],
    HEALTH: [
        ("HEALTH-001", "Sleep support herbal tea", "7.20", "Valerian and lemon balm."),
        ("HEALTH-002", "Vitamin D drops", "9.90", "One drop a day in winter."),
        ("HEALTH-003", "Pregnancy test kit", "6.40", "Two tests, results in three minutes."),
        ("HEALTH-004", "Blood pressure monitor", "29.00", "An upper arm cuff monitor."),
    ],
}

#: How many products of its own category each product recommends (Oscar's "Recommended
#: items"): the next ones on the shelf.
RECOMMENDED = 3


def health_upcs() -> frozenset[str]:
    """The UPCs of the sensitive category's products."""
    return frozenset(upc for upc, *_ in PRODUCTS[HEALTH])


@transaction.atomic
def load() -> int:
    """Create every category, product, stock record and recommendation that is missing;
    returns the number of products in the catalogue."""
    category_model = get_model("catalogue", "Category")
    product_model = get_model("catalogue", "Product")
    product_class, _ = get_model("catalogue", "ProductClass").objects.get_or_create(
        name="Goods", defaults={"requires_shipping": True, "track_stock": True}
    )
    partner, _ = get_model("partner", "Partner").objects.get_or_create(name="Oscar tea shop")
    for name, items in PRODUCTS.items():
        category = category_model.objects.filter(depth=1, name=name).first()
        if category is None:
            category = category_model.add_root(name=name)
        products = []
        for upc, title, price, description in items:
            product, _ = product_model.objects.get_or_create(
                upc=upc,
                defaults={
                    "title": title,
                    "description": description,
                    "product_class": product_class,
                    "structure": product_model.STANDALONE,
                    "is_public": True,
                },
            )
            get_model("catalogue", "ProductCategory").objects.get_or_create(
                product=product, category=category
            )
            get_model("partner", "StockRecord").objects.get_or_create(
                partner=partner,
                partner_sku=upc,
                defaults={
                    "product": product,
                    "price": Decimal(price),
                    "price_currency": "GBP",
                    "num_in_stock": 100,
                },
            )
            products.append(product)
        _recommend(products)
    return int(product_model.objects.count())


def _recommend(products: list[object]) -> None:
    recommendation = get_model("catalogue", "ProductRecommendation")
    for index, primary in enumerate(products):
        for rank in range(1, RECOMMENDED + 1):
            other = products[(index + rank) % len(products)]
            recommendation.objects.get_or_create(
                primary=primary, recommendation=other, defaults={"ranking": RECOMMENDED - rank}
            )
