"""Django settings of the Oscar shop, as Oscar's "Building your own shop" guide sets them up.

Everything the shop writes (the SQLite database, the search index, media, the consent
ledger) goes under ``OSCAR_SHOP_DATA`` (default ``.oscar-shop`` in the current directory).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from oscar.defaults import *  # noqa: F403  (Oscar's documented way to start its settings)

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("OSCAR_SHOP_DATA") or ".oscar-shop").resolve()

# A new key on every start is fine for a shop on 127.0.0.1: sessions end with it.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "examples.oscar_shop.urls"
SITE_ID = 1
USE_TZ = True
LANGUAGE_CODE = "en-gb"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    # Third-party apps Oscar depends on.
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",
    "django_tables2",
    # The consent middleware's app: {% load consent %} in templates.
    "consent_middleware.django",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that renders a page or sets a cookie: request.consent for the views
    # and templates, and the consent pages under /consent.
    "consent_middleware.django.ConsentMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The shop's own templates come first; each extends Oscar's template of its name.
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ],
            # The product page's shelves, each item with its reason (shelves.py).
            "libraries": {"shelves": "examples.oscar_shop.shelves"},
        },
    }
]

AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA / "shop.sqlite3",
        "ATOMIC_REQUESTS": True,
    }
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Oscar's listings and search need a real search backend: Whoosh, a file on disk.
HAYSTACK_CONNECTIONS = {
    "default": {
        "ENGINE": "haystack.backends.whoosh_backend.WhooshEngine",
        "PATH": str(DATA / "whoosh"),
    }
}

# The consent middleware: the policy declares oscar_history under "Tailor this visit".
CONSENT_MIDDLEWARE = {
    "policy": HERE / "policy.toml",
    # Keep keys out of source control; a new key per start forgets every choice on restart.
    "secret_keys": [os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)],
    # Plain HTTP on 127.0.0.1; keep secure=True (the default) in production.
    "secure": False,
    "ledger": os.environ.get("CONSENT_LEDGER") or f"sqlite:///{DATA / 'consent.db'}",
}

# Whoosh facets by field only, not by query (Oscar's price ranges); one product class and
# no ratings leave nothing to facet by.
OSCAR_SEARCH_FACETS = {"fields": {}, "queries": {}}
# Haystack's Whoosh backend fetches the wrong results for a last page that is not full:
# one page holds the whole catalogue.
OSCAR_PRODUCTS_PER_PAGE = 30

STATIC_URL = "/static/"
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA / "media"

OSCAR_SHOP_NAME = "Oscar tea shop"
OSCAR_SHOP_TAGLINE = "a django-oscar shop that asks first"
OSCAR_DEFAULT_CURRENCY = "GBP"
OSCAR_ALLOW_ANON_CHECKOUT = True
# "Recently viewed" is kept for the visit only (a cookie without an expiry date), as the
# choice that allows it, "Tailor this visit", promises.
OSCAR_RECENTLY_VIEWED_COOKIE_LIFETIME = None
OSCAR_INITIAL_ORDER_STATUS = "Pending"
OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Processed", "Cancelled"),
    "Cancelled": (),
}

# Warnings and errors on the console, tracebacks of failed requests included; not every 404.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django.request": {"level": "ERROR"}},
}
