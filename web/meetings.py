"""The meetings API (Bearer token; issue 26): slots and places, proposing and answering meetings,
the agenda and its calendar files, and the organisers' grid and CSV export.

The rules live in `rooms.meetings` (who sees a meeting, whose turn it is, who may cancel, free
slots and places), applied to the MeetingStore by chat/meetings.py; these handlers take their
decoded bodies (web/typed.py), ask, and answer. A booking that lost its race answers 409 `taken` with `next`: the
next slots both people have free, which the app offers instead.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chat.tokens import Identity
from rooms.meetings import (
    BOOKED,
    CANCELLED,
    NEXT_SLOTS,
    NOTE_MAX,
    PLACE_NAME_MAX,
    REASON_MAX,
    SLOTS_PER_PROPOSAL,
    parse_iso,
)
from web import answers
from web.errors import ApiError
from web.typed import ApiRoute, Auth, Body, Handler, answer, get, node_of, post

if TYPE_CHECKING:  # the type only: web never runs chat's code at import time
    from chat.meetings import Meetings as MeetingService

ID_MAX = 64
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: CSV injection
# An ISO 8601 time with its offset, of a valid date (days 01-28 keep every match a real date): what the
# document offers; the server takes any time `parse_iso` reads.
ISO_TIME = (
    r"^(19|20)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
    r"(Z|[+-](0\d|1[0-3]):[0-5]\d)$"
)
CONTROL = "".join(chr(code) for code in range(32) if code != 10)  # literal: Python's and ECMA's escapes differ
FREE_TEXT = f"^[^{CONTROL}]*$"

MeetingId = Annotated[
    str, Meta(pattern=ID_PATTERN, extra={"says": f'"{{field}}" must be an id (1-{ID_MAX} letters, digits, _.:-)'})
]
SlotIds = Annotated[
    list[MeetingId],
    Meta(
        min_length=1,
        max_length=SLOTS_PER_PROPOSAL,
        extra_json_schema={"uniqueItems": True},
        extra={
            "says": f'"slots" must list 1-{SLOTS_PER_PROPOSAL} different slot ids (GET /api/meeting-slots lists them)'
        },
    ),
]
Note = Annotated[
    str,
    Meta(
        max_length=NOTE_MAX,
        pattern=FREE_TEXT,
        extra={"says": f'"note" must be text of at most {NOTE_MAX} characters, without control characters'},
    ),
]
Reason = Annotated[
    str,
    Meta(
        max_length=REASON_MAX,
        pattern=FREE_TEXT,
        extra={"says": f'"reason" must be text of at most {REASON_MAX} characters, without control characters'},
    ),
]
PlaceName = Annotated[str, Meta(min_length=1, max_length=PLACE_NAME_MAX, pattern=r"\S")]


def _meetings(request: Request) -> MeetingService:
    meetings = node_of(request).meetings
    if not meetings.settings.enabled:
        raise ApiError(404, "not_found", "meetings are off at this event ([meetings] enabled = false)")
    return meetings


def different(slots: list[str]) -> list[str]:
    if len(set(slots)) != len(slots):
        raise ApiError(
            400,
            "bad_request",
            f'"slots" must list 1-{SLOTS_PER_PROPOSAL} different slot ids (GET /api/meeting-slots lists them)',
            "slots",
        )
    return slots


def stripped(text: str | None) -> str:
    return (text or "").strip()


# slots and places ---------------------------------------------------------------------------
class SlotPlace(msgspec.Struct, omit_defaults=True):
    id: str
    name: str
    free: Annotated[bool, Meta(description="for the asking person: neither they nor the place are booked")]
    online: bool | UnsetType = UNSET


class MeetingSlot(msgspec.Struct):
    id: str
    start: Annotated[str, Meta(description="ISO 8601 with offset")]
    end: str
    places: list[SlotPlace]


class MeetingSlots(msgspec.Struct, omit_defaults=True):
    slots: list[MeetingSlot]
    timezone: Annotated[str, Meta(description="the event's IANA time zone")] | UnsetType = UNSET
    reminder_minutes: (
        Annotated[int, Meta(ge=0, description="the app reminds this long before a booked meeting (0: never)")]
        | UnsetType
    ) = UNSET


async def list_slots(request: Request, identity: Identity) -> Response:
    meetings = _meetings(request)
    return JSONResponse(
        {
            "slots": await meetings.slots_for(identity.id),
            "timezone": meetings.settings.timezone,
            "reminder_minutes": meetings.settings.reminder_minutes,
        }
    )


class NewMeetingSlot(Body):
    start: Annotated[str, Meta(extra_json_schema={"pattern": ISO_TIME}, description="ISO 8601 with its offset")]
    end: Annotated[str, Meta(extra_json_schema={"pattern": ISO_TIME}, description="after start (409 otherwise)")]
    places: Annotated[
        list[PlaceName],
        Meta(
            min_length=1,
            max_length=100,
            description=("place names (new ones are added)"),
            extra={"says": f'"places" must list 1-100 place names of 1-{PLACE_NAME_MAX} characters'},
        ),
    ]


class MeetingSlotAnswer(msgspec.Struct):
    slot: dict[str, Any]


async def add_slot(request: Request, host: Identity, body: NewMeetingSlot) -> Response:
    meetings = _meetings(request)
    times = []
    for name, given in (("start", body.start), ("end", body.end)):
        moment = parse_iso(given)
        if moment is None:
            raise ApiError(
                400,
                "bad_request",
                f'"{name}" must be an ISO 8601 time with its offset, such as 2026-12-08T14:00:00+02:00',
                name,
            )
        times.append(moment)
    slot = await meetings.add_slot(times[0], times[1], [p.strip() for p in body.places])
    return JSONResponse({"slot": slot}, status_code=201)


class Places(msgspec.Struct):
    places: list[dict[str, Any]]


async def list_places(request: Request, identity: Identity) -> Response:
    _meetings(request)
    return JSONResponse({"places": [p.public() for p in await node_of(request).stores.meetings.places()]})


class NewPlace(Body):
    name: PlaceName
    online: Annotated[
        bool,
        Meta(
            description="an online place: no limit, a call link per meeting",
            extra={"says": '"online" must be true or false'},
        ),
    ] = False


class PlaceAnswer(msgspec.Struct):
    place: dict[str, Any]


async def add_place(request: Request, host: Identity, body: NewPlace) -> Response:
    place, created = await _meetings(request).add_place(body.name.strip(), online=body.online)
    return JSONResponse({"place": place.public()}, status_code=201 if created else 200)


# meetings -------------------------------------------------------------------------------------
class NewMeeting(Body):
    with_: Annotated[MeetingId, Meta(description="the other person's user id")] = msgspec.field(name="with")
    slots: SlotIds
    place: MeetingId | None = None
    note: Note | None = None


class CounterProposal(Body):
    slots: SlotIds
    place: MeetingId | None = None
    note: Note | UnsetType | None = UNSET  # absent: the note stays as it is


class MeetingAccept(Body):
    slot: MeetingId
    place: MeetingId | None = None


class MeetingReason(Body):
    reason: Reason | None = None


class Meeting(msgspec.Struct, omit_defaults=True):
    id: str
    state: Annotated[str, Meta(extra_json_schema={"enum": ["proposed", "booked", "declined", "cancelled"]})]
    from_: answers.Person = msgspec.field(name="from")
    to: answers.Person = msgspec.field()
    slots: Annotated[list[dict[str, Any]], Meta(description="the slots on the table")] = msgspec.field()
    with_: answers.Person | UnsetType = msgspec.field(name="with", default=UNSET)
    turn: Annotated[str, Meta(description="who must answer (proposed)")] | UnsetType = UNSET
    slot: str | UnsetType | None = UNSET
    place: str | UnsetType | None = UNSET
    start: str | UnsetType = UNSET
    end: str | UnsetType = UNSET
    place_name: str | UnsetType = UNSET
    link: str | UnsetType = UNSET
    note: str | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    note_lang: Annotated[str, Meta(description="the note's detected language")] | UnsetType = UNSET
    note_tr: (
        Annotated[dict[str, Any], Meta(description="the note in your reading language {lang, text}")] | UnsetType
    ) = UNSET
    room: (
        Annotated[
            str,
            Meta(
                description="the conversation whose history records each step as a `message` with "
                "`meeting` (the two people only; organisers never get it)"
            ),
        ]
        | UnsetType
    ) = UNSET


class MeetingAnswer(msgspec.Struct):
    meeting: Meeting


class Meetings(msgspec.Struct):
    meetings: list[Meeting]


def step(meeting: dict[str, Any], status_code: int = 200) -> Response:
    return JSONResponse({"meeting": meeting}, status_code=status_code)


def meeting_of(request: Request) -> str:
    return str(request.path_params["meeting"])


async def propose(request: Request, identity: Identity, body: NewMeeting) -> Response:
    meeting = await _meetings(request).propose(
        identity, body.with_, different(body.slots), body.place, stripped(body.note)
    )
    return step(meeting, 201)


async def counter(request: Request, identity: Identity, body: CounterProposal) -> Response:
    note = None if body.note is UNSET else stripped(body.note)
    return step(
        await _meetings(request).counter(identity, meeting_of(request), different(body.slots), body.place, note)
    )


async def accept(request: Request, identity: Identity, body: MeetingAccept) -> Response:
    return step(await _meetings(request).accept(identity, meeting_of(request), body.slot, body.place))


async def decline(request: Request, identity: Identity, body: MeetingReason) -> Response:
    return step(await _meetings(request).decline(identity, meeting_of(request), stripped(body.reason)))


async def cancel(request: Request, identity: Identity, body: MeetingReason) -> Response:
    return step(await _meetings(request).cancel(identity, meeting_of(request), stripped(body.reason)))


async def move(request: Request, host: Identity, body: MeetingAccept) -> Response:
    return step(await _meetings(request).move(host, meeting_of(request), body.slot, body.place))


class FreeSlots(msgspec.Struct):
    slots: Annotated[list[MeetingSlot], Meta(description="slots both people have free, with their free places only")]


async def free_slots(request: Request, identity: Identity) -> Response:
    """The slots both people of a meeting have free (a host moving it, a person choosing other times)."""
    return JSONResponse({"slots": await _meetings(request).free_for(identity, meeting_of(request))})


async def one_meeting(request: Request, identity: Identity) -> Response:
    meetings = _meetings(request)
    meeting = await meetings.meeting_for(identity, meeting_of(request))
    [view] = await meetings.views([meeting], identity.id)
    return step(view)


async def my_meetings(request: Request, identity: Identity) -> Response:
    return JSONResponse({"meetings": await _meetings(request).agenda(identity.id)})


# calendar files ---------------------------------------------------------------------------------
def calendar(views: list[dict[str, Any]]) -> bytes:
    """An RFC 5545 calendar of the booked (and cancelled: STATUS CANCELLED) meetings."""
    from icalendar import Calendar, Event  # here: ~60 ms of a node's start-up, for the few who download one

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
        event.add(
            "summary",
            f"Meeting: {other['name']}" + (f" ({other['organization']})" if other.get("organization") else ""),
        )
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
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.ics"'},
    )


async def my_calendar(request: Request, identity: Identity) -> Response:
    return ics(calendar(await _meetings(request).agenda(identity.id)), "meetings")


async def meeting_calendar(request: Request, identity: Identity) -> Response:
    meetings = _meetings(request)
    meeting = await meetings.meeting_for(identity, meeting_of(request))
    views = await meetings.views([meeting], identity.id)
    if views[0]["state"] not in (BOOKED, CANCELLED):
        raise ApiError(409, "conflict", f"this meeting is {views[0]['state']}: it has a time once booked")
    return ics(calendar(views), meeting.id)


# the organisers' view ---------------------------------------------------------------------------
class MeetingGrid(msgspec.Struct):
    places: list[dict[str, Any]]
    slots: Annotated[
        list[dict[str, Any]],
        Meta(
            description="each slot's cells: the place and the booked meeting's id and people (never its conversation)"
        ),
    ]
    days: Annotated[list[dict[str, Any]], Meta(description="booked and proposed per day")]


async def grid(request: Request, host: Identity) -> Response:
    return JSONResponse(await _meetings(request).grid())


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ tab or CR gets a leading ' (OWASP)."""
    return "'" + value if value.startswith(FORMULA_START) else value


async def export(request: Request, host: Identity) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in await _meetings(request).export_rows():
        writer.writerow([csv_cell(cell) for cell in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="meetings.csv"'},
    )


class MeetingConflict(msgspec.Struct, omit_defaults=True):
    code: Annotated[str, Meta(extra_json_schema={"enum": ["taken", "conflict"]})]
    message: str
    next: (
        Annotated[
            list[MeetingSlot],
            Meta(
                max_length=NEXT_SLOTS,
                description=(
                    "with `taken`: the next slots both people have free, "
                    "their free places only (the lost slot's time first, "
                    "then later, then earlier ones still to come)"
                ),
            ),
        ]
        | UnsetType
    ) = UNSET


def meeting_routes() -> list[ApiRoute]:
    bearer, host = Auth.BEARER, Auth.HOST
    off = {404: "meetings are off"}
    meeting = {"meeting": MeetingId}
    conflict = answer(
        "`taken`: you, the other person or the place are no longer free in that slot; `next` lists the "
        "next slots both people have free (choose one of those); `conflict`: the meeting changed "
        "meanwhile or is over",
        MeetingConflict,
    )
    calendar_file = answer("an RFC 5545 calendar", {"type": "string"}, "text/calendar")

    def step_route(
        path: str,
        handler: Handler,
        body: Any,
        operation: str,
        summary: str,
        *,
        auth: Auth = bearer,
        optional: bool = False,
    ) -> ApiRoute:
        return post(
            path,
            handler,
            auth=auth,
            body=body,
            body_optional=optional,
            path_params=meeting,
            operation=operation,
            summary=summary,
            ok={200: answer("the meeting now", MeetingAnswer), 409: conflict},
            errors={
                403: "not your turn, or a block or ban stops it",
                404: "no such meeting of yours (or meetings are off)",
            },
        )

    return [
        get(
            "/api/meeting-slots",
            list_slots,
            auth=bearer,
            operation="meetingSlots",
            summary="Meeting slots and places, `free` for you",
            ok={200: answer("the slots", MeetingSlots)},
            errors=off,
        ),
        post(
            "/api/meeting-slots",
            add_slot,
            auth=host,
            body=NewMeetingSlot,
            operation="addMeetingSlot",
            summary="Add a meeting slot at some places (hosts)",
            ok={201: answer("added", MeetingSlotAnswer)},
            errors={**off, 409: "the slot ends before it starts"},
        ),
        get(
            "/api/places",
            list_places,
            auth=bearer,
            operation="places",
            summary="The meeting places",
            ok={200: answer("the places", Places)},
            errors=off,
        ),
        post(
            "/api/places",
            add_place,
            auth=host,
            body=NewPlace,
            operation="addPlace",
            summary="Add a meeting place (hosts)",
            ok={201: answer("added", PlaceAnswer), 200: answer("it exists", PlaceAnswer)},
            errors=off,
        ),
        post(
            "/api/meetings",
            propose,
            auth=bearer,
            body=NewMeeting,
            operation="proposeMeeting",
            summary="Propose a meeting in one or more slots",
            ok={201: answer("proposed", MeetingAnswer)},
            errors={
                403: "the policy, a block or a ban",
                404: "no such person, slot or place",
                409: "`taken`: one of you has a meeting in a slot",
                429: "too many requests; wait",
            },
        ),
        get(
            "/api/meetings/grid",
            grid,
            auth=host,
            operation="meetingGrid",
            summary="Slots × places with booked meetings, counts per day (hosts)",
            ok={200: answer("the grid", MeetingGrid)},
            errors=off,
        ),
        get(
            "/api/meetings.csv",
            export,
            auth=host,
            operation="meetingExport",
            summary="The booked meetings as CSV (hosts)",
            ok={
                200: answer(
                    "CSV; cells starting with = + - @ tab or CR are prefixed with '", {"type": "string"}, "text/csv"
                )
            },
            errors=off,
        ),
        get(
            "/api/me/meetings",
            my_meetings,
            auth=bearer,
            operation="myMeetings",
            summary="Your agenda: booked meetings by time, then the rest",
            ok={200: answer("yours", Meetings)},
            errors=off,
        ),
        get(
            "/api/me/meetings.ics",
            my_calendar,
            auth=bearer,
            operation="myCalendar",
            summary="Your booked (and cancelled) meetings as a calendar file",
            ok={200: calendar_file},
            errors=off,
        ),
        get(
            "/api/meetings/{meeting}.ics",
            meeting_calendar,
            auth=bearer,
            path_params=meeting,
            operation="meetingCalendar",
            summary="One meeting as a calendar file",
            ok={200: calendar_file},
            errors={404: "no such meeting of yours", 409: "not booked: it has no time yet"},
        ),
        get(
            "/api/meetings/{meeting}",
            one_meeting,
            auth=bearer,
            path_params=meeting,
            operation="meeting",
            summary="One of your meetings",
            ok={200: answer("the meeting", MeetingAnswer)},
            errors={404: "no such meeting of yours"},
        ),
        step_route(
            "/api/meetings/{meeting}/accept",
            accept,
            MeetingAccept,
            "acceptMeeting",
            "Accept one of the proposed slots (your turn)",
        ),
        step_route(
            "/api/meetings/{meeting}/decline",
            decline,
            MeetingReason,
            "declineMeeting",
            "Decline, with an optional reason",
            optional=True,
        ),
        step_route(
            "/api/meetings/{meeting}/cancel",
            cancel,
            MeetingReason,
            "cancelMeeting",
            "Cancel (either person, or a host)",
            optional=True,
        ),
        step_route(
            "/api/meetings/{meeting}/propose",
            counter,
            CounterProposal,
            "counterMeeting",
            "Propose other slots (your turn)",
        ),
        step_route(
            "/api/meetings/{meeting}/move",
            move,
            MeetingAccept,
            "moveMeeting",
            "Move a booked meeting (hosts); both are told",
            auth=host,
        ),
        get(
            "/api/meetings/{meeting}/free-slots",
            free_slots,
            auth=bearer,
            path_params=meeting,
            operation="meetingFreeSlots",
            summary="The slots both people of a meeting have free (its own slot and place aside): where a host may "
            "move it",
            ok={200: answer("the free slots", FreeSlots)},
            errors={404: "no such meeting of yours (or meetings are off)"},
        ),
    ]
