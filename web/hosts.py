"""The host API (Bearer token): open and change rooms, appoint moderators, read the moderation log.

Every change is announced to every connection on every node as a `room` frame, so lobbies
update live; closing a room ends every membership in it (`left` reason `closed`). An appointment
(or its end) reaches the person's connections on every node at once as a `role` frame; their
sessions show the room's members the new role (a `presence` `update`: the badge).
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chat.tokens import Identity, TokenError
from rooms import InvalidRoom, Refused, Role, Room, RoomState, new_room, room_fields
from rooms.conversations import direct
from rooms.policy import can_moderate
from rooms.stores.events import Glossary, RoleChanged, RoomChanged
from rooms.text import USER_ID_MAX
from translation.protect import MAX_TERM_CHARS, MAX_TERMS, clean_terms
from web.api import answers_errors
from web.errors import ApiError, json_body, text_field
from web.listed import SCOPE_KEY, Listed
from web.services import node_of, refusal_error


def bearer_identity(request: Request) -> Identity:
    """The identity of the request's Bearer token, or ApiError 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "send the host token as 'Authorization: Bearer <token>'")
    try:
        identity = node_of(request).signer.verify(token.strip())
    except TokenError as exc:  # its message says what is wrong
        raise ApiError(401, "unauthorized", str(exc)) from None
    listed: Listed | None = request.scope.get(SCOPE_KEY)  # the person as the delegate list knows them
    if listed is None or listed[0] != token.strip():
        return identity
    found = listed[1]
    if isinstance(found, Refused):
        raise ApiError(401, "unauthorized", found.message)
    if not isinstance(found, Identity):
        raise ApiError(503, "unavailable", "the server cannot reach its backend right now; retry in a few seconds",
                       retry_after=2)
    return found


def require_host(request: Request) -> Identity:
    identity = bearer_identity(request)
    if identity.role is not Role.HOST:
        raise ApiError(403, "forbidden", "only hosts may do this; ask a host for a host token")
    return identity


def only_fields(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ApiError(400, "bad_request",
                       f"unknown field {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(allowed))}",
                       sorted(unknown)[0])


async def existing_room(request: Request) -> Room:
    try:
        # no user: a private room is not there (conversations are not the hosts' to see or change)
        return await node_of(request).access.room(request.path_params["room"])
    except Refused as refusal:
        raise refusal_error(refusal) from None


async def announce(request: Request, event: str, room: Room) -> dict[str, Any]:
    node = node_of(request)
    summary = await node.lobby.summary(room)
    await node.backend.broadcast(RoomChanged(event=event, room=summary))
    return summary


@answers_errors
async def open_room(request: Request) -> Response:
    require_host(request)
    data = await json_body(request)
    only_fields(data, {"id", "title", "forum", "state", "slow_mode"})
    try:
        room = new_room(data)
    except InvalidRoom as exc:
        raise ApiError(400, "bad_request", str(exc), exc.field) from None
    backend = node_of(request).backend
    if await backend.get_room(room.id) is not None:
        raise ApiError(409, "conflict", f"room {room.id!r} exists already; PATCH it to change it")
    await backend.save_room(room)
    return JSONResponse(await announce(request, "opened", room), status_code=201)


@answers_errors
async def change_room(request: Request) -> Response:
    require_host(request)
    room = await existing_room(request)
    data = await json_body(request)
    only_fields(data, {"title", "forum", "state", "slow_mode"})
    try:
        updated = room.updated(**room_fields(data))
    except InvalidRoom as exc:
        raise ApiError(400, "bad_request", str(exc), exc.field) from None
    await node_of(request).backend.save_room(updated)
    event = "updated"
    if updated.state is not room.state and RoomState.CLOSED in (updated.state, room.state):
        event = "closed" if updated.state is RoomState.CLOSED else "opened"
    return JSONResponse(await announce(request, event, updated))


@answers_errors
async def appoint_moderator(request: Request) -> Response:
    host = require_host(request)
    room = await existing_room(request)
    data = await json_body(request)
    only_fields(data, {"user"})
    user = text_field(data, "user", max_len=USER_ID_MAX)
    assert user is not None  # a required field
    added = await node_of(request).backend.set_moderator(room.id, user, True)
    name = await announce_role(request, host, room, user, appointed=True)
    return JSONResponse(appointment(room, user, True, name), status_code=201 if added else 200)


@answers_errors
async def remove_moderator(request: Request) -> Response:
    host = require_host(request)
    room = await existing_room(request)
    user = request.path_params["user"]
    if not await node_of(request).backend.set_moderator(room.id, user, False):
        raise ApiError(404, "not_found", f"{user!r} is not a moderator of {room.id!r}")
    name = await announce_role(request, host, room, user, appointed=False)
    return JSONResponse(appointment(room, user, False, name))


def appointment(room: Room, user: str, moderator: bool, name: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"room": room.id, "user": user, "moderator": moderator}
    if name is not None:
        answer["name"] = name  # so the host's interface names the person, not the id typed
    return answer


async def announce_role(request: Request, host: Identity, room: Room, user: str, *, appointed: bool) -> str | None:
    """Tell the person at once, wherever they are connected: a `role` frame to their connections on
    every node, whose sessions then show the new role to the room (chat/hub.py `_direct`, a presence
    `update` from the node that holds each connection). The person's name, when the server knows it."""
    node = node_of(request)
    role = Role.MODERATOR if appointed else Role.DELEGATE
    by = {"id": host.id, "name": host.name}
    await node.backend.broadcast(direct([user], RoleChanged(room=room.id, role=role.value, by=by)))
    profiles = await node.backend.profiles([user])
    if profiles:
        return profiles[0].name
    return next((member.name for member in await node.backend.members(room.id) if member.id == user), None)


@answers_errors
async def moderation_log(request: Request) -> Response:
    identity = bearer_identity(request)
    room = await existing_room(request)
    node = node_of(request)
    if not can_moderate(await node.roles.of(identity, room.id)):
        raise ApiError(403, "forbidden", f"only hosts and moderators of {room.id!r} may read its moderation log")
    return JSONResponse({"room": room.id, "entries": await node.backend.moderation_log(room.id)})


@answers_errors
async def get_glossary(request: Request) -> Response:
    require_host(request)
    return JSONResponse({"terms": node_of(request).translator.glossary()})


@answers_errors
async def put_glossary(request: Request) -> Response:
    """Replace the terms never translated: kept in the backend (so it outlives a restart and wins over
    `[translation] glossary` from then on), and applied on every node at once by a `glossary` node event."""
    require_host(request)
    data = await json_body(request)
    only_fields(data, {"terms"})
    terms = data.get("terms")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise ApiError(400, "bad_request", "\"terms\" must be a list of strings, e.g. [\"Cargotec\"]", "terms")
    if len(terms) > MAX_TERMS or any(len(t) > MAX_TERM_CHARS or not t.strip() for t in terms):
        raise ApiError(400, "bad_request", f"give at most {MAX_TERMS} terms, each 1 to {MAX_TERM_CHARS} "
                       "characters", "terms")
    cleaned = clean_terms(terms)
    node = node_of(request)
    await node.backend.set_glossary(cleaned)  # stored first: a node starting now reads it or hears the event
    node.translator.set_glossary(cleaned)
    await node.backend.broadcast(Glossary(terms=cleaned))
    return JSONResponse({"terms": cleaned})


def host_routes() -> list[BaseRoute]:
    return [
        Route("/api/rooms", open_room, methods=["POST"]),
        Route("/api/rooms/{room}", change_room, methods=["PATCH"]),
        Route("/api/rooms/{room}/moderators", appoint_moderator, methods=["POST"]),
        Route("/api/rooms/{room}/moderators/{user}", remove_moderator, methods=["DELETE"]),
        Route("/api/rooms/{room}/moderation", moderation_log, methods=["GET"]),
        Route("/api/glossary", get_glossary, methods=["GET"]),
        Route("/api/glossary", put_glossary, methods=["PUT"]),
    ]
