"""JSON errors for the HTTP API: {code, message}, the message saying what to do."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from rooms.text import unencodable_field

MAX_BODY = 16384  # bytes
BODY_SECONDS = 10.0  # a request body must arrive within this


class ApiError(Exception):
    """An HTTP error answer; `field` names the body field a 400 is about (clients word it for people)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, *,
                 retry_after: int | None = None, extra: dict[str, Any] | None = None) -> None:
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
        raise ApiError(400, "bad_request", f"\"{bad[:64]}\" is not valid Unicode text (a lone surrogate such as "
                       "\\ud800); send UTF-8 text")
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
