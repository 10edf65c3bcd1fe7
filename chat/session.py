"""One WebSocket connection speaking protocol v1: authenticate, then serve frames until it closes.

Every client frame is validated; a client's mistake gets an `error` and the session goes on.
Frames to the client go through the connection's writer (chat.writer): written straight to the
transport while it takes them, else queued in a backlog bounded in frames (`[limits] send_queue`)
and bytes (`send_buffer_bytes`); a reader past either leaves its rooms at once and is closed with
1013. The session speaks raw ASGI: no Starlette wrapper on the way.

This module holds the connection's life, its authentication and the dispatch of frames, with the
handler table beside it; the handlers live in modules of one idea each, mixed into `Session`:
chat.session_membership (join, leave, language, presence), chat.session_messages (send, edit,
react, history...), chat.session_moderation (moderation frames and the hub's removals and roles),
chat.session_conversations (contact requests, read marks, reports).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from chat import protocol
from chat.backend import BackendUnavailable, Member
from chat.backend.ids import is_message_id
from chat.conversations import Conversations
from chat.frames import Pong, Ready, Reports, ServerFrame, encode_bytes, error
from chat.protocol import (
    AnyClientFrame,
    Auth,
    Conversational,
    Edit,
    FrameError,
    GetHistory,
    GetReactors,
    Join,
    Leave,
    ModerationFrame,
    Ping,
    React,
    RelangMessage,
    SetLang,
    TypingNow,
)
from chat.serving import TRANSPORT_EXTENSION, RawSocket
from chat.session_conversations import handle_conversation_frame
from chat.session_membership import Membership
from chat.session_messages import Messages
from chat.session_moderation import CLOSE_REMOVED, ModerationBridge
from chat.tokens import Identity, TokenError, as_listed
from chat.wire import text_frame
from chat.writer import CLOSE_OVERLOADED, Writer
from rooms import Refused
from rooms.limits import TokenBucket
from rooms.reports import may_work_reports
from rooms.sign_ins import SIGNED_OUT
from rooms.text import is_scalar_text
from translation import primary_subtag

if TYPE_CHECKING:
    from chat.node import Node

log = logging.getLogger("babelroom.session")

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_MANY_CONNECTIONS = 4429
CLOSE_INTERNAL = 1011
MESSAGE_ID_FIELDS = {  # the fields that hold message ids, by frame type (checked by _check_ids)
    "join": ("since",),
    "history": ("before", "after"),
    "delete": ("id",),
    "read": ("id",),
    "report": ("id",),
    "relang": ("id",),
    "react": ("id",),
    "reactors": ("id",),
    "edit": ("id",),
    "send": ("reply_to",),
}


class _Disconnected(Exception):
    pass


class Session(Membership, Messages, ModerationBridge):
    """One connection. Frames to it are whole WebSocket frames (chat.wire), usually shared."""

    __slots__ = (
        "node",
        "conn_id",
        "identity",
        "lang",
        "rooms",
        "writer",
        "_limits",
        "_receive_asgi",
        "_bad_frames",
        "_removals_pending",
        "_membership_bucket",
        "_history_reads",
        "_counted",
        "_reacting",
        "_typed",
        "_private",
        "_tasks",
        "__weakref__",
    )

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
        self.writer = Writer(
            self, send, socket, frames_max=self._limits.send_queue, bytes_max=self._limits.send_buffer_bytes
        )
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
                self.push_frame(
                    error(
                        "unauthorized",
                        f"no auth frame within {self.node.config.auth.auth_timeout:g} s; send auth first",
                    )
                )
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
                    self.push_frame(
                        error(
                            "internal", "the server failed to check this token; it was logged, retry later", frame.ref
                        )
                    )
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
        if not (
            isinstance(data, dict)
            and data.get("type") == "auth"
            and isinstance(data.get("token"), str)
            and len(data["token"]) > protocol.MAX_TOKEN
        ):
            return False
        ref = data.get("ref")
        if not isinstance(ref, str) or len(ref) > protocol.MAX_REF or not is_scalar_text(ref):
            ref = None  # echoed only when it is a valid ref
        self.push_frame(
            error(
                "unauthorized",
                f"the token is longer than {protocol.MAX_TOKEN} characters, "
                "the most a token may have; ask for a new token at POST /api/session",
                ref,
            )
        )
        self.close(CLOSE_UNAUTHORIZED, "unauthorized")
        return True

    # output (chat.writer) ------------------------------------------------------------
    def push(self, frame: bytes) -> None:
        """Send a whole WebSocket frame (written at once or queued, bounded: chat.writer)."""
        self.writer.push(frame)

    def push_all(self, frames: list[bytes], size: int) -> None:
        """`push` each of these frames (`size`: their bytes), in order (chat.writer)."""
        self.writer.push_all(frames, size)

    def push_frame(self, frame: ServerFrame) -> None:
        try:
            data = text_frame(encode_bytes(frame))
        except Exception as exc:  # noqa: BLE001 - a frame that cannot be encoded: this socket only
            log.warning(
                "could not send a frame to %s (%s): %r; closing this connection", self.conn_id, self.user_id, exc
            )
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
            self.push_frame(error("unauthorized", f"{exc}; ask for a new token at POST /api/session", frame.ref))
            self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return
        try:  # a website's token for a delegate of the list: that delegate's user id (same person everywhere)
            identity = await as_listed(identity, self.node.delegates)
        except Refused as refusal:
            self.push_frame(error("unauthorized", refusal.message, frame.ref))
            self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return
        except BackendUnavailable:  # who the person is cannot be told: a second, split identity would be worse
            self.push_frame(
                error(
                    "unavailable",
                    "the server cannot reach its backend right now; connect again in a few seconds",
                    frame.ref,
                )
            )
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
            self.push_frame(
                error(
                    "too_many_connections",
                    f"this user has {most} connections open already, the most "
                    "one user may have; close one (another tab or device) and connect again",
                    frame.ref,
                )
            )
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
            raise FrameError(
                "bad_frame",
                f"unknown language {code!r}; choose one of " + ", ".join(self.node.translator.reading_languages()),
                ref,
            )
        return lang

    def _ready(self) -> None:
        assert self.identity is not None
        self.push_frame(
            Ready(
                user=self.identity.public(),
                lang=self.lang,
                languages=self.node.translator.reading_languages(),
                translates=self.node.translator.languages(),
                routes=self.node.translator.routes(),
                node=self.node.id,
                protocol=protocol.PROTOCOL_VERSION,
                min_confidence=self.node.translator.settings.min_confidence,
            )
        )

    async def _ping(self, frame: Ping) -> None:
        self.push_frame(Pong(ref=frame.ref or None))

    # the hub's calls --------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task the session holds (the event loop keeps only a weak reference)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # dispatch: decode, check, and call the handler of the frame's type (_HANDLERS, just below) ----------
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
            self.push_frame(
                error("unavailable", "the server cannot reach its backend right now; retry in a few seconds", frame.ref)
            )
        except Exception:
            log.exception("frame %s from %s failed", frame.type, self.user_id)
            self.push_frame(
                error("internal", "the server failed to handle this frame; it was logged, retry later", frame.ref)
            )

    @staticmethod
    def _check_ids(frame: AnyClientFrame) -> None:
        """Message ids must have exactly the shape the server issues (see chat.backend.ids)."""
        for name in MESSAGE_ID_FIELDS.get(frame.type, ()):
            value = getattr(frame, name)
            if value is not None and not is_message_id(value):
                raise FrameError(
                    "bad_frame", f'"{name}" must be a message id exactly as the server sent it (such as "1a2b3c4d.17")'
                )

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


# frame type -> handler; one table for every session (each handler takes its own frame type)
_HANDLERS: dict[type[AnyClientFrame], Callable[[Session, Any], Awaitable[None]]] = {
    Join: Session._join,
    Leave: Session._leave,
    protocol.SendMessage: Session._send,
    SetLang: Session._change_lang,
    RelangMessage: Session._relang,
    GetHistory: Session._history,
    Ping: Session._ping,
    React: Session._react,
    GetReactors: Session._reactors,
    Edit: Session._edit,
    TypingNow: Session._typing,
    Auth: Session._auth_again,
    **{action: Session._moderate for action in ModerationFrame.__args__},
    **{kind: handle_conversation_frame for kind in Conversational.__args__},
}
