"""Oscar's URLs, and the static and media files served by Django itself (fine on 127.0.0.1,
where no web server sits in front of the shop)."""

from __future__ import annotations

import warnings

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from django.views.static import serve as serve_media

# Django's static file view reads files synchronously, and under ASGI warns for each one.
warnings.filterwarnings("ignore", "StreamingHttpResponse must consume synchronous iterators")

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
    re_path(r"^media/(?P<path>.*)$", serve_media, {"document_root": settings.MEDIA_ROOT}),
    path("", include(apps.get_app_config("oscar").urls[0])),
]
