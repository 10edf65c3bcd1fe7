"""The public HTTP API: sessions for delegates, the room list, languages, health and metrics."""
from __future__ import annotations

import functools
import hmac
import ipaddress
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chat.serving import PEER_EXTENSION
from rooms import Role
from rooms.conversations import profile_complaint
from rooms.text import FORM_NAME_MAX, name_fault
from translation import is_rtl, language_name
from web.errors import ApiError, json_body, text_field
from web.services import node_of
from web.sign_in import redeem_code, signed_in

Handler = Callable[[Request], Awaitable[Response]]
NAME_MAX = FORM_NAME_MAX


def answers_errors(handler: Handler) -> Handler:
    """Turn an ApiError raised by a handler into its JSON response."""
    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
    return wrapped


def display_name(data: dict[str, Any]) -> str:
    """The form's name: the same rules as a token's `name` claim (rooms.text), at most NAME_MAX."""
    name = text_field(data, "name", max_len=NAME_MAX)
    assert name is not None
    if len(data["name"]) > NAME_MAX:  # the limit holds for the name as sent, surrounding spaces included
        raise ApiError(400, "bad_request", f"\"name\" holds at most {NAME_MAX} characters", "name")
    fault = name_fault(name, max_len=NAME_MAX)
    if fault:
        raise ApiError(400, "bad_request", f"\"name\" {fault}", "name")
    return name


@answers_errors
async def create_session(request: Request) -> Response:
    node = node_of(request)
    limits = node.config.limits
    # One bucket per client address, shared by every node (the send limits' store); the key is not
    # a user's send bucket unless a token's `sub` is literally "session@" and an address.
    address = client_address(request, node.config.server.trusted_proxies)
    wait = await node.backend.take_token(f"session@{address}", limits.session_rate, limits.session_burst)
    if wait:  # (a zero rate waits forever: ask again in an hour)
        raise ApiError(429, "rate_limited", f"too many new sessions from this address: wait {wait:.1f} s",
                       retry_after=math.ceil(wait) if math.isfinite(wait) else 3600)
    data = await json_body(request)
    if "code" in data:  # a personal sign-in code: the same person on one more device (web/sign_in.py)
        return await redeem_code(request, node, data["code"], data.get("lang"))
    if node.config.auth.access_mode == "invited":
        raise ApiError(403, "invited_only", "this event is by invitation only: sign in with the personal sign-in "
                       "code or link the organisers sent you")
    name = display_name(data)
    lang = text_field(data, "lang", max_len=12)
    if lang not in node.translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists the choices")
    given = data.get("access_code")
    if given is not None and not isinstance(given, str):
        raise ApiError(400, "bad_request", "\"access_code\" must be a string")
    expected = node.config.auth.access_code
    if expected:
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(401, "unauthorized", "this event needs an access code: ask the organisers for it")
    profile = profile_fields(data)
    assert lang is not None
    # a new person, with a sign-in (session) of this device that their tokens name (rooms/sign_ins.py)
    return await signed_in(request, node, user_id="u_" + secrets.token_hex(6), name=name, role=Role.DELEGATE,
                           lang=lang, profile=profile, anonymous=True)


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the peer's, or, when the peer is one of `[server] trusted_proxies`,
    the nearest address in X-Forwarded-For that is not a trusted proxy (each proxy appends the
    address it heard from, so the addresses left of the last untrusted one could be forged)."""
    # uvicorn may have put an X-Forwarded-For address in `client` already (it trusts 127.0.0.1's
    # by default, for the scheme): the limit starts from the connection's own address.
    peer = request.scope.get("extensions", {}).get(PEER_EXTENSION, {}).get("host") \
        or (request.client.host if request.client else "")
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


def profile_fields(data: dict[str, Any]) -> dict[str, str]:
    """The optional profile of POST /api/session: organization, country (ISO 3166-1 alpha-2), bio."""
    fields: dict[str, object] = {}
    for key in ("organization", "country", "bio"):
        value = data.get(key) or ""
        fields[key] = value.strip() if isinstance(value, str) else value
    if isinstance(fields["country"], str):
        fields["country"] = fields["country"].upper()
    complaint = profile_complaint(organization=fields["organization"], country=fields["country"], bio=fields["bio"])
    if complaint:
        raise ApiError(400, "bad_request", str(complaint), complaint.field)
    return {key: str(value) for key, value in fields.items()}


async def access_mode(request: Request) -> Response:
    """How this event lets people in, so the lobby asks for a name, an access code or a personal code."""
    return JSONResponse({"access": node_of(request).config.auth.access_mode})


@answers_errors
async def list_rooms(request: Request) -> Response:
    """The lobby; with `?lang=`, each room carries `tr` {lang, title, forum} in that language."""
    node = node_of(request)
    lang = request.query_params.get("lang") or None
    if lang is not None and lang not in node.translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists the choices", "lang")
    rooms = [await node.organiser.with_tr(await node.lobby.summary(room), lang)
             for room in await node.backend.list_rooms() if not room.private]
    return JSONResponse({"rooms": rooms})


async def list_languages(request: Request) -> Response:
    translator = node_of(request).translator
    translatable = set(translator.languages())
    return JSONResponse({"languages": [
        {"code": code, "name": language_name(code), "rtl": is_rtl(code), "translatable": code in translatable}
        for code in translator.reading_languages()
    ]})


async def health(request: Request) -> Response:
    node = node_of(request)
    problem = node.backend.health_problem()
    body: dict[str, Any] = {"status": "degraded" if problem else "ok", "node": node.id,
                            "backend": node.config.backend.kind, "connections": node.hub.connections}
    if problem:
        body["reason"] = problem
    return JSONResponse(body, status_code=503 if problem else 200)


@answers_errors
async def metrics(request: Request) -> Response:
    """Prometheus' bearer-token convention: off (404) unless [server] metrics_token is set, then only with it."""
    node = node_of(request)
    expected = node.config.server.metrics_token
    if not expected:
        raise ApiError(404, "not_found", "metrics are off: set [server] metrics_token and scrape with that "
                       "bearer token")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <[server] metrics_token>")
    return Response(node.metrics.render(), media_type=node.metrics.content_type)


def api_routes() -> list[BaseRoute]:
    return [
        Route("/api/session", create_session, methods=["POST"]),
        Route("/api/access", access_mode, methods=["GET"]),
        Route("/api/rooms", list_rooms, methods=["GET"]),
        Route("/api/languages", list_languages, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
