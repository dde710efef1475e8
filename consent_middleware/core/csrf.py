"""Cross-site request forgery protection for the consent forms.

Two independent checks guard every consent ``POST``: the browser's own ``Origin`` and
``Sec-Fetch-Site`` headers must not name another site, and the form must carry a token
signed by the server for the nonce in this browser's CSRF cookie (signed double submit).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable

from itsdangerous import BadSignature

from .cookies import cookie_values
from .signing import make_signer

__all__ = ["CsrfGuard", "origin_allowed"]

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")


class CsrfGuard:
    """Issues and checks form tokens bound to a per-browser random nonce, kept in the
    cookie ``cookie_name``."""

    def __init__(self, keys: list[bytes], cookie_name: str) -> None:
        self._signer = make_signer(keys, "consent_middleware.core.csrf")
        self.cookie_name = cookie_name
        self._cookie_key = cookie_name + "="

    def nonce_from(self, cookie_header: str) -> str | None:
        """The nonce in a ``Cookie`` header, if it holds exactly one well-formed one."""
        values = cookie_values(cookie_header, self._cookie_key)
        if len(values) == 1 and _NONCE.match(values[0]):
            return values[0]
        return None

    @staticmethod
    def new_nonce() -> str:
        """A fresh random nonce for the CSRF cookie."""
        return secrets.token_urlsafe(16)

    def token_for(self, nonce: str) -> str:
        """The form token that matches ``nonce``."""
        return self._signer.sign(nonce).decode("ascii")

    def check(self, token: str | None, nonce: str | None) -> bool:
        """Whether ``token`` was issued by this server for ``nonce``."""
        if not token or not nonce or len(token) > 256:
            return False
        try:
            signed = self._signer.unsign(token)
        except (BadSignature, UnicodeEncodeError):
            return False
        return hmac.compare_digest(signed, nonce.encode())


_DEFAULT_PORTS = {"http": "80", "https": "443"}
_PORT = re.compile(r"[0-9]{1,5}\Z")


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` with the scheme's default port filled in, or ``None`` when
    this is not an http(s) origin (a path, user info, a bad port, ...)."""
    scheme, netloc = scheme.lower(), netloc.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default is None or not netloc or any(c in netloc for c in "/\\?#@ \t"):
        return None
    if netloc.startswith("["):  # an IPv6 literal
        host, bracket, rest = netloc.partition("]")
        host += bracket
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else default
    else:
        host, colon, port = netloc.partition(":")
        if not colon:
            port = default
    if not host or not _PORT.match(port):
        return None
    return scheme, host, int(port)


def _parse_origin(origin: str) -> tuple[str, str, int] | None:
    scheme, sep, netloc = origin.strip().partition("://")
    return _origin(scheme, netloc) if sep else None


def origin_allowed(
    origin: str | None,
    fetch_site: str | None,
    host: str | None,
    trusted_origins: Iterable[str] = (),
    *,
    scheme: str,
) -> bool:
    """Whether a ``POST`` may come from where its headers say it comes from.

    ``Sec-Fetch-Site`` must be ``same-origin`` or ``none`` when sent. ``Origin``, when sent,
    must be this site: the request's own ``scheme`` (as the server saw it), ``host`` and
    port (80 and 443 by default), or one of ``trusted_origins``. Behind a proxy that ends
    TLS or rewrites ``Host``, let the server apply the forwarded scheme and host, or list
    the public origin in ``trusted_origins``. Browsers that send neither header are left
    to the token check.
    """
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return False
    if origin is None:
        return True
    claimed = _parse_origin(origin)
    if claimed is None:
        return False
    if any(_parse_origin(trusted) == claimed for trusted in trusted_origins):
        return True
    return host is not None and _origin(scheme, host.strip()) == claimed
