"""The meeting rules (rooms/meetings.py), without a server."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from rooms.conversations import Policy
from rooms.meetings import (
    BOOKED,
    PROPOSED,
    Meeting,
    Place,
    Slot,
    accept_refusal,
    answer_refusal,
    bookable_refusal,
    busy_slots,
    cancel_refusal,
    free_slots,
    holds_of,
    iso,
    move_refusal,
    next_free,
    offered_place_refusal,
    parse_iso,
    place_for,
    planned_slots,
    propose_refusal,
    see_refusal,
    slots_refusal,
)
from rooms.models import Role
from rooms.refusal import Refused

TABLE, ONLINE = Place("p-1", "Table 1"), Place("p-o", "Video", online=True, link="https://x/{meeting}")
PLACES = {TABLE.id: TABLE, ONLINE.id: ONLINE}
SLOT = Slot("s-1", 2_000_000_000_000, 2_000_001_200_000, (TABLE.id, ONLINE.id))
MEETING = Meeting("m-1", "u_li", "u_anna", (SLOT.id,))


def code(result: object) -> str | None:
    return result.code if isinstance(result, Refused) else None


def ask(**changes):
    base = {
        "proposer": "u_li",
        "invitee": "u_anna",
        "known": True,
        "blocked": False,
        "policy": Policy.OPEN,
        "contact": False,
        "proposer_banned": False,
        "invitee_banned": False,
    }
    return propose_refusal(**{**base, **changes})


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"invitee": "u_li"}, "bad_request"),
        ({"known": False}, "not_found"),
        ({"blocked": True}, "forbidden"),
        ({"proposer_banned": True}, "banned"),
        ({"invitee_banned": True}, "forbidden"),
        ({"policy": Policy.OFF}, "forbidden"),
        ({"policy": Policy.REQUEST}, "forbidden"),
    ],
)
def test_who_may_propose(changes, expected):
    assert code(ask(**changes)) == expected


def test_a_first_request_under_the_request_policy_needs_contact():
    assert ask() is None and ask(policy=Policy.REQUEST, contact=True) is None


def test_only_slots_both_people_have_free_and_not_over():
    assert slots_refusal([SLOT.id], {SLOT.id: SLOT}, busy=set(), now=0) is None
    assert code(slots_refusal([SLOT.id], {SLOT.id: SLOT}, busy={SLOT.id}, now=0)) == "taken"
    assert code(slots_refusal([SLOT.id], {SLOT.id: SLOT}, busy=set(), now=SLOT.end)) == "bad_request"
    assert code(slots_refusal(["s-x"], {SLOT.id: SLOT}, busy=set(), now=0)) == "not_found"
    assert code(slots_refusal([SLOT.id, SLOT.id], {SLOT.id: SLOT}, busy=set(), now=0)) == "bad_request"


def test_turns_and_cancels():
    assert answer_refusal(MEETING, "u_anna", "accept") is None
    assert code(answer_refusal(MEETING, "u_li", "accept")) == "forbidden"
    assert code(answer_refusal(MEETING, "u_x", "accept")) == "not_found"
    assert code(answer_refusal(MEETING.changed(state=BOOKED), "u_anna", "decline")) == "conflict"
    assert cancel_refusal(MEETING, "u_li", Role.DELEGATE) is None
    assert cancel_refusal(MEETING, "u_x", Role.HOST) is None
    assert code(cancel_refusal(MEETING, "u_x", Role.MODERATOR)) == "not_found"
    assert code(cancel_refusal(MEETING.changed(state="cancelled"), "u_li", Role.DELEGATE)) == "conflict"


def test_accepting_takes_a_slot_on_the_table_and_moving_a_booked_meeting_somewhere_else():
    offered = MEETING.slots[0]
    assert accept_refusal(MEETING, "u_anna", offered) is None
    assert code(accept_refusal(MEETING, "u_anna", "s-elsewhere")) == "bad_request"
    assert code(accept_refusal(MEETING, "u_li", offered)) == "forbidden"  # not their turn
    booked = MEETING.changed(state=BOOKED, slot=SLOT.id, place=TABLE.id)
    assert move_refusal(booked, SLOT.id, "p-2") is None
    assert move_refusal(booked, "s-later", None) is None
    assert code(move_refusal(booked, SLOT.id, None)) == "bad_request"
    assert code(move_refusal(booked, SLOT.id, TABLE.id)) == "bad_request"
    assert code(move_refusal(MEETING, SLOT.id, "p-2")) == "conflict"  # proposed, not booked


def test_a_proposal_asks_for_a_place_its_slots_offer_and_a_booking_for_a_slot_not_over():
    slots = {SLOT.id: SLOT}
    assert offered_place_refusal(None, [SLOT.id], slots, PLACES) is None
    assert offered_place_refusal(TABLE.id, [SLOT.id], slots, PLACES) is None
    assert code(offered_place_refusal("p-9", [SLOT.id], slots, PLACES)) == "bad_request"
    assert code(offered_place_refusal(TABLE.id, [SLOT.id], slots, {})) == "not_found"
    assert bookable_refusal(SLOT, SLOT.id, now=SLOT.start) is None
    assert code(bookable_refusal(SLOT, SLOT.id, now=SLOT.end)) == "bad_request"
    assert code(bookable_refusal(None, "s-9", now=0)) == "not_found"


def test_its_two_people_and_hosts_see_a_meeting_and_to_anyone_else_it_does_not_exist():
    assert see_refusal(MEETING, MEETING.id, "u_li", Role.DELEGATE) is None
    assert see_refusal(MEETING, MEETING.id, "u_anna", Role.MODERATOR) is None
    assert see_refusal(MEETING, MEETING.id, "u_x", Role.HOST) is None
    for stranger in (Role.DELEGATE, Role.MODERATOR):  # a moderator organises nothing
        assert code(see_refusal(MEETING, MEETING.id, "u_x", stranger)) == "not_found"
    assert code(see_refusal(None, "m-gone", "u_x", Role.HOST)) == "not_found"


def test_a_booking_holds_both_people_and_a_table_but_not_an_online_place():
    booked = MEETING.changed(state=BOOKED, slot=SLOT.id, place=TABLE.id)
    assert holds_of(booked, PLACES) == [(SLOT.id, "user:u_li"), (SLOT.id, "user:u_anna"), (SLOT.id, "place:p-1")]
    assert holds_of(booked.changed(place=ONLINE.id), PLACES) == [(SLOT.id, "user:u_li"), (SLOT.id, "user:u_anna")]
    assert holds_of(MEETING, PLACES) == [] and busy_slots("u_li", [booked]) == {SLOT.id}
    assert MEETING.turn == "u_anna" and booked.turn is None and MEETING.state == PROPOSED


def test_the_first_free_place_is_taken_and_online_is_never_full():
    assert place_for(SLOT, None, PLACES, set()) == TABLE
    assert place_for(SLOT, None, PLACES, {(SLOT.id, TABLE.id)}) == ONLINE
    assert code(place_for(SLOT, TABLE.id, PLACES, {(SLOT.id, TABLE.id)})) == "taken"
    assert code(place_for(Slot("s-2", 0, 1, (TABLE.id,)), None, PLACES, {("s-2", TABLE.id)})) == "taken"


def test_free_slots_for_both_people_and_the_next_ones_after_a_lost_slot():
    hour = 3_600_000
    slots = {
        s.id: s
        for s in (
            Slot("s-a", SLOT.start - hour, SLOT.end - hour, (TABLE.id,)),
            SLOT,
            Slot("s-b", SLOT.start + hour, SLOT.end + hour, (TABLE.id,)),
            Slot("s-c", SLOT.start + 2 * hour, SLOT.end + 2 * hour, (TABLE.id,)),
            Slot("s-over", 0, 1, (TABLE.id,)),
        )
    }
    table_taken = Meeting("m-2", "u_ola", "u_sam", (SLOT.id,), state=BOOKED, slot=SLOT.id, place=TABLE.id)
    anna_busy = Meeting("m-3", "u_anna", "u_eve", ("s-b",), state=BOOKED, slot="s-b", place=ONLINE.id)
    found = free_slots(MEETING.people, slots, PLACES, [table_taken, anna_busy], now=SLOT.start - 2 * hour)
    # the lost slot keeps its online place; Anna meets Eve in s-b; s-over is over
    assert [(slot.id, [p.id for p in free]) for slot, free in found] == [
        ("s-a", [TABLE.id]),
        (SLOT.id, [ONLINE.id]),
        ("s-c", [TABLE.id]),
    ]
    assert [slot.id for slot, _ in next_free(found, SLOT)] == [SLOT.id, "s-c", "s-a"]  # from its time on first
    assert [slot.id for slot, _ in next_free(found, SLOT, limit=1)] == [SLOT.id]
    # the meeting being moved holds nothing against itself
    assert [s.id for s, _ in free_slots(("u_ola", "u_sam"), slots, PLACES, [table_taken], now=2, ignore="m-2")][:3] == [
        "s-a",
        SLOT.id,
        "s-b",
    ]


def test_planned_slots_follow_the_event_time_zone_across_a_dst_change():
    zone = ZoneInfo("Europe/Helsinki")
    slots = planned_slots(("2026-03-28", "2026-03-29"), ("14:00-15:00",), 30, zone, ("p-1",))
    assert [iso(s.start, zone) for s in slots] == [
        "2026-03-28T14:00+02:00",
        "2026-03-28T14:30+02:00",
        "2026-03-29T14:00+03:00",
        "2026-03-29T14:30+03:00",
    ]
    assert parse_iso(iso(slots[0].start, zone)) == slots[0].start and parse_iso("2026-03-28T14:00") is None
    with pytest.raises(ValueError):
        planned_slots(("28.3.2026",), ("14:00-15:00",), 30, zone, ())
