"""``settings.CONSENT_MIDDLEWARE``: the middleware's options as a Django setting."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..core.exceptions import ConfigurationError
from ..web.options import ConsentOptions

__all__ = ["SETTING", "consent_options"]

#: The name of the settings dict; its keys are the keyword arguments of the ASGI and WSGI
#: middleware.
SETTING = "CONSENT_MIDDLEWARE"


def consent_options() -> ConsentOptions:
    """The checked options of ``settings.CONSENT_MIDDLEWARE``.

    A missing setting, an unknown key or a wrong value raises ``ImproperlyConfigured``
    naming the key (the :class:`ConfigurationError` is its cause).
    """
    try:
        mapping = getattr(settings, SETTING)
    except AttributeError:
        raise ImproperlyConfigured(
            f"{SETTING} is not set: add {SETTING} = {{'secret_keys': [key]}} to your settings "
            "(make a key with `consent-middleware keygen`)"
        ) from None
    try:
        return ConsentOptions.from_mapping(mapping, source=SETTING)
    except ConfigurationError as e:
        raise ImproperlyConfigured(str(e)) from e
