"""What a member may do to a message once it is sent: react to it, edit their own, quote it in a reply.

Reactions need no translation: a small fixed set of emoji (REACTIONS), one of each per person per
message, toggled. Reacting and editing are refused as `send` is to someone muted or banned (not
slow mode: they add no message); an edit spends a send token (it is translated again). An edit is
the sender's own, within `edit_window` seconds.
"""
from __future__ import annotations

from rooms.access import RoomAccess
from rooms.refusal import Refused
from rooms.roles import Actor
from rooms.stores import Broker, ConversationStore, Message, Outgoing, Presence, Quote, Reacted, SendStore, Sent, now_ms
from rooms.stores.messages import QUOTE_CHARS

#: The reactions a message may get (docs/protocol.md): thumbs up, heart, laughing, surprised,
#: folded hands (thanks), clapping. Exactly these strings (the heart with its variation selector).
REACTIONS: tuple[str, ...] = ("👍", "❤️", "😂", "😮", "🙏", "👏")

#: Reactions per connection: sustained per second, and burst (a toggle is a store write).
REACT_RATE = 5.0
REACT_BURST = 20


#: Most people one message may mention.
MENTIONS_MAX = 20


class MessageRules:
    def __init__(self, access: RoomAccess, broker: Broker, presence: Presence, conversations: ConversationStore,
                 edit_window: int, sends: SendStore) -> None:
        self._access = access
        self._broker = broker
        self._sends = sends
        self._presence = presence
        self._conversations = conversations
        self._edit_window = edit_window

    async def send(self, actor: Actor, room_id: str, message: Outgoing) -> Sent:
        """Store a plain message when the actor may send it now (as `RoomAccess.check_send`), else
        Refused. The room's state is judged here; standing, limits, census and append are one store
        step for someone no moderation touches (one Redis round trip); anyone else goes the long
        way, judged on the standing that step read (rooms/stores/sends.py)."""
        room, gate = await self._access.send_gate(actor, room_id)
        standing = None
        if gate is not None:
            sent = await self._sends.send(room.id, message, gate)
            if sent.wait is not None:
                self._access.refuse_wait(room, sent.wait)
            if sent.standing is None:
                return sent
            standing = sent.standing
        await self._access.check_send(actor, room_id, standing)
        return await self._sends.send(room.id, message, None)

    async def react(self, actor: Actor, room_id: str, message_id: str, emoji: str) -> Reacted:
        """Toggle the actor's reaction; Refused(bad_frame) for an emoji not in REACTIONS,
        not_found for no live message, as `send` for a muted or banned actor."""
        if emoji not in REACTIONS:
            raise Refused("bad_frame", f"\"emoji\" must be one of {' '.join(REACTIONS)}")
        await self._access.check_speak(actor, room_id)
        reacted = await self._broker.toggle_reaction(room_id, message_id, emoji, actor.id)
        if reacted is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r}")
        return reacted

    async def editable(self, actor: Actor, room_id: str, message_id: str) -> Message:
        """The actor's own live message when they may edit it now, else Refused: not_found (no such
        message, or deleted), forbidden (someone else's, or older than the edit window)."""
        await self._access.check_speak(actor, room_id, spend=True)
        message = await self._broker.message(room_id, message_id)
        if message is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r}")
        if message.user.id != actor.id:
            raise Refused("forbidden", "only the sender may edit a message")
        if now_ms() - message.ts >= self._edit_window * 1000:
            raise Refused("forbidden", f"a message can be edited for {self._edit_window} s after it was sent; "
                          "this one is older: send a new message instead")
        return message

    async def mentionable(self, actor: Actor, room_id: str, users: list[str]) -> list[str]:
        """The users a message may mention, of those asked, in their order, once each: the room's
        members (a conversation's members; in a public room the people in it now). Others are left
        out (the client's list may be a moment old), so a mention never reveals a room to an outsider."""
        if not users:
            return []
        room = await self._access.room(room_id, actor.id)
        if room.private:
            members = await self._conversations.conversation_members(room.id)
        else:
            members = {member.id for member in await self._presence.members(room.id)}
        return [user for user in dict.fromkeys(users) if user in members]

    async def check_typing(self, actor: Actor, room_id: str) -> None:
        """May the actor's typing be shown? Only in a private conversation (in a room of 500 it is
        noise: forbidden), and not to someone who may not send there (as `send`)."""
        room = await self._access.room(room_id, actor.id)
        if not room.private:
            raise Refused("forbidden", "typing is shown in private conversations only")
        await self._access.check_speak(actor, room_id)

    async def quote(self, room_id: str, message_id: str) -> Quote:
        """The quote a reply carries of a live message of the same room, else Refused(not_found)."""
        message = await self._broker.message(room_id, message_id)
        if message is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r} to reply to")
        return Quote(message.id, message.user, _cut(message.text),
                     tr={lang: _cut(text) for lang, text in message.tr.items()})


def _cut(text: str) -> str:
    """The start of a text, QUOTE_CHARS at most (an ellipsis says it goes on)."""
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1].rstrip() + "…"
