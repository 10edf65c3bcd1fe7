"""JSON errors for the HTTP API: {code, message}, the message saying what to do, and how a core
rule's refusal (rooms.Refused) becomes one."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from rooms import Refused
from rooms.meetings import Taken
from rooms.text import unencodable_field

MAX_BODY = 16384  # bytes
BODY_SECONDS = 10.0  # a request body must arrive within this


class ApiError(Exception):
    """An HTTP error answer; `field` names the body field a 400 is about (clients word it for people)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.retry_after = retry_after  # seconds until a refusal that passes by itself is over
        self.extra = extra or {}  # more of the answer: `next` of a meeting slot taken

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        headers = None
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
            headers = {"Retry-After": str(self.retry_after)}
        return JSONResponse(body, status_code=self.status, headers=headers)


async def read_body(request: Request, max_bytes: int = MAX_BODY) -> bytes:
    """The request's body, at most `max_bytes` (ApiError 413) and within BODY_SECONDS (ApiError 408)."""
    try:
        return await asyncio.wait_for(_read_body(request, max_bytes), BODY_SECONDS)
    except TimeoutError:
        raise ApiError(408, "timeout", f"the body did not arrive within {BODY_SECONDS:g} s; send it at once") from None


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object whose strings are all Unicode text, or ApiError 400."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the body must be a JSON object in UTF-8") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    bad = unencodable_field(data)
    if bad is not None:
        raise ApiError(
            400,
            "bad_request",
            f'"{bad[:64]}" is not valid Unicode text (a lone surrogate such as \\ud800); send UTF-8 text',
        )
    return data


async def _read_body(request: Request, max_bytes: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "too_large", f"the body holds at most {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "too_large", f"the body holds at most {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# a core refusal's code -> the HTTP status that says the same
STATUS = {
    "unauthorized": 401,
    "not_found": 404,
    "forbidden": 403,
    "invited_only": 403,
    "banned": 403,
    "muted": 403,
    "room_closed": 409,
    "rate_limited": 429,
    "inbox_full": 429,
    "unavailable": 503,
    "name_reserved": 409,
    "taken": 409,
    "conflict": 409,
}


def refusal_error(refusal: Refused) -> ApiError:
    """The ApiError answering a rule's refusal, with the same code and message (a malformed request is
    `bad_request` over HTTP, whatever the core calls it for the WebSocket's `bad_frame`)."""
    if isinstance(refusal, Taken):  # a lost booking race: the slots both people still have free
        return ApiError(409, refusal.code, refusal.message, extra={"next": refusal.next})
    if refusal.code == "bad_frame":
        return ApiError(400, "bad_request", refusal.message, retry_after=refusal.retry_after)
    return ApiError(STATUS.get(refusal.code, 400), refusal.code, refusal.message, retry_after=refusal.retry_after)
