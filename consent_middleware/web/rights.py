"""The shopper's rights over their data: download it (GDPR 15, 20) and erase it (GDPR 17).

Both find the browser's history through its consent cookie, even one that has expired or
was written under an earlier policy version (the signature still proves it is ours).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.context import PersonalisationContext
from ..ui.translations import translations

if TYPE_CHECKING:
    from .engine import ConsentEngine

__all__ = ["DataRights", "Erasure"]

logger = logging.getLogger("consent_middleware")


@dataclass(slots=True)
class Erasure:
    """What an erasure did: lines for the shopper, and the cookies that finish it."""

    removed: list[str] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)
    #: Everything held was erased; when not, the browser keeps its cookie to retry with.
    complete: bool = True
    #: The consent id to quote to the shop when erasure could not complete.
    reference: str | None = None


class DataRights:
    """Exports and erases what the shop holds about one browser."""

    def __init__(self, engine: ConsentEngine) -> None:
        self.engine = engine

    def consent_id(self, ctx: PersonalisationContext, cookie_header: str) -> str | None:
        """The browser's consent id, from a valid cookie or an expired or outdated one."""
        return ctx.consent_id or self.engine.expired_consent_id(cookie_header)

    def export(self, ctx: PersonalisationContext, cookie_header: str = "") -> dict[str, object]:
        """Everything held about this browser, for the shopper's own download.

        Its sentences are in the language of the consent UI on this request, named under
        ``"language"``.
        """
        consent_id = self.consent_id(ctx, cookie_header)
        consent = {**ctx.public_state(), "consent_id": consent_id}
        records = self.engine.records
        history, complete = records.history(consent_id) if consent_id else ([], True)
        tr = translations(ctx.language)
        host: dict[str, object] = {}
        for name, exporter in (self.engine.options.data_exporters or {}).items():
            try:
                host[name] = exporter(ctx)
            except Exception:
                logger.exception("data exporter %r failed", name)
                host[name] = {
                    "error": tr.gettext("this part could not be exported; please ask the shop")
                }
        data: dict[str, object] = {
            "language": ctx.language,
            "consent": consent,
            "history": [event.for_shopper() for event in history],
            "visit": ctx.visit.export(),
            "preferences": ctx.preferences.export(),
            # "Don't use this": refused until switched on again (see "history").
            "stopped_signals": sorted(ctx.stopped_signals),
            "host": host,
        }
        if not complete:
            data["history_note"] = tr.gettext("The consent history could not be read just now.")
        return data

    def erase(self, ctx: PersonalisationContext, cookie_header: str) -> Erasure:
        """Erase what is held about this browser.

        The ledger and the preference backend go first; if either cannot be reached the
        erasure is incomplete and no cookie is deleted, so the shopper can retry.
        """
        engine = self.engine
        pseudonymise = engine.options.pseudonymise_on_erase
        erasure = Erasure()
        # The lines are shown on the page, in the shopper's language.
        tr = translations(ctx.language)
        consent_id = self.consent_id(ctx, cookie_header)
        if consent_id is not None and engine.records.recorder is not None:
            try:
                count = engine.records.erase(consent_id, pseudonymise=pseudonymise)
            except Exception:
                logger.exception("consent history could not be erased")
                erasure.complete = False
                erasure.removed.append(
                    tr.gettext("Your consent history could not be erased just now.")
                )
            else:
                if pseudonymise:
                    line = tr.ngettext(
                        "Your consent history (%(num)d choice) is no longer linked to you; "
                        "the shop keeps the choices without any identifier, for its statistics.",
                        "Your consent history (%(num)d choices) is no longer linked to you; "
                        "the shop keeps the choices without any identifier, for its statistics.",
                        count,
                    )
                else:
                    line = tr.ngettext(
                        "Your consent history (%(num)d choice) was deleted.",
                        "Your consent history (%(num)d choices) was deleted.",
                        count,
                    )
                erasure.removed.append(line % {"num": count})
        if consent_id is not None and engine.preference_backend is not None:
            try:
                engine.preference_backend.delete(consent_id)
                erasure.removed.append(tr.gettext("Your stated preferences were deleted."))
            except Exception:
                logger.exception("preferences could not be erased")
                erasure.complete = False
                erasure.removed.append(
                    tr.gettext("Your stated preferences could not be erased just now.")
                )
        if not erasure.complete:
            erasure.reference = consent_id
            return erasure
        for name, eraser in (engine.options.data_erasers or {}).items():
            try:
                erasure.removed.append(eraser(ctx))
            except Exception:
                logger.exception("data eraser %r failed", name)
                line = tr.gettext("%(name)s: could not be erased just now; ask the shop.")
                erasure.removed.append(line % {"name": name})
        erasure.cookies = engine.cookies.erasure_cookies(cookie_header)
        if erasure.cookies:
            erasure.removed.append(
                tr.gettext("The cookies this shop had set in your browser were deleted.")
            )
        return erasure
