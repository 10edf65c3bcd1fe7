"""The moderation bridge of a session: the moderation frames (kick, ban, mute, unmute, delete) go
to the core (rooms/moderation.py), and what a moderator did elsewhere reaches this connection
through the hub (removed from a room, a new role). One of the parts of chat.session.Session.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from chat.backend import Member
from chat.frames import Ack, Left, ServerFrame
from chat.protocol import Delete, ModerationFrame, Mute, Unmute
from rooms.conversations import EVENT_WIDE
from rooms.moderation import Action
from rooms.stores.events import PresenceChanged

if TYPE_CHECKING:
    from chat.node import Node
    from chat.tokens import Identity

log = logging.getLogger("babelroom.session")

CLOSE_REMOVED = 4403


class ModerationSession(Protocol):
    """What these handlers use of a session (chat.session.Session is one)."""

    node: Node
    identity: Identity | None
    conn_id: str
    rooms: dict[str, Member]
    _removals_pending: int  # removals (kick, ban, close) under way

    def push_frame(self, frame: ServerFrame) -> None: ...
    def close(self, code: int, reason: str) -> None: ...
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None: ...
    async def _leave_room(self, room_id: str) -> None: ...
    def _presence(self, room: str, event: str, member: Member) -> PresenceChanged: ...
    def removed_from(self, room: str, reason: str) -> None: ...
    async def _complete_removal(self, room: str, reason: str) -> None: ...
    async def _role_changed(self, room: str) -> None: ...


class ModerationBridge:
    """Moderation, both ways (mixed into chat.session.Session)."""

    __slots__ = ()

    async def _moderate(self: ModerationSession, frame: ModerationFrame) -> None:
        assert self.identity is not None
        action = _action(frame)
        await self.node.moderation.apply(self.identity, action)
        if action.kind == "delete":  # a reported message deleted in its room: its reports are done
            await self.node.reports.message_deleted(self.identity, action.room, action.message_id)
        self.push_frame(Ack(ref=frame.ref))

    def removed_from(self: ModerationSession, room: str, reason: str) -> None:
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

    async def _complete_removal(self: ModerationSession, room: str, reason: str) -> None:
        try:
            await self._leave_room(room)
        except Exception:  # noqa: BLE001 - as in leave: a removal goes on whatever the backend says
            log.warning("could not record that %s was removed from %s", self.conn_id, room)
        self._removals_pending -= 1
        self.push_frame(Left(room=room, reason=reason))
        # An event-wide ban removes several rooms at once: close after the last one's `left`.
        if reason in ("kicked", "banned") and not self.rooms and not self._removals_pending:
            self.close(CLOSE_REMOVED, reason)

    def role_changed(self: ModerationSession, room: str) -> None:
        """The hub says a host appointed this user moderator of a room, or ended it (a `role` frame went out)."""
        if room in self.rooms:
            self._spawn(self._role_changed(room))

    async def _role_changed(self: ModerationSession, room: str) -> None:
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
            await self.node.stores.broker.publish(room, self._presence(room, "update", updated))
        except Exception:  # noqa: BLE001 - the badge catches up at the next join; the session goes on
            log.warning("could not show %s's new role in %s", self.conn_id, room)


def _action(frame: ModerationFrame) -> Action:
    if isinstance(frame, Delete):
        return Action(frame.type, frame.room, message_id=frame.id)
    return Action(
        frame.type,
        frame.room,
        user=frame.user,
        seconds=frame.seconds if isinstance(frame, Mute) else None,
        reason=None if isinstance(frame, Unmute) else frame.reason,
    )
