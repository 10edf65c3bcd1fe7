"""Fan-out on one node: which local sessions are in which room, and who gets which event.

Events arrive typed (rooms/stores/events.py); each is encoded once, as a whole WebSocket frame
(chat.wire), and the same bytes go to every reader it concerns: a NewMessage as the `message`
frame (chat/frames.py `live_message`, the one place it is built), the other room events as they
are; an event the backend hands over already encoded (`Encoded`: a message or translation as the
store published it) is framed without being decoded. While a session is joining a room its live
events are held back, then released after the replay with the replayed messages dropped: no gap,
no duplicate.

Presence is coalesced when it bursts: the first `presence` of a room goes out at once; those
arriving within `presence_window` seconds of the last one delivered are held and go out together
at the end of the window, at most one per user and kind (`join`, `leave`, `update`: the latest of
each, in the order of their last occurrence, so a batch ends in each user's current state). So a
room sees at most one batch per window, of at most three frames per user, whatever members do.

Reactions are coalesced per message and emoji: the first `reaction` goes out at once; those arriving
within `reaction_window` seconds of it are held, the latest replacing the one before (its `count` is
the store's count after that toggle, so the latest is the current one), and the one held goes out
at the end of the window, which then starts again. So a popular message sends each reader at most
one `reaction` per emoji per window from this node, whatever 500 members do; `user` is then the
last person who toggled.

Lobby summaries (`room` `updated`, every connection hears them) are coalesced the same way across
nodes: each node's lobby ticker announces the rooms whose members changed once per interval, but
every node does so for the rooms its own sessions joined, and a join storm (a plenary opening, a
node restart) touches every room on every node. The first summary goes out at once; those arriving
within `lobby_window` seconds of the last delivery are held, the latest per room, and go out
together at the end of the window, in one write per connection. So a connection hears each room's
counts at most once per window, whatever the number of nodes. Only counts wait: a summary that
changes anything else a host sets (title, state, slow mode, `writers`...), `opened` and `closed` go
out at once, after whatever was held.

What one batch costs grows with the rooms in it times the connections that hear it: in a join storm
(10,000 people opening the event across 50 rooms) every connection would get every room's counts
every window, 150 MB a window from one node, more than the joins themselves cost, and the joins
waited behind it (issue 27: the connect phase's slowest joins went from 0.4 s to 7 s). So the window
also stretches to what the node may spend on lobbies: after a delivery of B bytes in all, the next
waits B / `lobby_bytes_per_second` seconds (at least `lobby_window`, at most LOBBY_WINDOW_MAX). A
quiet event keeps its two-second counts; a storm gets fresh counts less often, never stale for
more than a minute.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import msgspec

from chat.frames import encode_bytes, live_message
from chat.wire import text_frame
from rooms.stores import Broker, Encoded, Event
from rooms.stores.events import (
    Direct,
    Glossary,
    Moderated,
    NewMessage,
    PresenceChanged,
    Reaction,
    ReportsChanged,
    RoleChanged,
    RoomChanged,
    Translation,
    TranslationFailed,
    Typing,
)

log = logging.getLogger("babelroom.hub")

#: Message authors remembered for that filter (per node, the newest first kept).
AUTHORS_KEPT = 4096
#: The fields of a lobby summary that members change (chat/lobby.py); only these wait in a window.
LOBBY_COUNTS = frozenset({"members", "languages"})
#: Seconds a lobby window stretches to at most, whatever a batch cost (see the module doc).
LOBBY_WINDOW_MAX = 60.0


class Reader(Protocol):
    """What the hub needs of a session."""

    lang: str

    @property
    def user_id(self) -> str: ...

    @property
    def moderates_event(self) -> bool: ...  # hears the `reports` count and event-wide moderation

    def push(self, frame: bytes) -> None: ...

    def push_all(self, frames: list[bytes], size: int) -> None: ...  # push each (`size`: their bytes)

    def removed_from(self, room: str, reason: str) -> None: ...  # room "*": out of the event, closed

    def role_changed(self, room: str) -> None: ...  # a host appointed this user moderator there, or ended it

    @property
    def session_id(self) -> str: ...  # the sign-in its token belongs to ("" for tokens without `sid`)

    def signed_out(self) -> None: ...  # its sign-in ended: close it (4401)


class OrganiserTexts(Protocol):
    """What the hub needs of translation/organiser.py: room titles and reasons per language."""

    def room_ready(self, room: dict[str, Any], lang: str) -> bool: ...

    def room_tr_now(self, room: dict[str, Any], lang: str) -> dict[str, str] | None: ...

    async def room_tr(self, room: dict[str, Any], lang: str) -> dict[str, str] | None: ...

    async def reason(self, reason: str, lang: str) -> str | None: ...


Pending = list[tuple[str | None, bytes]]  # (message id or None, WebSocket frame)


class Hub:
    def __init__(
        self,
        broker: Broker,
        presence_window: float = 0.0,
        reaction_window: float = 0.0,
        lobby_window: float = 0.0,
        lobby_bytes_per_second: float = 0.0,
    ) -> None:
        """`lobby_bytes_per_second`: what lobby summaries may cost this node's connections together,
        stretching the lobby window after a large batch (see the module doc; 0: no such bound)."""
        self._broker = broker  # the hub subscribes this node to a room while it has local members there
        self._rooms: dict[str, dict[Reader, Pending | None]] = {}
        self._readers: set[Reader] = set()
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._presence_window = presence_window
        self._presence_sent: dict[str, float] = {}  # room -> loop time of its last presence delivery
        self._presence_held: dict[str, dict[tuple[str, str], PresenceChanged]] = {}  # room -> (user, kind) -> latest
        self._reaction_window = reaction_window
        # (room, message id, emoji) in a window: the latest reaction held until it ends (None: none held)
        self._reactions_quiet: dict[tuple[str, str, str], Reaction | None] = {}
        # Authors of recent messages: translations of a message skip its sender.
        self._authors: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lobby_window = lobby_window
        self._lobby_bytes_per_second = lobby_bytes_per_second
        self._lobby_next: float | None = None  # loop time before which `room` counts are held
        self._lobby_held: dict[str, RoomChanged] | None = None  # room id -> its latest `updated`, in a window
        self._lobby_timer: asyncio.TimerHandle | None = None  # ends the window of what is held
        self._lobby_known: dict[str, dict[str, Any]] = {}  # room id -> its summary's fields but the counts
        #: Called with the new terms when a `glossary` node event arrives.
        self.on_glossary: Callable[[list[str]], None] | None = None
        #: Called with the session ids of a `signed_out` notice (rooms/sign_ins.py) before their sockets close.
        self.on_sessions_ended: Callable[[list[str]], None] | None = None
        #: Translates room titles and moderation reasons per reading language (chat/node.py sets it).
        self.organiser: OrganiserTexts | None = None
        # Frames waiting for a title or reason to be translated go out in the order of their events.
        self._in_order_tail: asyncio.Task[None] | None = None
        #: Called when a `reports_changed` node event arrives (chat/reports.py ReportCount).
        self.on_reports_changed: Callable[[], None] | None = None

    # sessions ----------------------------------------------------------------
    def connect(self, reader: Reader) -> None:
        self._readers.add(reader)

    def disconnect(self, reader: Reader) -> None:
        self._readers.discard(reader)

    @property
    def connections(self) -> int:
        return len(self._readers)

    def local_rooms(self) -> list[str]:
        return list(self._rooms)

    def local_users(self) -> set[str]:
        """Users with a connection on this node."""
        return {reader.user_id for reader in self._readers}

    async def attach(self, room: str, reader: Reader) -> None:
        """Add a reader to a room, holding its live events until `deliver_held`."""
        async with self._lock(room):
            members = self._rooms.get(room)
            if members is None:
                await self._broker.subscribe(room)
                members = self._rooms[room] = {}
            members[reader] = []

    def deliver_held(self, room: str, reader: Reader, replayed: set[str]) -> None:
        """Deliver what was held back during the join, minus the messages already replayed."""
        members = self._rooms.get(room)
        if members is None or members.get(reader) is None:
            return
        pending = members[reader] or []
        members[reader] = None
        for message_id, frame in pending:
            if message_id is None or message_id not in replayed:
                reader.push(frame)

    async def detach(self, room: str, reader: Reader) -> None:
        async with self._lock(room):
            members = self._rooms.get(room)
            if members is None or members.pop(reader, 0) == 0:
                return
            if not members:
                del self._rooms[room]
                self._presence_sent.pop(room, None)
                self._presence_held.pop(room, None)
                await self._broker.unsubscribe(room)

    def local_members(self, room: str) -> list[Reader]:
        return list(self._rooms.get(room, ()))

    def _lock(self, room: str) -> asyncio.Lock:
        return self._room_locks.setdefault(room, asyncio.Lock())

    # events ------------------------------------------------------------------
    def on_event(self, room: str | None, event: Event | Encoded) -> None:
        """The broker's callback (Backend.start): route one event to the local readers it concerns."""
        try:
            if isinstance(event, Encoded):
                if room is not None:
                    self._deliver_encoded(room, event)
            elif room is None:
                self._node_event(event)
            else:
                self._room_event(room, event)
        except Exception:  # one bad event must never stop delivery of the next
            log.exception(
                "could not deliver a %s event", event.type if isinstance(event, Encoded) else type(event).__name__
            )

    def _room_event(self, room: str, event: Event) -> None:
        if not self._rooms.get(room):
            return
        if isinstance(event, PresenceChanged) and self._presence_window > 0:
            self._presence(room, event)
        elif isinstance(event, Reaction) and self._reaction_window > 0:
            self._reaction(room, event)
        else:
            self._deliver(room, event)

    def _presence(self, room: str, event: PresenceChanged) -> None:
        """Deliver a presence now, or fold it into the room's held burst (see the module doc)."""
        loop = asyncio.get_running_loop()
        held = self._presence_held.get(room)
        if held is not None:
            key = (event.user["id"], event.event)
            held.pop(key, None)  # re-inserted: a batch keeps the order of last change, so it ends in each user's state
            held[key] = event
            return
        last = self._presence_sent.get(room)
        now = loop.time()
        if last is not None and now - last < self._presence_window:
            self._presence_held[room] = {(event.user["id"], event.event): event}
            loop.call_later(self._presence_window - (now - last), self._deliver_held_presence, room)
            return
        self._presence_sent[room] = now
        self._deliver(room, event)

    def _deliver_held_presence(self, room: str) -> None:
        held = self._presence_held.pop(room, None)
        if held is None or room not in self._rooms:
            return
        self._presence_sent[room] = asyncio.get_running_loop().time()
        for event in held.values():
            try:
                self._deliver(room, event)
            except Exception:  # one bad event must never stop delivery of the next
                log.exception("could not deliver a presence event")

    def _reaction(self, room: str, event: Reaction) -> None:
        """Deliver a reaction now, or hold it as the latest of its window (see the module doc)."""
        key = (room, event.id, event.emoji)
        if key in self._reactions_quiet:
            self._reactions_quiet[key] = event
            return
        self._reactions_quiet[key] = None
        asyncio.get_running_loop().call_later(self._reaction_window, self._reaction_window_ends, key)
        self._deliver(room, event)

    def _reaction_window_ends(self, key: tuple[str, str, str]) -> None:
        held = self._reactions_quiet.pop(key, None)
        if held is None or key[0] not in self._rooms:
            return
        self._reactions_quiet[key] = None  # a new window: what arrives in it waits for its end
        asyncio.get_running_loop().call_later(self._reaction_window, self._reaction_window_ends, key)
        try:
            self._deliver(key[0], held)
        except Exception:  # one bad event must never stop delivery of the next
            log.exception("could not deliver a reaction event")

    def _deliver(self, room: str, event: Event) -> None:
        """Encode a room's event once and fan it out; kicks and bans then take effect."""
        if isinstance(event, NewMessage):
            self._remember_author(room, event.id, event.user.id)
            plain = text_frame(encode_bytes(live_message(event)))
            if event.reply_to is not None and event.reply_to.tr:
                self._fan_out_reply(room, event, plain)
            else:
                self._fan_out(room, plain, event.id, None)
            return
        frame = text_frame(encode_bytes(event))
        if isinstance(event, (Translation, TranslationFailed)):
            # nobody gets their own message translated back
            self._fan_out(room, frame, None, event.lang, self._authors.get((room, event.id)))
        elif isinstance(event, (PresenceChanged, Typing)):  # a user's own presence is in its `joined.members`
            self._fan_out(room, frame, None, None, event.user["id"])
        else:
            self._deliver_other(room, event, frame)

    def _deliver_other(self, room: str, event: Event, frame: bytes) -> None:
        if isinstance(event, Moderated) and event.reason and self.organiser is not None:
            self._in_order(self._moderated(room, event, frame))
            return
        self._fan_out(room, frame, None, None)
        self._after_moderation(room, event)

    def _after_moderation(self, room: str, event: Event) -> None:
        if isinstance(event, Moderated) and event.action in ("kick", "ban"):
            self._remove_user(room, event.user, "kicked" if event.action == "kick" else "banned")

    async def _moderated(self, room: str, event: Moderated, frame: bytes) -> None:
        """A moderation with a reason: each reading language gets the reason in it (`reason_tr`)."""
        assert self.organiser is not None and event.reason
        langs = sorted({reader.lang for reader in self.local_members(room)})
        made = await asyncio.gather(*(self.organiser.reason(event.reason, lang) for lang in langs))
        for lang, text in zip(langs, made, strict=True):
            own = (
                frame
                if text is None
                else text_frame(encode_bytes(msgspec.structs.replace(event, reason_tr={"lang": lang, "text": text})))
            )
            self._fan_out(room, own, None, lang)
        self._after_moderation(room, event)

    def _nothing_waiting(self) -> bool:
        return self._in_order_tail is None or self._in_order_tail.done()

    def _in_order(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work after the frames still waiting for a translation (they keep their order)."""
        previous = self._in_order_tail

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await work
            except Exception:  # one bad event must never stop delivery of the next
                log.exception("could not deliver a translated room event")

        self._in_order_tail = asyncio.create_task(run())

    def _deliver_encoded(self, room: str, event: Encoded) -> None:
        """A message or translation as the store published it: its payload is already the frame."""
        frame = text_frame(event.payload)
        if event.type == "message":
            if event.author is not None:
                self._remember_author(room, event.id, event.author)
            self._fan_out(room, frame, event.id, None)
        else:  # nobody gets their own message translated back
            self._fan_out(room, frame, None, event.lang, self._authors.get((room, event.id)))

    def _remember_author(self, room: str, message_id: str, user_id: str) -> None:
        self._authors[(room, message_id)] = user_id
        while len(self._authors) > AUTHORS_KEPT:
            self._authors.popitem(last=False)

    def _fan_out(
        self, room: str, frame: bytes, message_id: str | None, lang: str | None, subject: str | None = None
    ) -> None:
        """The same frame to every local reader of the room (of `lang` only, when given; never to
        `subject`); readers still joining hold it until their replay is done."""
        members = self._rooms.get(room)
        if not members:
            return
        if lang is None and subject is None:  # the common case, kept lean: it runs once per delivery
            for reader, pending in list(members.items()):
                if pending is None:
                    reader.push(frame)
                else:
                    pending.append((message_id, frame))
            return
        for reader, pending in list(members.items()):
            if (lang is not None and reader.lang != lang) or (subject is not None and reader.user_id == subject):
                continue
            if pending is None:
                reader.push(frame)
            else:
                pending.append((message_id, frame))

    def _fan_out_reply(self, room: str, event: NewMessage, plain: bytes) -> None:
        """A reply whose quote has translations: each reader gets the quote in their language (one
        frame encoded per language the quote has and a local reader reads), the rest `plain`."""
        assert event.reply_to is not None
        quoted = event.reply_to.tr
        frames: dict[str, bytes] = {}
        for reader, pending in list(self._rooms.get(room, {}).items()):
            frame = plain
            if reader.lang in quoted:
                frame = frames.get(reader.lang) or frames.setdefault(
                    reader.lang, text_frame(encode_bytes(live_message(event, reader.lang)))
                )
            if pending is None:
                reader.push(frame)
            else:
                pending.append((event.id, frame))

    def _node_event(self, event: Event) -> None:
        if isinstance(event, Direct):
            self._direct(event)
            return
        if isinstance(event, Glossary):  # a host changed it on some node
            if self.on_glossary is not None:
                self.on_glossary(list(event.terms))
            return
        if isinstance(event, ReportsChanged):
            if self.on_reports_changed is not None:
                self.on_reports_changed()
            return
        if not isinstance(event, RoomChanged):
            return
        if self._lobby_window > 0:
            self._lobby(event)
        else:
            self._to_every_reader(event)

    def _lobby(self, event: RoomChanged) -> None:
        """Deliver a room summary now, or fold it into the held ones (see the module doc)."""
        held = self._lobby_held
        room_id = event.room["id"]
        fields = {name: value for name, value in event.room.items() if name not in LOBBY_COUNTS}
        known = self._lobby_known.get(room_id)
        if event.event == "closed":
            self._lobby_known.pop(room_id, None)
        else:
            self._lobby_known[room_id] = fields
        if event.event != "updated" or (known is not None and known != fields):  # a host's change: at once
            if held:  # after what is held, so that each room's summaries stay in order
                self._deliver_held_lobby()
            self._to_every_reader(event)
            return
        if held is not None:
            held.pop(room_id, None)  # re-inserted: the batch keeps the order of the latest summaries
            held[room_id] = event
            return
        loop = asyncio.get_running_loop()
        now, until = loop.time(), self._lobby_next
        if until is not None and now < until:
            self._lobby_held = {room_id: event}
            self._lobby_timer = loop.call_later(until - now, self._deliver_held_lobby)
            return
        self._lobby_delivered(now, self._to_every_reader(event))

    def _lobby_delivered(self, now: float, sent: int) -> None:
        """Counts just went out (`sent` bytes to every connection together): when the next may."""
        wait = self._lobby_window
        if self._lobby_bytes_per_second > 0:
            wait = min(max(wait, sent / self._lobby_bytes_per_second), max(wait, LOBBY_WINDOW_MAX))
        self._lobby_next = now + wait

    def _deliver_held_lobby(self) -> None:
        if self._lobby_timer is not None:  # delivered before the window's end (an `opened` or `closed` came)
            self._lobby_timer.cancel()
            self._lobby_timer = None
        held, self._lobby_held = self._lobby_held, None
        if not held:
            return
        now = asyncio.get_running_loop().time()
        events = list(held.values())
        langs = {reader.lang for reader in self._readers}
        organiser = self.organiser
        if organiser is not None and not (
            self._nothing_waiting() and all(organiser.room_ready(e.room, lang) for e in events for lang in langs)
        ):  # titles still to translate: one by one, in order behind them
            self._lobby_delivered(now, sum(self._to_every_reader(event) for event in events))
            return
        # Every reader of a language gets the same frames: built once, handed over in one call each.
        plain: list[bytes | None] = []
        for event in events:
            try:
                plain.append(text_frame(encode_bytes(event)))
            except Exception:  # one bad event must never stop delivery of the next
                log.exception("could not deliver a room summary")
                plain.append(None)
        batches: dict[str, tuple[list[bytes], int]] = {}
        for lang in langs:
            frames: list[bytes] = []
            for event, frame in zip(events, plain, strict=True):
                tr = organiser.room_tr_now(event.room, lang) if organiser is not None and frame is not None else None
                if tr is not None:
                    frame = text_frame(encode_bytes(self._with_tr(event, tr)))
                if frame is not None:
                    frames.append(frame)
            batches[lang] = frames, sum(len(frame) for frame in frames)
        sent = 0
        for reader in list(self._readers):
            batch = batches[reader.lang]
            reader.push_all(*batch)
            sent += batch[1]
        self._lobby_delivered(now, sent)

    def _to_every_reader(self, event: RoomChanged) -> int:
        """A `room` event to every local connection (with `tr` where the organiser made one); the
        bytes that cost, every connection's together (0 when its titles are still being translated)."""
        organiser = self.organiser
        if organiser is not None and event.event != "closed":
            langs = {reader.lang for reader in self._readers}
            if self._nothing_waiting() and all(organiser.room_ready(event.room, lang) for lang in langs):
                return self._room_changed({lang: organiser.room_tr_now(event.room, lang) for lang in langs}, event)
            self._in_order(self._room_changed_later(event))
            return 0
        frame = text_frame(encode_bytes(event))
        readers = list(self._readers)
        for reader in readers:
            reader.push(frame)
        if event.event == "closed":
            room = event.room["id"]
            for reader in self.local_members(room):
                reader.removed_from(room, "closed")
        return len(frame) * len(readers)

    async def _room_changed_later(self, event: RoomChanged) -> None:
        assert self.organiser is not None
        langs = sorted({reader.lang for reader in self._readers})
        made = await asyncio.gather(*(self.organiser.room_tr(event.room, lang) for lang in langs))
        self._room_changed(dict(zip(langs, made, strict=True)), event)

    def _room_changed(self, trs: dict[str, dict[str, str] | None], event: RoomChanged) -> int:
        """A room summary to every connection, with `tr` in each reader's language where one was
        made; the bytes that cost, every connection's together."""
        plain = text_frame(encode_bytes(event))
        frames = {
            lang: text_frame(encode_bytes(self._with_tr(event, tr))) for lang, tr in trs.items() if tr is not None
        }
        sent = 0
        for reader in list(self._readers):
            frame = frames.get(reader.lang, plain)
            reader.push(frame)
            sent += len(frame)
        return sent

    @staticmethod
    def _with_tr(event: RoomChanged, tr: dict[str, str]) -> RoomChanged:
        """The summary with its title and forum in one reader's language."""
        return RoomChanged(event=event.event, room={**event.room, "tr": tr})

    def push_to_moderators(self, frame: bytes) -> None:
        """A frame for every local connection of a host or an event-wide moderator."""
        for reader in list(self._readers):
            if reader.moderates_event:
                reader.push(frame)

    def _direct(self, envelope: Direct) -> None:
        """A frame for some people wherever they are connected (rooms/conversations.py `direct`)."""
        users = set(envelope.users)
        if envelope.frame is not None:
            data = text_frame(encode_bytes(envelope.frame))
            for reader in list(self._readers):
                if reader.user_id in users or (envelope.moderators and reader.moderates_event):
                    reader.push(data)
                    if isinstance(envelope.frame, RoleChanged) and reader.user_id in users:
                        reader.role_changed(envelope.frame.room)  # the session that holds the presence updates it
        remove = envelope.remove
        if remove and "sessions" in remove:  # sign-ins ended: their tokens and their sockets, on every node
            self._sessions_ended(users, remove["sessions"].split())
        elif remove and remove["room"] == "*":  # out of the whole event: every connection of theirs goes
            for reader in list(self._readers):
                if reader.user_id in users:
                    reader.removed_from("*", remove["reason"])
        elif remove:
            for user in users:
                self._remove_user(remove["room"], user, remove["reason"])

    def _sessions_ended(self, users: set[str], session_ids: list[str]) -> None:
        if self.on_sessions_ended is not None:
            self.on_sessions_ended(session_ids)
        ended = set(session_ids)
        for reader in list(self._readers):
            if reader.user_id in users and reader.session_id in ended:
                reader.signed_out()

    def _remove_user(self, room: str, user_id: str, reason: str) -> None:
        for reader in self.local_members(room):
            if reader.user_id == user_id:
                reader.removed_from(room, reason)
