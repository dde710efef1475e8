"""The app Django installs as ``"consent_middleware.django"``."""

from __future__ import annotations

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    """Makes ``{% load consent %}`` available and checks ``CONSENT_MIDDLEWARE`` in
    ``manage.py check``."""

    name = "consent_middleware.django"
    # Django's own apps take the short names; this one would otherwise be "django".
    label = "consent_middleware"
    verbose_name = "Consent"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
