"""The shopper's rights over their data: download it (GDPR 15, 20) and erase it (GDPR 17)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .context import PersonalisationContext
from .cookies import cookie_names, delete_cookie
from .events import ConsentEvent

if TYPE_CHECKING:
    from .engine import ConsentEngine

__all__ = ["DataRights"]

logger = logging.getLogger("consent_middleware")


class DataRights:
    """Exports and erases what the shop holds about one browser."""

    def __init__(self, engine: ConsentEngine) -> None:
        self.engine = engine

    def _history(self, consent_id: str) -> tuple[list[ConsentEvent], bool]:
        """One browser's events, spooled ones included, and whether the ledger answered."""
        writer = self.engine.writer
        if writer is None:
            return [], True
        writer.flush()
        # Events still in the spool (the ledger away) belong to the history all the same.
        pending = [e for e in writer.journal.read()[0] if e.consent_id == consent_id]
        try:
            stored, complete = writer.ledger.history(consent_id), True
        except Exception:
            logger.exception("consent history could not be read")
            stored, complete = [], False
        known = {e.event_id for e in stored}
        events = stored + [e for e in pending if e.event_id not in known]
        return sorted(events, key=lambda e: e.time), complete

    def export(self, ctx: PersonalisationContext) -> dict[str, object]:
        """Everything held about this browser, for the shopper's own download."""
        consent = {**ctx.public_state(), "consent_id": ctx.consent_id}
        history, complete = self._history(ctx.consent_id) if ctx.consent_id else ([], True)
        host: dict[str, object] = {}
        for name, exporter in self.engine.data_exporters.items():
            try:
                host[name] = exporter(ctx)
            except Exception:
                logger.exception("data exporter %r failed", name)
                host[name] = {"error": "this part could not be exported; please ask the shop"}
        data: dict[str, object] = {
            "consent": consent,
            "history": [event.for_shopper() for event in history],
            "visit": ctx.visit.export(),
            "preferences": ctx.preferences.export(),
            "host": host,
        }
        if not complete:
            data["history_note"] = "The consent history could not be read just now."
        return data

    def erase(self, ctx: PersonalisationContext, cookie_header: str) -> tuple[list[str], list[str]]:
        """Erase what is held about this browser: what was removed, and the cookies that
        remove the rest from the browser."""
        removed = []
        consent_id = ctx.consent_id
        if consent_id is not None and self.engine.writer is not None:
            self.engine.writer.flush()
            try:
                count = self.engine.writer.ledger.erase(
                    consent_id, pseudonymise=self.engine.pseudonymise_on_erase
                )
            except Exception:
                logger.exception("consent history could not be erased")
                removed.append("Your consent history could not be erased just now; ask the shop.")
            else:
                if self.engine.pseudonymise_on_erase:
                    removed.append(
                        f"Your consent history ({count} choices) is no longer linked to you; "
                        "the shop keeps the choices without any identifier, for its statistics."
                    )
                else:
                    removed.append(f"Your consent history ({count} choices) was deleted.")
        if consent_id is not None and self.engine.preference_backend is not None:
            try:
                self.engine.preference_backend.delete(consent_id)
                removed.append("Your stated preferences were deleted.")
            except Exception:
                logger.exception("preferences could not be erased")
        for name, eraser in self.engine.data_erasers.items():
            try:
                removed.append(eraser(ctx))
            except Exception:
                logger.exception("data eraser %r failed", name)
                removed.append(f"{name}: could not be erased just now; ask the shop.")
        engine = self.engine
        present = cookie_names(cookie_header)
        ours = [engine.cookie_name, engine.visit_cookie_name, engine.preferences_cookie_name]
        cookies = [delete_cookie(name, secure=engine.secure) for name in ours if name in present]
        cookies += engine.purpose_cookie_deletions(cookie_header, engine.policy.required_ids)
        if cookies:
            removed.append("The cookies this shop had set in your browser were deleted.")
        return removed, cookies
