"""Where a consent form may send the browser afterwards: only a path on this site."""

from __future__ import annotations

__all__ = ["safe_next"]

MAX_NEXT_LENGTH = 2048


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default``.

    Refuses anything a browser could read as another origin: a scheme (``javascript:``,
    ``https:``), a network path (``//evil.example``), backslashes (``/\\evil``, which
    browsers read as ``//``), and control or space characters (browsers drop tabs and
    newlines, which could join ``/`` and ``/evil`` into ``//evil``).
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return default
    if value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return default
    if not value.isascii():
        return default
    return value
