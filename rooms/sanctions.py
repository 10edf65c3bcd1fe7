"""Mutes and bans as they bind a user: in one room, and event-wide (room "*").

An event-wide sanction holds for everything a person sends others, not only room messages: an
event-wide mute refuses their room messages, private-conversation messages, contact requests,
reports and new conversations; an event-wide ban refuses all of that and the connection itself
(the session answers `auth` with `banned` and closes 4403). No rule binds a host: no one may mute
or ban one (policy.may_act_on), so a sanction on record against one is void.

The pure functions decide from a Standing already read (access.py asks them on the send path
with the one read it makes anyway); `Sanctions` reads the event-wide standing for the edges'
other paths (the session's `auth`, chat/conversations.py).
"""

from __future__ import annotations

import math

from rooms.conversations import EVENT_WIDE
from rooms.models import Role
from rooms.refusal import Refused
from rooms.roles import Actor
from rooms.stores import ModerationStore, Mute, Standing, now_ms

Refusal = tuple[str, str] | tuple[str, str, int]  # (protocol error code, message saying what to do, retry_after?)


def ban_refusal(role: Role, standing: Standing, room: str | None) -> Refusal | None:
    """("banned", why) when a ban binds the user: in `room` (None: event-wide only)."""
    if role is Role.HOST:
        return None
    if room is not None and standing.banned:
        return "banned", f"you are banned from room {room!r}"
    if standing.banned_event:
        return "banned", "you are banned from this event: no room, conversation, request or report is open to you"
    return None


def binding_mute(role: Role, standing: Standing) -> Mute | None:
    """The mute that binds the user where `standing` was read: the room's, else the event-wide one."""
    if role is Role.HOST:
        return None
    return standing.mute or standing.mute_event


def mute_refusal(role: Role, standing: Standing, room: str | None, now: int) -> Refusal | None:
    """("muted", why and for how long) when a mute binds the user: in `room` or event-wide."""
    if role is Role.HOST:
        return None
    for scope, mute in ((room, standing.mute if room is not None else None), (EVENT_WIDE, standing.mute_event)):
        if mute is not None:
            where = f"in room {room!r}" if scope == room else "at this event"
            if mute.until is None:
                return "muted", f"you are muted {where} until a moderator unmutes you"
            left = max(1, math.ceil((mute.until - now) / 1000))  # retry_after: clients word the wait
            return "muted", f"you are muted {where} for {left} more seconds", left
    return None


class Sanctions:
    """The event-wide sanctions, asked where no room is involved."""

    def __init__(self, moderation: ModerationStore) -> None:
        self._moderation = moderation

    async def check_connect(self, actor: Actor) -> None:
        """Refused(banned) when an event-wide ban binds the actor: they may not connect at all."""
        refusal = ban_refusal(actor.role, await self._moderation.standing(EVENT_WIDE, actor.id), None)
        if refusal:
            raise Refused(*refusal)

    async def check_reach(self, actor: Actor) -> None:
        """Refused(banned | muted) when an event-wide ban or mute binds the actor: they may not reach
        others (contact requests, reports, new conversations; conversation messages are sends and
        access.check_send applies the same rules there)."""
        standing = await self._moderation.standing(EVENT_WIDE, actor.id)
        refusal = ban_refusal(actor.role, standing, None) or mute_refusal(actor.role, standing, None, now_ms())
        if refusal:
            raise Refused(*refusal)
