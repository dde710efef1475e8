"""A plain Flask shop. The lines marked ``# consent`` are all it took to add consent-aware,
explained personalisation (its README shows them as a diff); everything else is the shop as
it was.

    flask --app examples.flask_shop.app run
"""

from __future__ import annotations

import os  # consent
import secrets  # consent
from pathlib import Path

from flask import Flask, abort, render_template, request

from consent_middleware import ConsentPolicy, ConsentWSGIMiddleware, get_context  # consent
from consent_middleware.jinja import install  # consent

from ..demo_shop.catalogue import CATALOGUE

DEMO_SHOP = Path(__file__).parent.parent / "demo_shop"

# The demo shop's stand-ins for an analytics tag and an advertising pixel are its static files.
app = Flask(__name__, static_folder=DEMO_SHOP / "static")
install(app.jinja_env)  # consent
app.wsgi_app = ConsentWSGIMiddleware(  # type: ignore[method-assign]  # consent
    app.wsgi_app,
    policy=ConsentPolicy.from_toml(DEMO_SHOP / "policy.toml"),
    # A key from `consent-middleware keygen`; without one, a new key at each start.
    secret_keys=[os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)],
    secure=False,  # plain HTTP in development only
)


@app.route("/")
def home() -> str:
    ctx = get_context(request)  # consent
    reason = ctx.general_reason()  # consent
    items = [{"product": p, "reason": reason} for p in CATALOGUE.bestsellers(8)]  # consent
    return render_template("home.html", items=items)


@app.route("/products/<slug>")
def product(slug: str) -> str:
    item = CATALOGUE.get(slug)
    if item is None:
        abort(404)
    ctx = get_context(request)  # consent
    if ctx.may_use("viewed_products"):  # consent
        ctx.visit.add("viewed_products", slug)  # consent
    also_bought = [CATALOGUE.products[s] for s in item.also_bought]
    text = f"Often bought with {item.name} by all shoppers; none of your data was used."  # consent
    reason = ctx.general_reason(text)  # consent
    related = [{"product": p, "reason": reason} for p in also_bought]  # consent
    return render_template("product.html", product=item, related=related)
