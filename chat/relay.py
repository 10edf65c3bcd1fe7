"""Translations of stored messages: asked for once per target language, stored, then published.

Which languages a message is translated into comes from the room's language census (counts per
reading language, kept by the backend), never from listing its members: every reading language
of the room with a route from the source, except one only the sender reads (nobody gets their
own message translated back). The same list goes out in the message's `translating`, so clients
know which translations will follow. A reader who brings a new language gets the history it sees
translated on demand. A translation that fails is announced (`translation_failed`) instead of
leaving readers waiting. Work runs in background tasks so the original is never held back.

With `[translation] mode = "workers"` the relay translates nothing itself: it puts one job per
(message, target language) on the queue (translation/jobs.py), and the routes are those the
live translate-workers advertise.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from chat.backend import BackendUnavailable
from rooms.stores import Broker, ConversationStore, Presence, translation_targets
from rooms.stores.events import TranslationFailed
from rooms.stores.messages import StoredMessage
from translation import TranslationService
from translation.jobs import JobQueue

log = logging.getLogger("babelroom.relay")


class TranslationRelay:
    def __init__(
        self,
        broker: Broker,
        presence: Presence,
        people: ConversationStore,
        translator: TranslationService,
        jobs: JobQueue | None = None,
    ) -> None:
        self._broker, self._presence, self._people = broker, presence, people
        self._translator = translator
        self._jobs = jobs  # workers mode: the queue instead of the local translator
        self._tasks: set[asyncio.Task[None]] = set()

    def _has_route(self, source: str, target: str) -> bool:
        if self._jobs is not None:
            return self._jobs.has_route(source, target)
        return self._translator.has_route(source, target)

    async def targets(self, room: str, source: str, sender_lang: str) -> list[str]:
        """The room's reading languages a message in `source` will be translated into."""
        return self.targets_in(await self._presence.census(room), source, sender_lang)

    def targets_in(self, census: dict[str, int], source: str, sender_lang: str) -> list[str]:
        """`targets` from a census already read (users per reading language)."""
        return translation_targets(census, {lang for lang in census if self._has_route(source, lang)}, sender_lang)

    def candidates(self, source: str) -> frozenset[str]:
        """Every language a message in `source` has a route into: what a store that reads the census
        itself turns into `translating` (rooms/stores/sends.py)."""
        if self._jobs is not None:
            return self._jobs.reachable(source)
        return self._translator.reachable(source)

    def message_stored(self, message: StoredMessage, targets: Iterable[str]) -> None:
        """Translate a new (or re-labelled) message into `targets`, in the background."""
        targets = list(targets)
        if targets:
            self._spawn(self._translate_for_room(message, targets))

    def will_translate(self, message: StoredMessage, lang: str, reader: str) -> bool:
        """True when `backfill` will bring this reader a translation of this history message."""
        return self._needs(message, lang) and message.user.id != reader

    def backfill(self, room: str, messages: Iterable[StoredMessage], lang: str, reader: str) -> None:
        """Translate the messages a reader was shown that lack its language (not its own)."""
        missing = [m for m in messages if self.will_translate(m, lang, reader)]
        if missing:
            self._spawn(self._translate_batch(room, missing, lang))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _needs(self, message: StoredMessage, lang: str) -> bool:
        return (
            not message.deleted
            and message.text != ""
            and message.lang != lang
            and lang not in message.tr
            and self._has_route(message.lang, lang)
        )

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

    async def _mention_spans(self, message: StoredMessage) -> tuple[str, ...]:
        """What of the message every translation keeps verbatim beside the glossary: each mention,
        "@" and the mentioned person's name as the directory has it ("@Wei Zhang", "@王伟"), so a
        reader of any language finds the name, unchanged, where it was."""
        if not message.mentions:
            return ()
        return tuple(f"@{profile.name}" for profile in await self._people.profiles(list(message.mentions)))

    async def _translate_for_room(self, message: StoredMessage, targets: list[str]) -> None:
        keep = await self._mention_spans(message)
        if self._jobs is not None:
            await self._jobs.enqueue(message.room, message.id, message.lang, message.text, targets, keep)
            return
        await asyncio.gather(*(self._translate_one(message, target, keep) for target in targets))

    async def _translate_one(self, message: StoredMessage, target: str, keep: tuple[str, ...]) -> None:
        made = await self._translator.translate_scored(message.text, message.lang, target, keep)
        if made is None:
            await self._failed(message.room, message.id, target)
        else:
            await self._broker.add_translation(message.room, message.id, target, made.text, confidence=made.confidence)

    async def _failed(self, room: str, message_id: str, lang: str) -> None:
        await self._broker.publish(room, TranslationFailed(room=room, id=message_id, lang=lang))

    async def _translate_batch(self, room: str, messages: list[StoredMessage], lang: str) -> None:
        by_source: dict[str, list[StoredMessage]] = defaultdict(list)
        for message in messages:
            by_source[message.lang].append(message)
        for source, group in by_source.items():
            keeps = [await self._mention_spans(message) for message in group]
            if self._jobs is not None:
                for message, keep in zip(group, keeps, strict=True):
                    await self._jobs.enqueue(room, message.id, source, message.text, [lang], keep)
                continue
            made = await self._translator.translate_many_scored([m.text for m in group], source, lang, keeps)
            for message, translated in zip(group, made, strict=False):
                if translated is None:
                    await self._failed(room, message.id, lang)
                else:
                    await self._broker.add_translation(
                        room, message.id, lang, translated.text, confidence=translated.confidence
                    )
