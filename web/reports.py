"""The reports API (Bearer token of a host or an event-wide moderator): the reports, paged; the
moderation inbox (open reports grouped by message); closing a message's reports with an action.

The rules are rooms/reports.py's (the node's ReportDesk); the WebSocket `report` frame files them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import Refused
from rooms.reports import ACTIONS, PAGE_DEFAULT, PAGE_MAX, STATES, decode_cursor
from web.api import answers_errors
from web.errors import ApiError, json_body, text_field
from web.hosts import only_fields
from web.services import node_of, refusal_error
from web.typed import bearer_identity

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from rooms.reports import ReportDesk

MUTE_MAX = 2_592_000  # seconds (30 days), as the `mute` frame
REASON_MAX = 300


def _desk(request: Request) -> ReportDesk:
    return node_of(request).reports


def _refused(exc: Refused) -> ApiError:
    return refusal_error(Refused("bad_request", exc.message) if exc.code == "bad_frame" else exc)


def _only_params(request: Request, allowed: tuple[str, ...]) -> None:
    unknown = set(request.query_params) - set(allowed)
    if unknown:
        raise ApiError(400, "bad_request", f"unknown parameter {sorted(unknown)[0]!r}; allowed: {', '.join(allowed)}")


@answers_errors
async def list_reports(request: Request) -> Response:
    identity = bearer_identity(request)
    _only_params(request, ("cursor", "limit", "state"))
    params = request.query_params
    after = 0
    if params.get("cursor"):
        cursor = decode_cursor(params["cursor"])
        if cursor is None:
            raise ApiError(400, "bad_request", "\"cursor\" is not one this server gave out; start without it", "cursor")
        after = cursor
    try:
        limit = int(params.get("limit", str(PAGE_DEFAULT)))
    except ValueError:
        limit = 0
    if not 1 <= limit <= PAGE_MAX:
        raise ApiError(400, "bad_request", f"\"limit\" must be 1..{PAGE_MAX}", "limit")
    state = params.get("state") or None
    if state is not None and state not in STATES:
        raise ApiError(400, "bad_request", f"\"state\" must be one of {', '.join(STATES)}", "state")
    desk = _desk(request)
    try:
        page, more = await desk.page(identity, after=after, limit=limit, state=state)
    except Refused as exc:
        raise _refused(exc) from None
    return JSONResponse({"reports": [_listed(report) for report in page],
                         "next": None if more is None else str(more), "open": await desk.open_count()})


def _listed(report: dict[str, Any]) -> dict[str, Any]:
    """A report as listed: without the store's position and the message's stored translations."""
    listed = {key: value for key, value in report.items() if key != "seq"}
    listed["message"] = {key: value for key, value in report["message"].items() if key != "tr"}
    return listed


@answers_errors
async def inbox(request: Request) -> Response:
    identity = bearer_identity(request)
    _only_params(request, ("lang",))
    lang = request.query_params.get("lang") or identity.lang
    if lang not in node_of(request).translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists them", "lang")
    desk = _desk(request)
    try:
        groups = await desk.inbox(identity, lang)
    except Refused as exc:
        raise _refused(exc) from None
    return JSONResponse({"open": sum(group["reporters"] for group in groups), "lang": lang, "groups": groups})


@answers_errors
async def close(request: Request) -> Response:
    identity = bearer_identity(request)
    data = await json_body(request)
    only_fields(data, {"room", "message", "action", "reason", "seconds"})
    room = text_field(data, "room", max_len=64)
    message = text_field(data, "message", max_len=64)
    action = data.get("action")
    if action not in ACTIONS:
        raise ApiError(400, "bad_request", f"\"action\" must be one of {', '.join(ACTIONS)}", "action")
    reason = text_field(data, "reason", required=False, max_len=REASON_MAX)
    seconds = data.get("seconds")
    if seconds is not None:  # JSON's 600.0 is a whole number too
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not float(seconds).is_integer() \
                or not 1 <= seconds <= MUTE_MAX:
            raise ApiError(400, "bad_request", f"\"seconds\" must be a whole number 1..{MUTE_MAX}", "seconds")
        seconds = int(seconds)
    assert room is not None and message is not None
    try:
        closed = await _desk(request).close(identity, room, message, action, reason=reason, seconds=seconds)
    except Refused as exc:
        raise _refused(exc) from None
    return JSONResponse({"room": room, "message": message, "action": action,
                         "state": "dismissed" if action == "dismiss" else "actioned",
                         "closed": [report["id"] for report in closed]})


def report_routes() -> list[BaseRoute]:
    return [
        Route("/api/reports", list_reports, methods=["GET"]),
        Route("/api/reports/inbox", inbox, methods=["GET"]),
        Route("/api/reports/close", close, methods=["POST"]),
    ]


__all__ = ["report_routes"]
