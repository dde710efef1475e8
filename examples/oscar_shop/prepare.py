"""Getting the shop ready to serve: database, catalogue, search index, placeholder image."""

from __future__ import annotations

import shutil
from pathlib import Path

import oscar
from django.conf import settings
from django.core.management import call_command

from . import catalogue

OSCAR_STATIC = Path(oscar.__file__).parent / "static" / "oscar"


def prepare() -> int:
    """Migrate, load the catalogue and rebuild the search index; returns the product count.

    Safe to run on every start: migrations and the catalogue are applied only where they
    are missing, and the index is rebuilt from the database.
    """
    Path(settings.DATA).mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    count = catalogue.load()
    # Oscar resizes this image for products without one of their own (see its settings).
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(exist_ok=True)
    placeholder = media / settings.OSCAR_MISSING_IMAGE_URL
    if not placeholder.exists():
        shutil.copyfile(OSCAR_STATIC / "img" / "image_not_found.jpg", placeholder)
    call_command("rebuild_index", interactive=False, verbosity=0)
    return count
