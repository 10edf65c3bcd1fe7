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
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from chat.tokens import Identity
from rooms import Refused
from web import answers
from web.errors import ApiError
from web.sign_in import code_payload, token_answer
from web.typed import ApiRoute, Auth, answer, delete, get, node_of, post, reply


async def renew(request: Request, identity: Identity) -> Response:
    node = node_of(request)
    if not identity.session:
        raise ApiError(
            403,
            "forbidden",
            "only tokens from POST /api/session are renewed here; get a new token where this one came from",
        )
    await node.sign_ins.renew(identity.id, identity.session)
    profile = {"organization": identity.organization, "country": identity.country, "bio": identity.bio}
    return await token_answer(
        node,
        user_id=identity.id,
        name=identity.name,
        role=identity.role,
        lang=identity.lang,
        profile=profile,
        session=identity.session,
        rooms=identity.rooms,
        anonymous=identity.anonymous,
    )


async def sign_out(request: Request, identity: Identity) -> Response:
    if identity.session:
        with contextlib.suppress(Refused):  # already ended: signing out again is not an error
            await node_of(request).sign_ins.end(identity.id, identity.session)
    return Response(status_code=204)


class SignIn(msgspec.Struct):
    id: str
    device: Annotated[str, Meta(description="from the User-Agent: 'Firefox on Android'")]
    created: Annotated[int, Meta(description="ms since the epoch")]
    last_seen: Annotated[int, Meta(description="ms since the epoch")]
    current: Annotated[bool, Meta(description="the sign-in of this request's token")]


class SignIns(msgspec.Struct):
    sessions: list[SignIn]


async def my_sessions(request: Request, identity: Identity) -> Response:
    sessions = await node_of(request).sign_ins.of(identity.id)
    return reply(
        SignIns(
            [
                SignIn(session.id, session.device, session.created, session.last_seen, session.id == identity.session)
                for session in sessions
            ]
        )
    )


class Ended(msgspec.Struct):
    ended: int


async def sign_out_everywhere(request: Request, identity: Identity) -> Response:
    ended = await node_of(request).sign_ins.end_all(identity.id)
    return reply(Ended(len(ended)))


async def end_my_session(request: Request, identity: Identity) -> Response:
    await node_of(request).sign_ins.end(identity.id, request.path_params["session"])
    return Response(status_code=204)


class SignInCode(msgspec.Struct):
    code: Annotated[str, Meta(description="single use; never logged")]
    url: Annotated[str, Meta(description="the app with #code=... (a fragment: never sent to a server)")]
    expires: Annotated[int, Meta(description="ms since the epoch")]
    qr: Annotated[str, Meta(description="the url as a QR code: a data:image/svg+xml URI")]


async def signin_code(request: Request, identity: Identity) -> Response:
    import segno  # here, not at start-up: only a personal sign-in link's QR code needs it

    made = await node_of(request).sign_ins.issue_code(identity.id, code_payload(identity))
    url = f"{str(request.base_url).rstrip('/')}/#code={made.code}"  # a fragment: never sent to a server
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2, dark="#000", light="#fff")
    return reply(SignInCode(made.code, url, made.expires, qr))


def me_routes() -> list[ApiRoute]:
    ended = "no Bearer token, a bad, forged or expired one, or its sign-in has ended"
    return [
        post(
            "/api/session/renew",
            renew,
            auth=Auth.BEARER,
            operation="renewSession",
            summary="A fresh token for this device's sign-in, before this one expires",
            ok={200: answer("the new token", answers.Session)},
            errors={
                403: "the token names no sign-in (a website's token): renew it where it came from",
                401: "no Bearer token, a bad or expired one, or its sign-in has ended",
            },
        ),
        delete(
            "/api/session",
            sign_out,
            auth=Auth.BEARER,
            operation="signOut",
            summary="Sign this device out (the token's sign-in ends on every node; its sockets close with 4401)",
            ok={204: answer("signed out (or already was)")},
            errors={401: ended},
        ),
        get(
            "/api/me/sessions",
            my_sessions,
            auth=Auth.LIVE,
            operation="mySessions",
            summary="The devices this person is signed in on",
            ok={200: answer("oldest first", SignIns)},
        ),
        delete(
            "/api/me/sessions",
            sign_out_everywhere,
            auth=Auth.LIVE,
            operation="signOutEverywhere",
            summary="Sign this person out on every device",
            ok={200: answer("how many sign-ins ended", Ended)},
        ),
        delete(
            "/api/me/sessions/{session}",
            end_my_session,
            auth=Auth.LIVE,
            path_params={"session": Annotated[str, Meta(min_length=1, max_length=80)]},
            operation="endMySession",
            summary="Sign one of this person's devices out",
            ok={204: answer("signed out")},
            errors={404: "no such sign-in of this person"},
        ),
        post(
            "/api/me/signin-code",
            signin_code,
            auth=Auth.LIVE,
            operation="makeSignInCode",
            summary="A personal sign-in code and QR code for another device (single use, short-lived, rate-limited)",
            ok={200: answer("the code, its link and QR code", SignInCode)},
            errors={429: "too many codes: use the last one, or wait retry_after seconds"},
        ),
    ]
