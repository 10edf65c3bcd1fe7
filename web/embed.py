"""The embeddable room: GET /embed/{room} serves embed.html, framable only by [server] embed_origins.

The page's own Content-Security-Policy carries `frame-ancestors` with those origins (none
configured: 'none', so it cannot be framed anywhere); the origins are written into the page
too, for its postMessage handshake. Every other page keeps frame-ancestors 'none' and
X-Frame-Options DENY (chat/app.py).
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from rooms import is_room_id
from web.answers import RoomId
from web.errors import ApiError
from web.typed import ApiRoute, answer, get

EMBED_PAGE = Path(__file__).resolve().parent / "static" / "embed.html"
ORIGINS_META = '<meta name="babelroom-embed-origins" content="[]">'


def content_security_policy(embed_origins: tuple[str, ...]) -> str:
    ancestors = " ".join(origin.rstrip("/") for origin in embed_origins) or "'none'"
    return (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; "
        f"script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}; "
        "form-action 'self'"
    )


@cache
def page_template() -> str:
    text = EMBED_PAGE.read_text(encoding="utf-8")
    assert ORIGINS_META in text, f"{EMBED_PAGE.name} lost its embed-origins meta tag"
    return text


async def embed_room(request: Request) -> Response:
    room = request.path_params["room"]
    if not is_room_id(room):
        raise ApiError(404, "not_found", "no such room: /embed/ROOM takes a room id such as 'plenary'")
    origins = tuple(origin.rstrip("/") for origin in request.app.state.node.config.server.embed_origins)
    meta = f'<meta name="babelroom-embed-origins" content="{html.escape(json.dumps(list(origins)))}">'
    return HTMLResponse(
        page_template().replace(ORIGINS_META, meta),
        headers={"content-security-policy": content_security_policy(origins), "cache-control": "no-store"},
    )


def embed_routes() -> list[ApiRoute]:
    return [
        get(
            "/embed/{room:path}",
            embed_room,
            path_params={"room": RoomId},  # :path: /embed/a/b is our 404 too
            operation="embedRoom",
            summary="The room alone, for an iframe on a site in [server] embed_origins",
            ok={200: answer("the page (its CSP frame-ancestors lists embed_origins)", {"type": "string"}, "text/html")},
            errors={404: "not a room id"},
        )
    ]
