"""The public HTTP API: sessions for delegates, the room list, languages, health and metrics."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import math
import secrets
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat.serving import PEER_EXTENSION
from rooms import Role
from rooms.conversations import BIO_MAX, ORGANIZATION_MAX, profile_complaint
from rooms.countries import COUNTRIES
from rooms.policy import listed
from rooms.sign_ins import access_code_refusal, invited_refusal
from rooms.text import FORM_NAME_MAX, name_fault
from translation import is_rtl, language_name
from web import answers
from web.errors import ApiError
from web.sign_in import redeem_code, signed_in
from web.typed import ApiRoute, LaxBody, Query, answer, get, node_of, post, reply

NAME_MAX = FORM_NAME_MAX
LANG_MAX = 12
Name = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=NAME_MAX,
        pattern=r"\S",
        description=(
            "display name: it must show (no control, format or "
            "invisible characters, nothing that renders blank), and a "
            "delegate's may not copy or look like a host's or moderator's name (409 name_reserved)"
        ),
    ),
]
Lang = Annotated[str, Meta(min_length=1, max_length=LANG_MAX, description="a code GET /api/languages lists")]


class SessionRequest(LaxBody):
    """A new person: a name, a reading language, the event's access code when it has one, a profile."""

    name: Name
    lang: Lang
    access_code: (
        Annotated[
            str,
            Meta(
                description="needed when the event has an access code", extra={"says": '"access_code" must be a string'}
            ),
        ]
        | None
    ) = None
    organization: (
        Annotated[
            str,
            Meta(
                max_length=ORGANIZATION_MAX,
                extra={"says": f'"organization" must be a string of at most {ORGANIZATION_MAX} characters'},
            ),
        ]
        | None
    ) = None
    country: (
        Annotated[
            str,
            Meta(
                description="ISO 3166-1 alpha-2",
                extra_json_schema={"enum": ["", *sorted(COUNTRIES)]},
                extra={"says": '"country" must be a string'},
            ),
        ]
        | None
    ) = None
    bio: (
        Annotated[
            str, Meta(max_length=BIO_MAX, extra={"says": f'"bio" must be a string of at most {BIO_MAX} characters'})
        ]
        | None
    ) = None


class CodeSignIn(LaxBody):
    """The person a personal sign-in code was made for, on one more device (web/sign_in.py)."""

    code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=40,
            description=(
                "a personal sign-in code (POST /api/me/signin-code, or the organisers'); single use; case, dashes and "
                "spaces do not matter"
            ),
            extra={"says": '"code" must be the sign-in code as shown (such as ABCDE-FGHJK)'},
        ),
    ]
    lang: (
        Annotated[str, Meta(max_length=LANG_MAX, description="this device's reading language; default: the person's")]
        | None
    ) = None


def display_name(given: str) -> str:
    """The form's name: the same rules as a token's `name` claim (rooms.text), at most NAME_MAX as sent."""
    name = given.strip()
    fault = name_fault(name, max_len=NAME_MAX)
    if fault:
        raise ApiError(400, "bad_request", f'"name" {fault}', "name")
    return name


async def create_session(request: Request, body: CodeSignIn | SessionRequest) -> Response:
    node = node_of(request)
    limits = node.config.limits
    # One bucket per client address, shared by every node (the send limits' store); the key is not
    # a user's send bucket unless a token's `sub` is literally "session@" and an address.
    address = client_address(request, node.config.server.trusted_proxies)
    wait = await node.stores.limits.take_token(f"session@{address}", limits.session_rate, limits.session_burst)
    if wait:  # (a zero rate waits forever: ask again in an hour)
        raise ApiError(
            429,
            "rate_limited",
            f"too many new sessions from this address: wait {wait:.1f} s",
            retry_after=math.ceil(wait) if math.isfinite(wait) else 3600,
        )
    if isinstance(body, CodeSignIn):  # a personal sign-in code: the same person on one more device
        return await redeem_code(request, node, body.code, body.lang)
    refusal = invited_refusal(node.config.auth.access_mode)
    if refusal:
        raise refusal
    name = display_name(body.name)
    lang = body.lang.strip()
    if lang not in node.translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists the choices")
    refusal = access_code_refusal(node.config.auth.access_code, body.access_code)
    if refusal:
        raise refusal
    profile = profile_fields(body)
    # a new person, with a sign-in (session) of this device that their tokens name (rooms/sign_ins.py)
    return await signed_in(
        request,
        node,
        user_id="u_" + secrets.token_hex(6),
        name=name,
        role=Role.DELEGATE,
        lang=lang,
        profile=profile,
        anonymous=True,
    )


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the peer's, or, when the peer is one of `[server] trusted_proxies`,
    the nearest address in X-Forwarded-For that is not a trusted proxy (each proxy appends the
    address it heard from, so the addresses left of the last untrusted one could be forged)."""
    # uvicorn may have put an X-Forwarded-For address in `client` already (it trusts 127.0.0.1's
    # by default, for the scheme): the limit starts from the connection's own address.
    peer = request.scope.get("extensions", {}).get(PEER_EXTENSION, {}).get("host") or (
        request.client.host if request.client else ""
    )
    proxies = trusted_networks(tuple(trusted_proxies))
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    hops = [hop.strip() for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            return hop if _is_address(hop) else peer
    return hops[0] if hops and _is_address(hops[0]) else peer


@functools.cache
def trusted_networks(trusted_proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies)


def _is_trusted(address: str, proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def profile_fields(body: SessionRequest) -> dict[str, str]:
    """The optional profile of POST /api/session: organization, country (ISO 3166-1 alpha-2), bio."""
    fields = {
        "organization": (body.organization or "").strip(),
        "country": (body.country or "").strip().upper(),
        "bio": (body.bio or "").strip(),
    }
    complaint = profile_complaint(organization=fields["organization"], country=fields["country"], bio=fields["bio"])
    if complaint:
        raise ApiError(400, "bad_request", str(complaint), complaint.field)
    return fields


class Access(msgspec.Struct):
    access: Annotated[str, Meta(extra_json_schema={"enum": ["open", "code", "invited"]})]


async def access_mode(request: Request) -> Response:
    """How this event lets people in, so the lobby asks for a name, an access code or a personal code."""
    return reply(Access(node_of(request).config.auth.access_mode))


class RoomsQuery(Query):
    lang: Annotated[
        str, Meta(description="titles and forum names also in this language (`tr`): a code GET /api/languages lists")
    ] = ""


class RoomList(msgspec.Struct):
    rooms: list[answers.Room]


async def list_rooms(request: Request, query: RoomsQuery) -> Response:
    """The lobby; with `?lang=`, each room carries `tr` {lang, title, forum} in that language."""
    node = node_of(request)
    lang = query.lang or None
    if lang is not None and lang not in node.translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists the choices", "lang")
    rooms = [
        await node.organiser.with_tr(await node.lobby.lobby_entry(room), lang)
        for room in await node.stores.rooms.list_rooms()
        if listed(room)
    ]
    return JSONResponse({"rooms": rooms})


class Language(msgspec.Struct):
    code: str
    name: Annotated[str, Meta(description="in itself")]
    rtl: bool
    translatable: Annotated[bool, Meta(description="an installed package reaches it")]


class Languages(msgspec.Struct):
    languages: list[Language]


async def list_languages(request: Request) -> Response:
    translator = node_of(request).translator
    translatable = set(translator.languages())
    return reply(
        Languages(
            [
                Language(code, language_name(code), is_rtl(code), code in translatable)
                for code in translator.reading_languages()
            ]
        )
    )


class Health(msgspec.Struct, omit_defaults=True):
    status: Annotated[str, Meta(extra_json_schema={"enum": ["ok", "degraded"]})]
    node: str
    backend: str
    connections: Annotated[int, Meta(ge=0)]
    reason: Annotated[str, Meta(description="while degraded: why (unreachable, cannot write)")] | UnsetType = UNSET


async def health(request: Request) -> Response:
    node = node_of(request)
    problem = node.backend.health_problem()
    return reply(
        Health(
            "degraded" if problem else "ok",
            node.id,
            node.config.backend.kind,
            node.hub.connections,
            reason=problem or UNSET,
        ),
        status_code=503 if problem else 200,
    )


async def metrics(request: Request) -> Response:
    """Prometheus' bearer-token convention: off (404) unless [server] metrics_token is set, then only with it."""
    node = node_of(request)
    expected = node.config.server.metrics_token
    if not expected:
        raise ApiError(
            404, "not_found", "metrics are off: set [server] metrics_token and scrape with that bearer token"
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <[server] metrics_token>")
    return Response(node.metrics.render(), media_type=node.metrics.content_type)


def api_routes() -> list[ApiRoute]:
    return [
        post(
            "/api/session",
            create_session,
            body=CodeSignIn | SessionRequest,
            operation="createSession",
            summary="A delegate token for a display name and reading language",
            description="A name (and the access code in `code` mode) signs a new person in; a personal sign-in "
            "code signs the person it was made for in on this device. Each sign-in is a session "
            '(GET /api/me/sessions). With `[auth] access = "invited"` only codes are taken.',
            ok={200: answer("the token and who it speaks for", answers.Session)},
            errors={
                401: "the event's access code is missing or wrong, or the sign-in code is not valid (used, "
                "expired or mistyped)",
                403: "invited_only: this event takes personal sign-in codes only",
                409: "name_reserved: the name copies or looks like a host's or moderator's",
                429: "too many sessions from this client address ([limits] session_rate); the Retry-After "
                "header says how many seconds to wait",
                501: "this server only verifies tokens minted by the event's website",
            },
        ),
        get(
            "/api/access",
            access_mode,
            operation="accessMode",
            summary="How this event lets people in ([auth] access)",
            ok={
                200: answer(
                    "open: a name; code: a name and the access code; invited: a personal sign-in code or a "
                    "website token only",
                    Access,
                )
            },
        ),
        get(
            "/api/rooms",
            list_rooms,
            query=RoomsQuery,
            operation="listRooms",
            summary="Every room with its member count",
            ok={200: answer("the rooms", RoomList)},
            errors={400: "an unknown lang"},
        ),
        get(
            "/api/languages",
            list_languages,
            operation="listLanguages",
            summary="The reading languages on offer",
            ok={200: answer("the languages", Languages)},
        ),
        get(
            "/healthz",
            health,
            operation="health",
            summary="Whether the node and its backend answer",
            ok={200: answer("healthy", Health), 503: answer("the backend is unreachable or cannot write", Health)},
        ),
        get(
            "/metrics",
            metrics,
            operation="metrics",
            summary="Prometheus metrics of this node (Authorization: Bearer [server] metrics_token; off while that "
            "is empty)",
            ok={200: answer("Prometheus text exposition format 0.0.4", {"type": "string"}, "text/plain")},
            errors={401: "no or a wrong bearer token", 404: "metrics are off ([server] metrics_token is empty)"},
        ),
    ]
