"""The meetings API (Bearer token; issue 26): slots and places, proposing and answering meetings,
the agenda and its calendar files, and the organisers' grid and CSV export.

The rules live in `rooms.meetings` and chat/meetings.py; these handlers read bodies (through
`json_body`), ask, and answer. A booking that lost its race answers 409 `taken` with `next`: the
next slots both people have free, which the app offers instead.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rooms import Refused
from rooms.meetings import (
    BOOKED,
    CANCELLED,
    NOTE_MAX,
    PLACE_NAME_MAX,
    REASON_MAX,
    SLOTS_PER_PROPOSAL,
    Taken,
    parse_iso,
)
from web.api import answers_errors
from web.errors import ApiError, json_body, text_field
from web.hosts import bearer_identity, only_fields, require_host
from web.services import node_of, refusal_error

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from chat.meetings import Meetings

ID_MAX = 64
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
CONFLICTS = {"taken", "conflict"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: CSV injection


def _meetings(request: Request) -> Meetings:
    meetings = node_of(request).meetings
    if not meetings.settings.enabled:
        raise ApiError(404, "not_found", "meetings are off at this event ([meetings] enabled = false)")
    return meetings


class TakenError(ApiError):
    """409 `taken` with `next`: the slots both people still have free (a lost booking race)."""

    def __init__(self, exc: Taken) -> None:
        super().__init__(409, exc.code, exc.message)
        self.next = exc.next

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message, "next": self.next}, status_code=409)


def refused(exc: Refused) -> ApiError:
    if isinstance(exc, Taken):
        return TakenError(exc)
    if exc.code in CONFLICTS:
        return ApiError(409, exc.code, exc.message)
    return refusal_error(exc)


def an_id(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not re.fullmatch(ID_PATTERN, value):
        raise ApiError(400, "bad_request", f"\"{name}\" must be an id (1-{ID_MAX} letters, digits, _.:-)", name)
    return value


def slot_ids(data: dict[str, Any]) -> list[str]:
    value = data.get("slots")
    if not isinstance(value, list) or not 1 <= len(value) <= SLOTS_PER_PROPOSAL or not all(
            isinstance(v, str) and re.fullmatch(ID_PATTERN, v) for v in value) or len(set(value)) != len(value):
        raise ApiError(400, "bad_request", f"\"slots\" must list 1-{SLOTS_PER_PROPOSAL} different slot ids "
                       "(GET /api/meeting-slots lists them)", "slots")
    return list(value)


def free_text(data: dict[str, Any], name: str, max_len: int) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_len:
        raise ApiError(400, "bad_request", f"\"{name}\" must be text of at most {max_len} characters", name)
    if any(ord(char) < 32 and char != "\n" for char in value):
        raise ApiError(400, "bad_request", f"\"{name}\" must not contain control characters", name)
    return value.strip()


# slots and places ---------------------------------------------------------------------------
@answers_errors
async def list_slots(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    return JSONResponse({"slots": await meetings.slots_for(identity.id), "timezone": meetings.settings.timezone,
                         "reminder_minutes": meetings.settings.reminder_minutes})


@answers_errors
async def add_slot(request: Request) -> Response:
    require_host(request)
    meetings = _meetings(request)
    data = await json_body(request)
    only_fields(data, {"start", "end", "places"})
    times = []
    for name in ("start", "end"):
        moment = parse_iso(data[name]) if isinstance(data.get(name), str) else None
        if moment is None:
            raise ApiError(400, "bad_request", f"\"{name}\" must be an ISO 8601 time with its offset, such as "
                           "2026-12-08T14:00:00+02:00", name)
        times.append(moment)
    places = data.get("places")
    if not isinstance(places, list) or not 1 <= len(places) <= 100 or not all(
            isinstance(p, str) and p.strip() and len(p) <= PLACE_NAME_MAX for p in places):
        raise ApiError(400, "bad_request", f"\"places\" must list 1-100 place names of 1-{PLACE_NAME_MAX} "
                       "characters", "places")
    try:
        slot = await meetings.add_slot(times[0], times[1], [p.strip() for p in places])
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"slot": slot}, status_code=201)


@answers_errors
async def list_places(request: Request) -> Response:
    bearer_identity(request)
    _meetings(request)
    return JSONResponse({"places": [p.public() for p in await node_of(request).backend.places()]})


@answers_errors
async def add_place(request: Request) -> Response:
    require_host(request)
    meetings = _meetings(request)
    data = await json_body(request)
    only_fields(data, {"name", "online"})
    name = text_field(data, "name", max_len=PLACE_NAME_MAX)
    assert name is not None
    online = data.get("online", False)
    if not isinstance(online, bool):
        raise ApiError(400, "bad_request", "\"online\" must be true or false", "online")
    place, created = await meetings.add_place(name, online=online)
    return JSONResponse({"place": place.public()}, status_code=201 if created else 200)


# meetings -------------------------------------------------------------------------------------
@answers_errors
async def propose(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    data = await json_body(request)
    only_fields(data, {"with", "slots", "place", "note"})
    other = an_id(data, "with")
    assert other is not None
    try:
        meeting = await meetings.propose(identity, other, slot_ids(data), an_id(data, "place", required=False),
                                         free_text(data, "note", NOTE_MAX))
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"meeting": meeting}, status_code=201)


@answers_errors
async def counter(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    data = await json_body(request)
    only_fields(data, {"slots", "place", "note"})
    note = free_text(data, "note", NOTE_MAX) if "note" in data else None
    try:
        meeting = await meetings.counter(identity, request.path_params["meeting"], slot_ids(data),
                                         an_id(data, "place", required=False), note)
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"meeting": meeting})


@answers_errors
async def accept(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    data = await json_body(request)
    only_fields(data, {"slot", "place"})
    slot = an_id(data, "slot")
    assert slot is not None
    try:
        meeting = await meetings.accept(identity, request.path_params["meeting"], slot,
                                        an_id(data, "place", required=False))
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"meeting": meeting})


async def _reason(request: Request) -> str:
    """The optional body of decline and cancel: {reason?}; an empty body is no reason."""
    if not (await request.body()).strip():
        return ""
    data = await json_body(request)
    only_fields(data, {"reason"})
    return free_text(data, "reason", REASON_MAX)


@answers_errors
async def decline(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    reason = await _reason(request)
    try:
        meeting = await meetings.decline(identity, request.path_params["meeting"], reason)
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"meeting": meeting})


@answers_errors
async def cancel(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    reason = await _reason(request)
    try:
        meeting = await meetings.cancel(identity, request.path_params["meeting"], reason)
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"meeting": meeting})


@answers_errors
async def move(request: Request) -> Response:
    host = require_host(request)
    meetings = _meetings(request)
    data = await json_body(request)
    only_fields(data, {"slot", "place"})
    slot = an_id(data, "slot")
    assert slot is not None
    try:
        meeting = await meetings.move(host, request.path_params["meeting"], slot, an_id(data, "place", required=False))
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"meeting": meeting})


@answers_errors
async def free_slots(request: Request) -> Response:
    """The slots both people of a meeting have free (a host moving it, a person choosing other times)."""
    identity = bearer_identity(request)
    meetings = _meetings(request)
    try:
        slots = await meetings.free_for(identity, request.path_params["meeting"])
    except Refused as exc:
        raise refused(exc) from None
    return JSONResponse({"slots": slots})


@answers_errors
async def one_meeting(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    try:
        meeting = await meetings.meeting_for(identity, request.path_params["meeting"])
    except Refused as exc:
        raise refused(exc) from None
    [view] = await meetings.views([meeting], identity.id)
    return JSONResponse({"meeting": view})


@answers_errors
async def my_meetings(request: Request) -> Response:
    identity = bearer_identity(request)
    return JSONResponse({"meetings": await _meetings(request).agenda(identity.id)})


# calendar files ---------------------------------------------------------------------------------
def calendar(views: list[dict[str, Any]]) -> bytes:
    """An RFC 5545 calendar of the booked (and cancelled: STATUS CANCELLED) meetings."""
    cal = Calendar()
    cal.add("prodid", "-//babelroom//meetings//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    stamp = datetime.now(tz=UTC)
    for view in views:
        if view["state"] not in (BOOKED, CANCELLED) or "start" not in view:
            continue
        event = Event()
        event.add("uid", f"{view['id']}@babelroom")
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.fromisoformat(view["start"]))
        event.add("dtend", datetime.fromisoformat(view["end"]))
        other = view.get("with", view["to"])
        event.add("summary", f"Meeting: {other['name']}" + (f" ({other['organization']})"
                                                            if other.get("organization") else ""))
        if view.get("place_name"):
            event.add("location", view["place_name"])
        if view.get("link"):
            event.add("url", view["link"])
        if view.get("note"):
            event.add("description", view["note"])
        event.add("status", "CONFIRMED" if view["state"] == BOOKED else "CANCELLED")
        cal.add_component(event)
    ical: bytes = cal.to_ical()
    return ical


def ics(body: bytes, name: str) -> Response:
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.ics"'})


@answers_errors
async def my_calendar(request: Request) -> Response:
    identity = bearer_identity(request)
    return ics(calendar(await _meetings(request).agenda(identity.id)), "meetings")


@answers_errors
async def meeting_calendar(request: Request) -> Response:
    identity = bearer_identity(request)
    meetings = _meetings(request)
    try:
        meeting = await meetings.meeting_for(identity, request.path_params["meeting"])
    except Refused as exc:
        raise refused(exc) from None
    views = await meetings.views([meeting], identity.id)
    if views[0]["state"] not in (BOOKED, CANCELLED):
        raise ApiError(409, "conflict", f"this meeting is {views[0]['state']}: it has a time once booked")
    return ics(calendar(views), meeting.id)


# the organisers' view ---------------------------------------------------------------------------
@answers_errors
async def grid(request: Request) -> Response:
    require_host(request)
    return JSONResponse(await _meetings(request).grid())


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ tab or CR gets a leading ' (OWASP)."""
    return "'" + value if value.startswith(FORMULA_START) else value


@answers_errors
async def export(request: Request) -> Response:
    require_host(request)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in await _meetings(request).export_rows():
        writer.writerow([csv_cell(cell) for cell in row])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="meetings.csv"'})


def meeting_routes() -> list[BaseRoute]:
    return [
        Route("/api/meeting-slots", list_slots, methods=["GET"]),
        Route("/api/meeting-slots", add_slot, methods=["POST"]),
        Route("/api/places", list_places, methods=["GET"]),
        Route("/api/places", add_place, methods=["POST"]),
        Route("/api/meetings", propose, methods=["POST"]),
        Route("/api/meetings/grid", grid, methods=["GET"]),
        Route("/api/meetings.csv", export, methods=["GET"]),
        Route("/api/me/meetings", my_meetings, methods=["GET"]),
        Route("/api/me/meetings.ics", my_calendar, methods=["GET"]),
        Route("/api/meetings/{meeting}.ics", meeting_calendar, methods=["GET"]),
        Route("/api/meetings/{meeting}", one_meeting, methods=["GET"]),
        Route("/api/meetings/{meeting}/accept", accept, methods=["POST"]),
        Route("/api/meetings/{meeting}/decline", decline, methods=["POST"]),
        Route("/api/meetings/{meeting}/cancel", cancel, methods=["POST"]),
        Route("/api/meetings/{meeting}/propose", counter, methods=["POST"]),
        Route("/api/meetings/{meeting}/move", move, methods=["POST"]),
        Route("/api/meetings/{meeting}/free-slots", free_slots, methods=["GET"]),
    ]
