"""Organiser content in the reader's language: room titles, forum names, moderation reasons.

Titles and forum names are short and few, written by the event's organisers in the event's
configured language (`[translation] content_lang`; the detector is never asked about
"Plenary"): each (text, language) is translated once and kept here, so per-reader frames can be
built without waiting once a language has been seen. A rename is a new text, so it is
translated anew; the translation service's caches (in-process, and Redis when shared) make the
same text cost one model call across nodes. Moderation reasons are written by a moderator in
their own language: detected, falling back to the content language.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from translation.service import TranslationService

log = logging.getLogger("babelroom.translation")

#: (source, target, text) translations kept: rooms x forums x languages stays far below it.
KEPT = 4096
#: How long a reader's frame waits for a title's translation before it goes out without one.
WAIT_S = 10.0


class OrganiserText:
    """Short organiser texts translated per reading language, kept once made."""

    def __init__(self, translator: TranslationService, content_lang: str) -> None:
        self._translator = translator
        self.content_lang = content_lang
        self._made: OrderedDict[tuple[str, str, str], str] = OrderedDict()

    def _needs(self, source: str, lang: str) -> bool:
        return source != lang and self._translator.has_route(source, lang)

    def known(self, text: str, source: str, lang: str) -> tuple[bool, str | None]:
        """(whether an answer is at hand, the translation or None when there is none to make)."""
        if not text or not self._needs(source, lang):
            return True, None
        key = (source, lang, text)
        if key in self._made:
            return True, self._made[key]
        return False, None

    async def text(self, text: str, source: str, lang: str) -> str | None:
        """text in lang (None: same language, no route, or the engine failed)."""
        ready, made = self.known(text, source, lang)
        if ready:
            return made
        try:
            made = await asyncio.wait_for(self._translator.translate(text, source, lang, count=False), WAIT_S)
        except Exception as exc:  # noqa: BLE001 - the original stays readable; a frame is never lost over a title
            log.warning("could not translate organiser text %s->%s (%r)", source, lang, exc)
            return None
        if made is None:  # the engine failed: the original this time, another try next time
            return None
        self._made[(source, lang, text)] = made
        while len(self._made) > KEPT:
            self._made.popitem(last=False)
        return made

    def room_ready(self, room: dict[str, Any], lang: str) -> bool:
        """True when room_tr(room, lang) answers without a model call."""
        return all(self.known(str(room.get(field) or ""), self.content_lang, lang)[0] for field in ("title", "forum"))

    def room_tr_now(self, room: dict[str, Any], lang: str) -> dict[str, str] | None:
        """room_tr() from what is already made (call room_ready first)."""
        title = self.known(str(room.get("title") or ""), self.content_lang, lang)[1]
        forum = self.known(str(room.get("forum") or ""), self.content_lang, lang)[1]
        return self._pack(room, lang, title, forum)

    async def room_tr(self, room: dict[str, Any], lang: str) -> dict[str, str] | None:
        """The `tr` of a room summary for a reader of lang: {lang, title, forum} (each the
        original where it could not be translated), or None when nothing was translated."""
        title = await self.text(str(room.get("title") or ""), self.content_lang, lang)
        forum = await self.text(str(room.get("forum") or ""), self.content_lang, lang)
        return self._pack(room, lang, title, forum)

    @staticmethod
    def _pack(room: dict[str, Any], lang: str, title: str | None, forum: str | None) -> dict[str, str] | None:
        if title is None and forum is None:
            return None
        return {
            "lang": lang,
            "title": title or str(room.get("title") or ""),
            "forum": forum or str(room.get("forum") or ""),
        }

    async def with_tr(self, room: dict[str, Any], lang: str | None) -> dict[str, Any]:
        """A copy of a room summary with `tr` for a reader of lang (unchanged without one)."""
        if not lang:
            return room
        tr = await self.room_tr(room, lang)
        return {**room, "tr": tr} if tr else room

    async def reason(self, reason: str, lang: str) -> str | None:
        """A moderation reason in lang (None: already in it, or no route)."""
        if not reason.strip():
            return None
        source = await self._translator.detect(reason, self.content_lang)
        return await self.text(reason, source, lang)
