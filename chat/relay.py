"""Translations of stored messages: asked for once per target language, stored, then published.

The node that accepted a message asks for every language present in the room cluster-wide
except the source; a reader who brings a new language gets the history it sees translated on
demand. Work runs in background tasks so the original is never held back.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, Iterable

from chat.backend import Backend, BackendUnavailable
from translation import TranslationService

log = logging.getLogger("babelroom.relay")


class TranslationRelay:
    def __init__(self, backend: Backend, translator: TranslationService) -> None:
        self._backend = backend
        self._translator = translator
        self._tasks: set[asyncio.Task[None]] = set()

    def message_stored(self, message: dict[str, Any]) -> None:
        """Translate a new message into the room's other languages, in the background."""
        self._spawn(self._translate_for_room(message))

    def backfill(self, room: str, messages: Iterable[dict[str, Any]], lang: str) -> None:
        """Translate the messages a reader was shown that lack its language."""
        missing = [m for m in messages if self._needs(m, lang)]
        if missing:
            self._spawn(self._translate_batch(room, missing, lang))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _needs(self, message: dict[str, Any], lang: str) -> bool:
        return (not message.get("deleted") and message["lang"] != lang
                and lang not in (message.get("tr") or {})
                and self._translator.has_route(message["lang"], lang))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            if isinstance(exc, BackendUnavailable):
                log.warning("a translation was not stored: the backend is unavailable")
            else:
                log.error("translation failed", exc_info=exc)

    async def _translate_for_room(self, message: dict[str, Any]) -> None:
        room, source = message["room"], message["lang"]
        targets = {member.lang for member in await self._backend.members(room)} - {source}
        await asyncio.gather(*(self._translate_one(message, target) for target in sorted(targets)
                               if self._translator.has_route(source, target)))

    async def _translate_one(self, message: dict[str, Any], target: str) -> None:
        text = await self._translator.translate(message["text"], message["lang"], target)
        if text is not None:
            await self._backend.add_translation(message["room"], message["id"], target, text)

    async def _translate_batch(self, room: str, messages: list[dict[str, Any]], lang: str) -> None:
        by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in messages:
            by_source[message["lang"]].append(message)
        for source, group in by_source.items():
            texts = await self._translator.translate_many([m["text"] for m in group], source, lang)
            for message, text in zip(group, texts):
                if text is not None:
                    await self._backend.add_translation(room, message["id"], lang, text)
