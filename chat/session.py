"""One WebSocket connection speaking protocol v1: authenticate, then serve frames until it closes.

Every client frame is validated; a client's mistake gets an `error` and the session goes on.
Frames to the client are whole WebSocket frames (chat.wire), most of them built once for every
reader of an event. While the socket takes them they are written straight to its transport (no
queue, no task switch), all of one turn of the event loop in one write; when its buffer is full
they wait in a bounded backlog drained by a task that exists only meanwhile. A reader that falls
`send_queue` frames behind leaves its rooms at once and is closed with 1013; when even the close
cannot be written within CLOSE_WRITE_SECONDS the transport is dropped (see chat.serving). Whatever
goes wrong writing to one socket closes that socket only, logged once. The session speaks raw ASGI:
no Starlette wrapper on the way.
"""
from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

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
    Ready,
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
    FrameError,
    GetHistory,
    Join,
    Leave,
    Moderation,
    Mute,
    Ping,
    RelangMessage,
    SetLang,
    Unmute,
)
from chat.serving import TRANSPORT_EXTENSION, RawSocket
from chat.session_conversations import handle_conversation_frame
from chat.tokens import Identity, TokenError
from chat.wire import payload_of, text_frame
from rooms import Refused, Role, Room
from rooms.conversations import EVENT_WIDE
from rooms.limits import TokenBucket
from rooms.moderation import Action
from rooms.sign_ins import SIGNED_OUT
from rooms.stores.events import PresenceChanged, Relang
from rooms.stores.messages import Message
from translation import primary_subtag

if TYPE_CHECKING:
    from chat.node import Node

log = logging.getLogger("babelroom.session")

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_OVERLOADED = 1013
CLOSE_UNAUTHORIZED = 4401
CLOSE_REMOVED = 4403
CLOSE_INTERNAL = 1011
CLOSE_FLUSH_SECONDS = 5.0  # a closing session's queued frames get this long to go out
CLOSE_WRITE_SECONDS = 1.5  # a forced close that cannot be written within this drops the transport
MESSAGE_ID_FIELDS = {"join": "since", "history": "before", "delete": "id", "read": "id", "report": "id",
                     "relang": "id"}


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class Session:
    """One connection. Frames to it are whole WebSocket frames (chat.wire), usually shared."""

    __slots__ = ("node", "conn_id", "identity", "lang", "rooms", "_limits", "_receive_asgi", "_send_asgi",
                 "_socket", "_corked", "_backlog", "_drainer", "_closed", "_bad_frames", "_removing", "_closing",
                 "_membership", "__weakref__")

    def __init__(self, scope: Scope, receive: Receive, send: Send, node: Node) -> None:
        self.node = node
        self.conn_id = f"{node.id}/{secrets.token_hex(6)}"
        self.identity: Identity | None = None
        self.lang = "en"
        self.rooms: dict[str, Member] = {}
        self._limits = node.config.limits
        self._receive_asgi = receive
        self._send_asgi = send
        # Where the server offers it (chat.serving), frames go straight to the transport.
        self._socket: RawSocket | None = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
        self._corked: list[bytes] | None = None  # frames of this turn of the event loop, not yet written
        # Frames waiting for the socket to drain; None while frames can be written at once.
        self._backlog: deque[bytes | _Close] | None = None
        self._drainer: asyncio.Task[None] | None = None  # runs only while there is a backlog
        self._closed = False
        self._bad_frames = 0
        self._removing = 0  # removals (kick, ban, close) under way
        self._closing: asyncio.Task[None] | None = None  # a forced close under way
        self._membership: TokenBucket | None = None  # made on the first join, leave or language change

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
        await self._send_asgi({"type": "websocket.accept"})
        try:
            if await self._authenticate():
                while not self._closed:
                    await self._serve_frame(await self._receive())
        except _Disconnected:
            pass
        except Exception:  # never let one connection's failure reach the ASGI server
            log.exception("session %s (%s) failed", self.conn_id, self.user_id)
        finally:
            self.node.hub.disconnect(self)
            await self._leave_all()
            if self._drainer is not None and not self._drainer.done():
                await self._flush_then_stop()
            if self._closing is not None:
                await asyncio.gather(self._closing, return_exceptions=True)

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
        while self.identity is None and not self._closed:
            remaining = deadline - time.monotonic()
            try:
                text = await asyncio.wait_for(self._receive(), timeout=max(remaining, 0))
            except TimeoutError:
                self.push_frame(error("unauthorized", "no auth frame within "
                                               f"{self.node.config.auth.auth_timeout:g} s; send auth first"))
                self.close(CLOSE_UNAUTHORIZED, "auth timeout")
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
        name = MESSAGE_ID_FIELDS.get(frame.type)
        value = getattr(frame, name) if name is not None else None
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

    # output ----------------------------------------------------------------------
    def push(self, frame: bytes) -> None:
        """Send a whole WebSocket frame: written at once while the socket takes it, else queued;
        a reader `send_queue` frames behind is closed with 1013."""
        if self._closed:
            return
        backlog = self._backlog
        if backlog is None:
            socket = self._socket
            if socket is not None and socket.writable.is_set():
                # Written at the end of this turn of the event loop, with whatever else this
                # reader gets in the same turn: one system call for a burst, not one per frame.
                corked = self._corked
                if corked is None:
                    self._corked = [frame]
                    _TURN.add(self)
                else:
                    corked.append(frame)
                return
            backlog = self._backlog = deque()
            self._drainer = asyncio.create_task(self._drain())
        if len(backlog) >= self._limits.send_queue:
            log.info("closing %s (%s): %d frames behind", self.conn_id, self.user_id, len(backlog))
            self._abort(CLOSE_OVERLOADED, "too slow: reconnect and join with since")
            return
        backlog.append(frame)

    def _uncork(self) -> None:
        """Write the frames pushed during this turn of the event loop, in one write."""
        frames, self._corked = self._corked, None
        if not frames or self._socket is None:
            return
        if self._backlog is None and self._socket.writable.is_set():
            self._socket.write_frame(frames[0] if len(frames) == 1 else b"".join(frames))
            return
        # The transport filled up meanwhile (a ping or a close went out): these go first, in order.
        if self._backlog is None:
            self._backlog = deque(frames)
            self._drainer = asyncio.create_task(self._drain())
        else:
            self._backlog.extendleft(reversed(frames))

    def push_frame(self, frame: ServerFrame) -> None:
        try:
            data = text_frame(encode_bytes(frame))
        except Exception as exc:  # noqa: BLE001 - a frame that cannot be encoded: this socket only
            log.warning("could not send a frame to %s (%s): %r; closing this connection",
                        self.conn_id, self.user_id, exc)
            self._abort(CLOSE_INTERNAL, "the server could not send a frame")
            return
        self.push(data)

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have been sent."""
        if self._closed:
            return
        self._uncork()
        if self._backlog is not None and len(self._backlog) >= self._limits.send_queue:
            self._abort(code, reason)
            return
        self._closed = True
        if self._backlog is None:
            self._backlog = deque()
            self._drainer = asyncio.create_task(self._drain())
        self._backlog.append(_Close(code, reason))

    def _abort(self, code: int, reason: str) -> None:
        """Close now, dropping whatever is queued; the connection's memberships end at once."""
        self._closed = True
        self._corked = None
        if self._closing is None:
            self._closing = asyncio.create_task(self._close_now(code, reason))

    async def _close_now(self, code: int, reason: str) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            await asyncio.gather(self._drainer, return_exceptions=True)
        self._backlog = None
        self.node.hub.disconnect(self)
        await self._leave_all()
        await self._send_close(code, reason)
        # The close frame may sit behind megabytes the reader never takes: do not wait for it.
        asyncio.get_running_loop().call_later(CLOSE_WRITE_SECONDS, self._drop_transport)

    async def _send_close(self, code: int, reason: str) -> None:
        """Send a close frame; one that cannot be written within CLOSE_WRITE_SECONDS drops the transport."""
        try:
            await asyncio.wait_for(self._send_asgi({"type": "websocket.close", "code": code, "reason": reason}),
                                   CLOSE_WRITE_SECONDS)
        except TimeoutError:
            log.info("closing %s: the close could not be written within %g s; dropping the connection",
                     self.conn_id, CLOSE_WRITE_SECONDS)
            self._drop_transport()
        except Exception:  # noqa: BLE001 - the socket may be gone already, whatever it raises then
            pass

    def _drop_transport(self) -> None:
        if self._socket is not None:
            self._socket.abort_transport()

    async def _drain(self) -> None:
        """Write the backlog as the socket takes it; a queued close goes out after the frames before it."""
        backlog = self._backlog
        assert backlog is not None
        socket = self._socket
        try:
            while backlog:
                item = backlog[0]
                if isinstance(item, _Close):
                    backlog.clear()
                    await self._send_close(item.code, item.reason)
                    return
                if socket is None:
                    await self._send_asgi({"type": "websocket.send", "text": payload_of(item).decode()})
                    backlog.popleft()
                    continue
                await socket.writable.wait()
                while backlog and not isinstance(backlog[0], _Close) and socket.writable.is_set():
                    if not socket.write_frame(cast(bytes, backlog.popleft())):  # not a _Close: checked above
                        self._closed = True  # the connection is going
                        backlog.clear()
                        return
        except (OSError, RuntimeError):  # the socket is gone or closing
            self._closed = True
        finally:
            if self._backlog is backlog:
                self._backlog = None  # from now on frames are written at once again

    async def _flush_then_stop(self) -> None:
        """Let a requested close go out after the frames before it; otherwise stop writing."""
        assert self._drainer is not None
        if self._closed:
            # asyncio.wait neither raises nor cancels: the drainer may have been cancelled already
            await asyncio.wait({self._drainer}, timeout=CLOSE_FLUSH_SECONDS)
        self._closed = True
        self._drainer.cancel()
        await asyncio.gather(self._drainer, return_exceptions=True)

    # auth and language -----------------------------------------------------------
    async def _auth(self, frame: Auth) -> None:
        try:
            identity = self.node.signer.verify(frame.token)
        except TokenError as exc:
            self.push_frame(error("unauthorized", f"{exc}; ask for a new token at POST /api/session",
                                           frame.ref))
            self.close(CLOSE_UNAUTHORIZED, "unauthorized")
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
        self.identity, self.lang = identity, lang
        try:  # the directory's profile and online mark; the chat works without them
            await self.node.conversations.seen(identity, lang)
        except BackendUnavailable:
            log.warning("could not record the profile of %s: the backend is unavailable", identity.id)
        self.node.hub.connect(self)  # from now on it hears node-wide `room` events
        self._ready()

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
                              protocol=protocol.PROTOCOL_VERSION))

    def _take_membership(self) -> None:
        """Joins, leaves and language changes each cost a token: their presence reaches every member."""
        if self._membership is None:
            self._membership = TokenBucket(self._limits.membership_rate, self._limits.membership_burst)
        wait = self._membership.take()
        if wait:
            raise FrameError("rate_limited", f"too many joins, leaves and language changes: wait {wait:.1f} s",
                             retry_after=math.ceil(wait))

    async def _change_lang(self, frame: SetLang) -> None:
        self._take_membership()
        self.lang = self._reading_lang(frame.lang, frame.ref)
        assert self.identity is not None
        for room, member in list(self.rooms.items()):
            role = await self.node.roles.of(self.identity, room)  # read again: a host may have appointed them since
            updated = Member(member.conn, member.id, member.name, self.lang, role.value)
            self.rooms[room] = updated
            await self.node.backend.add_member(room, updated)
            await self.node.backend.publish(room, self._presence(room, "update", updated))
        self._ready()

    async def _ping(self, frame: Ping) -> None:
        self.push_frame(Pong(ref=frame.ref or None))

    # rooms -------------------------------------------------------------------------
    async def visible_room(self, room_id: str) -> Room:
        """The room, or not_found when there is none this user may see (a private room's non-members)."""
        assert self.identity is not None
        return await self.node.access.room(room_id, self.identity.id)

    def _joined(self, room_id: str) -> Member:
        member = self.rooms.get(room_id)
        if member is None:
            raise FrameError("not_joined", f"join room {room_id!r} first")
        return member

    def _presence(self, room: str, event: str, member: Member) -> PresenceChanged:
        return PresenceChanged(room=room, event=event, user=member.public())  # with the role: badges need no rejoin

    async def _join(self, frame: Join) -> None:
        assert self.identity is not None
        self._take_membership()
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
                if await backend.add_member(room_id, member):
                    await backend.publish(room_id, self._presence(room_id, "join", member))
                    self.node.lobby.touch(room_id)
            since = frame.since
            if since is not None:
                replay = await backend.since(room_id, since, limit=limit)
                messages, recovered = replay.messages, replay.recovered
            else:
                messages, recovered = await backend.history(room_id, before=None, limit=limit), None
            joined = await self._joined_frame(room, role, messages, recovered)
        except BaseException:
            if rejoin:  # still a member, as before this join: live events flow again
                self.node.hub.release(room_id, self, set())
            else:  # never joined: no membership, no presence left behind
                await self._forget_quietly(room_id)
            raise
        self.push_frame(joined)
        self.node.hub.release(room_id, self, {m.id for m in messages})
        self.node.relay.backfill(room_id, messages, self.lang, self.identity.id)
        if room.private and messages:  # what `joined` carried counts as received
            await self.node.conversations.mark_read(room, self.identity.id, messages[-1].id)

    async def _joined_frame(self, room: Room, role: Role, messages: list[Message],
                            recovered: bool | None) -> Joined:
        assert self.identity is not None
        members: dict[str, dict[str, str]] = {}
        for member in await self.node.backend.members(room.id):
            members.setdefault(member.id, member.public())
        mute = await self.node.access.mute(self.identity, room.id, role)  # the room's or an event-wide one
        you: dict[str, Any] = {"role": role.value}
        if mute is not None:
            you["muted_until"] = mute.until
        room_fields = {**room.to_dict(), "languages": await self.node.backend.census(room.id)}
        return Joined(room=room_fields, members=list(members.values()), messages=self._shown(messages), you=you,
                      recovered=recovered)

    def _count(self, value: int | None, name: str) -> int:
        if value is None:
            return self._limits.history_default
        if not 0 <= value <= self._limits.history_max:
            raise FrameError("bad_frame", f"\"{name}\" must be between 0 and {self._limits.history_max}")
        return value

    async def _leave(self, frame: Leave) -> None:
        self._joined(frame.room)
        self._take_membership()
        await self._forget(frame.room)
        self.push_frame(Left(room=frame.room, reason="left"))

    async def _forget(self, room_id: str) -> None:
        """Leave a room's fan-out and presence (presence `leave` when the user's last connection goes)."""
        await self.node.hub.detach(room_id, self)
        member = self.rooms.pop(room_id, None)
        if member is not None and await self.node.backend.remove_member(room_id, member):
            await self.node.backend.publish(room_id, self._presence(room_id, "leave", member))
            self.node.lobby.touch(room_id)

    async def _forget_quietly(self, room_id: str) -> None:
        try:
            await self._forget(room_id)
        except Exception:  # noqa: BLE001 - the backend may be down; presence then expires with the node heartbeat
            log.warning("could not record that %s left %s", self.conn_id, room_id)

    async def _leave_all(self) -> None:
        for room_id in list(self.rooms):
            await self._forget_quietly(room_id)

    def removed(self, room: str, reason: str) -> None:
        """The hub says this session is out of a room (kicked, banned, closed), or, for room "*"
        (an event-wide ban), out of every room and closed, even when it is in none."""
        if room == EVENT_WIDE:
            if not self.rooms and not self._removing:
                self.close(CLOSE_REMOVED, reason)
            for joined in list(self.rooms):
                self.removed(joined, reason)
            return
        if room in self.rooms:
            self._removing += 1
            asyncio.create_task(self._removed(room, reason))

    async def _removed(self, room: str, reason: str) -> None:
        try:
            await self._forget(room)
        except Exception:  # noqa: BLE001 - as in leave: a removal goes on whatever the backend says
            log.warning("could not record that %s was removed from %s", self.conn_id, room)
        self._removing -= 1
        self.push_frame(Left(room=room, reason=reason))
        # An event-wide ban removes several rooms at once: close after the last one's `left`.
        if reason in ("kicked", "banned") and not self.rooms and not self._removing:
            self.close(CLOSE_REMOVED, reason)

    def role_changed(self, room: str) -> None:
        """The hub says a host appointed this user moderator of a room, or ended it (a `role` frame went out)."""
        if room in self.rooms:
            asyncio.create_task(self._role_changed(room))

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
            await self.node.backend.add_member(room, updated)
            await self.node.backend.publish(room, self._presence(room, "update", updated))
        except Exception:  # noqa: BLE001 - the badge catches up at the next join; the session goes on
            log.warning("could not show %s's new role in %s", self.conn_id, room)

    # messages ------------------------------------------------------------------------
    async def _send(self, frame: protocol.Send) -> None:
        assert self.identity is not None
        room_id, text, cid = frame.room, frame.text, frame.cid
        self._joined(room_id)
        if not text.strip():
            raise FrameError("bad_frame", "\"text\" must not be empty")
        if len(text) > self._limits.text_chars:
            raise FrameError("too_large", f"a message holds at most {self._limits.text_chars} characters; "
                             f"this one has {len(text)}: split it")
        # The room's census is read while the rules are checked: one round trip less to wait for.
        census = asyncio.ensure_future(self.node.backend.census(room_id))
        try:
            await self.node.access.check_send(self.identity, room_id)
        except BaseException:
            await asyncio.gather(census, return_exceptions=True)  # nothing left running, nothing unretrieved
            raise
        lang = await self.node.translator.detect(text, self.lang)
        user = {"id": self.identity.id, "name": self.identity.name}
        targets = self.node.relay.targets_in(await census, lang, self.lang)
        appended = await self.node.backend.append_message(room_id, user=user, text=text, lang=lang, cid=cid,
                                                          translating=targets)
        self.push_frame(Ack(ref=frame.ref, cid=cid, id=appended.message.id))
        if appended.created:
            self.node.relay.message_stored(appended.message, targets)

    async def _relang(self, frame: RelangMessage) -> None:
        """The sender corrects the detected language of their own message: re-label, re-translate."""
        assert self.identity is not None
        room_id = frame.room
        self._joined(room_id)
        lang = self._reading_lang(frame.lang, frame.ref)
        message = await self.node.backend.relabel_message(room_id, frame.id, lang, author=self.identity.id)
        if message is None:
            raise FrameError("not_found", f"room {room_id!r} has no message {frame.id!r} of yours; "
                             "only the sender may correct a message's language")
        targets = await self.node.relay.targets(room_id, lang, self.lang)
        await self.node.backend.publish(room_id, Relang(room=room_id, id=message.id, lang=lang, translating=targets))
        self.push_frame(Ack(ref=frame.ref, id=message.id))
        self.node.relay.message_stored(message, targets)

    def _shown(self, messages: list[Message]) -> list[MessageFrame]:
        """History as this reader sees it: `translating` where a backfill will bring its language."""
        assert self.identity is not None
        frames = []
        for message in messages:
            shown = message_frame(message, self.lang)
            if shown.tr is None and self.node.relay.will_translate(message, self.lang, self.identity.id):
                shown.translating = [self.lang]
            frames.append(shown)
        return frames

    async def _history(self, frame: GetHistory) -> None:
        room_id = frame.room
        if room_id not in self.rooms:
            await self.visible_room(room_id)  # a private room's non-member hears not_found, not not_joined
        self._joined(room_id)
        limit = self._count(frame.limit, "limit")
        messages = await self.node.backend.history(room_id, before=frame.before, limit=limit)
        self.push_frame(History(room=room_id, messages=self._shown(messages), ref=frame.ref or None))
        assert self.identity is not None
        self.node.relay.backfill(room_id, messages, self.lang, self.identity.id)

    # moderation ------------------------------------------------------------------------
    async def _moderate(self, frame: Moderation) -> None:
        assert self.identity is not None
        await self.node.moderation.apply(self.identity, _action(frame))
        self.push_frame(Ack(ref=frame.ref))

    async def _conversation(self, frame: Conversational) -> None:
        await handle_conversation_frame(self, frame)


def _action(frame: Moderation) -> Action:
    if isinstance(frame, Delete):
        return Action(frame.type, frame.room, message_id=frame.id)
    return Action(frame.type, frame.room, user=frame.user, seconds=frame.seconds if isinstance(frame, Mute) else None,
                  reason=None if isinstance(frame, Unmute) else frame.reason)


class _Disconnected(Exception):
    pass


class _Turn:
    """The sessions that got frames during this turn of the event loop; each writes them at its end."""

    __slots__ = ("_sessions",)

    def __init__(self) -> None:
        self._sessions: list[Session] = []

    def add(self, session: Session) -> None:
        if not self._sessions:
            asyncio.get_running_loop().call_soon(self._write)
        self._sessions.append(session)

    def _write(self) -> None:
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            try:
                session._uncork()
            except Exception:
                log.exception("could not write to %s", session.conn_id)


_TURN = _Turn()


# frame type -> handler; one table for every session (each handler takes its own frame type)
_HANDLERS: dict[type[AnyClientFrame], Callable[[Session, Any], Awaitable[None]]] = {
    Join: Session._join, Leave: Session._leave, protocol.Send: Session._send, SetLang: Session._change_lang,
    RelangMessage: Session._relang, GetHistory: Session._history, Ping: Session._ping,
    Auth: Session._auth_again,
    **{action: Session._moderate for action in Moderation.__args__},
    **{kind: Session._conversation for kind in Conversational.__args__},
}
