"""The host API (Bearer token): open and change rooms, appoint moderators, read the moderation log.

Every change is announced to every connection on every node as a `room` frame, so lobbies
update live; closing a room ends every membership in it (`left` reason `closed`).
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import Role, Room, RoomState, is_room_id
from rooms.policy import can_moderate, room_role
from web.api import answers_errors
from web.errors import ApiError, json_body, text_field

TITLE_MAX = 80
SLOW_MODE_MAX = 3600


def bearer_identity(request: Request) -> Any:
    """The identity of the request's Bearer token, or ApiError 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "send the host token as 'Authorization: Bearer <token>'")
    try:
        return request.app.state.node.signer.verify(token.strip())
    except Exception as exc:  # TokenError: its message says what is wrong
        raise ApiError(401, "unauthorized", str(exc)) from None


def require_host(request: Request) -> Any:
    identity = bearer_identity(request)
    if identity.role is not Role.HOST:
        raise ApiError(403, "forbidden", "only hosts may do this; ask a host for a host token")
    return identity


def only_fields(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ApiError(400, "bad_request", f"unknown field {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(allowed))}")


def room_state(data: dict[str, Any]) -> RoomState | None:
    if "state" not in data:
        return None
    try:
        return RoomState(data["state"])
    except (ValueError, TypeError):
        raise ApiError(400, "bad_request", "\"state\" must be open, read_only or closed") from None


def slow_mode(data: dict[str, Any]) -> int | None:
    value = data.get("slow_mode")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SLOW_MODE_MAX:
        raise ApiError(400, "bad_request", f"\"slow_mode\" must be 0..{SLOW_MODE_MAX} seconds (0 = off)")
    return value


async def existing_room(request: Request) -> Room:
    room = await request.app.state.node.backend.get_room(request.path_params["room"])
    if room is None:
        raise ApiError(404, "not_found", f"there is no room {request.path_params['room']!r}")
    return room


async def announce(request: Request, event: str, room: Room) -> dict[str, Any]:
    node = request.app.state.node
    summary = await node.lobby.summary(room)
    await node.backend.broadcast({"type": "room", "event": event, "room": summary})
    return summary


@answers_errors
async def open_room(request: Request) -> Response:
    require_host(request)
    data = await json_body(request)
    only_fields(data, {"id", "title", "forum", "state", "slow_mode"})
    room_id = data.get("id")
    if not is_room_id(room_id):
        raise ApiError(400, "bad_request", "\"id\" must be a lowercase slug: a-z, 0-9 and inner hyphens, 1-40 chars")
    title = text_field(data, "title", max_len=TITLE_MAX)
    forum = text_field(data, "forum", required=False, max_len=TITLE_MAX) or ""
    state = room_state(data) or RoomState.OPEN
    backend = request.app.state.node.backend
    if await backend.get_room(room_id) is not None:
        raise ApiError(409, "conflict", f"room {room_id!r} exists already; PATCH it to change it")
    room = Room(id=room_id, title=title or room_id, forum=forum, state=state, slow_mode=slow_mode(data) or 0)
    await backend.save_room(room)
    return JSONResponse(await announce(request, "opened", room), status_code=201)


@answers_errors
async def change_room(request: Request) -> Response:
    require_host(request)
    room = await existing_room(request)
    data = await json_body(request)
    only_fields(data, {"title", "forum", "state", "slow_mode"})
    changes: dict[str, Any] = {}
    if "title" in data:
        changes["title"] = text_field(data, "title", max_len=TITLE_MAX)
    if "forum" in data:
        changes["forum"] = text_field(data, "forum", max_len=TITLE_MAX)
    if (state := room_state(data)) is not None:
        changes["state"] = state
    if (seconds := slow_mode(data)) is not None:
        changes["slow_mode"] = seconds
    updated = room.updated(**changes)
    await request.app.state.node.backend.save_room(updated)
    event = "updated"
    if updated.state is not room.state and RoomState.CLOSED in (updated.state, room.state):
        event = "closed" if updated.state is RoomState.CLOSED else "opened"
    return JSONResponse(await announce(request, event, updated))


@answers_errors
async def appoint_moderator(request: Request) -> Response:
    require_host(request)
    room = await existing_room(request)
    data = await json_body(request)
    only_fields(data, {"user"})
    user = text_field(data, "user", max_len=64)
    added = await request.app.state.node.backend.set_moderator(room.id, user, True)
    return JSONResponse({"room": room.id, "user": user, "moderator": True}, status_code=201 if added else 200)


@answers_errors
async def remove_moderator(request: Request) -> Response:
    require_host(request)
    room = await existing_room(request)
    user = request.path_params["user"]
    if not await request.app.state.node.backend.set_moderator(room.id, user, False):
        raise ApiError(404, "not_found", f"{user!r} is not a moderator of {room.id!r}")
    return JSONResponse({"room": room.id, "user": user, "moderator": False})


@answers_errors
async def moderation_log(request: Request) -> Response:
    identity = bearer_identity(request)
    room = await existing_room(request)
    backend = request.app.state.node.backend
    appointed = await backend.moderators(room.id)
    if not can_moderate(room_role(identity.role, identity.rooms, room.id, appointed, identity.id)):
        raise ApiError(403, "forbidden", f"only hosts and moderators of {room.id!r} may read its moderation log")
    return JSONResponse({"room": room.id, "entries": await backend.moderation_log(room.id)})


def host_routes() -> list[BaseRoute]:
    return [
        Route("/api/rooms", open_room, methods=["POST"]),
        Route("/api/rooms/{room}", change_room, methods=["PATCH"]),
        Route("/api/rooms/{room}/moderators", appoint_moderator, methods=["POST"]),
        Route("/api/rooms/{room}/moderators/{user}", remove_moderator, methods=["DELETE"]),
        Route("/api/rooms/{room}/moderation", moderation_log, methods=["GET"]),
    ]
