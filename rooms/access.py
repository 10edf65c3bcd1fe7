"""May this user join this room, may they send in it now: the rules both edges ask."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.limits import SendLimits
from rooms.models import Role, Room, RoomState
from rooms.policy import can_moderate, send_refusal
from rooms.refusal import Refused
from rooms.roles import Actor, Roles
from rooms.sanctions import ban_refusal, binding_mute, mute_refusal
from rooms.stores import ConversationStore, ModerationStore, Mute, RoomStore, SendGate, SendWait, Standing, now_ms

#: The standing of someone no moderation touches: what a send is checked against first (rooms/stores/sends.py).
CLEAR = Standing(appointed=False, banned=False, banned_event=False, mute=None, mute_event=None)


@dataclass(frozen=True, slots=True)
class Admission:
    """A join the rules allowed: the room, the actor's role there and the mute that binds them there."""

    room: Room
    role: Role
    mute: Mute | None


async def visible_room(rooms: RoomStore, conversations: ConversationStore, room_id: str, user: str | None) -> Room:
    """The room, or Refused(not_found). A private room is there only for its members: for anyone
    else (hosts and moderators included, and when no user is given) it does not exist. The one rule
    of who sees a room, asked by RoomAccess (join, send, the host API) and Moderation."""
    return (await visible_room_and_members(rooms, conversations, room_id, user))[0]


async def visible_room_and_members(
    rooms: RoomStore, conversations: ConversationStore, room_id: str, user: str | None
) -> tuple[Room, frozenset[str] | None]:
    """`visible_room`, and a private room's members as read to decide it (None for a public room):
    a send passes them on to the unread counts that follow it (issue 27)."""
    room = await rooms.get_room(room_id)
    members = None
    if room is not None and room.private:
        members = frozenset(await conversations.conversation_members(room.id) if user else ())
        if user not in members:
            room = None
    if room is None:
        raise Refused("not_found", f"there is no room {room_id!r}; GET /api/rooms lists them")
    return room, members


class RoomAccess:
    def __init__(
        self,
        rooms: RoomStore,
        moderation: ModerationStore,
        roles: Roles,
        limits: SendLimits,
        conversations: ConversationStore,
    ) -> None:
        self._conversations = conversations
        self._rooms = rooms
        self._moderation = moderation
        self._roles = roles
        self._limits = limits

    async def visible_room(self, room_id: str, user: str | None = None) -> Room:
        """The room, or Refused(not_found): a private room only for its members (`visible_room`)."""
        return await visible_room(self._rooms, self._conversations, room_id, user)

    async def join(self, actor: Actor, room_id: str) -> tuple[Room, Role]:
        """The room and the actor's role in it when the actor may join, else Refused. The role is
        remembered, so it still protects the actor after they left (see Moderation)."""
        admission = await self.admit(actor, room_id)
        return admission.room, admission.role

    async def admit(self, actor: Actor, room_id: str) -> Admission:
        """`join`, with the mute that binds the actor in the room (`binding_mute`), from the same
        read of their standing as the ban: a join asks the store about it once."""
        room = await self.visible_room(room_id, actor.id)
        if room.state is RoomState.CLOSED:
            raise Refused("room_closed", f"room {room_id!r} is closed")
        standing = await self._moderation.standing(room.id, actor.id)
        role = self._roles.with_standing(actor, room_id, standing)
        refusal = ban_refusal(role, standing, room.id)
        if refusal:
            raise Refused(*refusal)
        await self._roles.remember(actor, room_id, role)
        return Admission(room, role, binding_mute(role, standing))

    async def check_send(self, actor: Actor, room_id: str, standing: Standing | None = None) -> Role:
        """The actor's role when they may send in the room now (state, ban, mute, rate, slow
        mode), else Refused saying why and, where it helps, for how long. `standing`: the actor's,
        when it was just read (else it is read here)."""
        room, role = await self._speaking(actor, room_id, standing)
        await self._limits.take_send(room, actor.id, slow_mode=bool(room.slow_mode) and not can_moderate(role))
        return role

    async def send_gate(self, actor: Actor, room_id: str) -> tuple[Room, SendGate | None, frozenset[str] | None]:
        """The room, and what the store must check in the step that stores a message when the
        actor's standing turns out clear (rooms/stores/sends.py): everything else the rules ask
        is decided here, without a store read. None when the room's state would refuse the role a
        clear standing gives: the rules then go the long way (`check_send`), since an appointment
        may still allow it. Third, a private room's members as read to find it visible (None for a
        public room): what the send is followed by (the members' unread counts) needs them too.
        Refused(not_found) as `room`."""
        room, members = await visible_room_and_members(self._rooms, self._conversations, room_id, actor.id)
        role = self._roles.with_standing(actor, room_id, CLEAR)
        if send_refusal(room, role):
            return room, None, members
        gate = self._limits.gate(room, actor.id, slow_mode=bool(room.slow_mode) and not can_moderate(role))
        return room, gate, members

    def refuse_wait(self, room: Room, wait: SendWait) -> None:
        """Refused(rate_limited) for what the store's send limits answered (nothing when they allowed)."""
        self._limits.refuse(room, wait)

    async def check_speak(self, actor: Actor, room_id: str, *, spend: bool = False) -> Role:
        """`check_send` without slow mode (and without the send rate unless `spend`): may the actor
        change what the room reads (react to a message, edit their own) now? Refused as `send` is
        when muted or banned; with `spend`, one of the user's send tokens is spent (an edit is
        translated again for every reader, as a message is)."""
        role = (await self._speaking(actor, room_id))[1]
        if spend:
            await self._limits.take_token(actor.id)
        return role

    async def _speaking(self, actor: Actor, room_id: str, standing: Standing | None = None) -> tuple[Room, Role]:
        room = await self.visible_room(room_id, actor.id)
        if standing is None:
            standing = await self._moderation.standing(room.id, actor.id)  # one read for role, bans and mutes
        role = self._roles.with_standing(actor, room_id, standing)
        # a ban or mute on "*" holds in every room, private conversations included (rooms/sanctions.py)
        refusal = (
            send_refusal(room, role)
            or ban_refusal(role, standing, room.id)
            or mute_refusal(role, standing, room.id, now_ms())
        )
        if refusal:
            raise Refused(*refusal)
        return room, role

    async def binding_mute(self, actor: Actor, room_id: str, role: Role) -> Mute | None:
        """The mute that binds the actor in the room: the room's own, else an event-wide one (none
        binds a host: no one may mute one)."""
        if role is Role.HOST:
            return None
        return binding_mute(role, await self._moderation.standing(room_id, actor.id))
