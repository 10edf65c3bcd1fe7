"""A person's own sign-ins (Bearer token): renew the token, sign out this device or everywhere,
list the devices, and make a personal sign-in code (with its QR code) for another device.

    POST   /api/session/renew        a fresh token for this sign-in, before the old one expires
    DELETE /api/session              sign this device out
    GET    /api/me/sessions          the person's signed-in devices
    DELETE /api/me/sessions          sign out everywhere
    DELETE /api/me/sessions/{id}     sign one device out
    POST   /api/me/signin-code       {code, url, expires, qr}: signs the same person in elsewhere, once

Codes travel only in POST bodies and in the URL's fragment (`/#code=...`), which browsers never
send: they never reach an access log.
"""
from __future__ import annotations

import contextlib

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chat.tokens import Identity
from rooms import Refused
from web.api import answers_errors
from web.errors import ApiError
from web.services import node_of, refusal_error
from web.sign_in import code_payload, token_answer
from web.typed import bearer_identity


async def live_identity(request: Request) -> Identity:
    """The Bearer token's identity; ApiError 401 when its sign-in has ended."""
    identity = bearer_identity(request)
    if identity.session and not await node_of(request).sign_ins.live(identity.session, identity.id):
        raise ApiError(401, "unauthorized", "this sign-in has ended (signed out); sign in again")
    return identity


@answers_errors
async def renew(request: Request) -> Response:
    node = node_of(request)
    identity = bearer_identity(request)
    if not identity.session:
        raise ApiError(403, "forbidden", "only tokens from POST /api/session are renewed here; get a new token "
                       "where this one came from")
    try:
        await node.sign_ins.renew(identity.id, identity.session)
    except Refused as refusal:
        raise refusal_error(refusal) from None
    profile = {"organization": identity.organization, "country": identity.country, "bio": identity.bio}
    return await token_answer(node, user_id=identity.id, name=identity.name, role=identity.role, lang=identity.lang,
                              profile=profile, session=identity.session, rooms=identity.rooms,
                              anonymous=identity.anonymous)


@answers_errors
async def sign_out(request: Request) -> Response:
    identity = bearer_identity(request)
    if identity.session:
        with contextlib.suppress(Refused):  # already ended: signing out again is not an error
            await node_of(request).sign_ins.end(identity.id, identity.session)
    return Response(status_code=204)


@answers_errors
async def my_sessions(request: Request) -> Response:
    identity = await live_identity(request)
    sessions = await node_of(request).sign_ins.of(identity.id)
    return JSONResponse({"sessions": [
        {"id": session.id, "device": session.device, "created": session.created, "last_seen": session.last_seen,
         "current": session.id == identity.session} for session in sessions]})


@answers_errors
async def sign_out_everywhere(request: Request) -> Response:
    identity = await live_identity(request)
    ended = await node_of(request).sign_ins.end_all(identity.id)
    return JSONResponse({"ended": len(ended)})


@answers_errors
async def end_my_session(request: Request) -> Response:
    identity = await live_identity(request)
    try:
        await node_of(request).sign_ins.end(identity.id, request.path_params["session"])
    except Refused as refusal:
        raise refusal_error(refusal) from None
    return Response(status_code=204)


@answers_errors
async def signin_code(request: Request) -> Response:
    node = node_of(request)
    identity = await live_identity(request)
    try:
        made = await node.sign_ins.issue_code(identity.id, code_payload(identity))
    except Refused as refusal:
        raise refusal_error(refusal) from None
    url = f"{str(request.base_url).rstrip('/')}/#code={made.code}"  # a fragment: never sent to a server
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2, dark="#000", light="#fff")
    return JSONResponse({"code": made.code, "url": url, "expires": made.expires, "qr": qr})


def me_routes() -> list[BaseRoute]:
    return [
        Route("/api/session/renew", renew, methods=["POST"]),
        Route("/api/session", sign_out, methods=["DELETE"]),
        Route("/api/me/sessions", my_sessions, methods=["GET"]),
        Route("/api/me/sessions", sign_out_everywhere, methods=["DELETE"]),
        Route("/api/me/sessions/{session}", end_my_session, methods=["DELETE"]),
        Route("/api/me/signin-code", signin_code, methods=["POST"]),
    ]
