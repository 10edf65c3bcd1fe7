"""Matchmaking meetings (issue 26): slots and places set by the organisers, meetings two people
agree from a conversation, booked without double booking. The pure rules and values.

A meeting is proposed by one person to another with one or more slots; the person whose turn it
is (`turn`) accepts one slot (state `booked`), declines (`declined`) or proposes other slots (a
counter-proposal: the turn passes back); either person may cancel (`cancelled`). A host sees every
meeting, may cancel it, and may move a booked one (`see_refusal`, `cancel_refusal`). A person and
a place hold at most one meeting per slot: the store checks and takes those holds in one atomic step
(`MeetingStore.update_meeting`), so two nodes racing for the last table of a slot cannot both win.
An online place has no capacity limit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from rooms.conversations import Policy, start_refusal
from rooms.models import Role
from rooms.policy import organises
from rooms.refusal import Refused

NOTE_MAX = 500
REASON_MAX = 200
PLACE_NAME_MAX = 80
SLOTS_PER_PROPOSAL = 10  # slots one proposal offers at most
NEXT_SLOTS = 5  # free slots a lost race offers instead

PROPOSED, BOOKED, DECLINED, CANCELLED = "proposed", "booked", "declined", "cancelled"
STATES = (PROPOSED, BOOKED, DECLINED, CANCELLED)


@dataclass(frozen=True)
class Place:
    """A table or room (one meeting per slot), or an online place (no limit) with its link pattern."""

    id: str
    name: str
    online: bool = False
    link: str = ""  # online: the call's address, `{meeting}` replaced by the meeting's id

    def public(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.online:
            data["online"] = True
        return data

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Place:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            online=bool(data.get("online", False)),
            link=str(data.get("link", "")),
        )


@dataclass(frozen=True)
class Slot:
    """A time meetings may take, at some places: [start, end) in ms since the epoch."""

    id: str
    start: int
    end: int
    places: tuple[str, ...]  # place ids

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "start": self.start, "end": self.end, "places": list(self.places)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Slot:
        return cls(
            id=str(data["id"]),
            start=int(data["start"]),
            end=int(data["end"]),
            places=tuple(str(p) for p in data["places"]),
        )


@dataclass(frozen=True)
class Meeting:
    """One meeting between two people; `version` rises with every stored change (compare-and-set)."""

    id: str
    proposer: str  # who proposed the slots now on the table
    invitee: str  # the other person
    slots: tuple[str, ...]  # the slot ids on the table
    state: str = PROPOSED
    place: str | None = None  # the place asked for (proposed) or taken (booked)
    slot: str | None = None  # the slot taken (booked)
    note: str = ""
    note_lang: str = ""  # the note's detected language (each reader gets it translated into theirs)
    reason: str = ""  # why declined or cancelled
    by: str = ""  # who made the last change
    room: str = ""  # the conversation whose history records each step ("": none, e.g. stored before issue 26's cards)
    ts: int = 0  # ms: created
    updated: int = 0  # ms: last change
    version: int = 0

    @property
    def people(self) -> tuple[str, str]:
        return self.proposer, self.invitee

    @property
    def turn(self) -> str | None:
        """Who must answer: the invitee while proposed, nobody otherwise."""
        return self.invitee if self.state == PROPOSED else None

    def other(self, user: str) -> str:
        return self.invitee if user == self.proposer else self.proposer

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["slots"] = list(self.slots)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Meeting:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["slots"] = tuple(known.get("slots", ()))
        return cls(**known)

    def changed(self, **changes: Any) -> Meeting:
        return replace(self, **changes)


def holds_of(meeting: Meeting, places: dict[str, Place]) -> list[tuple[str, str]]:
    """The holds a meeting in its state takes: a booked one holds both people and its place (not an
    online place, which has no limit) in its slot; any other state holds nothing."""
    if meeting.state != BOOKED or meeting.slot is None:
        return []
    holds = [(meeting.slot, f"user:{person}") for person in meeting.people]
    place = places.get(meeting.place or "")
    if place is not None and not place.online:
        holds.append((meeting.slot, f"place:{place.id}"))
    return holds


class Taken(Refused):
    """Refused(taken): a person or the place is no longer free in that slot; `next` holds the slots
    both people still have free (the caller's views of them), which the app offers instead."""

    def __init__(self, message: str, next_free: list[dict[str, Any]]) -> None:
        super().__init__("taken", message)
        self.next = next_free


def new_meeting_id() -> str:
    return "m-" + secrets.token_hex(8)


def place_id(name: str) -> str:
    """The same id for a place's name on every node (configured places are seeded by each)."""
    return "p-" + hashlib.sha256(name.casefold().encode()).hexdigest()[:12]


def slot_id(start: int, end: int) -> str:
    """The same id for a slot's time on every node."""
    return "s-" + hashlib.sha256(f"{start}-{end}".encode()).hexdigest()[:12]


# times ----------------------------------------------------------------------------------------
def iso(ms: int, zone: tzinfo) -> str:
    """ISO 8601 with the offset of `zone` at that time (the event's time zone)."""
    return datetime.fromtimestamp(ms / 1000, tz=zone).isoformat(timespec="minutes")


def parse_iso(text: str) -> int | None:
    """ms since the epoch of an ISO 8601 time that names its offset, or None."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return int(moment.timestamp() * 1000)


def planned_slots(
    days: tuple[str, ...], windows: tuple[str, ...], minutes: int, zone: tzinfo, places: tuple[str, ...]
) -> list[Slot]:
    """The slots the configuration describes: on each day (YYYY-MM-DD), each window (HH:MM-HH:MM in
    the event's time zone) cut into slots of `minutes`, at every place. ValueError when malformed."""
    if minutes <= 0:
        raise ValueError("meetings.slot_minutes must be more than 0")
    slots = []
    for day in days:
        date = datetime.strptime(day, "%Y-%m-%d").date()
        for window in windows:
            first, _, last = window.partition("-")
            begin = datetime.combine(date, datetime.strptime(first.strip(), "%H:%M").time(), tzinfo=zone)
            finish = datetime.combine(date, datetime.strptime(last.strip(), "%H:%M").time(), tzinfo=zone)
            while begin + timedelta(minutes=minutes) <= finish:
                start = int(begin.timestamp() * 1000)
                end = int((begin + timedelta(minutes=minutes)).timestamp() * 1000)
                slots.append(Slot(slot_id(start, end), start, end, places))
                begin += timedelta(minutes=minutes)
    return slots


# the rules -------------------------------------------------------------------------------------
def busy_slots(user: str, meetings: list[Meeting]) -> set[str]:
    """The slots in which the user has a booked meeting."""
    return {m.slot for m in meetings if m.state == BOOKED and m.slot is not None and user in m.people}


def taken_places(meetings: list[Meeting], places: dict[str, Place]) -> set[tuple[str, str]]:
    """(slot, place) pairs a booked meeting holds (online places are never taken)."""
    return {
        (m.slot, m.place)
        for m in meetings
        if m.state == BOOKED
        and m.slot is not None
        and m.place is not None
        and not (places.get(m.place) or Place("", "")).online
    }


def free_slots(
    people: tuple[str, ...],
    slots: dict[str, Slot],
    places: dict[str, Place],
    meetings: list[Meeting],
    *,
    now: int,
    ignore: str | None = None,
) -> list[tuple[Slot, list[Place]]]:
    """The slots not over in which none of `people` has a booked meeting (the meeting `ignore`
    aside: the one being moved or booked), each with its places free then, by start time; a slot
    with no free place is left out."""
    others = [m for m in meetings if m.id != ignore]
    busy = set().union(*(busy_slots(person, others) for person in people))
    taken = taken_places(others, places)
    found = []
    for slot in sorted(slots.values(), key=lambda s: (s.start, s.end, s.id)):
        if slot.end <= now or slot.id in busy:
            continue
        free = [places[p] for p in slot.places if p in places and (places[p].online or (slot.id, p) not in taken)]
        if free:
            found.append((slot, free))
    return found


def next_free(
    found: list[tuple[Slot, list[Place]]], lost: Slot | None, limit: int = NEXT_SLOTS
) -> list[tuple[Slot, list[Place]]]:
    """What to offer after losing `lost`: the free slots from its time on first (the next ones; the
    lost slot itself when another place is free then), then the earlier ones still to come; at most
    `limit`."""
    if lost is None:
        return found[:limit]
    later = [entry for entry in found if entry[0].start >= lost.start]
    earlier = [entry for entry in found if entry[0].start < lost.start]
    return (later + earlier)[:limit]


def propose_refusal(
    *,
    proposer: str,
    invitee: str,
    known: bool,
    blocked: bool,
    policy: Policy,
    contact: bool,
    proposer_banned: bool,
    invitee_banned: bool,
) -> Refused | None:
    """May `proposer` ask `invitee` for a meeting? Blocks either way refuse; an event-wide ban stops
    new bookings (it cancels nothing already booked); the conversation policy applies to a first
    request (`contact`: they are in contact, or already have a meeting)."""
    if proposer == invitee:
        return Refused("bad_request", 'you cannot meet yourself: "with" names another person')
    if not known:
        return Refused("not_found", f"there is nobody with the id {invitee!r}; GET /api/people lists people")
    if proposer_banned:
        return Refused("banned", "you are banned from this event: you cannot book meetings")
    if invitee_banned:
        return Refused("forbidden", "this person cannot take meetings at this event")
    if blocked:
        return Refused("forbidden", "this person does not accept meetings from you")
    refusal = start_refusal(policy, blocked=False, contact=contact or policy is Policy.OPEN)
    if refusal is not None:
        return Refused(refusal[0], refusal[1].replace("conversations", "meetings").replace("talk", "meet"))
    return None


def slots_refusal(chosen: list[str], slots: dict[str, Slot], *, busy: set[str], now: int) -> Refused | None:
    """The slots of a proposal: 1..SLOTS_PER_PROPOSAL known slots not over, which neither person has taken."""
    if not chosen or len(chosen) > SLOTS_PER_PROPOSAL or len(set(chosen)) != len(chosen):
        return Refused(
            "bad_request",
            f'"slots" must list 1-{SLOTS_PER_PROPOSAL} different slot ids (GET /api/meeting-slots lists them)',
        )
    for chosen_id in chosen:
        slot = slots.get(chosen_id)
        if slot is None:
            return Refused("not_found", f"there is no slot {chosen_id!r}; GET /api/meeting-slots lists them")
        if slot.end <= now:
            return Refused("bad_request", f"slot {chosen_id!r} is over; choose a later one")
        if chosen_id in busy:
            return Refused(
                "taken",
                f"you or the other person have a meeting in slot {chosen_id!r} already; "
                "GET /api/meeting-slots shows who is free when",
            )
    return None


def offered_place_refusal(
    place: str | None, chosen: list[str], slots: dict[str, Slot], places: dict[str, Place]
) -> Refused | None:
    """The place a proposal asks for (None: any), among the known `chosen` slots: one of them offers it."""
    if place is None:
        return None
    if not any(place in slots[s].places for s in chosen if s in slots):
        return Refused("bad_request", f"place {place!r} is not offered in these slots")
    if place not in places:
        return Refused("not_found", f"there is no place {place!r}")
    return None


def bookable_refusal(slot: Slot | None, chosen: str, *, now: int) -> Refused | None:
    """A booking (accepted or moved) takes a known slot that is not over."""
    if slot is None:
        return Refused("not_found", f"there is no slot {chosen!r}")
    if slot.end <= now:
        return Refused("bad_request", "this slot is over; choose a later one")
    return None


def answer_refusal(meeting: Meeting, user: str, action: str) -> Refused | None:
    """May `user` accept, decline or counter (`action`: accept | decline | propose) this meeting now?"""
    if user not in meeting.people:
        return Refused("not_found", f"there is no meeting {meeting.id!r} of yours")
    if meeting.state != PROPOSED:
        return Refused("conflict", f"this meeting is {meeting.state}; you can no longer {action} it")
    if meeting.turn != user:
        return Refused("forbidden", f"it is the other person's turn to answer; you may cancel, not {action}")
    return None


def accept_refusal(meeting: Meeting, user: str, chosen: str) -> Refused | None:
    """May `user` accept this meeting in slot `chosen` now? Their turn (`answer_refusal`), and one
    of the slots on the table."""
    refusal = answer_refusal(meeting, user, "accept")
    if refusal is None and chosen not in meeting.slots:
        return Refused("bad_request", f"slot {chosen!r} is not one of this meeting's; propose it instead")
    return refusal


def move_refusal(meeting: Meeting, chosen: str, place: str | None) -> Refused | None:
    """May a host move this meeting to slot `chosen` (and `place`, None: any free one)? Only a booked
    meeting, and only somewhere else."""
    if meeting.state != BOOKED:
        return Refused("conflict", f"this meeting is {meeting.state}; only a booked meeting can be moved")
    if chosen == meeting.slot and place in (None, meeting.place):
        return Refused("bad_request", "the meeting is at this slot and place already; choose another")
    return None


def see_refusal(meeting: Meeting | None, meeting_id: str, user: str, role: Role) -> Refused | None:
    """May `user` (of token role `role`) read this meeting, or act on it at all? Its two people, and
    hosts (who organise the event: they move and cancel meetings). To anyone else it does not exist
    (not_found, as for an unknown id: a refusal would say that the id is a meeting)."""
    if meeting is None or (user not in meeting.people and not organises(role)):
        return Refused("not_found", f"there is no meeting {meeting_id!r} of yours; GET /api/me/meetings lists them")
    return None


def cancel_refusal(meeting: Meeting, user: str, role: Role) -> Refused | None:
    """Either person, or a host, may cancel a proposed or booked meeting."""
    refusal = see_refusal(meeting, meeting.id, user, role)
    if refusal is not None:
        return refusal
    if meeting.state not in (PROPOSED, BOOKED):
        return Refused("conflict", f"this meeting is {meeting.state} already")
    return None


def place_for(slot: Slot, wanted: str | None, places: dict[str, Place], taken: set[tuple[str, str]]) -> Place | Refused:
    """The place a booking in `slot` takes: the one asked for, else the first free one (places in
    the slot's order); Refused(taken) when none is free, so the caller offers other slots."""
    if wanted is not None:
        if wanted not in slot.places or wanted not in places:
            return Refused("bad_request", f"place {wanted!r} is not offered in this slot")
        place = places[wanted]
        if not place.online and (slot.id, wanted) in taken:
            return Refused("taken", f"{place.name} is taken in this slot; choose another place or slot")
        return place
    for candidate in slot.places:
        found = places.get(candidate)
        if found is not None and (found.online or (slot.id, candidate) not in taken):
            return found
    return Refused("taken", "every place is taken in this slot; choose another slot")
