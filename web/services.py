"""What the HTTP handlers reach of the node, typed, and how a rule's refusal becomes a response.

chat/app.py (the composition root) builds the node and puts it on `app.state`; handlers take it
through `node_of`, never through the untyped attribute.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.requests import Request

from rooms import Refused
from rooms.meetings import Taken
from web.errors import ApiError

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from chat.node import Node

# a core refusal's code -> the HTTP status that says the same
STATUS = {"unauthorized": 401, "not_found": 404, "forbidden": 403, "banned": 403, "muted": 403, "room_closed": 409,
          "rate_limited": 429, "inbox_full": 429, "unavailable": 503, "name_reserved": 409,
          "taken": 409, "conflict": 409}


def node_of(request: Request) -> Node:
    """The node serving this request."""
    return cast("Node", request.app.state.node)


def refusal_error(refusal: Refused) -> ApiError:
    """The ApiError answering a rule's refusal, with the same code and message (a malformed request is
    `bad_request` over HTTP, whatever the core calls it for the WebSocket's `bad_frame`)."""
    if isinstance(refusal, Taken):  # a lost booking race: the slots both people still have free
        return ApiError(409, refusal.code, refusal.message, extra={"next": refusal.next})
    if refusal.code == "bad_frame":
        return ApiError(400, "bad_request", refusal.message, retry_after=refusal.retry_after)
    return ApiError(STATUS.get(refusal.code, 400), refusal.code, refusal.message, retry_after=refusal.retry_after)
