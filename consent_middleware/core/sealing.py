"""Authenticated encryption of small values (AES-256-GCM, keys derived with HKDF-SHA256).

A sealed value can be read and trusted only by a server holding one of the secret keys, and
only for the ``bound_to`` bytes it was sealed with (they are authenticated, not stored).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Sealer", "sealed_length"]

_FORMAT = "1."
_NONCE_BYTES = 12
_TAG_BYTES = 16
_SALT = b"consent_middleware.core.sealing"
#: Longer values are refused unread (browsers keep cookies of 4096 bytes at most).
MAX_SEALED_LENGTH = 4096


def sealed_length(size: int) -> int:
    """The length of the sealed value of ``size`` bytes of data."""
    raw = _NONCE_BYTES + size + _TAG_BYTES
    return len(_FORMAT) + (4 * raw + 2) // 3


class Sealer:
    """Seals values for one ``purpose`` under keys derived from ``secret_keys``.

    ``secret_keys`` are newest first: the first seals, every one opens, so keys rotate as
    they do for signing. Each secret key gives its own AES key for each purpose, so a value
    sealed for one purpose never opens as another's. Nonces are random (96 bits): rotate
    keys well before one key has sealed 2**32 values.
    """

    def __init__(self, secret_keys: Sequence[bytes], purpose: str) -> None:
        if not secret_keys:
            raise ValueError("a Sealer needs at least one secret key")
        info = f"consent_middleware.core.sealing.{purpose}".encode()
        self._ciphers = [AESGCM(_derive(key, info)) for key in secret_keys]

    def seal(self, data: bytes, bound_to: bytes) -> str:
        """``data`` encrypted with the newest key, as URL-safe text."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._ciphers[0].encrypt(nonce, data, bound_to)
        return _FORMAT + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, value: str, bound_to: bytes) -> bytes | None:
        """The data sealed in ``value`` with the same ``bound_to``; ``None`` for anything
        malformed, tampered, sealed under an unknown key or bound to something else."""
        if len(value) > MAX_SEALED_LENGTH or not value.startswith(_FORMAT):
            return None
        text = value[len(_FORMAT) :]
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            return None
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, bound_to)
            except InvalidTag:
                continue
        return None


def _derive(secret_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=_SALT, info=info).derive(secret_key)
