"""Secret keys and the itsdangerous signers built from them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from itsdangerous import Signer
from itsdangerous.encoding import want_bytes

from .exceptions import ConfigurationError

MIN_KEY_BYTES = 32
_MAKE_ONE = "make one with `consent-middleware keygen`"


def check_secret_keys(secret_keys: Sequence[str | bytes]) -> list[bytes]:
    """Validate ``secret_keys`` (newest first) and return them as bytes, newest first."""
    if isinstance(secret_keys, str | bytes) or not isinstance(secret_keys, Sequence):
        raise ConfigurationError(
            "secret_keys must be a list of keys, newest first, e.g. secret_keys=[key]"
        )
    if not secret_keys:
        raise ConfigurationError(
            f"secret_keys is empty: give at least one random key of 32 bytes or more; {_MAKE_ONE}"
        )
    keys = []
    for position, key in enumerate(secret_keys):
        if isinstance(key, str):
            key = key.encode()
        if not isinstance(key, bytes):
            raise ConfigurationError(f"secret_keys[{position}] must be str or bytes")
        if not key:
            raise ConfigurationError(
                f"secret_keys[{position}] is empty (an unset environment variable?): {_MAKE_ONE}"
            )
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"secret_keys[{position}] is {len(key)} bytes: keys need {MIN_KEY_BYTES} bytes "
                f"or more; {_MAKE_ONE}"
            )
        keys.append(key)
    return keys


class _KeyCachingSigner(Signer):
    # itsdangerous derives the signing key from the secret and salt on every call; the
    # result never changes, so it is worked out once per key.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        cache_key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(cache_key)
        if derived is None:
            derived = self._derived[cache_key] = super().derive_key(cache_key)
        return derived


def make_signer(keys: list[bytes], salt: str) -> Signer:
    """A SHA-256 signer in which every key verifies and the first (newest) signs."""
    # itsdangerous lists keys oldest first and signs with the last one.
    return _KeyCachingSigner(
        list(reversed(keys)),
        salt=salt,
        key_derivation="hmac",
        digest_method=hashlib.sha256,
    )
