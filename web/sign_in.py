"""Signing a person in: a session record per device (rooms/sign_ins.py) and a token carrying its id.

Shared by POST /api/session (web/api.py: a name, or a personal sign-in code) and the renewal and
account routes (web/me.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from chat.tokens import Identity
from rooms import Refused, Role
from rooms.sign_ins import UNKNOWN_DEVICE
from web.errors import STATUS, ApiError, refusal_error

if TYPE_CHECKING:  # the type only, as everywhere in web (web/__init__.py)
    from chat.node import Node

DEVICE_MAX = 60
# (pattern in the User-Agent, label), the first match wins: Edge and Opera also say Chrome, Chrome says Safari
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """ "Firefox on Android", from the User-Agent; "Unknown device" when nothing is recognised."""
    browser = next((label for mark, label in BROWSERS if mark in user_agent), "")
    system = next((label for mark, label in SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (re.sub(r"[^\x20-\x7e]", "", user_agent)[:DEVICE_MAX] or UNKNOWN_DEVICE)


async def signed_in(
    request: Request,
    node: Node,
    *,
    user_id: str,
    name: str,
    role: Role,
    lang: str,
    profile: dict[str, str],
    rooms: tuple[str, ...] = (),
    anonymous: bool = False,
) -> JSONResponse:
    """A new sign-in of this person on this device: its session and a token naming it."""
    if not node.signer.can_mint:
        raise ApiError(
            501,
            "not_implemented",
            f"this server verifies {node.signer.algorithm} tokens minted by the "
            "event's website and cannot mint its own; sign in on the website, or set [auth] private_key",
        )
    session = await node.sign_ins.start(user_id, device_label(request.headers.get("user-agent", "")))
    return await token_answer(
        node,
        user_id=user_id,
        name=name,
        role=role,
        lang=lang,
        profile=profile,
        rooms=rooms,
        session=session.id,
        anonymous=anonymous,
    )


async def token_answer(
    node: Node,
    *,
    user_id: str,
    name: str,
    role: Role,
    lang: str,
    profile: dict[str, str],
    session: str,
    rooms: tuple[str, ...] = (),
    anonymous: bool = False,
) -> JSONResponse:
    ttl = node.config.auth.token_ttl
    token, identity = node.signer.issue_with_identity(
        name=name,
        role=role,
        lang=lang,
        ttl=ttl,
        user_id=user_id,
        rooms=rooms,
        organization=profile.get("organization", ""),
        country=profile.get("country", ""),
        bio=profile.get("bio", ""),
        session=session,
        anonymous=anonymous,
    )
    try:  # listed in the directory from now on; refused when the name looks like a host's or moderator's
        await node.conversations.seen(identity, lang, online=False)
    except Refused as exc:
        raise ApiError(STATUS.get(exc.code, 400), exc.code, f'"name" {exc.message}', "name") from None
    await node.roles.authenticated(identity)  # the event knows this user from now on (rooms/roles.py)
    return JSONResponse(
        {
            "token": token,
            "user": identity.public(),
            "lang": lang,
            "expires_in": ttl,
            "profile": {key: value for key, value in profile.items() if value},
            "session": session,
        }
    )


def code_payload(identity: Identity) -> dict[str, Any]:
    """What a personal sign-in code signs in as: the same person, with the same profile."""
    return {
        "user": identity.id,
        "name": identity.name,
        "role": identity.role.value,
        "lang": identity.lang,
        "rooms": list(identity.rooms),
        "organization": identity.organization,
        "country": identity.country,
        "bio": identity.bio,
        "anonymous": identity.anonymous,
    }


async def redeem_code(request: Request, node: Node, code: object, lang: object) -> JSONResponse:
    """POST /api/session {code}: the person the code was made for, signed in on this device."""
    if not isinstance(code, str) or not 1 <= len(code) <= 40:
        raise ApiError(400, "bad_request", '"code" must be the sign-in code as shown (such as ABCDE-FGHJK)')
    try:
        payload = await node.sign_ins.redeem(code)
        listed = await node.delegates.listed(str(payload["user"]))  # Refused once the organisers revoked them
    except Refused as refusal:
        raise refusal_error(refusal) from None
    if listed is not None:  # a delegate of the list: as the list says now (a changed row updated the person)
        payload = {
            "user": listed.id,
            "name": listed.name,
            "role": listed.role,
            "lang": listed.lang,
            "organization": listed.organization,
            "country": listed.country,
            "bio": payload.get("bio", ""),
        }
    chosen = lang if isinstance(lang, str) and lang in node.translator.reading_languages() else payload["lang"]
    profile = {key: str(payload.get(key) or "") for key in ("organization", "country", "bio")}
    return await signed_in(
        request,
        node,
        user_id=str(payload["user"]),
        name=str(payload["name"]),
        role=Role(payload["role"]),
        lang=str(chosen),
        profile=profile,
        rooms=tuple(payload.get("rooms") or ()),
        anonymous=payload.get("anonymous") is True,
    )
