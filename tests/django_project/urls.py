"""The test project's routes: the tag pages, then the shared host app for everything else."""

from __future__ import annotations

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("page/<str:name>", views.page),
    path("viewed", views.viewed),
    path("greeting", views.greeting),
    path("news", views.news),
    path("remember/<str:product>", views.remember),
    path("identity", views.identity),
    path("form", views.form),
    path("raw-cookie", views.raw_cookie),
    re_path(r"^(?P<path>.*)$", views.app),
]
