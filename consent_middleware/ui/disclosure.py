"""The "Why am I seeing this?" disclosure of each item, filled in from kept renderings.

A page may show a disclosure with every item, and the package's template differs little
between them: between the items of one kind (the same signals and segments, a value to
forget or not, sponsored or not) only in the sentence, the value and the sponsor; between
the pages of a shop only in the form token, the page's path and the consent prefix. So the
template is rendered once for each kind with stand-ins in those places (a shape, kept
across requests); each render of a page puts its constants in once (a :class:`Kind` of its
:class:`Page`, kept for that render, and for the next with the same constants); each item
then only joins its own sentence, value and sponsor to the literal parts.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup

from ..core.context import PersonalisationContext
from ..core.exceptions import MiddlewareNotInstalled
from ..core.inventory import Segment, Signal
from ..core.reasons import (
    GENERAL_REASON,
    SEGMENT_REASON,
    SPONSORED_REASON,
    SUGGESTED_FROM,
    Reason,
    suggested_text,
)
from .translations import N_, template_values, translations

__all__ = ["PAGE_KEY", "Kind", "Page", "escape_text", "form_token"]

# The default sentence of a general reason (core.reasons.GENERAL_REASON), for the catalogue.
_GENERAL_SENTENCE = N_("Popular with all shoppers this week; none of your data was used.")
# And of a sponsored one (core.reasons.SPONSORED_REASON), and of a segment's.
_SPONSORED_SENTENCE = N_("This is a paid placement.")
_SEGMENT_SENTENCE = N_("Because you seem to like %(interest)s.")

#: Where a render keeps its :class:`Page`: an attribute of its ``eval_ctx``, the place
#: Jinja2 gives extensions for values of one render.
PAGE_KEY = "consent_middleware_page"


def escape_text(text: str) -> str:
    """MarkupSafe's (so Jinja2's) escaping of a plain string, without making a Markup."""
    if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
        text = (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )
    return text


def form_token(ctx: PersonalisationContext) -> str | None:
    """The form token for the shopper's controls, or ``None`` where there are none: with
    no decision made on this shop (another manager's, or none) or no middleware."""
    if ctx.state is None:
        return None
    try:
        return ctx.csrf_token
    except MiddlewareNotInstalled:
        return None


def _sentences(reason: Reason, language: str, fallback: str) -> dict[str, str]:
    """The sentences a reason gets when the shop gives none (as ``reason.text`` holds them,
    in English) -> as the shopper reads them; the first that matches counts."""
    catalogue = translations(language)
    shown = {GENERAL_REASON: catalogue.gettext(_GENERAL_SENTENCE)}
    if reason.sponsor is not None:
        shown.setdefault(SPONSORED_REASON, catalogue.gettext(_SPONSORED_SENTENCE))
    if reason.segments:
        segment = reason.segments[0]
        written = SEGMENT_REASON % {"interest": segment.label_for("en")}
        interest = {"interest": segment.label_for(language, fallback)}
        shown.setdefault(written, catalogue.gettext(_SEGMENT_SENTENCE) % interest)
    elif reason.signals:
        sentence = catalogue.gettext(SUGGESTED_FROM)
        shown.setdefault(
            suggested_text(reason.signals),
            suggested_text(reason.signals, sentence, language, fallback),
        )
    return shown


# Stand-ins for the blanks while the disclosure is rendered: characters of Unicode's
# private use area, which no escaping changes.
_BLANK = re.compile("\ue000([a-z]+)\ue001")
#: The blanks of one item, numbered in this order.
_ITEM_BLANKS = ("text", "value", "sponsor")
#: The blanks of one page.
_PAGE_BLANKS = ("link", "next", "action", "feedback", "token")
#: The item blanks of a kind whose items differ in their sentence alone.
_SENTENCE_ONLY = (_ITEM_BLANKS.index("text"),)

_markup = str.__new__  # a Markup of text escaped already, without Markup's own checks


def _stand_in(name: str) -> str:
    return f"\ue000{name}\ue001"


@dataclass(slots=True)
class _Shape:
    """The package's disclosure for one kind of reason, with its blanks open."""

    environment: weakref.ref[jinja2.Environment]
    signals: tuple[Signal, ...]
    segments: tuple[Segment, ...]
    #: The runs of text between an item's blanks, each a tuple of literal text and names
    #: of the page's blanks, alternately; empty when the environment has a template of its
    #: own for the disclosure.
    runs: tuple[tuple[str, ...], ...]
    #: The item's blank after each run but the last (indexes in ``_ITEM_BLANKS``).
    blanks: tuple[int, ...]
    #: The default sentences, as written -> as shown (see ``_sentences``), and escaped.
    sentences: dict[str, str]
    escaped: dict[str, str]
    #: What the page's blanks were last filled from (the link, the path, the consent
    #: prefix and the token, if any), and the kind that made: the same for the next page
    #: made of the same, such as the next disclosure of a request whose template engine
    #: renders each alone (Django's).
    filled: tuple[tuple[str | None, ...], Kind] | None = None


#: (the environment's id, the policy, the language, ... the signals' ids) -> its shape,
#: checked against the environment (which may go) and the signals and segments.
_SHAPES: dict[tuple[object, ...], _Shape] = {}
_MAX_SHAPES = 1024


def _shape(key: tuple[object, ...], page: Page, reason: Reason, token: str | None) -> _Shape:
    """The shape of ``reason``'s kind on pages like ``page``, rendered when first needed."""
    env, signals, segments = page.environment, reason.signals, reason.segments
    found = _SHAPES.get(key)
    if (
        found is not None
        and found.environment() is env
        and found.signals == signals
        and found.segments == segments
    ):
        return found
    runs: list[tuple[str, ...]] = []
    blanks: list[int] = []
    template = page.template
    if template is not None:
        values = {
            "reason": Reason(
                _stand_in("text"),
                signals,
                reason.purposes,
                value=None if reason.value is None else _stand_in("value"),
                sponsor=None if reason.sponsor is None else _stand_in("sponsor"),
                segments=segments,
            ),
            "purpose": page.ctx.policy.purpose,
            "change_url": _stand_in("link"),
            "source": page.source,
            "token": None if token is None else _stand_in("token"),
            "next": _stand_in("next"),
            "signals_url": _stand_in("action"),
            "feedback_url": _stand_in("feedback"),
            "by_default": page.by_default,
            **template_values(page.language, page.fallback),
        }
        html = "".join(template.root_render_func(template.new_context(values, shared=True)))
        parts = _BLANK.split(html)
        names = parts[1::2]
        if set(names) <= {*_ITEM_BLANKS, *_PAGE_BLANKS} and "\ue000" not in "".join(parts[::2]):
            run = [parts[0]]
            for name, literal in zip(names, parts[2::2], strict=True):
                if name in _PAGE_BLANKS:
                    run += (name, literal)
                else:
                    runs.append(tuple(run))
                    blanks.append(_ITEM_BLANKS.index(name))
                    run = [literal]
            runs.append(tuple(run))
    sentences = _sentences(reason, page.language, page.fallback)
    found = _Shape(
        weakref.ref(env),
        signals,
        segments,
        tuple(runs),
        tuple(blanks),
        sentences,
        {written: escape_text(shown) for written, shown in sentences.items()},
    )
    if len(_SHAPES) >= _MAX_SHAPES:
        _SHAPES.clear()  # rare: more lists of signals than any page shows
    _SHAPES[key] = found
    return found


@dataclass(slots=True)
class Kind:
    """One kind's disclosure on one page: its shape with the page's blanks filled in.

    Complete once made, then only read: the next page with the same blanks shares it
    (``_Shape.filled``), whichever thread renders it.
    """

    signals: tuple[Signal, ...]
    segments: tuple[Segment, ...]
    with_value: bool
    sponsored: bool
    #: The shape's runs with the page's blanks filled in; empty when the template must
    #: render each item (the host's own, or a ``finalize`` to run).
    literals: tuple[str, ...]
    #: The item's blank after each literal but the last (indexes in ``_ITEM_BLANKS``).
    blanks: tuple[int, ...]
    #: The default sentences, as written -> as shown, and escaped.
    sentences: dict[str, str]
    escaped: dict[str, str]
    #: Whether the items of this kind differ in their sentence alone: then each is
    #: ``before``, the sentence, ``after``...
    sentence_only: bool = False
    before: str = ""
    after: str = ""
    #: ... and the default sentences, as written -> the whole disclosure with it.
    whole: dict[str, Markup] = field(default_factory=dict)
    #: Whether, besides, its reasons have no value to forget and no sponsor: what why()
    #: fills in itself.
    plain: bool = False

    def __post_init__(self) -> None:
        if self.literals and self.blanks == _SENTENCE_ONLY:
            self.sentence_only = True
            self.plain = not self.with_value and not self.sponsored
            self.before, self.after = self.literals
            for written, shown in self.escaped.items():
                self.whole[written] = _markup(Markup, f"{self.before}{shown}{self.after}")


class Page:
    """What the disclosures of one render of a template share, for one request.

    Kept on the render's ``eval_ctx`` (:data:`PAGE_KEY`) and used only while
    :attr:`ctx` is the request's context it is asked for: a render ends before its request
    does, and the context's language, path, consent prefix and form token do not change
    while a template renders. Reading them here, once, has the effects of reading them for
    each item (the response varies, and is private once the token is used).
    """

    __slots__ = (
        "_constants",
        "_kinds",
        "_shapes",
        "_token",
        "_token_read",
        "by_default",
        "ctx",
        "environment",
        "fallback",
        "language",
        "request",
        "source",
        "template",
        "usual",
    )

    def __init__(
        self,
        environment: jinja2.Environment,
        ctx: PersonalisationContext,
        template: jinja2.Template | None,
    ) -> None:
        """``template`` is the package's own disclosure, ``None`` when the host has one."""
        self.environment = environment
        self.ctx = ctx
        #: The ``request`` the template has the context through, if it has no ``consent``.
        self.request: object = None
        #: The package's template, rendered once for each kind; ``None`` where the
        #: template must render each item: the host's own, or a finalize function, which
        #: must see every value as in any template of the environment.
        self.template = template if environment.finalize is None else None
        self.language = ctx.language
        # Policy texts a language lacks are shown in the shop's first.
        self.fallback = ctx.languages[0]
        # A choice made in another consent manager's banner is named in the disclosure.
        external = ctx.external
        self.source = None if external is None else external.label
        # Purposes on only until the shopper opts out (opt_out and notice regions) say so.
        self.by_default = ctx.on_by_default
        # What the page's blanks but the token are made of (see _kind).
        self._constants = (ctx.change_url(), ctx.path, ctx.consent_path)
        # What the shapes of this page's kinds depend on, besides the kind.
        self._shapes = (
            id(environment),
            ctx.policy,
            self.source,
            self.language,
            self.fallback,
            self.by_default,
            self.template is None,
        )
        # Read when a personal reason first needs it: a general one makes no page private.
        self._token: str | None = None
        self._token_read = False
        self._kinds: dict[tuple[object, ...], Kind] = {}
        #: The kind of the item before, if its items differ in their sentence alone: a
        #: page often lists many of one kind in a row (why() fills those in itself).
        self.usual: Kind | None = None

    def token(self, reason: Reason) -> str | None:
        """The form token of ``reason``'s controls: personal reasons only have them."""
        if not reason.signals:
            return None
        if not self._token_read:
            self._token = form_token(self.ctx)
            self._token_read = True
        return self._token

    def disclosure(self, reason: Reason) -> Markup | None:
        """The disclosure of ``reason``; ``None`` when the template must render it (with
        :meth:`sentence`)."""
        kind = self.kind(reason)
        self.usual = kind if kind.plain else None
        literals, text, value, sponsor = kind.literals, reason.text, reason.value, reason.sponsor
        if (
            not literals
            or type(text) is not str
            or (value is not None and type(value) is not str)
            or (sponsor is not None and type(sponsor) is not str)
        ):
            return None
        whole = kind.whole.get(text)
        if whole is not None:
            return whole
        if kind.sentence_only:
            return _markup(Markup, "".join((literals[0], escape_text(text), literals[1])))
        shown = kind.escaped.get(text)
        filled = (
            escape_text(text) if shown is None else shown,
            "" if value is None else escape_text(value),
            "" if sponsor is None else escape_text(sponsor),
        )
        html = [literals[0]]
        for blank, literal in zip(kind.blanks, literals[1:], strict=True):
            html += (filled[blank], literal)
        return _markup(Markup, "".join(html))

    def sentence(self, reason: Reason) -> str:
        """The sentence the template shows for ``reason``: the default ones in the
        shopper's language, any other as given."""
        text = reason.text
        for written, shown in self.kind(reason).sentences.items():
            if text == written:
                return shown
        return text

    def kind(self, reason: Reason) -> Kind:
        """The kind of ``reason`` on this page."""
        signals, segments = reason.signals, reason.segments
        key = (
            reason.value is None,
            reason.sponsor is None,
            len(segments),
            *[signal.id for signal in signals],
            *[segment.id for segment in segments],
        )
        kind = self._kinds.get(key)
        if kind is None or kind.signals != signals or kind.segments != segments:
            kind = self._kinds[key] = self._kind(reason, key)
        return kind

    def _kind(self, reason: Reason, key: tuple[object, ...]) -> Kind:
        token = self.token(reason)
        shape = _shape((*self._shapes, token is None, *key), self, reason, token)
        made_of = (*self._constants, token)
        filled = shape.filled
        if filled is not None and filled[0] == made_of:
            return filled[1]
        link, path, consent_path = self._constants
        blanks = {
            "link": escape_text(link),
            "next": escape_text(path),
            "action": escape_text(consent_path + "/signals"),
            "feedback": escape_text(consent_path + "/feedback"),
            "token": "" if token is None else escape_text(token),
        }
        literals = []
        for run in shape.runs:
            pieces = list(run)
            for i in range(1, len(pieces), 2):
                pieces[i] = blanks[pieces[i]]
            literals.append("".join(pieces))
        kind = Kind(
            shape.signals,
            shape.segments,
            reason.value is not None,
            reason.sponsor is not None,
            tuple(literals),
            shape.blanks,
            shape.sentences,
            shape.escaped,
        )
        shape.filled = (made_of, kind)
        return kind
