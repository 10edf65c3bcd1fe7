"""Private conversations on one node: profiles, the directory, contact requests, blocks.

The rules are `rooms.conversations`; the state is the backend's ConversationStore; the rooms are
rooms of kind `private` in the room backend, so joining, history, `since`, sending, translation
and fan-out are the forum rooms' own code. What is new here is delivery to *people* rather
than rooms: a `request` or a `conversation` notice goes out as a node-wide
`direct` envelope (stores.broker.broadcast) that every node's hub opens and hands to its local
connections of the named users (or of the event's moderators). Reports are rooms/reports.py's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Collection
from typing import Any, Protocol

import msgspec

from chat.config import Config
from chat.relay import TranslationRelay
from rooms import Refused, Room, RoomKind, RoomState
from rooms.conversations import (
    INBOX_FULL,
    TITLE_MAX,
    ContactRequest,
    Policy,
    Profile,
    answer_refusal,
    block_refusal,
    checks_name,
    direct,
    impersonation_refusal,
    invitations_needed,
    leave_refusal,
    members_refusal,
    moderates_event,
    pair_key,
    request_refusal,
    request_text_refusal,
    separated_refusal,
    start_refusal,
    state_after_block,
)
from rooms.limits import SendLimits
from rooms.roles import Actor
from rooms.sanctions import Sanctions
from rooms.stores import BackendUnavailable, Broker, ConversationStore, ModerationStore, RoomStore, now_ms
from rooms.stores.events import ContactRequestFrame, Conversation, UnreadChanged
from rooms.stores.messages import StoredMessage
from translation import TranslationService

log = logging.getLogger("babelroom.conversations")

UNREAD_SCAN = 200  # messages looked at to count a conversation's unread ones ("200+" beyond)


class Person(Actor, Protocol):
    """Who is asking, with the profile a token carries (chat.tokens.Identity is one)."""

    @property
    def lang(self) -> str: ...

    @property
    def organization(self) -> str: ...

    @property
    def country(self) -> str: ...

    @property
    def bio(self) -> str: ...

    @property
    def anonymous(self) -> bool: ...


class Conversations:
    def __init__(
        self,
        store: ConversationStore,
        rooms: RoomStore,
        moderation: ModerationStore,
        broker: Broker,
        config: Config,
        limits: SendLimits,
        translator: TranslationService,
        relay: TranslationRelay,
        local_users: Callable[[], set[str]],
    ) -> None:
        self._store, self._rooms, self._broker = store, rooms, broker
        self._config = config
        self._settings = config.conversations
        self._limits = limits
        self._translator = translator
        self._relay = relay
        self._local_users = local_users
        self.policy = Policy(self._settings.policy)
        self._sanctions = Sanctions(moderation)  # an event-wide mute or ban binds requests and reports too
        self._task: asyncio.Task[None] | None = None
        self._expiry: asyncio.Task[None] | None = None

    @property
    def store(self) -> ConversationStore:
        return self._store

    # lifecycle: who is online -----------------------------------------------------------
    def _online_ttl_ms(self) -> int:
        return max(3, self._config.backend.presence_ttl) * 1000

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_online())
        if self._settings.profile_ttl > 0:
            self._expiry = asyncio.create_task(self._expire_profiles())

    async def close(self) -> None:
        tasks = [task for task in (self._task, self._expiry) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _expire_profiles(self) -> None:
        """Forget anonymous profiles (self sign-ins) nobody saw for [conversations] profile_ttl: at
        start, then every quarter of that time (at most hourly)."""
        ttl_ms = self._settings.profile_ttl * 1000
        while True:
            try:
                gone = await self.store.expire_profiles(now_ms() - ttl_ms)
                if gone:
                    log.info("forgot %d anonymous profiles not seen for %d s", len(gone), self._settings.profile_ttl)
            except BackendUnavailable:
                pass
            except Exception:
                log.exception("could not expire anonymous profiles")
            await asyncio.sleep(min(3600.0, max(1.0, self._settings.profile_ttl / 4)))

    async def _keep_online(self) -> None:
        """Refresh the online mark of every user connected here, every third of its lifetime."""
        while True:
            await asyncio.sleep(self._online_ttl_ms() / 3000)
            try:
                await self.store.mark_online(self._local_users(), now_ms() + self._online_ttl_ms())
            except BackendUnavailable:
                pass
            except Exception:
                log.exception("could not refresh who is online")

    async def take_token(self, user: str) -> None:
        """Conversations, requests and reports spend the same token bucket as messages."""
        await self._limits.take_token(user)

    # profiles ---------------------------------------------------------------------------
    async def seen(self, person: Person, lang: str, *, online: bool = True) -> None:
        """A user authenticated: keep their profile (from the token) and mark them online.

        Refused `name_reserved` (nothing stored) when a delegate's name copies or looks like the name
        of a host or moderator the event has seen (rooms.conversations.impersonation_refusal).
        """
        if checks_name(person.role):
            refusal = impersonation_refusal(person.name, person.id, await self.store.staff())
            if refusal:
                raise Refused(*refusal)
        await self.store.save_profile(
            Profile(
                id=person.id,
                name=person.name,
                role=person.role.value,
                lang=lang,
                organization=person.organization,
                country=person.country,
                bio=person.bio,
                anonymous=person.anonymous,
            )
        )
        if online:
            await self.store.mark_online({person.id}, now_ms() + self._online_ttl_ms())

    async def profile(self, user: str) -> Profile | None:
        found = await self.store.profiles([user])
        return found[0] if found else None

    async def people(self, ids: list[str]) -> list[dict[str, Any]]:
        """Public profiles of these users, in this order, with who is online."""
        profiles = {p.id: p for p in await self.store.profiles(ids)}
        online = await self.store.online(ids)
        return [
            profiles[i].public(i in online) if i in profiles else {"id": i, "name": i, "online": i in online}
            for i in ids
        ]

    # membership -------------------------------------------------------------------------
    async def summary(self, room: Room, viewer: str, *, unread: bool = False) -> dict[str, Any]:
        """A conversation as its members see it: the room, its members' profiles, unread count."""
        members = sorted(await self.store.conversation_members(room.id))
        data = {**room.to_dict(), "members": await self.people(members)}
        if unread:
            data["unread"] = await self._unread(room.id, viewer)
        return data

    async def _unread(self, room: str, viewer: str, position: str | None = None) -> int:
        """Messages from others after the viewer's read position (at most UNREAD_SCAN): one question
        to the store, which counts where the messages are kept (issue 27)."""
        if position is None:
            position = await self.store.read_position(viewer, room)
        return await self.store.unread_count(room, viewer, position, UNREAD_SCAN)

    async def list_for(self, person: Person) -> list[dict[str, Any]]:
        rooms = []
        for room_id in await self.store.conversations_of(person.id):
            room = await self._rooms.get_room(room_id)
            if room is not None and room.private:
                rooms.append(await self.summary(room, person.id, unread=True))
        return rooms

    async def mark_read(self, room: Room, user: str, message_id: str) -> None:
        """`read`: keep the user's read position in a room they may keep one in (the caller asked
        `visible_room` and rooms.conversations.read_refusal: a conversation of theirs, or a public
        room they joined), on the server, and tell every connection of theirs on every node the new
        position and count at once, so a phone and a laptop agree live.

        Only this moves the position: joining, a `since` replay or a history page does not, since
        a client that reconnects has shown none of what it missed."""
        await self.store.set_read(room.id, user, message_id)
        unread = await self._unread(room.id, user, message_id)
        await self._broker.broadcast(direct([user], UnreadChanged(room=room.id, read=message_id, unread=unread)))

    async def message_stored(self, room: str, message: StoredMessage, members: Collection[str] | None = None) -> None:
        """A new message in a private conversation: each other member's connections, on every node,
        get their new unread count with who wrote, whichever conversations they have open (the
        members are the people the policy let in and no block separates: a block ends membership).
        `members`: the conversation's, when the send just read them (`Sent.members`), else read here."""
        author = message.user.id
        if members is None:
            members = await self.store.conversation_members(room)
        for member in sorted(members):
            if member == author:
                continue
            position = await self.store.read_position(member, room)
            unread = await self._unread(room, member, position)
            await self._broker.broadcast(
                direct(
                    [member],
                    UnreadChanged(
                        room=room,
                        read=position,
                        unread=unread,
                        id=message.id,
                        by={"id": author, "name": message.user.name},
                    ),
                )
            )

    async def read_state(self, room: str, user: str) -> tuple[str, int] | None:
        """(the user's read position in the room, messages from others after it), or None when they
        never marked one there."""
        position = await self.store.read_position(user, room)
        if position is None:
            return None
        return position, await self._unread(room, user, position)

    # starting and leaving -----------------------------------------------------------------
    async def start_conversation(
        self, person: Person, others: list[str], title: str | None
    ) -> tuple[dict[str, Any], bool, list[str]]:
        """Open a conversation (or find the existing 1:1); (summary, created, invited).

        A group under policy `request` starts with the caller alone and an invitation (a request)
        to each other person, who joins on accepting it (`invited`: whom an invitation went to)."""
        refusal = members_refusal(person.id, others)
        if refusal:
            raise Refused(*refusal)
        await self._sanctions.check_reach(person)
        await self.take_token(person.id)
        others = sorted(set(others) - {person.id})
        names = {p.id: p.name for p in await self.store.profiles([person.id, *others])}
        for other in others:
            if other not in names:
                raise Refused("not_found", f"there is nobody with the id {other!r}; GET /api/people lists people")
        blocks = await self._blocks([person.id, *others])
        if invitations_needed(self.policy, len(others)):
            return await self._invite(person, others, title, blocks, names)
        for other in others:
            contact = self.policy is Policy.OPEN or await self.store.is_contact(person.id, other)
            refusal = start_refusal(
                self.policy, blocked=person.id in blocks[other], contact=contact, blocking=other in blocks[person.id]
            )
            if refusal:
                raise Refused(*refusal)
        refusal = separated_refusal(blocks, [person.id, *others])
        if refusal:
            raise Refused(*refusal)
        summary, created = await self._open(person, others, title)
        return summary, created, []

    async def _blocks(self, users: list[str]) -> dict[str, set[str]]:
        """Whom each of these users blocks."""
        return {user: await self.store.blocked_by(user) for user in users}

    async def _open(self, person: Person, others: list[str], title: str | None) -> tuple[dict[str, Any], bool]:
        """Create the conversation of the caller and these people, all members at once (or find
        their 1:1); the rules were asked before. (summary, created)"""
        members = [person.id, *others]
        room_id = "c-" + secrets.token_hex(8)
        if len(members) == 2:
            existing = await self.store.claim_pair(pair_key(*members), room_id)
            if existing != room_id:
                room = await self._wait_room(existing)
                if room is not None and room.state is not RoomState.CLOSED:
                    return await self.summary(room, person.id), False
                await self.store.release_pair(pair_key(*members), existing)
                await self.store.claim_pair(pair_key(*members), room_id)
        room = await self._new_room(room_id, members, title)
        await self.store.add_conversation_members(room_id, members)
        summary = await self.summary(room, person.id)
        await self._tell(members, Conversation(event="opened", room=summary))
        return summary, True

    async def _new_room(self, room_id: str, people: list[str], title: str | None) -> Room:
        """The private room, saved; its default title names everyone in it or invited."""
        names = {p.id: p.name for p in await self.store.profiles(people)}
        default_title = ", ".join(names.get(member, member) for member in people)
        room = Room(id=room_id, title=(title or default_title)[:TITLE_MAX], kind=RoomKind.PRIVATE)
        await self._rooms.save_room(room)
        return room

    async def _invite(
        self, person: Person, others: list[str], title: str | None, blocks: dict[str, set[str]], names: dict[str, str]
    ) -> tuple[dict[str, Any], bool, list[str]]:
        """A group under policy `request`: every invitation passes the request rules before the
        group exists; then the caller is its one member and each other person gets a request."""
        refusal = separated_refusal(blocks, [person.id, *others])
        if refusal:
            raise Refused(*refusal)
        now = now_ms()
        mine = [r for r in await self._pending(person.id) if r.sender["id"] == person.id]
        strangers = set()
        for n, other in enumerate(others):
            contact = await self.store.is_contact(person.id, other)
            refusal = request_refusal(
                self.policy,
                sender=person.id,
                target=other,
                group=True,
                blocked=person.id in blocks[other],
                blocking=other in blocks[person.id],
                contact=contact,
                pending=len(mine) + n,
                max_pending=self._settings.max_pending,
                already_pending=any(r.to == other for r in mine),
                cooldown_until=await self.store.cooldown(person.id, other),
                now=now,
                incoming=await self._incoming(other, now),
                max_incoming=self._settings.max_incoming,
            )
            if refusal:
                raise Refused(refusal[0], f"{names[other]}: {refusal[1]}", *refusal[2:])
            if not contact:
                strangers.add(other)
        room = await self._new_room("c-" + secrets.token_hex(8), [person.id, *others], title)
        await self.store.add_conversation_members(room.id, [person.id])
        summary = await self.summary(room, person.id)
        await self._tell([person.id], Conversation(event="opened", room=summary))
        invited = []
        for other in others:
            request = self._new_request(
                person, other, "", now, stranger=other in strangers, group={"id": room.id, "title": room.title}
            )
            if await self.store.save_request(request, incoming_cap=self._settings.max_incoming):
                invited.append(other)
                await self._tell([other, person.id], request.frame("pending"))
        return summary, True, invited

    async def _wait_room(self, room_id: str) -> Room | None:
        """The room another node is creating for the same pair (it claimed the pair first)."""
        for _ in range(20):
            room = await self._rooms.get_room(room_id)
            if room is not None:
                return room
            await asyncio.sleep(0.05)
        return None

    async def leave(self, person: Person, room_id: str) -> None:
        """Leave a conversation for good; the last one out closes it."""
        room = await self._rooms.get_room(room_id)
        members = await self.store.conversation_members(room_id) if room is not None and room.private else set()
        refusal = leave_refusal(members, person.id, room_id)
        if refusal:
            raise Refused(*refusal)
        assert room is not None  # members of no room are none
        await self._take_out(room, members, {"id": person.id, "name": person.name}, "left")

    async def _take_out(self, room: Room, members: set[str], user: dict[str, str], reason: str) -> None:
        """A member leaves the conversation for good (`reason`: left, blocked): their connections
        leave it on every node, the members hear `conversation` `left`; the last one out closes it."""
        if len(members) == 2:  # a new 1:1 between the same two starts afresh
            await self.store.release_pair(pair_key(*members), room.id)
        remaining = await self.store.leave_conversation(room.id, user["id"])
        await self._broker.broadcast(direct([user["id"]], remove={"room": room.id, "reason": reason}))
        await self._tell(sorted(members), Conversation(event="left", room={"id": room.id}, user=user))
        if remaining == 0:
            await self._rooms.save_room(room.updated(state=RoomState.CLOSED))

    # contact requests -------------------------------------------------------------------------
    async def _pending(self, user: str) -> list[ContactRequest]:
        """The user's requests still waiting; expired ones are dropped and start their cooldown."""
        now, waiting = now_ms(), []
        for request in await self.store.requests_of(user):
            if request.expired(now):
                if await self.store.delete_request(request):
                    await self.store.set_cooldown(
                        request.sender["id"], request.to, request.expires + self._settings.cooldown * 1000
                    )
            else:
                waiting.append(request)
        return waiting

    async def _incoming(self, user: str, now: int) -> int:
        """The user's requests waiting from people they have not talked to."""
        return sum(1 for r in await self.store.requests_of(user) if r.to == user and r.stranger and not r.expired(now))

    def _new_request(
        self, person: Person, to: str, text: str, now: int, *, stranger: bool, group: dict[str, str] | None = None
    ) -> ContactRequest:
        extra = {key: getattr(person, key) for key in ("organization", "country") if getattr(person, key)}
        return ContactRequest(
            id="rq-" + secrets.token_hex(8),
            sender={"id": person.id, "name": person.name},
            to=to,
            text=text,
            ts=now,
            expires=now + self._settings.request_ttl * 1000,
            extra=extra,
            stranger=stranger,
            group=group,
        )

    async def requests_for(self, person: Person) -> dict[str, list[dict[str, Any]]]:
        pending = await self._pending(person.id)
        return {
            "incoming": [msgspec.to_builtins(r.frame("pending")) for r in pending if r.to == person.id],
            "outgoing": [msgspec.to_builtins(r.frame("pending")) for r in pending if r.sender["id"] == person.id],
        }

    async def request(self, person: Person, to: str, text: str) -> ContactRequest:
        await self._sanctions.check_reach(person)
        refusal = request_text_refusal(text)
        if refusal:
            raise Refused(*refusal)
        target = await self.profile(to)
        if target is None:
            raise Refused("not_found", f"there is nobody with the id {to!r}; GET /api/people lists people")
        pending = await self._pending(person.id)
        now = now_ms()
        contact = await self.store.is_contact(person.id, to)
        refusal = request_refusal(
            self.policy,
            sender=person.id,
            target=to,
            blocked=person.id in await self.store.blocked_by(to),
            blocking=to in await self.store.blocked_by(person.id),
            contact=contact,
            pending=sum(1 for r in pending if r.sender["id"] == person.id),
            max_pending=self._settings.max_pending,
            already_pending=any(r.sender["id"] == person.id and r.to == to for r in pending),
            cooldown_until=await self.store.cooldown(person.id, to),
            now=now,
            incoming=await self._incoming(to, now),
            max_incoming=self._settings.max_incoming,
        )
        if refusal:
            raise Refused(*refusal)
        await self.take_token(person.id)
        request = self._new_request(person, to, text, now, stranger=not contact)
        if not await self.store.save_request(request, incoming_cap=self._settings.max_incoming):
            raise Refused(*INBOX_FULL)  # others filled the inbox since the count above
        await self._tell([to, person.id], request.frame("pending"))
        return request

    async def _waiting(self, person: Person, request_id: str) -> ContactRequest:
        """The request for this person to answer, or Refused(not_found)."""
        request = await self.store.get_request(request_id)
        refusal = answer_refusal(request, person.id, request_id, now_ms())
        if refusal:
            if request is not None and request.to == person.id:
                await self._pending(person.id)  # expired: dropped, with its cooldown
            raise Refused(*refusal)
        assert request is not None
        return request

    async def _claim(self, request: ContactRequest) -> None:
        """Take the request out of the store, or Refused when another connection answered it first."""
        if not await self.store.delete_request(request):
            raise Refused("not_found", f"request {request.id!r} was answered already")

    async def accept(self, person: Person, request_id: str) -> dict[str, Any]:
        """Accept a request: the two are contacts, their 1:1 opens with the request's text first;
        or, for an invitation, the person joins the group."""
        request = await self._waiting(person, request_id)
        if request.group is not None:
            return await self._join_group(person, request)
        await self._claim(request)
        sender = request.sender["id"]
        await self.store.add_contact(sender, person.id)
        summary, created = await self._open(person, [sender], None)
        sender_profile = await self.profile(sender)
        lang = await self._translator.detect(request.text, sender_profile.lang if sender_profile else "en")
        sender_lang = sender_profile.lang if sender_profile else lang
        targets = await self._relay.targets(summary["id"], lang, sender_lang)
        appended = await self._broker.append_message(
            summary["id"], user=request.sender, text=request.text, lang=lang, cid=request.id, translating=targets
        )
        if appended.created:
            self._relay.message_stored(appended.message, targets)
        await self._tell([sender, person.id], request.frame("accepted", room=summary["id"]))
        if not created:  # the 1:1 existed: remind both sides of it
            await self._tell([sender, person.id], Conversation(event="opened", room=summary))
        return summary

    async def _join_group(self, person: Person, request: ContactRequest) -> dict[str, Any]:
        """An invitee accepts: a member from now on, unless the group ended or a block stands
        between them and a member."""
        assert request.group is not None
        room = await self._rooms.get_room(request.group["id"])
        members = await self.store.conversation_members(room.id) if room is not None else set()
        if room is None or room.state is RoomState.CLOSED or not members:
            await self._claim(request)
            await self._tell([request.sender["id"], person.id], request.frame("withdrawn"))
            raise Refused("not_found", "this conversation has ended: everyone left it")
        refusal = separated_refusal(await self._blocks([*members, person.id]), [*members, person.id], joining=person.id)
        if refusal:
            raise Refused(*refusal)
        await self._claim(request)
        await self.store.add_conversation_members(room.id, [person.id])
        summary = await self.summary(room, person.id)
        await self._tell([request.sender["id"], person.id], request.frame("accepted", room=room.id))
        await self._tell([person.id], Conversation(event="opened", room=summary))
        await self._tell(
            sorted(members), Conversation(event="joined", room=summary, user={"id": person.id, "name": person.name})
        )
        return summary

    async def decline(self, person: Person, request_id: str) -> None:
        request = await self._waiting(person, request_id)
        await self._claim(request)
        await self.store.set_cooldown(request.sender["id"], person.id, now_ms() + self._settings.cooldown * 1000)
        await self._tell([request.sender["id"], person.id], request.frame("declined"))

    # blocks -----------------------------------------------------------------------------------
    async def block(self, person: Person, other: str, blocked: bool) -> bool:
        """Block (or unblock) someone. A block ends what the two share (rooms/conversations.py):
        their requests to each other, their contact, and the blocked person's place in every
        conversation they share with the blocker, on every node at once. Unblocking gives none
        of it back."""
        refusal = block_refusal(person.id, other)
        if refusal:
            raise Refused(*refusal)
        changed = await self.store.set_block(person.id, other, blocked)
        if not blocked:
            return changed
        for request in await self._pending(person.id):
            if {request.sender["id"], request.to} == {person.id, other} and await self.store.delete_request(request):
                # a request from the blocked person goes away silently; one to them leaves their cards too
                told = [person.id] if request.sender["id"] == other else [person.id, other]
                await self._tell(told, request.frame("withdrawn"))
        await self.store.remove_contact(person.id, other)
        shared = set(await self.store.conversations_of(person.id)) & set(await self.store.conversations_of(other))
        profile = await self.profile(other)
        user = {"id": other, "name": profile.name if profile else other}
        for room_id in sorted(shared):
            room = await self._rooms.get_room(room_id)
            members = await self.store.conversation_members(room_id)
            if room is None or not room.private or other not in members:
                continue
            await self._take_out(room, members, user, "blocked")
            state = state_after_block(room.state, members, person.id, other)
            if state is not room.state:
                await self._rooms.save_room(room.updated(state=state))
        return changed

    async def blocked_people(self, person: Person) -> list[dict[str, Any]]:
        """Whom the person blocks, as each chose to be shown (a hidden person by name only), and
        nothing about who is online."""
        blocked = sorted(await self.store.blocked_by(person.id))
        profiles = {p.id: p for p in await self.store.profiles(blocked)}
        return [profiles[i].listed() if i in profiles else {"id": i, "name": i} for i in blocked]

    # event-wide sanctions (rooms/moderation.py) ----------------------------------------------
    @staticmethod
    def moderates_event(person: Person) -> bool:
        return moderates_event(person.role, person.rooms)

    async def _tell(self, users: list[str], frame: ContactRequestFrame | Conversation) -> None:
        await self._broker.broadcast(direct(users, frame))


__all__ = ["Conversations"]
