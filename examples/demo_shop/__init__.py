"""A small storefront that personalises with consent and explains every suggestion."""

from .app import create_app

__all__ = ["create_app"]
