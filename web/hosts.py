"""The host API (Bearer token): open and change rooms, appoint moderators, read the moderation log.

Every change is announced to every connection on every node as a `room` frame, so lobbies
update live; closing a room ends every membership in it (`left` reason `closed`). An appointment
(or its end) reaches the person's connections on every node at once as a `role` frame; their
sessions show the room's members the new role (a `presence` `update`: the badge).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat.tokens import Identity
from rooms import SLOW_MODE_MAX, TITLE_MAX, InvalidRoom, Room, RoomState, new_room, room_fields
from rooms.conversations import direct
from rooms.models import ROOM_ID
from rooms.policy import appointed_role
from rooms.stores.events import Glossary as GlossaryEvent
from rooms.stores.events import RoleChanged, RoomChanged
from rooms.text import USER_ID_MAX
from translation.protect import MAX_TERM_CHARS, MAX_TERMS, clean_terms
from web import answers
from web.answers import RoomId
from web.errors import MAX_BODY, ApiError
from web.typed import ApiRoute, Auth, Body, answer, delete, get, node_of, patch, post, put, reply


async def existing_room(request: Request) -> Room:
    # no user: a private room is not there (conversations are not the hosts' to see or change)
    return await node_of(request).access.visible_room(request.path_params["room"])


async def announce(request: Request, event: str, room: Room) -> dict[str, Any]:
    node = node_of(request)
    summary = await node.lobby.lobby_entry(room)
    await node.stores.broker.broadcast(RoomChanged(event=event, room=summary))
    return summary


Title = Annotated[str, Meta(min_length=1, max_length=TITLE_MAX, pattern=r"\S")]
SlowMode = Annotated[
    int, Meta(ge=0, le=SLOW_MODE_MAX, extra={"says": f'"slow_mode" must be 0..{SLOW_MODE_MAX} seconds (0 = off)'})
]
StateField = Annotated[RoomState, Meta(extra={"says": '"state" must be open, read_only or closed'})]


class RoomChange(Body):
    """The fields of a room a host changes; absent ones stay as they are."""

    title: Title | UnsetType = UNSET
    forum: Title | UnsetType = UNSET
    state: StateField | UnsetType = UNSET
    slow_mode: SlowMode | UnsetType = UNSET


class NewRoom(Body):
    id: Annotated[
        str,
        Meta(
            pattern=ROOM_ID.pattern,
            extra={"says": '"id" must be a lowercase slug: a-z, 0-9 and inner hyphens, 1-40 chars'},
        ),
    ]
    title: Title
    forum: Title | UnsetType = UNSET
    state: StateField | UnsetType = UNSET
    slow_mode: SlowMode | UnsetType = UNSET


def given(body: msgspec.Struct) -> dict[str, Any]:
    """The fields a body holds (those sent), by name."""
    return {name: value for name, value in msgspec.structs.asdict(body).items() if value is not UNSET}


async def open_room(request: Request, host: Identity, body: NewRoom) -> Response:
    try:
        room = new_room(given(body))
    except InvalidRoom as exc:
        raise ApiError(400, "bad_request", str(exc), exc.field) from None
    rooms = node_of(request).stores.rooms
    if await rooms.get_room(room.id) is not None:
        raise ApiError(409, "conflict", f"room {room.id!r} exists already; PATCH it to change it")
    await rooms.save_room(room)
    return JSONResponse(await announce(request, "opened", room), status_code=201)


async def change_room(request: Request, host: Identity, body: RoomChange) -> Response:
    room = await existing_room(request)
    try:
        updated = room.updated(**room_fields(given(body)))
    except InvalidRoom as exc:
        raise ApiError(400, "bad_request", str(exc), exc.field) from None
    await node_of(request).stores.rooms.save_room(updated)
    event = "updated"
    if updated.state is not room.state and RoomState.CLOSED in (updated.state, room.state):
        event = "closed" if updated.state is RoomState.CLOSED else "opened"
    return JSONResponse(await announce(request, event, updated))


UserId = Annotated[str, Meta(min_length=1, max_length=USER_ID_MAX, pattern=r"\S")]


class Appointment(Body):
    user: UserId

    def __post_init__(self) -> None:
        self.user = self.user.strip()


class Moderator(msgspec.Struct, omit_defaults=True):
    room: str
    user: str
    moderator: bool
    name: Annotated[str, Meta(description="the user's display name, when the server knows it")] | UnsetType = UNSET


async def appoint_moderator(request: Request, host: Identity, body: Appointment) -> Response:
    room = await existing_room(request)
    added = await node_of(request).stores.moderation.set_moderator(room.id, body.user, True)
    name = await announce_role(request, host, room, body.user, appointed=True)
    return reply(appointment(room, body.user, True, name), status_code=201 if added else 200)


async def remove_moderator(request: Request, host: Identity) -> Response:
    room = await existing_room(request)
    user = request.path_params["user"]
    if not await node_of(request).stores.moderation.set_moderator(room.id, user, False):
        raise ApiError(404, "not_found", f"{user!r} is not a moderator of {room.id!r}")
    name = await announce_role(request, host, room, user, appointed=False)
    return reply(appointment(room, user, False, name))


def appointment(room: Room, user: str, moderator: bool, name: str | None) -> Moderator:
    # the name, when known, so the host's interface names the person, not the id typed
    return Moderator(room.id, user, moderator, UNSET if name is None else name)


async def announce_role(request: Request, host: Identity, room: Room, user: str, *, appointed: bool) -> str | None:
    """Tell the person at once, wherever they are connected: a `role` frame to their connections on
    every node, whose sessions then show the new role to the room (chat/hub.py `_direct`, a presence
    `update` from the node that holds each connection). The person's name, when the server knows it."""
    node = node_of(request)
    role = appointed_role(appointed)  # what a delegate becomes: the session re-reads its real role
    by = {"id": host.id, "name": host.name}
    await node.stores.broker.broadcast(direct([user], RoleChanged(room=room.id, role=role.value, by=by)))
    profiles = await node.stores.conversations.profiles([user])
    if profiles:
        return profiles[0].name
    return next((member.name for member in await node.stores.presence.members(room.id) if member.id == user), None)


class Actor(msgspec.Struct):
    id: str
    name: str


class LogEntry(msgspec.Struct):
    ts: Annotated[int, Meta(description="ms since the epoch")]
    action: Annotated[str, Meta(extra_json_schema={"enum": ["mute", "unmute", "kick", "ban", "unban", "delete"]})]
    by: Actor
    user: Annotated[str, Meta(description="the target (not on delete)")] | UnsetType = UNSET
    id: Annotated[str, Meta(description="the deleted message (delete only)")] | UnsetType = UNSET
    until: Annotated[int, Meta(description="mute end, ms; absent = until unmuted")] | UnsetType = UNSET
    reason: str | UnsetType = UNSET


class ModerationLog(msgspec.Struct):
    room: str
    entries: list[LogEntry]


async def moderation_log(request: Request, identity: Identity) -> Response:
    room = await existing_room(request)
    return JSONResponse({"room": room.id, "entries": await node_of(request).moderation.log(identity, room)})


class Glossary(msgspec.Struct):
    terms: list[str]


TERMS_SAY = (
    f'"terms" must be a list of strings, e.g. ["Cargotec"]: at most {MAX_TERMS} terms, each 1 to '
    f"{MAX_TERM_CHARS} characters"
)


class GlossaryChange(Body):
    # no maxItems in the schema: a list that long is larger than the body may be (413) anyway
    terms: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=MAX_TERM_CHARS, pattern=r"\S")]],
        Meta(description=f"at most {MAX_TERMS} terms (and {MAX_BODY} bytes)", extra={"says": TERMS_SAY}),
    ]

    def __post_init__(self) -> None:
        if len(self.terms) > MAX_TERMS:
            raise ApiError(400, "bad_request", TERMS_SAY, "terms")


async def get_glossary(request: Request, host: Identity) -> Response:
    return reply(Glossary(node_of(request).translator.glossary()))


async def put_glossary(request: Request, host: Identity, body: GlossaryChange) -> Response:
    """Replace the terms never translated: kept in the backend (so it outlives a restart and wins over
    `[translation] glossary` from then on), and applied on every node at once by a `glossary` node event."""
    cleaned = clean_terms(body.terms)
    node = node_of(request)
    await node.stores.rooms.set_glossary(cleaned)  # stored first: a node starting now reads it or hears the event
    node.translator.set_glossary(cleaned)
    await node.stores.broker.broadcast(GlossaryEvent(terms=cleaned))
    return reply(Glossary(cleaned))


def host_routes() -> list[ApiRoute]:
    room = {"room": RoomId}
    no_room = {404: "there is no such room"}
    return [
        post(
            "/api/rooms",
            open_room,
            auth=Auth.HOST,
            body=NewRoom,
            operation="openRoom",
            summary="Open a room (hosts)",
            ok={201: answer("the room, announced to every connection", answers.Room)},
            errors={409: "a room with this id exists; PATCH it"},
        ),
        patch(
            "/api/rooms/{room}",
            change_room,
            auth=Auth.HOST,
            body=RoomChange,
            path_params=room,
            operation="changeRoom",
            summary="Rename, move, open, close or slow a room (hosts)",
            ok={200: answer("the room as changed", answers.Room)},
            errors=no_room,
        ),
        post(
            "/api/rooms/{room}/moderators",
            appoint_moderator,
            auth=Auth.HOST,
            body=Appointment,
            path_params=room,
            operation="appointModerator",
            summary="Appoint a user moderator of a room (hosts)",
            ok={201: answer("appointed", Moderator), 200: answer("already was", Moderator)},
            errors=no_room,
        ),
        delete(
            "/api/rooms/{room}/moderators/{user}",
            remove_moderator,
            auth=Auth.HOST,
            path_params={**room, "user": Annotated[str, Meta(min_length=1, max_length=USER_ID_MAX)]},
            operation="removeModerator",
            summary="End a user's appointment (hosts)",
            ok={200: answer("no longer a moderator", Moderator)},
            errors={404: "no such room, or the user is not its moderator"},
        ),
        get(
            "/api/rooms/{room}/moderation",
            moderation_log,
            auth=Auth.BEARER,
            path_params=room,
            operation="moderationLog",
            summary="Who did what in a room (hosts and the room's moderators)",
            ok={200: answer("the log, oldest first", ModerationLog)},
            errors={403: "not a host nor a moderator of this room", **no_room},
        ),
        get(
            "/api/glossary",
            get_glossary,
            auth=Auth.HOST,
            operation="glossary",
            summary="The terms never translated (hosts)",
            ok={200: answer("the terms", Glossary)},
        ),
        put(
            "/api/glossary",
            put_glossary,
            auth=Auth.HOST,
            body=GlossaryChange,
            operation="setGlossary",
            summary="Replace the terms never translated, on every node (hosts)",
            description="Kept in the backend: the list outlives a restart and wins over `[translation] glossary` "
            "(the start value) from the first PUT on.",
            ok={200: answer("the terms as kept", Glossary)},
        ),
    ]
