"""The library's exceptions: one base, specific subclasses that carry what callers need."""

from __future__ import annotations


class ConsentError(Exception):
    """Base class of every error raised by consent_middleware."""


class ConfigurationError(ConsentError, ValueError):
    """The policy or middleware configuration is invalid.

    Raised at construction, never while serving a request. The message names the field and
    the fix.
    """


class ConsentRequired(ConsentError):
    """Personal data was asked for without the consent it needs.

    ``purpose`` is the purpose that would have to be granted.
    """

    def __init__(self, message: str, *, purpose: str) -> None:
        super().__init__(message)
        self.purpose = purpose


class SignalStopped(ConsentRequired):
    """The shopper switched this signal off ("Don't use this"), though its purpose is
    granted; it is refused until they switch it on again in the preference centre.

    ``signal`` is the signal's id; ``purpose`` its purpose, granted already.
    """

    def __init__(self, message: str, *, purpose: str, signal: str) -> None:
        super().__init__(message, purpose=purpose)
        self.signal = signal


class MiddlewareNotInstalled(ConsentError, LookupError):
    """A request carries no consent context: the middleware does not wrap this app."""


class TCStringError(ConsentError, ValueError):
    """An IAB TCF TC string could not be decoded: malformed, truncated or not version 2.

    ``segment`` names the segment (``"core"``, ``"DisclosedVendors"``, ...) and ``field`` the
    field being read, ``bit`` its offset in that segment; each is ``None`` when the problem
    is with the string as a whole. The message never repeats the string.
    """

    def __init__(
        self,
        message: str,
        *,
        segment: str | None = None,
        field: str | None = None,
        bit: int | None = None,
    ) -> None:
        super().__init__(message)
        self.segment = segment
        self.field = field
        self.bit = bit
