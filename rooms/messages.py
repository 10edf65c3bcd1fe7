"""What a member may do to a message once it is sent: react to it, edit their own, quote it in a reply.

Reactions need no translation: a small fixed set of emoji (REACTIONS), one of each per person per
message, toggled. Reacting and editing are refused as `send` is to someone muted or banned (not
slow mode: they add no message); an edit spends a send token (it is translated again). An edit is
the sender's own, within `edit_window` seconds.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import msgspec

from rooms.access import RoomAccess
from rooms.refusal import Refused
from rooms.roles import Actor
from rooms.stores import (
    Author,
    Broker,
    ConversationStore,
    Outgoing,
    Presence,
    Quote,
    Reacted,
    SendStore,
    Sent,
    StoredMessage,
    now_ms,
)
from rooms.stores.messages import QUOTE_CHARS

#: The reactions a message may get (docs/protocol.md): thumbs up, heart, laughing, surprised,
#: folded hands (thanks), clapping. Exactly these strings (the heart with its variation selector).
REACTIONS: tuple[str, ...] = ("👍", "❤️", "😂", "😮", "🙏", "👏")

#: Reactions per connection: sustained per second, and burst (a toggle is a store write).
REACT_RATE = 5.0
REACT_BURST = 20


#: Most people a `reactors` answer names per emoji (the message's count says how many in all).
REACTORS_SHOWN = 50


#: Most quoted messages outside a history page that showing it reads (rooms/messages.py current_quotes).
QUOTES_READ = 20


#: Most people one message may mention.
MENTIONS_MAX = 20


class MessageRules:
    def __init__(
        self,
        access: RoomAccess,
        broker: Broker,
        presence: Presence,
        conversations: ConversationStore,
        edit_window: int,
        sends: SendStore | None = None,
    ) -> None:
        """`sends`: the store `send` stores through (by default the broker, when it is one too)."""
        self._access = access
        self._broker = broker
        self._sends = sends if sends is not None else broker if isinstance(broker, SendStore) else None
        self._presence = presence
        self._conversations = conversations
        self._edit_window = edit_window

    async def send(self, actor: Actor, room_id: str, message: Outgoing) -> Sent:
        """Store a plain message when the actor may send it now (as `RoomAccess.check_send`), else
        Refused. The room's state is judged here; standing, limits, census and append are one store
        step for someone no moderation touches (one Redis round trip); anyone else goes the long
        way, judged on the standing that step read (rooms/stores/sends.py). A private room's answer
        carries its members as the check read them (`Sent.members`)."""
        if self._sends is None:
            raise RuntimeError("MessageRules.send needs the SendStore it was built without")
        room, gate, members = await self._access.send_gate(actor, room_id)
        standing = None
        if gate is not None:
            sent = await self._sends.send(room.id, message, gate)
            if sent.wait is not None:
                self._access.refuse_wait(room, sent.wait)
            if sent.standing is None:
                return sent if members is None else replace(sent, members=members)
            standing = sent.standing
        await self._access.check_send(actor, room_id, standing)
        sent = await self._sends.send(room.id, message, None)
        return sent if members is None else replace(sent, members=members)

    async def react(self, actor: Actor, room_id: str, message_id: str, emoji: str) -> Reacted:
        """Toggle the actor's reaction; Refused(bad_frame) for an emoji not in REACTIONS,
        not_found for no live message, as `send` for a muted or banned actor."""
        if emoji not in REACTIONS:
            raise Refused("bad_frame", f'"emoji" must be one of {" ".join(REACTIONS)}')
        await self._access.check_speak(actor, room_id)
        reacted = await self._broker.toggle_reaction(room_id, message_id, emoji, actor.id)
        if reacted is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r}")
        return reacted

    async def reactors(self, actor: Actor, room_id: str, message_id: str) -> dict[str, list[Author]]:
        """Who reacts to a message with each emoji, by name (REACTORS_SHOWN at most per emoji),
        leaving out the people the actor blocks; Refused(not_found) for a room the actor may not see
        or no live message."""
        await self._access.visible_room(room_id, actor.id)
        who = await self._broker.reactors(room_id, message_id)
        if who is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r}")
        if not who:
            return {}
        blocked = await self._conversations.blocked_by(actor.id)
        shown = {emoji: [user for user in users if user not in blocked] for emoji, users in who.items()}
        names = {
            profile.id: profile.name
            for profile in await self._conversations.profiles(
                sorted({user for users in shown.values() for user in users})
            )
        }
        people = {
            emoji: sorted(
                (Author(user, names.get(user, user)) for user in users),
                key=lambda author: (author.name.casefold(), author.id),
            )[:REACTORS_SHOWN]
            for emoji, users in shown.items()
            if users
        }
        return people

    async def editable(self, actor: Actor, room_id: str, message_id: str) -> StoredMessage:
        """The actor's own live message when they may edit it now, else Refused: not_found (no such
        message, or deleted), forbidden (someone else's, or older than the edit window)."""
        await self._access.check_speak(actor, room_id, spend=True)
        message = await self._broker.message(room_id, message_id)
        if message is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r}")
        if message.user.id != actor.id:
            raise Refused("forbidden", "only the sender may edit a message")
        if message.meeting is not None:  # the card records the meeting as it was; the meeting has its own answers
            raise Refused("forbidden", "a meeting card cannot be edited; propose other times or cancel the meeting")
        if now_ms() - message.ts >= self._edit_window * 1000:
            raise Refused(
                "forbidden",
                f"a message can be edited for {self._edit_window} s after it was sent; "
                "this one is older: send a new message instead",
            )
        return message

    async def mentionable(self, actor: Actor, room_id: str, users: list[str]) -> list[str]:
        """The users a message may mention, of those asked, in their order, once each: the room's
        members (a conversation's members; in a public room the people in it now). Others are left
        out (the client's list may be a moment old), so a mention never reveals a room to an outsider."""
        if not users:
            return []
        room = await self._access.visible_room(room_id, actor.id)
        if room.private:
            members = await self._conversations.conversation_members(room.id)
        else:
            members = {member.id for member in await self._presence.members(room.id)}
        return [user for user in dict.fromkeys(users) if user in members]

    async def check_typing(self, actor: Actor, room_id: str) -> None:
        """May the actor's typing be shown? Only in a private conversation (in a room of 500 it is
        noise: forbidden), and not to someone who may not send there (as `send`)."""
        room = await self._access.visible_room(room_id, actor.id)
        if not room.private:
            raise Refused("forbidden", "typing is shown in private conversations only")
        await self._access.check_speak(actor, room_id)

    async def quote(self, room_id: str, message_id: str) -> Quote:
        """The quote a reply carries of a live message of the same room, else Refused(not_found)."""
        message = await self._broker.message(room_id, message_id)
        if message is None:
            raise Refused("not_found", f"room {room_id!r} has no message {message_id!r} to reply to")
        return _quote_of(message)

    async def current_quotes(self, room_id: str, messages: list[StoredMessage]) -> list[StoredMessage]:
        """History as it is now: each reply's quote shows the quoted message's latest text and its
        translations (an edit, a translation made after the reply), or `deleted` with no text when it
        was deleted or is no longer in history, so no reader keeps a quote of what is gone. Quoted
        messages of the page are read from it; QUOTES_READ others at most, those of its latest replies
        (older replies beyond keep their quote as stored)."""
        quoted = {m.reply_to.id for m in messages if m.reply_to is not None and not m.deleted}
        if not quoted:
            return messages
        current: dict[str, StoredMessage | None] = {m.id: m for m in messages if m.id in quoted}
        # those of the page's latest replies first (a page is oldest first)
        missing = list(
            dict.fromkeys(
                m.reply_to.id
                for m in reversed(messages)
                if m.reply_to is not None and not m.deleted and m.reply_to.id not in current
            )
        )[:QUOTES_READ]
        read = await asyncio.gather(*(self._broker.message(room_id, message_id) for message_id in missing))
        current.update(zip(missing, read, strict=True))
        shown = []
        for message in messages:
            quote = message.reply_to
            if quote is not None and not message.deleted and quote.id in current:
                original = current[quote.id]
                now = (
                    _quote_of(original)
                    if original is not None and not original.deleted
                    else Quote(quote.id, quote.user, "", deleted=True)
                )
                if now != quote:
                    message = msgspec.structs.replace(message, reply_to=now)
            shown.append(message)
        return shown


def _quote_of(message: StoredMessage) -> Quote:
    return Quote(
        message.id, message.user, _cut(message.text), tr={lang: _cut(text) for lang, text in message.tr.items()}
    )


def _cut(text: str) -> str:
    """The start of a text, QUOTE_CHARS at most (an ellipsis says it goes on)."""
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"
