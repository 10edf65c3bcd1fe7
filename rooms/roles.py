"""A user's role in a room: the token's role, widened by a host's appointment, and the role of
someone else (present or not) as the event remembers it, which decides who may moderate whom.

The standing rule: the event remembers every user's token role from the moment they authenticate
anywhere (`authenticated`, kept event-wide in the ModerationStore under room "*", so every node
knows it), and a target's role is never below it (`target_role`). A moderator therefore never acts on
a host or another moderator, present or not, in that room or not; a user the event never saw has
no role at all (None), and acting on them is refused as not_found.
"""

from __future__ import annotations

from typing import Protocol

from rooms.conversations import EVENT_WIDE
from rooms.models import Role
from rooms.policy import room_role
from rooms.stores import ModerationStore, Presence, Standing


class Actor(Protocol):
    """Who asks, as a verified token says (chat.tokens.Identity is one)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def rooms(self) -> tuple[str, ...]: ...  # a moderator token's rooms; empty = every room


class Roles:
    def __init__(self, moderation: ModerationStore, presence: Presence) -> None:
        self._moderation = moderation
        self._presence = presence

    async def of(self, actor: Actor, room: str) -> Role:
        """The actor's role in the room (policy.room_role over the room's appointed moderators)."""
        appointed = await self._moderation.moderators(room) if actor.role is Role.DELEGATE else set()
        return room_role(actor.role, actor.rooms, room, appointed, actor.id)

    @staticmethod
    def with_standing(actor: Actor, room: str, standing: Standing) -> Role:
        """The actor's role in the room, as `of` says, from a standing already read."""
        return room_role(actor.role, actor.rooms, room, {actor.id} if standing.appointed else set(), actor.id)

    async def remember(self, actor: Actor, room: str, role: Role) -> None:
        """Note the role the actor holds in the room, so it still counts once the actor left."""
        await self._moderation.remember_role(room, actor.id, role)

    async def authenticated(self, actor: Actor) -> None:
        """The actor authenticated (a WebSocket `auth`, a new session): remember their token role
        event-wide, whatever room their token is scoped to. The highest one seen is kept."""
        await self._moderation.remember_role(EVENT_WIDE, actor.id, actor.role)

    async def target_role(self, room: str, user: str) -> Role | None:
        """Someone else's role as the moderation rules weigh it: the highest of their token role as
        the event knows it and, in a room (not "*"), the highest role seen there. None when the event
        never saw the user."""
        roles = [await self._moderation.known_role(EVENT_WIDE, user)]
        if room != EVENT_WIDE:
            roles.append(await self.highest_role_seen(room, user))
        return max((role for role in roles if role is not None), key=lambda role: role.rank, default=None)

    async def present(self, room: str, user: str) -> bool:
        """Whether the user has a connection in the room now, on any node."""
        return any(member.id == user for member in await self._presence.members(room))

    async def highest_role_seen(self, room: str, user: str) -> Role | None:
        """Someone else's role in the room: the highest of what their connections there show,
        what they were seen with before (present or not) and a host's appointment. None when the
        user was never seen in the room and holds no appointment."""
        seen = [Role(member.role) for member in await self._presence.members(room) if member.id == user]
        known = await self._moderation.known_role(room, user)
        if known is not None:
            seen.append(known)
        if user in await self._moderation.moderators(room):
            seen.append(Role.MODERATOR)
        return max(seen, key=lambda role: role.rank, default=None)
