"""A session's rooms: join (with its history or `since` replay), leave, language change, and the
presence each of them announces. One of the parts of chat.session.Session.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Protocol

from chat.backend import Member
from chat.frames import Joined, Left, MessageFrame, ServerFrame
from chat.hub import Reader
from chat.protocol import FrameError, Join, Leave, SetLang
from rooms import Room
from rooms.access import Admission
from rooms.limits import TokenBucket
from rooms.policy import writers
from rooms.stores import census_of
from rooms.stores.events import PresenceChanged
from rooms.stores.messages import StoredMessage

if TYPE_CHECKING:
    from chat.config import LimitSettings
    from chat.node import Node
    from chat.tokens import Identity

log = logging.getLogger("babelroom.session")


class MembershipSession(Reader, Protocol):
    """What these handlers use of a session (chat.session.Session is one)."""

    node: Node
    identity: Identity | None
    conn_id: str
    rooms: dict[str, Member]
    _limits: LimitSettings
    _private: set[str]  # the joined rooms that are private conversations
    _membership_bucket: TokenBucket | None

    def push_frame(self, frame: ServerFrame) -> None: ...
    def _ready(self) -> None: ...
    def _reading_lang(self, code: str, ref: str | None) -> str: ...
    async def _as_frames(self, room_id: str, messages: list[StoredMessage]) -> list[MessageFrame]: ...
    def _take_membership_token(self) -> None: ...
    def _require_joined(self, room_id: str) -> Member: ...
    def _presence(self, room: str, event: str, member: Member) -> PresenceChanged: ...
    async def _joined_frame(
        self, admission: Admission, messages: list[StoredMessage], recovered: bool | None, more: bool
    ) -> Joined: ...
    def _page(self, messages: list[StoredMessage], size: int) -> tuple[list[StoredMessage], bool]: ...
    def _count(self, value: int | None, name: str) -> int: ...
    async def _leave_room(self, room_id: str) -> None: ...
    async def _leave_room_or_log(self, room_id: str) -> None: ...


class Membership:
    """Join, leave and language change (mixed into chat.session.Session)."""

    __slots__ = ()
    _membership_bucket: TokenBucket | None  # declared for mypy: the slot is Session's

    def _take_membership_token(self: MembershipSession) -> None:
        """Joins, leaves and language changes each cost a token: their presence reaches every member."""
        if self._membership_bucket is None:
            self._membership_bucket = TokenBucket(self._limits.membership_rate, self._limits.membership_burst)
        wait = self._membership_bucket.take()
        if wait:
            raise FrameError(
                "rate_limited",
                f"too many joins, leaves and language changes: wait {wait:.1f} s",
                retry_after=math.ceil(wait),
            )

    async def _change_lang(self: MembershipSession, frame: SetLang) -> None:
        self._take_membership_token()
        self.lang = self._reading_lang(frame.lang, frame.ref)
        assert self.identity is not None
        for room, member in list(self.rooms.items()):
            role = await self.node.roles.of(self.identity, room)  # read again: a host may have appointed them since
            updated = Member(member.conn, member.id, member.name, self.lang, role.value)
            self.rooms[room] = updated
            await self.node.stores.presence.add_member(room, updated)
            await self.node.stores.broker.publish(room, self._presence(room, "update", updated))
        self._ready()

    async def visible_room(self: MembershipSession, room_id: str) -> Room:
        """The room, or not_found when there is none this user may see (a private room's non-members)."""
        assert self.identity is not None
        return await self.node.access.visible_room(room_id, self.identity.id)

    def _require_joined(self: MembershipSession, room_id: str) -> Member:
        member = self.rooms.get(room_id)
        if member is None:
            raise FrameError("not_joined", f"join room {room_id!r} first")
        return member

    def _presence(self: MembershipSession, room: str, event: str, member: Member) -> PresenceChanged:
        return PresenceChanged(room=room, event=event, user=member.public())  # with the role: badges need no rejoin

    async def _join(self: MembershipSession, frame: Join) -> None:
        assert self.identity is not None
        self._take_membership_token()
        room_id = frame.room
        limit = self._count(frame.history, "history")
        admission = await self.node.access.admit(self.identity, room_id)
        room, role = admission.room, admission.role
        broker = self.node.stores.broker
        rejoin = room_id in self.rooms
        await self.node.hub.attach(room_id, self)
        try:
            if not rejoin:
                member = Member(self.conn_id, self.identity.id, self.identity.name, self.lang, role.value)
                self.rooms[room_id] = member
                if await self.node.stores.presence.add_member(room_id, member):
                    await broker.publish(room_id, self._presence(room_id, "join", member))
                    self.node.lobby.touch(room_id)
            since, more = frame.since, False
            if since is not None:
                page = self._limits.history_max
                replay = await broker.since(room_id, since, limit=limit, most=page + 1)  # one more: is there more?
                messages, recovered = replay.messages, replay.recovered
                if recovered:  # one page: the client asks for the rest (`history` with `after`)
                    messages, more = self._page(messages, page)
            elif limit:
                messages, recovered = await broker.history(room_id, before=None, limit=limit), None
            else:  # no history asked for: nothing to read
                messages, recovered = [], None
            joined = await self._joined_frame(admission, messages, recovered, more)
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

    async def _joined_frame(
        self: MembershipSession,
        admission: Admission,
        messages: list[StoredMessage],
        recovered: bool | None,
        more: bool,
    ) -> Joined:
        assert self.identity is not None
        room, mute = admission.room, admission.mute  # the room's mute or an event-wide one
        present = await self.node.stores.presence.members(room.id)
        members: dict[str, dict[str, str]] = {}
        for member in present:
            members.setdefault(member.id, member.public())
        you: dict[str, Any] = {"role": admission.role.value}
        if mute is not None:
            you["muted_until"] = mute.until
        read = await self.node.conversations.read_state(room.id, self.identity.id)
        if read is not None:  # where the "new messages" line goes; the count for the sidebar
            you["read"], you["unread"] = read
        room_fields = await self.node.organiser.with_tr(
            {**room.to_dict(), "languages": census_of(present), "writers": writers(room)}, self.lang
        )
        return Joined(
            room=room_fields,
            members=list(members.values()),
            messages=await self._as_frames(room.id, messages),
            you=you,
            recovered=recovered,
            more=more or None,
        )

    @staticmethod
    def _page(messages: list[StoredMessage], size: int) -> tuple[list[StoredMessage], bool]:
        """The oldest `size` of a replay, and whether more remain."""
        return messages[:size], len(messages) > size

    def _count(self: MembershipSession, value: int | None, name: str) -> int:
        if value is None:
            return self._limits.history_default
        if not 0 <= value <= self._limits.history_max:
            raise FrameError("bad_frame", f'"{name}" must be between 0 and {self._limits.history_max}')
        return value

    async def _leave(self: MembershipSession, frame: Leave) -> None:
        self._require_joined(frame.room)
        self._take_membership_token()
        await self._leave_room(frame.room)
        self.push_frame(Left(room=frame.room, reason="left"))

    async def _leave_room(self: MembershipSession, room_id: str) -> None:
        """Leave a room's fan-out and presence (presence `leave` when the user's last connection goes)."""
        await self.node.hub.detach(room_id, self)
        self._private.discard(room_id)
        member = self.rooms.pop(room_id, None)
        if member is not None and await self.node.stores.presence.remove_member(room_id, member):
            await self.node.stores.broker.publish(room_id, self._presence(room_id, "leave", member))
            self.node.lobby.touch(room_id)

    async def _leave_room_or_log(self: MembershipSession, room_id: str) -> None:
        try:
            await self._leave_room(room_id)
        except Exception:  # noqa: BLE001 - the backend may be down; presence then expires with the node heartbeat
            log.warning("could not record that %s left %s", self.conn_id, room_id)

    async def _leave_every_room(self: MembershipSession) -> None:
        for room_id in list(self.rooms):
            await self._leave_room_or_log(room_id)
