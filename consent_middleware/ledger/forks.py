"""Objects that must start afresh in a child process after ``fork``.

Servers such as gunicorn ``--preload`` build the app once and fork workers from it. A lock
held by another thread at that moment stays held for ever in the child, a database
connection would be shared by two processes, and no thread survives. Objects registered
here are told, in each new child, to drop what they inherited.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "renew_after_fork"]


class ForkAware(Protocol):
    def _after_fork(self) -> None:
        """Replace locks, forget connections and threads inherited from the parent."""


_registered: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def renew_after_fork(obj: ForkAware) -> None:
    """Call ``obj._after_fork()`` in every child process forked from now on."""
    _registered.add(obj)


def _in_child() -> None:
    for obj in list(_registered):
        obj._after_fork()


os.register_at_fork(after_in_child=_in_child)
