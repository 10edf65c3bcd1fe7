"""The people API (Bearer token): the directory, your profile, conversations, requests, blocks; and the
reports API of web/reports.py.

Conversations are rooms of kind `private`: these routes open, list and leave them; everything
said inside goes through `/ws` like in any room.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import Refused
from rooms.conversations import PAGE_MAX, TITLE_MAX, DirectoryQuery, decode_cursor, directory_page
from rooms.countries import is_country
from rooms.text import USER_ID_MAX
from web.api import answers_errors
from web.errors import ApiError, json_body, text_field
from web.hosts import only_fields
from web.reports import report_routes
from web.services import node_of, refusal_error
from web.typed import bearer_identity

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from chat.conversations import Conversations

QUERY_MAX = 80


def _conversations(request: Request) -> Conversations:
    return node_of(request).conversations


# the directory and your profile ---------------------------------------------------------------
@answers_errors
async def people(request: Request) -> Response:
    identity = bearer_identity(request)
    params = request.query_params
    unknown = set(params) - {"q", "lang", "country", "cursor", "limit"}
    if unknown:
        raise ApiError(400, "bad_request", f"unknown parameter {sorted(unknown)[0]!r}; "
                       "allowed: q, lang, country, cursor, limit")
    q = params.get("q", "").strip()
    if len(q) > QUERY_MAX:
        raise ApiError(400, "bad_request", f"\"q\" holds at most {QUERY_MAX} characters")
    lang = params.get("lang", "")
    if lang and lang not in node_of(request).translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists them")
    country = params.get("country", "").upper()
    if country and not is_country(country):
        raise ApiError(400, "bad_request", "\"country\" must be an ISO 3166-1 alpha-2 code such as FI or CN")
    after = None
    if params.get("cursor"):
        after = decode_cursor(params["cursor"])
        if after is None:
            raise ApiError(400, "bad_request", "\"cursor\" is not one this server gave out; start without it")
    try:
        limit = int(params.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= PAGE_MAX:
        raise ApiError(400, "bad_request", f"\"limit\" must be 1..{PAGE_MAX}")
    store = _conversations(request).store
    query = DirectoryQuery(viewer=identity.id, q=q, lang=lang, country=country, after=after)
    page, cursor = directory_page(await store.directory(query, limit + 1), limit)  # one more: is there a next page?
    online = await store.online([p.id for p in page])
    return JSONResponse({"people": [p.public(p.id in online) for p in page], "next": cursor})


@answers_errors
async def me(request: Request) -> Response:
    identity = bearer_identity(request)
    profile = await _conversations(request).profile(identity.id)
    if profile is None:
        raise ApiError(404, "not_found", "you have no profile yet: connect to /ws once")
    return JSONResponse({**profile.public(), "hidden": profile.hidden})


@answers_errors
async def change_me(request: Request) -> Response:
    identity = bearer_identity(request)
    data = await json_body(request)
    only_fields(data, {"hidden"})
    if not isinstance(data.get("hidden"), bool):
        raise ApiError(400, "bad_request", "\"hidden\" must be true (not listed in the directory) or false")
    conversations = _conversations(request)
    if await conversations.profile(identity.id) is None:
        try:
            await conversations.seen(identity, identity.lang, online=False)
        except Refused as exc:  # name_reserved: the token's name looks like a host's or moderator's
            raise refusal_error(exc) from None
    await conversations.store.set_hidden(identity.id, data["hidden"])
    return await me(request)


# conversations ----------------------------------------------------------------------------------
@answers_errors
async def start_conversation(request: Request) -> Response:
    identity = bearer_identity(request)
    data = await json_body(request)
    only_fields(data, {"with", "title"})
    others = data.get("with")
    if not isinstance(others, list) or not others or not all(isinstance(u, str) and 0 < len(u) <= USER_ID_MAX
                                                             for u in others):
        raise ApiError(400, "bad_request", "\"with\" must be a list of user ids (GET /api/people lists them)")
    title = text_field(data, "title", required=False, max_len=TITLE_MAX)
    try:
        summary, created, invited = await _conversations(request).start_conversation(identity, others, title)
    except Refused as exc:
        raise refusal_error(exc) from None
    answer = {"room": summary, "invited": invited} if invited else {"room": summary}
    return JSONResponse(answer, status_code=201 if created else 200)


@answers_errors
async def list_conversations(request: Request) -> Response:
    identity = bearer_identity(request)
    return JSONResponse({"conversations": await _conversations(request).list_for(identity)})


@answers_errors
async def leave_conversation(request: Request) -> Response:
    identity = bearer_identity(request)
    try:
        await _conversations(request).leave(identity, request.path_params["room"])
    except Refused as exc:
        raise refusal_error(exc) from None
    return JSONResponse({"room": request.path_params["room"], "left": True})


@answers_errors
async def list_requests(request: Request) -> Response:
    identity = bearer_identity(request)
    return JSONResponse(await _conversations(request).requests_for(identity))


# blocks --------------------------------------------------------------------------------
@answers_errors
async def list_blocks(request: Request) -> Response:
    identity = bearer_identity(request)
    return JSONResponse({"users": await _conversations(request).blocked_people(identity)})


@answers_errors
async def block(request: Request) -> Response:
    identity = bearer_identity(request)
    data = await json_body(request)
    only_fields(data, {"user"})
    user = text_field(data, "user", max_len=USER_ID_MAX)
    assert user is not None
    try:
        changed = await _conversations(request).block(identity, user, True)
    except Refused as exc:
        raise refusal_error(exc) from None
    return JSONResponse({"user": user, "blocked": True}, status_code=201 if changed else 200)


@answers_errors
async def unblock(request: Request) -> Response:
    identity = bearer_identity(request)
    user = request.path_params["user"]
    if not await _conversations(request).block(identity, user, False):
        raise ApiError(404, "not_found", f"you do not block {user!r}")
    return JSONResponse({"user": user, "blocked": False})


def people_routes() -> list[BaseRoute]:
    return [
        Route("/api/people", people, methods=["GET"]),
        Route("/api/me", me, methods=["GET"]),
        Route("/api/me", change_me, methods=["PATCH"]),
        Route("/api/conversations", start_conversation, methods=["POST"]),
        Route("/api/conversations", list_conversations, methods=["GET"]),
        Route("/api/conversations/{room}", leave_conversation, methods=["DELETE"]),
        Route("/api/requests", list_requests, methods=["GET"]),
        Route("/api/blocks", list_blocks, methods=["GET"]),
        Route("/api/blocks", block, methods=["POST"]),
        Route("/api/blocks/{user}", unblock, methods=["DELETE"]),
        *report_routes(),
    ]
