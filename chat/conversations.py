"""Private conversations on one node: profiles, the directory, contact requests, blocks.

The rules are `rooms.conversations`; the state is the backend's ConversationStore; the rooms are
rooms of kind `private` in the room backend, so joining, history, `since`, sending, translation
and fan-out are the forum rooms' own code. What is new here is delivery to *people* rather
than rooms: a `request` or a `conversation` notice goes out as a node-wide
`direct` envelope (backend.broadcast) that every node's hub opens and hands to its local
connections of the named users (or of the event's moderators). Reports are rooms/reports.py's.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from chat.backend import Backend
from chat.config import Config
from chat.relay import TranslationRelay
from rooms import Refused, Room, RoomKind, RoomState
from rooms.conversations import (
    TITLE_MAX,
    ContactRequest,
    Policy,
    Profile,
    direct,
    members_refusal,
    moderates_event,
    pair_key,
    request_refusal,
    start_refusal,
)
from rooms.limits import SendLimits
from rooms.roles import Actor
from rooms.sanctions import Sanctions
from rooms.stores import BackendUnavailable, ConversationStore, now_ms
from rooms.stores.events import Conversation, Request
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


class Conversations:
    def __init__(self, backend: Backend, config: Config, limits: SendLimits, translator: TranslationService,
                 relay: TranslationRelay, local_users: Callable[[], set[str]]) -> None:
        self._backend = backend
        self._config = config
        self._settings = config.conversations
        self._limits = limits
        self._translator = translator
        self._relay = relay
        self._local_users = local_users
        self.policy = Policy(self._settings.policy)
        self._sanctions = Sanctions(backend)  # an event-wide mute or ban binds requests and reports too
        self._task: asyncio.Task[None] | None = None

    @property
    def store(self) -> ConversationStore:
        return self._backend

    # lifecycle: who is online -----------------------------------------------------------
    def _online_ttl_ms(self) -> int:
        return max(3, self._config.backend.presence_ttl) * 1000

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_online())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

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
        """A user authenticated: keep their profile (from the token) and mark them online."""
        await self.store.save_profile(Profile(id=person.id, name=person.name, role=person.role.value, lang=lang,
                                              organization=person.organization, country=person.country,
                                              bio=person.bio))
        if online:
            await self.store.mark_online({person.id}, now_ms() + self._online_ttl_ms())

    async def profile(self, user: str) -> Profile | None:
        found = await self.store.profiles([user])
        return found[0] if found else None

    async def people(self, ids: list[str]) -> list[dict[str, Any]]:
        """Public profiles of these users, in this order, with who is online."""
        profiles = {p.id: p for p in await self.store.profiles(ids)}
        online = await self.store.online(ids)
        return [profiles[i].public(i in online) if i in profiles else {"id": i, "name": i, "online": i in online}
                for i in ids]

    # membership -------------------------------------------------------------------------
    async def may_see(self, room: Room, user: str) -> bool:
        """Forum rooms are visible to all; a private room only to its members (hosts included)."""
        return not room.private or user in await self.store.conversation_members(room.id)

    async def summary(self, room: Room, viewer: str, *, unread: bool = False) -> dict[str, Any]:
        """A conversation as its members see it: the room, its members' profiles, unread count."""
        members = sorted(await self.store.conversation_members(room.id))
        data = {**room.to_dict(), "members": await self.people(members)}
        if unread:
            data["unread"] = await self._unread(room.id, viewer)
        return data

    async def _unread(self, room: str, viewer: str) -> int:
        """Messages from others after the viewer's read position (at most UNREAD_SCAN)."""
        position = (await self.store.read_positions(viewer)).get(room)
        backend = self._backend
        if position is not None:
            replay = await backend.since(room, position, limit=UNREAD_SCAN)
            messages = replay.messages if replay.recovered else []
        else:
            messages = await backend.history(room, before=None, limit=UNREAD_SCAN)
        return sum(1 for m in messages if m.user.id != viewer and not m.deleted)

    async def list_for(self, person: Person) -> list[dict[str, Any]]:
        rooms = []
        for room_id in await self.store.conversations_of(person.id):
            room = await self._backend.get_room(room_id)
            if room is not None and room.private:
                rooms.append(await self.summary(room, person.id, unread=True))
        return rooms

    async def mark_read(self, room: Room, user: str, message_id: str) -> None:
        if room.private and user in await self.store.conversation_members(room.id):
            await self.store.set_read(room.id, user, message_id)

    # starting and leaving -----------------------------------------------------------------
    async def start_conversation(self, person: Person, others: list[str], title: str | None,
                                 *, checked: bool = True) -> tuple[dict[str, Any], bool]:
        """Open a conversation (or find the existing 1:1); (summary, created)."""
        refusal = members_refusal(person.id, others)
        if refusal:
            raise Refused(*refusal)
        if checked:
            await self._sanctions.check_reach(person)
            await self.take_token(person.id)
        others = sorted(set(others) - {person.id})
        known = {p.id for p in await self.store.profiles(others)}
        for other in others:
            if other not in known:
                raise Refused("not_found", f"there is nobody with the id {other!r}; GET /api/people lists people")
            if checked:
                blocked = person.id in await self.store.blocked_by(other)
                contact = await self.store.is_contact(person.id, other)
                refusal = start_refusal(self.policy, blocked=blocked, contact=contact or self.policy is Policy.OPEN)
                if refusal:
                    raise Refused(*refusal)
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
        names = {p.id: p.name for p in await self.store.profiles(members)}
        default_title = ", ".join(names.get(member, member) for member in members)
        room = Room(id=room_id, title=(title or default_title)[:TITLE_MAX], kind=RoomKind.PRIVATE)
        await self._backend.save_room(room)
        await self.store.add_conversation_members(room_id, members)
        summary = await self.summary(room, person.id)
        await self._tell(members, Conversation(event="opened", room=summary))
        return summary, True

    async def _wait_room(self, room_id: str) -> Room | None:
        """The room another node is creating for the same pair (it claimed the pair first)."""
        for _ in range(20):
            room = await self._backend.get_room(room_id)
            if room is not None:
                return room
            await asyncio.sleep(0.05)
        return None

    async def leave(self, person: Person, room_id: str) -> None:
        """Leave a conversation for good; the last one out closes it."""
        room = await self._backend.get_room(room_id)
        members = await self.store.conversation_members(room_id) if room is not None and room.private else set()
        if room is None or person.id not in members:
            raise Refused("not_found", f"you are in no conversation {room_id!r}; GET /api/conversations lists yours")
        if len(members) == 2:  # a new 1:1 between the same two starts afresh
            await self.store.release_pair(pair_key(*members), room_id)
        remaining = await self.store.leave_conversation(room_id, person.id)
        await self._backend.broadcast(direct([person.id], remove={"room": room_id, "reason": "left"}))
        notice = Conversation(event="left", room={"id": room_id}, user={"id": person.id, "name": person.name})
        await self._tell(sorted(members), notice)
        if remaining == 0:
            await self._backend.save_room(room.updated(state=RoomState.CLOSED))

    # contact requests -------------------------------------------------------------------------
    async def _pending(self, user: str) -> list[ContactRequest]:
        """The user's requests still waiting; expired ones are dropped and start their cooldown."""
        now, waiting = now_ms(), []
        for request in await self.store.requests_of(user):
            if request.expired(now):
                if await self.store.delete_request(request):
                    await self.store.set_cooldown(request.sender["id"], request.to,
                                                  request.expires + self._settings.cooldown * 1000)
            else:
                waiting.append(request)
        return waiting

    async def requests_for(self, person: Person) -> dict[str, list[dict[str, Any]]]:
        pending = await self._pending(person.id)
        return {"incoming": [msgspec.to_builtins(r.frame("pending")) for r in pending if r.to == person.id],
                "outgoing": [msgspec.to_builtins(r.frame("pending")) for r in pending if r.sender["id"] == person.id]}

    async def request(self, person: Person, to: str, text: str) -> ContactRequest:
        await self._sanctions.check_reach(person)
        target = await self.profile(to)
        if target is None:
            raise Refused("not_found", f"there is nobody with the id {to!r}; GET /api/people lists people")
        pending = await self._pending(person.id)
        now = now_ms()
        refusal = request_refusal(
            self.policy, sender=person.id, target=to,
            blocked=person.id in await self.store.blocked_by(to),
            contact=await self.store.is_contact(person.id, to),
            pending=sum(1 for r in pending if r.sender["id"] == person.id),
            max_pending=self._settings.max_pending,
            already_pending=any(r.sender["id"] == person.id and r.to == to for r in pending),
            cooldown_until=await self.store.cooldown(person.id, to), now=now)
        if refusal:
            raise Refused(*refusal)
        await self.take_token(person.id)
        extra = {key: getattr(person, key) for key in ("organization", "country") if getattr(person, key)}
        request = ContactRequest(id="rq-" + secrets.token_hex(8), sender={"id": person.id, "name": person.name},
                                 to=to, text=text, ts=now, expires=now + self._settings.request_ttl * 1000,
                                 extra=extra)
        await self.store.save_request(request)
        await self._tell([to, person.id], request.frame("pending"))
        return request

    async def _answerable(self, person: Person, request_id: str) -> ContactRequest:
        request = await self.store.get_request(request_id)
        if request is None or request.to != person.id:
            raise Refused("not_found", f"there is no request {request_id!r} waiting for you")
        if request.expired(now_ms()):
            await self._pending(person.id)
            raise Refused("not_found", "this request has expired")
        if not await self.store.delete_request(request):  # another connection answered it first
            raise Refused("not_found", f"request {request_id!r} was answered already")
        return request

    async def accept(self, person: Person, request_id: str) -> dict[str, Any]:
        """Accept a request: the two are contacts, their 1:1 opens with the request's text first."""
        request = await self._answerable(person, request_id)
        sender = request.sender["id"]
        await self.store.add_contact(sender, person.id)
        summary, created = await self.start_conversation(person, [sender], None, checked=False)
        sender_profile = await self.profile(sender)
        lang = await self._translator.detect(request.text, sender_profile.lang if sender_profile else "en")
        sender_lang = sender_profile.lang if sender_profile else lang
        targets = await self._relay.targets(summary["id"], lang, sender_lang)
        appended = await self._backend.append_message(summary["id"], user=request.sender, text=request.text,
                                                           lang=lang, cid=request.id, translating=targets)
        if appended.created:
            self._relay.message_stored(appended.message, targets)
        await self._tell([sender, person.id], request.frame("accepted", room=summary["id"]))
        if not created:  # the 1:1 existed: remind both sides of it
            await self._tell([sender, person.id], Conversation(event="opened", room=summary))
        return summary

    async def decline(self, person: Person, request_id: str) -> None:
        request = await self._answerable(person, request_id)
        await self.store.set_cooldown(request.sender["id"], person.id, now_ms() + self._settings.cooldown * 1000)
        await self._tell([request.sender["id"], person.id], request.frame("declined"))

    # blocks -----------------------------------------------------------------------------------
    async def block(self, person: Person, other: str, blocked: bool) -> bool:
        if other == person.id:
            raise Refused("bad_request", "you cannot block yourself")
        changed = await self.store.set_block(person.id, other, blocked)
        if blocked:  # their waiting requests to this person go away silently
            for request in await self._pending(person.id):
                if request.sender["id"] == other and request.to == person.id:
                    await self.store.delete_request(request)
                    await self._tell([person.id], request.frame("withdrawn"))
        return changed

    # event-wide sanctions (rooms/moderation.py) ----------------------------------------------
    @staticmethod
    def moderates_event(person: Person) -> bool:
        return moderates_event(person.role, person.rooms)

    async def _tell(self, users: list[str], frame: Request | Conversation) -> None:
        await self._backend.broadcast(direct(users, frame))


__all__ = ["Conversations"]
