"""Same person everywhere on the HTTP API (issue 23): the person a request's Bearer token speaks for,
as the delegate list knows them (chat.tokens.as_listed), found once per request before the route.

The routes ask `web.hosts.bearer_identity`, which stays synchronous; this middleware, outside the
router, does the one store look-up a website's token needs and leaves its answer in the request's
scope: the listed identity, the refusal (a revoked delegate) or "unavailable" (the backend is down:
no answer rather than a second, split identity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from chat.tokens import Identity, TokenError, as_listed
from rooms import Refused
from rooms.stores import BackendUnavailable

if TYPE_CHECKING:
    from chat.node import Node

SCOPE_KEY = "babelroom.listed"  # (token, Identity | Refused | UNAVAILABLE)
UNAVAILABLE = "unavailable"

Listed = tuple[str, Identity | Refused | str]


def bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class ListedIdentity:
    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app, self.node = app, node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            token = bearer_token(Headers(scope=scope).get("authorization", ""))
            if token:
                try:
                    identity = self.node.signer.verify(token)
                except TokenError:
                    pass  # bearer_identity answers 401 with the reason
                else:
                    scope[SCOPE_KEY] = (token, await self._listed(identity))
        await self.app(scope, receive, send)

    async def _listed(self, identity: Identity) -> Identity | Refused | str:
        try:
            return await as_listed(identity, self.node.delegates)
        except Refused as refusal:
            return refusal
        except BackendUnavailable:
            return UNAVAILABLE
