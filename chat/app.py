"""The ASGI application factory: `/ws`, the HTTP API and the browser app, around one Node.

from chat.app import create_app
from chat.config import load_config

app = create_app(load_config())        # serve with any ASGI server, e.g. uvicorn
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from chat.backend import BackendUnavailable
from chat.config import Config, load_config
from chat.node import Node
from chat.session import CLOSE_POLICY, Session
from web import (
    STATIC_DIR,
    api_routes,
    embed_routes,
    host_routes,
    meeting_routes,
    openapi_routes,
    people_routes,
    transcript_routes,
)
from web.delegates import delegate_routes
from web.embed import content_security_policy
from web.listed import ListedIdentity
from web.me import me_routes
from web.typed import error_handlers

log = logging.getLogger("babelroom")

WS_PATH = "/ws"

CONTENT_SECURITY_POLICY = content_security_policy(())  # frame-ancestors 'none'
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]

FRAMING_HEADERS = {b"content-security-policy", b"x-frame-options"}
CROSS_ORIGIN_MODULES = {"/static/client.js", "/static/link.js", "/static/replay.js"}  # client.js imports these


class SecurityHeaders:
    """Adds the CSP and friends to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                own_policy = any(name.lower() == b"content-security-policy" for name, _ in headers)
                if own_policy:  # a page with its own policy (the embed) sets its frame-ancestors itself
                    headers += [header for header in SECURITY_HEADERS if header[0] not in FRAMING_HEADERS]
                else:
                    headers += SECURITY_HEADERS
                if scope["path"] in CROSS_ORIGIN_MODULES:  # importable by other sites' pages
                    headers.append((b"access-control-allow-origin", b"*"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SocketDoor:
    """Hands the WebSocket scopes of one path to an ASGI endpoint; everything else goes on."""

    def __init__(self, app: ASGIApp, path: str, endpoint: ASGIApp) -> None:
        self.app = app
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == self.path:
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def origin_allowed(websocket: WebSocket, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin; it must be listed, or (no list) match the host the page came from."""
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser: tokens still guard the door
        return True
    if allowed:
        return origin.rstrip("/") in {entry.rstrip("/") for entry in allowed}
    # Same host and the matching scheme: a page served over http may open ws://, over https wss://
    # (behind a TLS proxy, uvicorn reads the scheme from X-Forwarded-Proto of a trusted proxy).
    parts = urlsplit(origin)
    scheme = {"ws": "http", "wss": "https"}.get(websocket.url.scheme, websocket.url.scheme)
    return parts.scheme.lower() == scheme and parts.netloc.lower() == websocket.headers.get("host", "").lower()


async def backend_unavailable(request: Request, exc: Exception) -> Response:
    """Any route that needs the backend while it is unreachable: 503, never a traceback."""
    return JSONResponse(
        {"code": "unavailable", "message": "the server cannot reach its backend right now; retry in a few seconds"},
        status_code=503,
        headers={"retry-after": "2"},
    )


def create_metrics_app(node: Node) -> Starlette:
    """GET /metrics of `node` and nothing else, for `[server] metrics_address` (a private interface
    Prometheus scrapes without a token)."""

    async def metrics(request: Request) -> Response:
        return Response(node.metrics.render(), media_type=node.metrics.content_type)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])


def create_app(config: Config | None = None, *, node: Node | None = None, node_started: bool = False) -> Starlette:
    """A Starlette app serving one node; the node starts and stops with the app's lifespan.

    `node_started`: the caller starts the node before serving (the CLI, to report a failure in
    one line where the lifespan's would be a traceback); the lifespan then only closes it."""
    config = config or load_config()
    node = node or Node(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not node_started:
            await node.start()
        try:
            yield
        finally:
            await node.close()

    async def websocket_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)  # for the Origin check only; sessions speak raw ASGI
        if not origin_allowed(websocket, config.server.allowed_origins):
            log.warning("refused /ws from origin %s", websocket.headers.get("origin"))
            await websocket.close(CLOSE_POLICY)
            return
        del websocket  # it keeps the request's headers: not for the connection's whole life (issue 27)
        await Session(scope, receive, send, node).serve()

    routes = [
        *api_routes(),
        *me_routes(),
        *delegate_routes(),
        *host_routes(),
        *people_routes(),
        *meeting_routes(),
        *transcript_routes(),
        *openapi_routes(),
        *embed_routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="assets"),  # a stable address for other sites
        Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static"),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={BackendUnavailable: backend_unavailable, **error_handlers}
    )
    app.state.node = node
    app.add_middleware(ListedIdentity, node=node)  # a website's token for a delegate: that delegate (issue 23)
    app.add_middleware(SecurityHeaders)
    # Outermost of the app's own middleware: /ws goes straight to its session, past the HTTP-only
    # middleware, exception wrappers and router (Starlette's error middleware passes websockets by).
    app.add_middleware(SocketDoor, path=WS_PATH, endpoint=websocket_endpoint)
    return app
