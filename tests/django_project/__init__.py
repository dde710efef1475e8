"""A minimal Django project for the Django tests, configured once per test process.

Django's settings belong to the whole process: only the Django tests import this, and each
test changes what it needs with ``override_settings``. Nothing is put in the environment,
so processes the tests start do not inherit these settings.
"""

from __future__ import annotations

import django
from django.conf import settings as django_settings


def setup() -> None:
    """Configure Django with :mod:`tests.django_project.settings`, once."""
    if django_settings.configured:
        return
    from . import settings as project

    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    django_settings.configure(**values)
    django.setup()
