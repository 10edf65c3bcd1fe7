"""The moderation actions — mute, unmute, kick, ban, unban, delete — checked, stored, published, logged.

State lives in the stores, so it holds on every node at once; the `moderation` (or `deleted`)
event goes through the room's channel, so a kick or ban reaches the target's connections
wherever they are (each node's hub removes them from the room).

Who may act on whom (policy.may_act_on) is decided on the target's role as Roles.target_role weighs
it: their token role as the event remembers it from their first authentication anywhere, and in a
room what their connections there show, the highest role they were seen with there and a host's
appointment. A moderator therefore acts on no host or moderator, present or not, in that room or
not. A user the event never saw (no authentication, no directory profile) is `not_found`, a kick
of someone not in the room too. Every check
comes before anything is stored or published: a refused action is never announced.

Delete: the author of a message may delete it (in a private conversation too); hosts delete any
message in a forum room, the room's moderators too but no host's or other moderator's.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from rooms.access import visible_room
from rooms.conversations import EVENT_WIDE, direct, moderates_event
from rooms.models import Role, Room
from rooms.policy import can_moderate, may_act_on
from rooms.refusal import Refused
from rooms.roles import Actor, Roles
from rooms.stores import Broker, ConversationStore, ModerationEntry, ModerationStore, RoomStore, now_ms
from rooms.stores.events import Deleted, Moderated

ACTIONS = ("mute", "unmute", "kick", "ban", "unban", "delete")


@dataclass(frozen=True)
class Action:
    """One moderation request: `user` for the user actions, `message_id` for delete."""

    kind: str  # one of ACTIONS
    room: str
    user: str = ""
    message_id: str = ""
    seconds: int | None = None  # mute: how long; None = until unmuted
    reason: str | None = None


class Moderation:
    def __init__(
        self, rooms: RoomStore, moderation: ModerationStore, broker: Broker, roles: Roles, people: ConversationStore
    ) -> None:
        self._people = people
        self._rooms = rooms
        self._store = moderation
        self._broker = broker
        self._roles = roles

    async def apply(self, actor: Actor, action: Action) -> None:
        """Carry out the action, or raise Refused saying why not."""
        if action.room == EVENT_WIDE:
            await self._event_wide(actor, action)
            return
        room = await visible_room(self._rooms, self._people, action.room, actor.id)
        by = {"id": actor.id, "name": actor.name}
        if action.kind == "delete":
            await self._delete(actor, room, action.message_id, by)
            return
        if room.private:  # organisers cannot read private rooms; they act event-wide (room "*")
            raise Refused(
                "forbidden",
                "nobody moderates inside a private conversation; hosts and moderators "
                'mute or ban a user event-wide with room "*"',
            )
        role = await self._roles.of(actor, action.room)
        if not can_moderate(role):
            raise Refused("forbidden", f"only hosts and moderators of {action.room!r} may {action.kind}")
        await self._act_on_user(action, role, by)

    async def log(self, actor: Actor, room: Room) -> list[ModerationEntry]:
        """The room's moderation log (newest 200, oldest first), for its hosts and moderators only."""
        if not can_moderate(await self._roles.of(actor, room.id)):
            raise Refused("forbidden", f"only hosts and moderators of {room.id!r} may read its moderation log")
        return await self._store.moderation_log(room.id)

    async def _event_wide(self, actor: Actor, action: Action) -> None:
        """mute / unmute / ban / unban with room "*": they hold in every room, private ones included.
        The target and the event's moderators hear it wherever they are connected (a `direct`
        envelope on the node-wide channel); a ban also takes the target out of every room."""
        if action.kind not in ("mute", "unmute", "ban", "unban"):
            raise Refused(
                "bad_frame",
                f'{action.kind!r} needs a real room; only mute, unmute, ban and unban take room "*" (event-wide)',
            )
        if not moderates_event(actor.role, actor.rooms):
            raise Refused("forbidden", "only hosts and moderators of the whole event act event-wide")
        event = await self._act_on_user(action, actor.role, {"id": actor.id, "name": actor.name})
        remove = {"room": EVENT_WIDE, "reason": "banned"} if action.kind == "ban" else None
        await self._broker.broadcast(direct([action.user], event, moderators=True, remove=remove))

    async def _act_on_user(self, action: Action, role: Role, by: dict[str, str]) -> Moderated:
        """Store and log the action; publish it in its room (an event-wide one: returned to publish)."""
        target, room = action.user, action.room
        if target == by["id"]:
            raise Refused("forbidden", f"you cannot {action.kind} yourself")
        target_role = await self._roles.target_role(room, target)
        if target_role is None:  # a directory profile (kept before token roles were, or from the HTTP API) is seen too
            profiles = await self._people.profiles([target])
            target_role = Role(profiles[0].role) if profiles else None
        if target_role is None:
            raise Refused(
                "not_found", f"this event has never seen a user {target!r}; moderation acts on people who signed in"
            )
        if not may_act_on(role, target_role):
            raise Refused("forbidden", f"a {role.value} cannot {action.kind} a {target_role.value}")
        if action.kind == "kick" and not await self._roles.present(room, target):
            raise Refused("not_found", f"{target!r} is not in room {room!r}: there is nobody to kick")
        until = None
        if action.kind == "mute":
            until = now_ms() + action.seconds * 1000 if action.seconds else None  # None: until unmuted
            await self._store.set_mute(room, target, until)
        elif action.kind == "unmute":
            if not await self._store.clear_mute(room, target):
                raise Refused("not_found", "that user is not muted here")
        elif action.kind in ("ban", "unban"):
            if not await self._store.set_ban(room, target, action.kind == "ban"):
                raise Refused("not_found", f"that user is {'already' if action.kind == 'ban' else 'not'} banned")
        event = Moderated(room=room, action=action.kind, user=target, by=by, until=until, reason=action.reason or None)
        entry = {
            key: value for key, value in msgspec.structs.asdict(event).items() if key != "room" and value is not None
        }
        await self._store.record_moderation(room, {"ts": now_ms(), **entry})
        if room != EVENT_WIDE:
            await self._broker.publish(room, event)
        return event

    async def _delete(self, actor: Actor, room: Room, message_id: str, by: dict[str, str]) -> None:
        """The author deletes their own message; hosts and the room's moderators others' (a
        moderator no host's or other moderator's message). Someone who may delete no one else's
        message hears `forbidden` for a message that is not theirs or not there."""
        message = await self._broker.message(room.id, message_id)
        if message is None or message.user.id != actor.id:
            role = Role.DELEGATE if room.private else await self._roles.of(actor, room.id)
            if not can_moderate(role):
                raise Refused(
                    "forbidden",
                    f"you may delete your own messages; only hosts and moderators of {room.id!r} delete others'"
                    if not room.private
                    else "in a private conversation each person deletes only their own messages",
                )
            if message is None:
                raise Refused("not_found", f"there is no message {message_id!r} in {room.id!r}")
            author = await self._roles.target_role(room.id, message.user.id)
            if role is not Role.HOST and not may_act_on(role, author):  # hosts delete anything
                raise Refused(
                    "forbidden", f"a {role.value} cannot delete a message of a {author.value if author else 'user'}"
                )
        if not await self._broker.delete_message(room.id, message_id):
            raise Refused("not_found", f"there is no message {message_id!r} in {room.id!r}")
        await self._broker.publish(room.id, Deleted(room=room.id, id=message_id, by=by))
        await self._store.record_moderation(room.id, {"ts": now_ms(), "action": "delete", "id": message_id, "by": by})
