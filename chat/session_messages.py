"""A session's message frames: send, edit, relang, react, reactors, typing, and `history` reads.
One of the parts of chat.session.Session.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Protocol

from chat import protocol
from chat.backend import Member
from chat.frames import Ack, History, MessageFrame, Reactors, ServerFrame, message_frame
from chat.protocol import Edit, FrameError, GetHistory, GetReactors, React, RelangMessage, TypingNow
from rooms import Room
from rooms.conversations import direct
from rooms.limits import TokenBucket
from rooms.messages import REACT_BURST, REACT_RATE
from rooms.stores import Author, Outgoing
from rooms.stores.events import Edited, Mention, Reaction, Relang, Typing
from rooms.stores.messages import StoredMessage

if TYPE_CHECKING:
    from chat.config import LimitSettings
    from chat.node import Node
    from chat.tokens import Identity


class MessagesSession(Protocol):
    """What these handlers use of a session (chat.session.Session is one)."""

    node: Node
    identity: Identity | None
    lang: str
    rooms: dict[str, Member]
    _limits: LimitSettings
    _private: set[str]  # the joined rooms that are private conversations
    _reacting: TokenBucket | None
    _typed: dict[str, float]
    _history_reads: TokenBucket | None

    def push_frame(self, frame: ServerFrame) -> None: ...
    async def visible_room(self, room_id: str) -> Room: ...
    def _require_joined(self, room_id: str) -> Member: ...
    def _reading_lang(self, code: str, ref: str | None) -> str: ...
    def _count(self, value: int | None, name: str) -> int: ...
    def _page(self, messages: list[StoredMessage], size: int) -> tuple[list[StoredMessage], bool]: ...
    async def _send_plain(self, frame: protocol.SendMessage) -> None: ...
    def _check_text(self, text: str) -> None: ...
    def _take_history_read(self) -> None: ...
    async def _as_frames(self, room_id: str, messages: list[StoredMessage]) -> list[MessageFrame]: ...


class Messages:
    """The message frames (mixed into chat.session.Session)."""

    __slots__ = ()
    _reacting: TokenBucket | None  # declared for mypy: the slots are Session's
    _history_reads: TokenBucket | None

    async def _send(self: MessagesSession, frame: protocol.SendMessage) -> None:
        assert self.identity is not None
        room_id, text, cid = frame.room, frame.text, frame.cid
        self._require_joined(room_id)
        self._check_text(text)
        if frame.reply_to is None and not frame.mentions:
            await self._send_plain(frame)
            return
        # The room's census is read while the rules are checked: one round trip less to wait for.
        census = asyncio.ensure_future(self.node.stores.presence.census(room_id))
        try:
            await self.node.access.check_send(self.identity, room_id)
        except BaseException:
            await asyncio.gather(census, return_exceptions=True)  # nothing left running, nothing unretrieved
            raise
        quote = None if frame.reply_to is None else await self.node.messages.quote(room_id, frame.reply_to)
        mentions = await self.node.messages.mentionable(self.identity, room_id, frame.mentions or [])
        lang = await self.node.translator.detect(text, self.lang)
        user = {"id": self.identity.id, "name": self.identity.name}
        targets = self.node.relay.targets_in(await census, lang, self.lang)
        appended = await self.node.stores.broker.append_message(
            room_id, user=user, text=text, lang=lang, cid=cid, translating=targets, reply_to=quote, mentions=mentions
        )
        self.push_frame(Ack(ref=frame.ref, cid=cid, id=appended.message.id))
        if appended.created:
            self.node.relay.message_stored(appended.message, targets)
            if room_id in self._private:
                await self.node.conversations.message_stored(room_id, appended.message)
            told = [user for user in mentions if user != self.identity.id]
            if told:  # every connection of theirs, on every node, in this room or not
                await self.node.stores.broker.broadcast(
                    direct(told, Mention(room=room_id, id=appended.message.id, by=user))
                )

    async def _send_plain(self: MessagesSession, frame: protocol.SendMessage) -> None:
        """A message without reply or mentions, most of them: checks, census and store are one step
        of the store (one Redis round trip: rooms/stores/sends.py)."""
        assert self.identity is not None
        lang = await self.node.translator.detect(frame.text, self.lang)
        sent = await self.node.messages.send(
            self.identity,
            frame.room,
            Outgoing(
                user=Author(self.identity.id, self.identity.name),
                text=frame.text,
                lang=lang,
                cid=frame.cid,
                candidates=self.node.relay.candidates(lang),
                sender_lang=self.lang,
            ),
        )
        assert sent.appended is not None
        self.push_frame(Ack(ref=frame.ref, cid=frame.cid, id=sent.appended.message.id))
        if sent.appended.created:
            self.node.relay.message_stored(sent.appended.message, sent.translating)
            if frame.room in self._private:
                await self.node.conversations.message_stored(frame.room, sent.appended.message, sent.members)

    def _check_text(self: MessagesSession, text: str) -> None:
        if not text.strip():
            raise FrameError("bad_frame", '"text" must not be empty')
        if len(text) > self._limits.text_chars:
            raise FrameError(
                "too_large",
                f"a message holds at most {self._limits.text_chars} characters; this one has {len(text)}: split it",
            )

    async def _relang(self: MessagesSession, frame: RelangMessage) -> None:
        """The sender corrects the detected language of their own message: re-label, re-translate."""
        assert self.identity is not None
        room_id = frame.room
        self._require_joined(room_id)
        lang = self._reading_lang(frame.lang, frame.ref)
        message = await self.node.stores.broker.relabel_message(room_id, frame.id, lang, author=self.identity.id)
        if message is None:
            raise FrameError(
                "not_found",
                f"room {room_id!r} has no message {frame.id!r} of yours; "
                "only the sender may correct a message's language",
            )
        targets = await self.node.relay.targets(room_id, lang, self.lang)
        await self.node.stores.broker.publish(
            room_id, Relang(room=room_id, id=message.id, lang=lang, translating=targets)
        )
        self.push_frame(Ack(ref=frame.ref, id=message.id))
        self.node.relay.message_stored(message, targets)

    async def _react(self: MessagesSession, frame: React) -> None:
        """Toggle a reaction; every reader hears the new count (`reaction`, coalesced by the hubs)."""
        assert self.identity is not None
        self._require_joined(frame.room)
        if self._reacting is None:
            self._reacting = TokenBucket(REACT_RATE, REACT_BURST)
        wait = self._reacting.take()
        if wait:
            raise FrameError("rate_limited", f"too many reactions: wait {wait:.1f} s", retry_after=math.ceil(wait))
        reacted = await self.node.messages.react(self.identity, frame.room, frame.id, frame.emoji)
        await self.node.stores.broker.publish(
            frame.room,
            Reaction(room=frame.room, id=frame.id, emoji=frame.emoji, count=reacted.count, user=self.identity.id),
        )
        self.push_frame(Ack(ref=frame.ref, id=frame.id))

    async def _reactors(self: MessagesSession, frame: GetReactors) -> None:
        """Who reacted to a message (shown on hover or long-press): a read, paid for as `history`."""
        assert self.identity is not None
        self._require_joined(frame.room)
        self._take_history_read()
        people = await self.node.messages.reactors(self.identity, frame.room, frame.id)
        self.push_frame(Reactors(room=frame.room, id=frame.id, reactors=people, ref=frame.ref or None))

    async def _edit(self: MessagesSession, frame: Edit) -> None:
        """The sender replaces their message's text: every reader gets it, and a new translation."""
        assert self.identity is not None
        room_id, text = frame.room, frame.text
        self._require_joined(room_id)
        self._check_text(text)
        await self.node.messages.editable(self.identity, room_id, frame.id)
        lang = await self.node.translator.detect(text, self.lang)
        message = await self.node.stores.broker.edit_message(room_id, frame.id, text, lang, author=self.identity.id)
        if message is None:  # deleted meanwhile
            raise FrameError("not_found", f"room {room_id!r} has no message {frame.id!r}")
        targets = await self.node.relay.targets(room_id, lang, self.lang)
        await self.node.stores.broker.publish(
            room_id, Edited(room=room_id, id=message.id, text=text, lang=lang, translating=targets)
        )
        self.push_frame(Ack(ref=frame.ref, id=message.id))
        self.node.relay.message_stored(message, targets)

    async def _typing(self: MessagesSession, frame: TypingNow) -> None:
        """Tell a conversation's other members this one is typing: at most once per [limits]
        typing_interval; more within it are dropped quietly (a client may send one per keystroke)."""
        assert self.identity is not None
        self._require_joined(frame.room)
        now, interval = time.monotonic(), self._limits.typing_interval
        if frame.room in self._typed and now - self._typed[frame.room] < interval:
            return  # announced a moment ago: the readers show it still
        await self.node.messages.check_typing(self.identity, frame.room)
        self._typed[frame.room] = now
        await self.node.stores.broker.publish(
            frame.room, Typing(room=frame.room, user={"id": self.identity.id, "name": self.identity.name})
        )

    async def _as_frames(self: MessagesSession, room_id: str, messages: list[StoredMessage]) -> list[MessageFrame]:
        """History as this reader sees it: `translating` where a backfill will bring its language,
        replies quoting what the quoted message is now (rooms/messages.py current_quotes)."""
        assert self.identity is not None
        frames = []
        for message in await self.node.messages.current_quotes(room_id, messages):
            shown = message_frame(message, self.lang)
            if shown.tr is None and self.node.relay.will_translate(message, self.lang, self.identity.id):
                shown.translating = [self.lang]
            frames.append(shown)
        return frames

    async def _history(self: MessagesSession, frame: GetHistory) -> None:
        room_id = frame.room
        if room_id not in self.rooms:
            await self.visible_room(room_id)  # a private room's non-member hears not_found, not not_joined
        self._require_joined(room_id)
        limit = self._count(frame.limit, "limit")
        if frame.before is not None and frame.after is not None:
            raise FrameError("bad_frame", 'give "before" (older messages) or "after" (the rest of a replay), not both')
        self._take_history_read()
        assert self.identity is not None
        if frame.after is None:
            messages = await self.node.stores.broker.history(room_id, before=frame.before, limit=limit)
            self.push_frame(
                History(room=room_id, messages=await self._as_frames(room_id, messages), ref=frame.ref or None)
            )
        else:  # the next page of a `since` replay
            replay = await self.node.stores.broker.since(room_id, frame.after, limit=limit, most=limit + 1)
            messages, more = self._page(replay.messages, limit) if replay.recovered else (replay.messages, False)
            self.push_frame(
                History(
                    room=room_id,
                    messages=await self._as_frames(room_id, messages),
                    ref=frame.ref or None,
                    more=more or None,
                    recovered=None if replay.recovered else False,
                )
            )
        self.node.relay.backfill(room_id, messages, self.lang, self.identity.id)

    def _take_history_read(self: MessagesSession) -> None:
        """Each `history` frame costs a token: its answer may be megabytes read and queued."""
        if self._history_reads is None:
            self._history_reads = TokenBucket(self._limits.history_rate, self._limits.history_burst)
        wait = self._history_reads.take()
        if wait:
            raise FrameError(
                "rate_limited", f"too many history requests: wait {wait:.1f} s", retry_after=math.ceil(wait)
            )
