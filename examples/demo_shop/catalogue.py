"""The demo shop's products, loaded once from ``catalogue.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    category: str
    price: float
    description: str
    weekly_sales: int
    also_bought: tuple[str, ...]


class Catalogue:
    """Products by slug and category; sales figures are about all shoppers, not one."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.categories: list[str] = data["categories"]
        self.sensitive_categories = frozenset(data["sensitive_categories"])
        self.products = {
            item["slug"]: Product(**{**item, "also_bought": tuple(item["also_bought"])})
            for item in data["products"]
        }

    def get(self, slug: str) -> Product | None:
        return self.products.get(slug)

    def in_category(self, category: str) -> list[Product]:
        return sorted(
            (p for p in self.products.values() if p.category == category),
            key=lambda p: -p.weekly_sales,
        )

    def bestsellers(self, count: int, exclude: set[str] | None = None) -> list[Product]:
        ranked = sorted(self.products.values(), key=lambda p: -p.weekly_sales)
        return [p for p in ranked if p.slug not in (exclude or set())][:count]

    def is_sensitive(self, product: Product) -> bool:
        return product.category in self.sensitive_categories


CATALOGUE = Catalogue(Path(__file__).parent / "catalogue.json")
