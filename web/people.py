"""The people API (Bearer token): the directory, your profile, conversations, requests, blocks; and the
reports API of web/reports.py.

Conversations are rooms of kind `private`: these routes open, list and leave them; everything
said inside goes through `/ws` like in any room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from chat.tokens import Identity
from rooms import RoomState
from rooms.conversations import (
    CURSOR_PATTERN,
    MAX_MEMBERS,
    PAGE_MAX,
    TITLE_MAX,
    DirectoryQuery,
    decode_cursor,
    directory_page,
)
from rooms.countries import COUNTRIES, is_country
from rooms.text import USER_ID_MAX
from web import answers
from web.errors import ApiError
from web.reports import report_routes
from web.typed import Auth, Body, StrictQuery, answer, delete, get, node_of, patch, post, reply

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from chat.conversations import Conversations as ConversationService

QUERY_MAX = 80
UserId = Annotated[str, Meta(min_length=1, max_length=USER_ID_MAX)]
CURSOR_SAYS = '"cursor" is not one this server gave out; start without it'


def _conversations(request: Request) -> ConversationService:
    return node_of(request).conversations


# the directory and your profile ---------------------------------------------------------------
class PeopleQuery(StrictQuery):
    q: Annotated[str, Meta(max_length=QUERY_MAX, extra={"says": f'"q" holds at most {QUERY_MAX} characters'})] = ""
    lang: Annotated[str, Meta(description="a code GET /api/languages lists")] = ""
    country: Annotated[str, Meta(extra_json_schema={"enum": ["", *sorted(COUNTRIES)]})] = ""
    cursor: Annotated[
        str,
        Meta(pattern=f"^$|{CURSOR_PATTERN}", description="the `next` of the page before", extra={"says": CURSOR_SAYS}),
    ] = ""
    limit: Annotated[int, Meta(ge=1, le=PAGE_MAX, extra={"says": f'"limit" must be 1..{PAGE_MAX}'})] = 20


class Profile(msgspec.Struct, omit_defaults=True):
    id: str
    name: str
    lang: str
    organization: str | UnsetType = UNSET
    country: Annotated[str, Meta(pattern="^[A-Z]{2}$")] | UnsetType = UNSET
    bio: str | UnsetType = UNSET
    online: bool | UnsetType = UNSET


class People(msgspec.Struct):
    people: list[Profile]
    next: Annotated[str | None, Meta(description="the cursor of the next page")]


async def people(request: Request, identity: Identity, query: PeopleQuery) -> Response:
    q = query.q.strip()
    if query.lang and query.lang not in node_of(request).translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {query.lang!r}; GET /api/languages lists them", "lang")
    country = query.country.upper()
    if country and not is_country(country):
        raise ApiError(400, "bad_request", '"country" must be an ISO 3166-1 alpha-2 code such as FI or CN', "country")
    after = None
    if query.cursor:
        after = decode_cursor(query.cursor)
        if after is None:
            raise ApiError(400, "bad_request", CURSOR_SAYS, "cursor")
    store = _conversations(request).store
    wanted = DirectoryQuery(viewer=identity.id, q=q, lang=query.lang, country=country, after=after)
    # one more than the page: is there a next page?
    page, cursor = directory_page(await store.directory(wanted, query.limit + 1), query.limit)
    online = await store.online([p.id for p in page])
    return JSONResponse({"people": [p.public(p.id in online) for p in page], "next": cursor})


class Me(Profile, omit_defaults=True, kw_only=True):
    hidden: bool


async def me(request: Request, identity: Identity) -> Response:
    profile = await _conversations(request).profile(identity.id)
    if profile is None:
        raise ApiError(404, "not_found", "you have no profile yet: connect to /ws once")
    return JSONResponse({**profile.public(), "hidden": profile.hidden})


class MeChange(Body):
    hidden: Annotated[bool, Meta(extra={"says": '"hidden" must be true (not listed in the directory) or false'})]


async def change_me(request: Request, identity: Identity, body: MeChange) -> Response:
    conversations = _conversations(request)
    if await conversations.profile(identity.id) is None:
        # refused (name_reserved) when the token's name looks like a host's or moderator's
        await conversations.seen(identity, identity.lang, online=False)
    await conversations.store.set_hidden(identity.id, body.hidden)
    return await me(request, identity)


# conversations ----------------------------------------------------------------------------------
class NewConversation(Body):
    # the core counts the people (its message says how many may be named): the schema only describes it
    with_: Annotated[
        list[UserId],
        Meta(
            min_length=1,
            extra_json_schema={"maxItems": MAX_MEMBERS - 1, "uniqueItems": True},
            extra={"says": '"with" must be a list of user ids (GET /api/people lists them)'},
        ),
    ] = msgspec.field(name="with")
    title: Annotated[str, Meta(min_length=1, max_length=TITLE_MAX, pattern=r"\S")] | None = None


class Conversation(msgspec.Struct, omit_defaults=True):
    id: str
    kind: str
    title: str
    state: RoomState
    members: list[answers.Person]
    forum: str | UnsetType = UNSET
    slow_mode: int | UnsetType = UNSET
    unread: Annotated[int, Meta(ge=0)] | UnsetType = UNSET


class ConversationAnswer(msgspec.Struct, omit_defaults=True):
    room: Conversation
    invited: (
        Annotated[
            list[str],
            Meta(
                description=(
                    "a group under policy `request`: whom an invitation "
                    "(a `request` frame with `group`) went to; each is a "
                    "member once they accept it"
                )
            ),
        ]
        | UnsetType
    ) = UNSET


async def start_conversation(request: Request, identity: Identity, body: NewConversation) -> Response:
    title = body.title.strip() if body.title is not None else None
    summary, created, invited = await _conversations(request).start_conversation(identity, body.with_, title)
    answer = {"room": summary, "invited": invited} if invited else {"room": summary}
    return JSONResponse(answer, status_code=201 if created else 200)


class Conversations(msgspec.Struct):
    conversations: list[Conversation]


async def list_conversations(request: Request, identity: Identity) -> Response:
    return JSONResponse({"conversations": await _conversations(request).list_for(identity)})


class Left(msgspec.Struct):
    room: str
    left: bool


async def leave_conversation(request: Request, identity: Identity) -> Response:
    await _conversations(request).leave(identity, request.path_params["room"])
    return reply(Left(request.path_params["room"], True))


class Requests(msgspec.Struct):
    incoming: list[dict[str, Any]]
    outgoing: list[dict[str, Any]]


async def list_requests(request: Request, identity: Identity) -> Response:
    return JSONResponse(await _conversations(request).requests_for(identity))


# blocks --------------------------------------------------------------------------------
class BlockedPerson(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the person chose to show: only id and name when they hid from the directory (or were never
    seen); never whether they are online."""

    id: str
    name: str
    lang: str | UnsetType = UNSET
    organization: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    bio: str | UnsetType = UNSET


class Blocks(msgspec.Struct):
    users: list[BlockedPerson]


async def list_blocks(request: Request, identity: Identity) -> Response:
    return JSONResponse({"users": await _conversations(request).blocked_people(identity)})


class BlockRequest(Body):
    user: Annotated[str, Meta(min_length=1, max_length=USER_ID_MAX, pattern=r"\S")]


class Block(msgspec.Struct):
    user: str
    blocked: bool


async def block(request: Request, identity: Identity, body: BlockRequest) -> Response:
    user = body.user.strip()
    changed = await _conversations(request).block(identity, user, True)
    return reply(Block(user, True), status_code=201 if changed else 200)


async def unblock(request: Request, identity: Identity) -> Response:
    user = request.path_params["user"]
    if not await _conversations(request).block(identity, user, False):
        raise ApiError(404, "not_found", f"you do not block {user!r}")
    return reply(Block(user, False))


def people_routes() -> list[BaseRoute]:
    user = {"user": UserId}
    bearer = Auth.BEARER
    return [
        get(
            "/api/people",
            people,
            auth=bearer,
            query=PeopleQuery,
            operation="people",
            summary="The directory: people by name, filtered by reading language and country",
            ok={200: answer("a page of people", People)},
            errors={400: "an unknown parameter, or a bad q, lang, country, cursor or limit"},
        ),
        get(
            "/api/me",
            me,
            auth=bearer,
            operation="me",
            summary="Your profile",
            ok={200: answer("your profile", Me)},
            errors={404: "no profile yet: connect to /ws once"},
        ),
        patch(
            "/api/me",
            change_me,
            auth=bearer,
            body=MeChange,
            operation="changeMe",
            summary="Hide yourself from the directory, or show yourself",
            ok={200: answer("your profile", Me)},
            errors={409: "name_reserved: your token's name looks like a host's or moderator's"},
        ),
        post(
            "/api/conversations",
            start_conversation,
            auth=bearer,
            body=NewConversation,
            operation="startConversation",
            summary="Open a private conversation with 1-7 others",
            ok={
                201: answer("opened", ConversationAnswer),
                200: answer("the existing 1:1 of these two", ConversationAnswer),
            },
            errors={
                403: "the event's policy, a block (also between two of the people named), or no accepted "
                "contact request",
                404: "nobody has one of these ids",
                429: "too many new conversations, or (a group under policy `request`) an invitation refused "
                "like a request: cooldown, your waiting requests, or `inbox_full`; wait",
            },
        ),
        get(
            "/api/conversations",
            list_conversations,
            auth=bearer,
            operation="listConversations",
            summary="Your conversations with unread counts",
            ok={200: answer("yours", Conversations)},
        ),
        delete(
            "/api/conversations/{room}",
            leave_conversation,
            auth=bearer,
            path_params={"room": str},
            operation="leaveConversation",
            summary="Leave a conversation for good",
            ok={200: answer("left", Left)},
            errors={404: "not a conversation of yours"},
        ),
        get(
            "/api/requests",
            list_requests,
            auth=bearer,
            operation="listRequests",
            summary="Contact requests waiting for an answer",
            ok={200: answer("incoming and outgoing", Requests)},
        ),
        get(
            "/api/blocks",
            list_blocks,
            auth=bearer,
            operation="listBlocks",
            summary="Whom you block",
            ok={200: answer("your blocks", Blocks)},
        ),
        post(
            "/api/blocks",
            block,
            auth=bearer,
            body=BlockRequest,
            operation="block",
            summary="Block someone",
            ok={201: answer("blocked", Block), 200: answer("already blocked", Block)},
        ),
        delete(
            "/api/blocks/{user}",
            unblock,
            auth=bearer,
            path_params=user,
            operation="unblock",
            summary="Unblock someone",
            ok={200: answer("unblocked", Block)},
            errors={404: "not blocked"},
        ),
        *report_routes(),
    ]
