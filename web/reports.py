"""The reports API (Bearer token of a host or an event-wide moderator): the reports, paged; the
moderation inbox (open reports grouped by message); closing a message's reports with an action.

The rules are rooms/reports.py's (the node's ReportDesk); the WebSocket `report` frame files them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat.tokens import Identity
from rooms.reports import ACTIONS, PAGE_DEFAULT, PAGE_MAX, STATES, decode_cursor
from web.errors import ApiError
from web.typed import ApiRoute, Auth, Body, StrictQuery, answer, get, node_of, post, reply

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from rooms.reports import ReportDesk

MUTE_MAX = 2_592_000  # seconds (30 days), as the `mute` frame
REASON_MAX = 300
CURSOR_SAYS = '"cursor" is not one this server gave out; start without it'


def _desk(request: Request) -> ReportDesk:
    return node_of(request).reports


class ReportsQuery(StrictQuery):
    cursor: Annotated[
        str, Meta(pattern=r"^[0-9]{0,18}$", description="the `next` of the page before", extra={"says": CURSOR_SAYS})
    ] = ""
    limit: Annotated[int, Meta(ge=1, le=PAGE_MAX, extra={"says": f'"limit" must be 1..{PAGE_MAX}'})] = PAGE_DEFAULT
    state: Annotated[str, Meta(extra_json_schema={"enum": ["", *STATES]})] = ""


class Reporter(msgspec.Struct, omit_defaults=True):
    id: str | UnsetType = UNSET
    name: str | UnsetType = UNSET


class ReportRoom(msgspec.Struct, omit_defaults=True):
    id: str | UnsetType = UNSET
    kind: Annotated[str, Meta(extra_json_schema={"enum": ["forum", "private"]})] | UnsetType = UNSET


class Report(msgspec.Struct, omit_defaults=True):
    id: str
    ts: int
    room: ReportRoom
    message: Annotated[
        dict[str, Any], Meta(description="the reported message as it was: id, ts, user {id, name}, lang, text")
    ]
    reporter: Reporter
    state: Annotated[str, Meta(extra_json_schema={"enum": list(STATES)})]
    reason: str | UnsetType = UNSET
    closed: (
        Annotated[dict[str, Any], Meta(description="who closed it, when, and how: {by {id, name}, ts, action}")]
        | UnsetType
    ) = UNSET


class Reports(msgspec.Struct):
    reports: list[Report]
    next: Annotated[str | None, Meta(description="pass as `cursor` for the following page; null at the end")]
    open: Annotated[int, Meta(description="open reports in all")]


async def list_reports(request: Request, identity: Identity, query: ReportsQuery) -> Response:
    after = 0
    if query.cursor:
        cursor = decode_cursor(query.cursor)
        if cursor is None:
            raise ApiError(400, "bad_request", CURSOR_SAYS, "cursor")
        after = cursor
    state = query.state or None
    if state is not None and state not in STATES:
        raise ApiError(400, "bad_request", f'"state" must be one of {", ".join(STATES)}', "state")
    desk = _desk(request)
    page, more = await desk.page(identity, after=after, limit=query.limit, state=state)
    return JSONResponse(
        {
            "reports": [_listed(report) for report in page],
            "next": None if more is None else str(more),
            "open": await desk.open_count(),
        }
    )


def _listed(report: dict[str, Any]) -> dict[str, Any]:
    """A report as listed: without the store's position and the message's stored translations."""
    listed = {key: value for key, value in report.items() if key != "seq"}
    listed["message"] = {key: value for key, value in report["message"].items() if key != "tr"}
    return listed


class InboxQuery(StrictQuery):
    lang: Annotated[
        str, Meta(description="translations into (default: the token's): a code GET /api/languages lists")
    ] = ""


class ReportGroup(msgspec.Struct):
    room: dict[str, Any]
    message: Annotated[
        dict[str, Any],
        Meta(
            description="id, ts, user {id, name}, lang, text (the original) and tr "
            "{lang, text} when its translation is stored"
        ),
    ]
    reporters: Annotated[int, Meta(description="how many people reported it")]
    reasons: list[str]
    reports: Annotated[list[str], Meta(description="the report ids")]
    first: int
    last: int


class Inbox(msgspec.Struct):
    open: int
    lang: str
    groups: list[ReportGroup]


async def inbox(request: Request, identity: Identity, query: InboxQuery) -> Response:
    lang = query.lang or identity.lang
    if lang not in node_of(request).translator.reading_languages():
        raise ApiError(400, "bad_request", f"unknown language {lang!r}; GET /api/languages lists them", "lang")
    groups = await _desk(request).inbox(identity, lang)
    return JSONResponse({"open": sum(group["reporters"] for group in groups), "lang": lang, "groups": groups})


Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"\S")]


class ReportClose(Body):
    room: Id
    message: Id
    action: Annotated[str, Meta(extra_json_schema={"enum": list(ACTIONS)})]
    reason: Annotated[str, Meta(min_length=1, max_length=REASON_MAX, pattern=r"\S")] | None = None
    seconds: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=MUTE_MAX,
                description="mute: how long (absent: until unmuted)",
                extra={"says": f'"seconds" must be a whole number 1..{MUTE_MAX}'},
            ),
        ]
        | None
    ) = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ApiError(400, "bad_request", f'"action" must be one of {", ".join(ACTIONS)}', "action")
        self.room, self.message = self.room.strip(), self.message.strip()
        self.reason = self.reason.strip() if self.reason is not None else None


class ReportsClosed(msgspec.Struct):
    room: str
    message: str
    action: Annotated[str, Meta(extra_json_schema={"enum": list(ACTIONS)})]
    state: Annotated[str, Meta(extra_json_schema={"enum": ["actioned", "dismissed"]})]
    closed: Annotated[list[str], Meta(description="the ids of the reports closed")]


async def close(request: Request, identity: Identity, body: ReportClose) -> Response:
    closed = await _desk(request).close(
        identity, body.room, body.message, body.action, reason=body.reason, seconds=body.seconds
    )
    return reply(
        ReportsClosed(
            body.room,
            body.message,
            body.action,
            "dismissed" if body.action == "dismiss" else "actioned",
            [report["id"] for report in closed],
        )
    )


def report_routes() -> list[ApiRoute]:
    desk = {403: "not a host nor a moderator of the whole event"}
    return [
        get(
            "/api/reports",
            list_reports,
            auth=Auth.BEARER,
            query=ReportsQuery,
            operation="listReports",
            summary="Reported messages, oldest first, paged (hosts and moderators of the whole event)",
            ok={200: answer("a page of reports", Reports)},
            errors={400: "an unknown parameter, or a bad cursor, limit or state", **desk},
        ),
        get(
            "/api/reports/inbox",
            inbox,
            auth=Auth.BEARER,
            query=InboxQuery,
            operation="reportInbox",
            summary="The open reports grouped by message, most reporters first",
            ok={200: answer("the inbox", Inbox)},
            errors={400: "an unknown parameter or language", **desk},
        ),
        post(
            "/api/reports/close",
            close,
            auth=Auth.BEARER,
            body=ReportClose,
            operation="closeReports",
            summary="Delete a reported message, mute or ban its author, or dismiss: every open report of the "
            "message closes, for every moderator",
            description="A private conversation's author is muted or banned event-wide; its messages are not "
            "deleted by organisers (403).",
            ok={200: answer("closed", ReportsClosed)},
            errors={**desk, 404: "no open report of that message (another moderator may have closed it)"},
        ),
    ]


__all__ = ["report_routes"]
