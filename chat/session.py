"""One WebSocket connection speaking protocol v1: authenticate, then serve frames until it closes.

Every client frame is validated; a client's mistake gets an `error` and the session goes on.
Frames to the client go through the connection's writer (chat.writer): written straight to the
transport while it takes them, else queued in a backlog bounded in frames (`[limits] send_queue`)
and bytes (`send_buffer_bytes`); a reader past either leaves its rooms at once and is closed with
1013. The session speaks raw ASGI: no Starlette wrapper on the way.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from chat import protocol
from chat.backend import BackendUnavailable, Member
from chat.backend.ids import is_message_id
from chat.conversations import Conversations
from chat.frames import (
    Ack,
    History,
    Joined,
    Left,
    MessageFrame,
    Pong,
    Reactors,
    Ready,
    Reports,
    ServerFrame,
    encode_bytes,
    error,
    message_frame,
)
from chat.protocol import (
    AnyClientFrame,
    Auth,
    Conversational,
    Delete,
    Edit,
    FrameError,
    GetHistory,
    GetReactors,
    Join,
    Leave,
    ModerationFrame,
    Mute,
    Ping,
    React,
    RelangMessage,
    SetLang,
    TypingNow,
    Unmute,
)
from chat.serving import TRANSPORT_EXTENSION, RawSocket
from chat.session_conversations import handle_conversation_frame
from chat.tokens import Identity, TokenError, as_listed
from chat.wire import text_frame
from chat.writer import CLOSE_OVERLOADED, Writer
from rooms import Refused, Role, Room
from rooms.conversations import EVENT_WIDE, direct
from rooms.limits import TokenBucket
from rooms.messages import REACT_BURST, REACT_RATE
from rooms.moderation import Action
from rooms.reports import may_work_reports
from rooms.sign_ins import SIGNED_OUT
from rooms.stores import Author, Outgoing
from rooms.stores.events import Edited, Mention, PresenceChanged, Reaction, Relang, Typing
from rooms.stores.messages import StoredMessage
from rooms.text import is_scalar_text
from translation import primary_subtag

if TYPE_CHECKING:
    from chat.node import Node

log = logging.getLogger("babelroom.session")

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_UNAUTHORIZED = 4401
CLOSE_REMOVED = 4403
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_INTERNAL = 1011
MESSAGE_ID_FIELDS = {"join": ("since",), "history": ("before", "after"), "delete": ("id",), "read": ("id",),
                     "report": ("id",), "relang": ("id",), "react": ("id",),
                     "reactors": ("id",), "edit": ("id",), "send": ("reply_to",)}


class Session:
    """One connection. Frames to it are whole WebSocket frames (chat.wire), usually shared."""

    __slots__ = ("node", "conn_id", "identity", "lang", "rooms", "writer", "_limits", "_receive_asgi",
                 "_bad_frames", "_removals_pending", "_membership_bucket", "_history_reads", "_counted", "_reacting",
                 "_typed", "_private", "_tasks",
                 "__weakref__")

    def __init__(self, scope: Scope, receive: Receive, send: Send, node: Node) -> None:
        self.node = node
        self.conn_id = f"{node.id}/{secrets.token_hex(6)}"
        self.identity: Identity | None = None
        self.lang = "en"
        self.rooms: dict[str, Member] = {}
        self._private: set[str] = set()  # the joined rooms that are private conversations
        self._limits = node.config.limits
        self._receive_asgi = receive
        # Where the server offers it (chat.serving), frames go straight to the transport.
        socket: RawSocket | None = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
        self.writer = Writer(self, send, socket, frames_max=self._limits.send_queue,
                             bytes_max=self._limits.send_buffer_bytes)
        self._bad_frames = 0
        self._tasks: set[asyncio.Task[None]] = set()  # what the hub's calls started: held until done
        self._removals_pending = 0  # removals (kick, ban, close) under way
        self._membership_bucket: TokenBucket | None = None  # made on the first join, leave or language change
        self._history_reads: TokenBucket | None = None  # made on the first `history` frame
        self._counted = False  # counted among its user's connections ([limits] connections_per_user)
        self._reacting: TokenBucket | None = None  # made on the first `react`
        self._typed: dict[str, float] = {}  # conversation -> monotonic time of the last `typing` announced

    @property
    def user_id(self) -> str:
        return self.identity.id if self.identity else ""

    @property
    def moderates_event(self) -> bool:
        return self.identity is not None and Conversations.moderates_event(self.identity)

    # the connection ------------------------------------------------------------
    async def serve(self) -> None:
        if (await self._receive_asgi())["type"] != "websocket.connect":
            return
        await self.writer.send_asgi({"type": "websocket.accept"})
        try:
            if await self._authenticate():
                while not self.writer.closed:
                    await self._serve_frame(await self._receive())
        except _Disconnected:
            pass
        except Exception:  # never let one connection's failure reach the ASGI server
            log.exception("session %s (%s) failed", self.conn_id, self.user_id)
        finally:
            self.node.hub.disconnect(self)
            await self._leave_every_room()
            await self._uncount_connection()
            await self.writer.finish()

    async def _receive(self) -> str | None:
        """The next text frame; None for a frame that was refused (already answered)."""
        message = await self._receive_asgi()
        if message["type"] == "websocket.disconnect":
            raise _Disconnected
        text: str | None = message.get("text")
        if text is None:
            self._bad("binary frames are not part of the protocol; send JSON text frames")
            return None
        if len(text) * 4 > self._limits.frame_bytes and len(text.encode("utf-8")) > self._limits.frame_bytes:
            self.close(CLOSE_TOO_BIG, "frame too large")
            raise _Disconnected
        return text

    async def _authenticate(self) -> bool:
        deadline = time.monotonic() + self.node.config.auth.auth_timeout
        while self.identity is None and not self.writer.closed:
            remaining = deadline - time.monotonic()
            try:
                text = await asyncio.wait_for(self._receive(), timeout=max(remaining, 0))
            except TimeoutError:
                self.push_frame(error("unauthorized", "no auth frame within "
                                               f"{self.node.config.auth.auth_timeout:g} s; send auth first"))
                self.close(CLOSE_UNAUTHORIZED, "auth timeout")
                return False
            if text is not None and len(text) > protocol.MAX_TOKEN and self._refuse_oversize_token(text):
                return False
            frame = self._decode(text)
            if frame is None:
                continue
            if isinstance(frame, Auth):
                try:
                    await self._auth(frame)
                except FrameError as exc:
                    self.push_frame(error(exc.code, exc.message, frame.ref))
                except Exception:
                    log.exception("auth on %s failed", self.conn_id)
                    self.push_frame(error("internal", "the server failed to check this token; "
                                                   "it was logged, retry later", frame.ref))
            elif isinstance(frame, Ping):
                await self._ping(frame)
            else:
                self.push_frame(error("unauthorized", "send an auth frame with your token first", frame.ref))
        return self.identity is not None

    def _refuse_oversize_token(self, text: str) -> bool:
        """An `auth` whose token is over the size limit is an unauthorized token (4401), not a bad frame."""
        try:
            data = json.loads(text)
        except ValueError:
            return False
        if not (isinstance(data, dict) and data.get("type") == "auth" and isinstance(data.get("token"), str)
                and len(data["token"]) > protocol.MAX_TOKEN):
            return False
        ref = data.get("ref")
        if not isinstance(ref, str) or len(ref) > protocol.MAX_REF or not is_scalar_text(ref):
            ref = None  # echoed only when it is a valid ref
        self.push_frame(error("unauthorized", f"the token is longer than {protocol.MAX_TOKEN} characters, "
                              "the most a token may have; ask for a new token at POST /api/session", ref))
        self.close(CLOSE_UNAUTHORIZED, "unauthorized")
        return True

    async def _serve_frame(self, text: str | None) -> None:
        frame = self._decode(text)
        if frame is None:
            return
        try:
            self._check_ids(frame)
            await _HANDLERS[type(frame)](self, frame)
        except (FrameError, Refused) as exc:
            self.push_frame(error(exc.code, exc.message, frame.ref, retry_after=exc.retry_after))
        except BackendUnavailable:
            self.push_frame(error("unavailable", "the server cannot reach its backend right now; "
                                           "retry in a few seconds", frame.ref))
        except Exception:
            log.exception("frame %s from %s failed", frame.type, self.user_id)
            self.push_frame(error("internal", "the server failed to handle this frame; "
                                           "it was logged, retry later", frame.ref))

    @staticmethod
    def _check_ids(frame: AnyClientFrame) -> None:
        """Message ids must have exactly the shape the server issues (see chat.backend.ids)."""
        for name in MESSAGE_ID_FIELDS.get(frame.type, ()):
            value = getattr(frame, name)
            if value is not None and not is_message_id(value):
                raise FrameError("bad_frame", f"\"{name}\" must be a message id exactly as the server sent it "
                                 "(such as \"1a2b3c4d.17\")")

    def _decode(self, text: str | None) -> AnyClientFrame | None:
        if text is None:
            return None
        try:
            frame = protocol.decode(text)
        except FrameError as exc:
            self._bad(exc.message, exc.code, exc.ref)
            return None
        self._bad_frames = 0
        return frame

    def _bad(self, message: str, code: str = "bad_frame", ref: str | None = None) -> None:
        self.push_frame(error(code, message, ref))
        self._bad_frames += 1
        if self._bad_frames >= self._limits.bad_frames:
            self.close(CLOSE_POLICY, "too many bad frames")

    # output (chat.writer) ------------------------------------------------------------
    def push(self, frame: bytes) -> None:
        """Send a whole WebSocket frame (written at once or queued, bounded: chat.writer)."""
        self.writer.push(frame)

    def push_frame(self, frame: ServerFrame) -> None:
        try:
            data = text_frame(encode_bytes(frame))
        except Exception as exc:  # noqa: BLE001 - a frame that cannot be encoded: this socket only
            log.warning("could not send a frame to %s (%s): %r; closing this connection",
                        self.conn_id, self.user_id, exc)
            self.writer.abort(CLOSE_INTERNAL, "the server could not send a frame")
            return
        self.writer.push(data)

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have been sent."""
        self.writer.close(code, reason)

    @property
    def _closed(self) -> bool:  # the name the protocol suite's slow-reader test reads
        return self.writer.closed

    def describe(self) -> str:
        return f"{self.conn_id} ({self.user_id})"

    async def writer_aborted(self) -> None:
        """The writer closes this connection now: its memberships end at once."""
        self.node.hub.disconnect(self)
        await self._leave_every_room()

    # auth and language -----------------------------------------------------------
    async def _auth(self, frame: Auth) -> None:
        try:
            identity = self.node.signer.verify(frame.token)
        except TokenError as exc:
            self.push_frame(error("unauthorized", f"{exc}; ask for a new token at POST /api/session",
                                           frame.ref))
            self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return
        try:  # a website's token for a delegate of the list: that delegate's user id (same person everywhere)
            identity = await as_listed(identity, self.node.delegates)
        except Refused as refusal:
            self.push_frame(error("unauthorized", refusal.message, frame.ref))
            self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return
        except BackendUnavailable:  # who the person is cannot be told: a second, split identity would be worse
            self.push_frame(error("unavailable", "the server cannot reach its backend right now; connect again in "
                                  "a few seconds", frame.ref))
            self.close(CLOSE_OVERLOADED, "unavailable")
            return
        if not await self._sign_in_live(identity, frame.ref):
            return
        lang = self._reading_lang(frame.lang or identity.lang, frame.ref)
        try:  # the event knows this user's token role from now on; an event-wide ban refuses them here
            await self.node.roles.authenticated(identity)
            await self.node.sanctions.check_connect(identity)
        except Refused as refusal:
            self.push_frame(error(refusal.code, refusal.message, frame.ref))
            self.close(CLOSE_REMOVED, refusal.code)
            return
        except BackendUnavailable:  # as for the profile below: the chat itself checks again on every frame
            log.warning("could not check the standing of %s: the backend is unavailable", identity.id)
        if not await self._count_connection(identity.id):
            most = self._limits.connections_per_user
            self.push_frame(error("too_many_connections", f"this user has {most} connections open already, the most "
                                  "one user may have; close one (another tab or device) and connect again", frame.ref))
            self.close(CLOSE_TOO_MANY_CONNECTIONS, "too many connections")
            return
        self.identity, self.lang = identity, lang
        try:  # the directory's profile and online mark; the chat works without them
            await self.node.conversations.seen(identity, lang)
        except BackendUnavailable:
            log.warning("could not record the profile of %s: the backend is unavailable", identity.id)
        except Refused as exc:  # name_reserved: a delegate's name looks like a host's or moderator's
            self.push_frame(error("unauthorized", f"the token's 'name' claim {exc.message}", frame.ref))
            await self._uncount_connection()
            self.identity = None  # not authenticated after all
            self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return
        self.node.hub.connect(self)  # from now on it hears node-wide `room` events
        self._ready()
        if may_work_reports(identity):  # the inbox count, also for a moderator who was away
            try:
                self.push_frame(Reports(open=await self.node.reports.open_count()))
            except BackendUnavailable:
                log.warning("could not read the open reports' count for %s: the backend is unavailable", identity.id)

    async def _sign_in_live(self, identity: Identity, ref: str | None) -> bool:
        """A token of a sign-in that ended (signed out here or everywhere) is refused (rooms/sign_ins.py)."""
        if not identity.session:
            return True  # a token from the website or `babelroom token`: no sign-in to end
        try:
            if await self.node.sign_ins.live(identity.session, identity.id):
                return True
        except BackendUnavailable:  # as for the standing below: the chat goes on, the next connection checks again
            log.warning("could not check the sign-in of %s: the backend is unavailable", identity.id)
            return True
        self.push_frame(error("unauthorized", "this sign-in has ended (signed out); sign in again", ref))
        self.close(CLOSE_UNAUTHORIZED, SIGNED_OUT)
        return False

    @property
    def session_id(self) -> str:
        return self.identity.session if self.identity else ""

    def signed_out(self) -> None:
        """The hub says this connection's sign-in ended: the client goes back to its lobby."""
        self.close(CLOSE_UNAUTHORIZED, SIGNED_OUT)

    async def _count_connection(self, user: str) -> bool:
        """Count this connection among its user's on every node: False when the user has
        `[limits] connections_per_user` open already (the newest is refused)."""
        most = self._limits.connections_per_user
        if not most:
            return True
        try:
            self._counted = await self.node.stores.presence.open_connection(user, self.conn_id, most)
        except BackendUnavailable:  # the chat works without the count, as without the profile
            log.warning("could not count the connections of %s: the backend is unavailable", user)
            return True
        return self._counted

    async def _uncount_connection(self) -> None:
        if self._counted:
            self._counted = False
            try:
                await self.node.stores.presence.close_connection(self.user_id, self.conn_id)
            except Exception:  # noqa: BLE001 - the backend may be down; the count then expires with the node
                log.warning("could not uncount the connection %s of %s", self.conn_id, self.user_id)

    async def _auth_again(self, frame: Auth) -> None:
        raise FrameError("bad_frame", "this connection is already authenticated; open a new one to switch user")

    def _reading_lang(self, code: str, ref: str | None) -> str:
        lang = primary_subtag(code)
        if lang not in self.node.translator.reading_languages():
            raise FrameError("bad_frame", f"unknown language {code!r}; choose one of "
                             + ", ".join(self.node.translator.reading_languages()), ref)
        return lang

    def _ready(self) -> None:
        assert self.identity is not None
        self.push_frame(Ready(user=self.identity.public(), lang=self.lang,
                              languages=self.node.translator.reading_languages(),
                              translates=self.node.translator.languages(),
                              routes=self.node.translator.routes(), node=self.node.id,
                              protocol=protocol.PROTOCOL_VERSION,
                              min_confidence=self.node.translator.settings.min_confidence))

    def _take_membership_token(self) -> None:
        """Joins, leaves and language changes each cost a token: their presence reaches every member."""
        if self._membership_bucket is None:
            self._membership_bucket = TokenBucket(self._limits.membership_rate, self._limits.membership_burst)
        wait = self._membership_bucket.take()
        if wait:
            raise FrameError("rate_limited", f"too many joins, leaves and language changes: wait {wait:.1f} s",
                             retry_after=math.ceil(wait))

    async def _change_lang(self, frame: SetLang) -> None:
        self._take_membership_token()
        self.lang = self._reading_lang(frame.lang, frame.ref)
        assert self.identity is not None
        for room, member in list(self.rooms.items()):
            role = await self.node.roles.of(self.identity, room)  # read again: a host may have appointed them since
            updated = Member(member.conn, member.id, member.name, self.lang, role.value)
            self.rooms[room] = updated
            await self.node.stores.presence.add_member(room, updated)
            await self.node.backend.publish(room, self._presence(room, "update", updated))
        self._ready()

    async def _ping(self, frame: Ping) -> None:
        self.push_frame(Pong(ref=frame.ref or None))

    # rooms -------------------------------------------------------------------------
    async def visible_room(self, room_id: str) -> Room:
        """The room, or not_found when there is none this user may see (a private room's non-members)."""
        assert self.identity is not None
        return await self.node.access.room(room_id, self.identity.id)

    def _require_joined(self, room_id: str) -> Member:
        member = self.rooms.get(room_id)
        if member is None:
            raise FrameError("not_joined", f"join room {room_id!r} first")
        return member

    def _presence(self, room: str, event: str, member: Member) -> PresenceChanged:
        return PresenceChanged(room=room, event=event, user=member.public())  # with the role: badges need no rejoin

    async def _join(self, frame: Join) -> None:
        assert self.identity is not None
        self._take_membership_token()
        room_id = frame.room
        limit = self._count(frame.history, "history")
        room, role = await self.node.access.join(self.identity, room_id)
        backend = self.node.backend
        rejoin = room_id in self.rooms
        await self.node.hub.attach(room_id, self)
        try:
            if not rejoin:
                member = Member(self.conn_id, self.identity.id, self.identity.name, self.lang, role.value)
                self.rooms[room_id] = member
                if await self.node.stores.presence.add_member(room_id, member):
                    await backend.publish(room_id, self._presence(room_id, "join", member))
                    self.node.lobby.touch(room_id)
            since, more = frame.since, False
            if since is not None:
                page = self._limits.history_max
                replay = await backend.since(room_id, since, limit=limit, most=page + 1)  # one more: is there more?
                messages, recovered = replay.messages, replay.recovered
                if recovered:  # one page: the client asks for the rest (`history` with `after`)
                    messages, more = self._page(messages, page)
            else:
                messages, recovered = await backend.history(room_id, before=None, limit=limit), None
            joined = await self._joined_frame(room, role, messages, recovered, more)
        except BaseException:
            if rejoin:  # still a member, as before this join: live events flow again
                self.node.hub.deliver_held(room_id, self, set())
            else:  # never joined: no membership, no presence left behind
                await self._leave_room_or_log(room_id)
            raise
        self.push_frame(joined)
        self.node.hub.deliver_held(room_id, self, {m.id for m in messages})
        self.node.relay.backfill(room_id, messages, self.lang, self.identity.id)
        if room.private:  # its new messages tell the other members' devices their unread counts
            self._private.add(room_id)

    async def _joined_frame(self, room: Room, role: Role, messages: list[StoredMessage],
                            recovered: bool | None, more: bool) -> Joined:
        assert self.identity is not None
        members: dict[str, dict[str, str]] = {}
        for member in await self.node.stores.presence.members(room.id):
            members.setdefault(member.id, member.public())
        mute = await self.node.access.binding_mute(self.identity, room.id, role)  # the room's or an event-wide one
        you: dict[str, Any] = {"role": role.value}
        if mute is not None:
            you["muted_until"] = mute.until
        read = await self.node.conversations.read_state(room.id, self.identity.id)
        if read is not None:  # where the "new messages" line goes; the count for the sidebar
            you["read"], you["unread"] = read
        room_fields = await self.node.organiser.with_tr(
            {**room.to_dict(), "languages": await self.node.stores.presence.census(room.id)}, self.lang)
        return Joined(room=room_fields, members=list(members.values()),
                      messages=await self._as_frames(room.id, messages), you=you, recovered=recovered,
                      more=more or None)

    @staticmethod
    def _page(messages: list[StoredMessage], size: int) -> tuple[list[StoredMessage], bool]:
        """The oldest `size` of a replay, and whether more remain."""
        return messages[:size], len(messages) > size

    def _count(self, value: int | None, name: str) -> int:
        if value is None:
            return self._limits.history_default
        if not 0 <= value <= self._limits.history_max:
            raise FrameError("bad_frame", f"\"{name}\" must be between 0 and {self._limits.history_max}")
        return value

    async def _leave(self, frame: Leave) -> None:
        self._require_joined(frame.room)
        self._take_membership_token()
        await self._leave_room(frame.room)
        self.push_frame(Left(room=frame.room, reason="left"))

    async def _leave_room(self, room_id: str) -> None:
        """Leave a room's fan-out and presence (presence `leave` when the user's last connection goes)."""
        await self.node.hub.detach(room_id, self)
        self._private.discard(room_id)
        member = self.rooms.pop(room_id, None)
        if member is not None and await self.node.stores.presence.remove_member(room_id, member):
            await self.node.backend.publish(room_id, self._presence(room_id, "leave", member))
            self.node.lobby.touch(room_id)

    async def _leave_room_or_log(self, room_id: str) -> None:
        try:
            await self._leave_room(room_id)
        except Exception:  # noqa: BLE001 - the backend may be down; presence then expires with the node heartbeat
            log.warning("could not record that %s left %s", self.conn_id, room_id)

    async def _leave_every_room(self) -> None:
        for room_id in list(self.rooms):
            await self._leave_room_or_log(room_id)

    def removed_from(self, room: str, reason: str) -> None:
        """The hub says this session is out of a room (kicked, banned, closed), or, for room "*"
        (an event-wide ban), out of every room and closed, even when it is in none."""
        if room == EVENT_WIDE:
            if not self.rooms and not self._removals_pending:
                self.close(CLOSE_REMOVED, reason)
            for joined in list(self.rooms):
                self.removed_from(joined, reason)
            return
        if room in self.rooms:
            self._removals_pending += 1
            self._spawn(self._complete_removal(room, reason))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task the session holds (the event loop keeps only a weak reference)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _complete_removal(self, room: str, reason: str) -> None:
        try:
            await self._leave_room(room)
        except Exception:  # noqa: BLE001 - as in leave: a removal goes on whatever the backend says
            log.warning("could not record that %s was removed from %s", self.conn_id, room)
        self._removals_pending -= 1
        self.push_frame(Left(room=room, reason=reason))
        # An event-wide ban removes several rooms at once: close after the last one's `left`.
        if reason in ("kicked", "banned") and not self.rooms and not self._removals_pending:
            self.close(CLOSE_REMOVED, reason)

    def role_changed(self, room: str) -> None:
        """The hub says a host appointed this user moderator of a room, or ended it (a `role` frame went out)."""
        if room in self.rooms:
            self._spawn(self._role_changed(room))

    async def _role_changed(self, room: str) -> None:
        """Read the role again and, when it changed, show it on this connection's presence: the room's
        members see the badge at once (`presence` `update`). Done here, by the node that holds the
        connection's presence record, on whichever node the host acted."""
        assert self.identity is not None
        try:
            role = (await self.node.roles.of(self.identity, room)).value
            member = self.rooms.get(room)
            if member is None or member.role == role:
                return
            updated = Member(member.conn, member.id, member.name, member.lang, role)
            self.rooms[room] = updated
            await self.node.stores.presence.add_member(room, updated)
            await self.node.backend.publish(room, self._presence(room, "update", updated))
        except Exception:  # noqa: BLE001 - the badge catches up at the next join; the session goes on
            log.warning("could not show %s's new role in %s", self.conn_id, room)

    # messages ------------------------------------------------------------------------
    async def _send(self, frame: protocol.SendMessage) -> None:
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
        appended = await self.node.backend.append_message(room_id, user=user, text=text, lang=lang, cid=cid,
                                                          translating=targets, reply_to=quote, mentions=mentions)
        self.push_frame(Ack(ref=frame.ref, cid=cid, id=appended.message.id))
        if appended.created:
            self.node.relay.message_stored(appended.message, targets)
            if room_id in self._private:
                await self.node.conversations.message_stored(room_id, appended.message)
            told = [user for user in mentions if user != self.identity.id]
            if told:  # every connection of theirs, on every node, in this room or not
                await self.node.backend.broadcast(direct(told, Mention(room=room_id, id=appended.message.id,
                                                                       by=user)))

    async def _send_plain(self, frame: protocol.SendMessage) -> None:
        """A message without reply or mentions, most of them: checks, census and store are one step
        of the store (one Redis round trip: rooms/stores/sends.py)."""
        assert self.identity is not None
        lang = await self.node.translator.detect(frame.text, self.lang)
        sent = await self.node.messages.send(self.identity, frame.room, Outgoing(
            user=Author(self.identity.id, self.identity.name), text=frame.text, lang=lang, cid=frame.cid,
            candidates=self.node.relay.candidates(lang), sender_lang=self.lang))
        assert sent.appended is not None
        self.push_frame(Ack(ref=frame.ref, cid=frame.cid, id=sent.appended.message.id))
        if sent.appended.created:
            self.node.relay.message_stored(sent.appended.message, sent.translating)
            if frame.room in self._private:
                await self.node.conversations.message_stored(frame.room, sent.appended.message)

    def _check_text(self, text: str) -> None:
        if not text.strip():
            raise FrameError("bad_frame", "\"text\" must not be empty")
        if len(text) > self._limits.text_chars:
            raise FrameError("too_large", f"a message holds at most {self._limits.text_chars} characters; "
                             f"this one has {len(text)}: split it")

    async def _relang(self, frame: RelangMessage) -> None:
        """The sender corrects the detected language of their own message: re-label, re-translate."""
        assert self.identity is not None
        room_id = frame.room
        self._require_joined(room_id)
        lang = self._reading_lang(frame.lang, frame.ref)
        message = await self.node.backend.relabel_message(room_id, frame.id, lang, author=self.identity.id)
        if message is None:
            raise FrameError("not_found", f"room {room_id!r} has no message {frame.id!r} of yours; "
                             "only the sender may correct a message's language")
        targets = await self.node.relay.targets(room_id, lang, self.lang)
        await self.node.backend.publish(room_id, Relang(room=room_id, id=message.id, lang=lang, translating=targets))
        self.push_frame(Ack(ref=frame.ref, id=message.id))
        self.node.relay.message_stored(message, targets)

    async def _react(self, frame: React) -> None:
        """Toggle a reaction; every reader hears the new count (`reaction`, coalesced by the hubs)."""
        assert self.identity is not None
        self._require_joined(frame.room)
        if self._reacting is None:
            self._reacting = TokenBucket(REACT_RATE, REACT_BURST)
        wait = self._reacting.take()
        if wait:
            raise FrameError("rate_limited", f"too many reactions: wait {wait:.1f} s", retry_after=math.ceil(wait))
        reacted = await self.node.messages.react(self.identity, frame.room, frame.id, frame.emoji)
        await self.node.backend.publish(frame.room, Reaction(room=frame.room, id=frame.id, emoji=frame.emoji,
                                                             count=reacted.count, user=self.identity.id))
        self.push_frame(Ack(ref=frame.ref, id=frame.id))

    async def _reactors(self, frame: GetReactors) -> None:
        """Who reacted to a message (shown on hover or long-press): a read, paid for as `history`."""
        assert self.identity is not None
        self._require_joined(frame.room)
        self._take_history_read()
        people = await self.node.messages.reactors(self.identity, frame.room, frame.id)
        self.push_frame(Reactors(room=frame.room, id=frame.id, reactors=people, ref=frame.ref or None))

    async def _edit(self, frame: Edit) -> None:
        """The sender replaces their message's text: every reader gets it, and a new translation."""
        assert self.identity is not None
        room_id, text = frame.room, frame.text
        self._require_joined(room_id)
        self._check_text(text)
        await self.node.messages.editable(self.identity, room_id, frame.id)
        lang = await self.node.translator.detect(text, self.lang)
        message = await self.node.backend.edit_message(room_id, frame.id, text, lang, author=self.identity.id)
        if message is None:  # deleted meanwhile
            raise FrameError("not_found", f"room {room_id!r} has no message {frame.id!r}")
        targets = await self.node.relay.targets(room_id, lang, self.lang)
        await self.node.backend.publish(room_id, Edited(room=room_id, id=message.id, text=text, lang=lang,
                                                        translating=targets))
        self.push_frame(Ack(ref=frame.ref, id=message.id))
        self.node.relay.message_stored(message, targets)

    async def _typing(self, frame: TypingNow) -> None:
        """Tell a conversation's other members this one is typing: at most once per [limits]
        typing_interval; more within it are dropped quietly (a client may send one per keystroke)."""
        assert self.identity is not None
        self._require_joined(frame.room)
        now, interval = time.monotonic(), self._limits.typing_interval
        if frame.room in self._typed and now - self._typed[frame.room] < interval:
            return  # announced a moment ago: the readers show it still
        await self.node.messages.check_typing(self.identity, frame.room)
        self._typed[frame.room] = now
        await self.node.backend.publish(frame.room, Typing(room=frame.room, user={"id": self.identity.id,
                                                                                  "name": self.identity.name}))

    async def _as_frames(self, room_id: str, messages: list[StoredMessage]) -> list[MessageFrame]:
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

    async def _history(self, frame: GetHistory) -> None:
        room_id = frame.room
        if room_id not in self.rooms:
            await self.visible_room(room_id)  # a private room's non-member hears not_found, not not_joined
        self._require_joined(room_id)
        limit = self._count(frame.limit, "limit")
        if frame.before is not None and frame.after is not None:
            raise FrameError("bad_frame", "give \"before\" (older messages) or \"after\" (the rest of a replay), "
                             "not both")
        self._take_history_read()
        assert self.identity is not None
        if frame.after is None:
            messages = await self.node.backend.history(room_id, before=frame.before, limit=limit)
            self.push_frame(History(room=room_id, messages=await self._as_frames(room_id, messages),
                                    ref=frame.ref or None))
        else:  # the next page of a `since` replay
            replay = await self.node.backend.since(room_id, frame.after, limit=limit, most=limit + 1)
            messages, more = self._page(replay.messages, limit) if replay.recovered else (replay.messages, False)
            self.push_frame(History(room=room_id, messages=await self._as_frames(room_id, messages),
                                    ref=frame.ref or None, more=more or None,
                                    recovered=None if replay.recovered else False))
        self.node.relay.backfill(room_id, messages, self.lang, self.identity.id)

    def _take_history_read(self) -> None:
        """Each `history` frame costs a token: its answer may be megabytes read and queued."""
        if self._history_reads is None:
            self._history_reads = TokenBucket(self._limits.history_rate, self._limits.history_burst)
        wait = self._history_reads.take()
        if wait:
            raise FrameError("rate_limited", f"too many history requests: wait {wait:.1f} s",
                             retry_after=math.ceil(wait))

    # moderation ------------------------------------------------------------------------
    async def _moderate(self, frame: ModerationFrame) -> None:
        assert self.identity is not None
        action = _action(frame)
        await self.node.moderation.apply(self.identity, action)
        if action.kind == "delete":  # a reported message deleted in its room: its reports are done
            await self.node.reports.message_deleted(self.identity, action.room, action.message_id)
        self.push_frame(Ack(ref=frame.ref))

    async def _conversation(self, frame: Conversational) -> None:
        await handle_conversation_frame(self, frame)


def _action(frame: ModerationFrame) -> Action:
    if isinstance(frame, Delete):
        return Action(frame.type, frame.room, message_id=frame.id)
    return Action(frame.type, frame.room, user=frame.user, seconds=frame.seconds if isinstance(frame, Mute) else None,
                  reason=None if isinstance(frame, Unmute) else frame.reason)


class _Disconnected(Exception):
    pass


# frame type -> handler; one table for every session (each handler takes its own frame type)
_HANDLERS: dict[type[AnyClientFrame], Callable[[Session, Any], Awaitable[None]]] = {
    Join: Session._join, Leave: Session._leave, protocol.SendMessage: Session._send, SetLang: Session._change_lang,
    RelangMessage: Session._relang, GetHistory: Session._history, Ping: Session._ping,
    React: Session._react, GetReactors: Session._reactors, Edit: Session._edit, TypingNow: Session._typing,
    Auth: Session._auth_again,
    **{action: Session._moderate for action in ModerationFrame.__args__},
    **{kind: Session._conversation for kind in Conversational.__args__},
}
