"""Moderation frames — mute, unmute, kick, ban, unban, delete — checked, stored, published, logged.

State lives in the backend, so it holds on every node at once; the `moderation` (or `deleted`)
event goes through the room's channel, so a kick or ban reaches the target's socket wherever it
is (the hub of that node removes it from the room).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chat import protocol
from chat.backend.base import now_ms
from chat.protocol import ClientFrame, FrameError
from rooms import Role
from rooms.policy import can_moderate, may_act_on

if TYPE_CHECKING:
    from chat.node import Node
    from chat.session import Session


class Moderation:
    def __init__(self, node: "Node") -> None:
        self._node = node

    async def apply(self, session: "Session", frame: ClientFrame) -> None:
        """Carry out one moderation frame from a session, or raise the FrameError refusing it."""
        assert session.identity is not None
        room_id = frame["room"]
        if await self._node.backend.get_room(room_id) is None:
            raise FrameError("not_found", f"there is no room {room_id!r}")
        actor_role = await session.role_in(room_id)
        if not can_moderate(actor_role):
            raise FrameError("forbidden", f"only hosts and moderators of {room_id!r} may {frame.type}")
        by = {"id": session.identity.id, "name": session.identity.name}
        if frame.type == "delete":
            await self._delete(room_id, frame["id"], by)
        else:
            await self._act_on_user(room_id, frame, actor_role, by)
        session.push_frame(protocol.ack(frame.ref))

    async def _act_on_user(self, room_id: str, frame: ClientFrame, actor_role: Role, by: dict[str, str]) -> None:
        target = frame["user"]
        if target == by["id"]:
            raise FrameError("forbidden", f"you cannot {frame.type} yourself")
        if not may_act_on(actor_role, await self._standing_role(room_id, target)):
            raise FrameError("forbidden", f"a {actor_role.value} cannot {frame.type} this user")
        backend = self._node.backend
        event: dict[str, Any] = {"type": "moderation", "room": room_id, "action": frame.type, "user": target,
                                 "by": by}
        if frame.type == "mute":
            seconds = frame.get("seconds")
            until = now_ms() + seconds * 1000 if seconds else None
            await backend.set_mute(room_id, target, until)
            if until is not None:  # absent: muted until a moderator unmutes
                event["until"] = until
        elif frame.type == "unmute":
            if not await backend.clear_mute(room_id, target):
                raise FrameError("not_found", "that user is not muted here")
        elif frame.type in ("ban", "unban"):
            if not await backend.set_ban(room_id, target, frame.type == "ban"):
                raise FrameError("not_found", f"that user is {'already' if frame.type == 'ban' else 'not'} banned")
        if frame.get("reason"):
            event["reason"] = frame["reason"]
        await self._record(room_id, event)

    async def _standing_role(self, room_id: str, user: str) -> Role | None:
        """The target's role in the room as its presence shows it (None when it is not there)."""
        for member in await self._node.backend.members(room_id):
            if member.id == user:
                return Role(member.role)
        return None

    async def _delete(self, room_id: str, message_id: str, by: dict[str, str]) -> None:
        if not await self._node.backend.delete_message(room_id, message_id):
            raise FrameError("not_found", f"there is no message {message_id!r} in {room_id!r}")
        await self._node.backend.publish(room_id, {"type": "deleted", "room": room_id, "id": message_id, "by": by})
        await self._node.backend.record_moderation(room_id, {"ts": now_ms(), "action": "delete", "id": message_id,
                                                             "by": by})

    async def _record(self, room_id: str, event: dict[str, Any]) -> None:
        entry = {key: value for key, value in event.items() if key not in ("type", "room")}
        await self._node.backend.record_moderation(room_id, {"ts": now_ms(), **entry})
        await self._node.backend.publish(room_id, event)
