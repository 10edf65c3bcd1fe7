"""The MeetingStore contract (rooms/stores/meetings.py) on every backend: slots, places, meetings,
and no double booking — the check and the booking are one atomic step."""

from __future__ import annotations

import asyncio

import pytest

from rooms.meetings import BOOKED, CANCELLED, Meeting, Place, Slot, holds_of
from rooms.stores.meetings import CHANGED, TAKEN
from tests.backend.support import Node

SHARED = {"redis"}  # backends whose nodes share state; a memory or sqlite backend serves one node
TABLE = Place("p-14", "Table 14")
ONLINE = Place("p-online", "Video call", online=True, link="https://meet.example.org/{meeting}")
PLACES = {TABLE.id: TABLE, ONLINE.id: ONLINE}
SLOT = Slot("s-1", 1_800_000_000_000, 1_800_000_000_000 + 20 * 60_000, (TABLE.id, ONLINE.id))


@pytest.fixture
async def nodes(make_node, backend_kind) -> tuple[Node, Node]:
    """Two nodes of one cluster (one node twice where the backend cannot share)."""
    a = await make_node()
    return a, (await make_node() if backend_kind in SHARED else a)


def proposal(number: int, a: str, b: str) -> Meeting:
    return Meeting(id=f"m-{number:04d}", proposer=a, invitee=b, slots=(SLOT.id,), ts=number)


async def book(node: Node, meeting: Meeting, place: Place = TABLE) -> Meeting | str:
    booked = meeting.changed(state=BOOKED, slot=SLOT.id, place=place.id)
    return await node.stores.meetings.update_meeting(booked, version=meeting.version, holds=holds_of(booked, PLACES))


async def test_slots_and_places_are_kept_and_replaced_by_id_on_every_node(nodes):
    a, b = nodes
    later = Slot("s-2", SLOT.start + 3_600_000, SLOT.end + 3_600_000, (TABLE.id,))
    await a.stores.meetings.save_place(TABLE)
    await a.stores.meetings.save_place(ONLINE)
    await a.stores.meetings.save_place(Place(TABLE.id, "Table 14 (window)"))  # replaced, keeps its position
    await a.stores.meetings.save_slot(later)
    await a.stores.meetings.save_slot(SLOT)
    await a.stores.meetings.save_slot(SLOT)
    assert [p.name for p in await b.stores.meetings.places()] == ["Table 14 (window)", "Video call"]
    assert (await b.stores.meetings.places())[1] == ONLINE
    assert await b.stores.meetings.slots() == [SLOT, later]  # by start time


async def test_a_meeting_is_read_back_by_id_and_by_either_person(nodes):
    a, b = nodes
    stored = await a.stores.meetings.add_meeting(proposal(1, "u_fi", "u_cn").changed(note="Cranes for Chengdu"))
    assert stored.version == 1
    assert await b.stores.meetings.meeting(stored.id) == stored
    assert await b.stores.meetings.meetings_of("u_cn") == [stored] == await b.stores.meetings.meetings_of("u_fi")
    assert await b.stores.meetings.meetings_of("u_other") == [] and await b.stores.meetings.meeting("m-none") is None
    assert await b.stores.meetings.all_meetings() == [stored]


async def test_booking_holds_people_and_place_and_cancelling_frees_them(nodes):
    a, b = nodes
    first = await a.stores.meetings.add_meeting(proposal(1, "u_fi", "u_cn"))
    second = await a.stores.meetings.add_meeting(proposal(2, "u_de", "u_cn"))  # the same invitee, same slot
    third = await a.stores.meetings.add_meeting(proposal(3, "u_se", "u_jp"))  # other people, the same table
    booked = await book(a, first)
    assert isinstance(booked, Meeting) and booked.version == 2 and booked.state == BOOKED
    assert await book(b, second, ONLINE) == TAKEN  # u_cn is busy in that slot, even online
    assert await book(b, third) == TAKEN  # table 14 is taken in that slot
    assert (await b.stores.meetings.meeting(third.id)) == third  # nothing changed
    assert await book(b, third, ONLINE) != TAKEN  # online has no capacity limit
    assert await book(b, first) == CHANGED  # version 1 is gone: a stale write changes nothing
    cancelled = booked.changed(state=CANCELLED)
    done = await b.stores.meetings.update_meeting(cancelled, version=booked.version, holds=holds_of(cancelled, PLACES))
    assert isinstance(done, Meeting) and done.state == CANCELLED and done.version == 3
    second_booked = await book(a, second)  # u_cn and table 14 are free again
    assert isinstance(second_booked, Meeting) and second_booked.state == BOOKED
    assert (await a.stores.meetings.meeting(second.id)) == second_booked


async def test_moving_a_booking_releases_the_old_slot_in_the_same_step(nodes):
    a, b = nodes
    later = Slot("s-2", SLOT.start + 3_600_000, SLOT.end + 3_600_000, (TABLE.id,))
    first = await a.stores.meetings.add_meeting(proposal(1, "u_fi", "u_cn"))
    booked = await book(a, first)
    assert isinstance(booked, Meeting)
    moved = booked.changed(slot=later.id)
    after = await b.stores.meetings.update_meeting(moved, version=booked.version, holds=holds_of(moved, PLACES))
    assert isinstance(after, Meeting) and after.slot == later.id
    other = await a.stores.meetings.add_meeting(proposal(2, "u_de", "u_cn"))
    assert isinstance(await book(b, other), Meeting)  # u_cn and the table are free at the first slot now


async def test_many_racing_bookings_of_one_slot_and_place_from_two_nodes_exactly_one_wins(nodes):
    """The double-booking race: 40 meetings of 80 different people all try table 14 in one slot at
    once, half through each node: one is booked, 39 hear TAKEN, and only one holds the table."""
    a, b = nodes
    meetings = [await a.stores.meetings.add_meeting(proposal(n, f"u_a{n}", f"u_b{n}")) for n in range(40)]
    outcomes = await asyncio.gather(*(book(a if n % 2 else b, m) for n, m in enumerate(meetings)))
    winners = [o for o in outcomes if isinstance(o, Meeting)]
    assert len(winners) == 1 and outcomes.count(TAKEN) == 39
    booked = [m for m in await b.stores.meetings.all_meetings() if m.state == BOOKED]
    assert [m.id for m in booked] == [winners[0].id]


async def test_racing_answers_to_one_meeting_one_write_wins(nodes):
    """Accept and cancel of one meeting at once: exactly one is stored, the other hears CHANGED."""
    a, b = nodes
    meeting = await a.stores.meetings.add_meeting(proposal(1, "u_fi", "u_cn"))
    cancelled = meeting.changed(state=CANCELLED)
    outcomes = await asyncio.gather(book(a, meeting), b.stores.meetings.update_meeting(cancelled, version=1, holds=[]))
    assert sorted(isinstance(o, Meeting) for o in outcomes) == [False, True] and CHANGED in outcomes
