"""The test project's settings; tests override ``MIDDLEWARE`` and ``CONSENT_MIDDLEWARE``."""

from __future__ import annotations

from pathlib import Path

from ..conftest import KEY

SECRET_KEY = "django-test-project-key-" + "d" * 40
DEBUG = False
ALLOWED_HOSTS = ["shop.test", "testserver", "localhost", "127.0.0.1"]
ROOT_URLCONF = "tests.django_project.urls"
INSTALLED_APPS = ["consent_middleware.django"]
MIDDLEWARE = ["consent_middleware.django.ConsentMiddleware"]
CONSENT_MIDDLEWARE = {"secret_keys": [KEY]}
DATABASES: dict[str, object] = {}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHE_MIDDLEWARE_SECONDS = 600
USE_TZ = True
LOGGING_CONFIG = None
