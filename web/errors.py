"""JSON errors for the HTTP API: {code, message}, the message saying what to do."""
from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

MAX_BODY = 16384


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or ApiError 400/413 saying what is wrong with it."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, "too_large", f"the body holds at most {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, *, required: bool = True, max_len: int = 200) -> str | None:
    """A stripped string field of 1..max_len characters, or ApiError 400."""
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad_request", f"\"{name}\" must be a non-empty string")
    value = value.strip()
    if len(value) > max_len:
        raise ApiError(400, "bad_request", f"\"{name}\" holds at most {max_len} characters")
    return value
