"""Room validation, defined once for the config and the host API (rooms/models.py)."""

from __future__ import annotations

import pytest

from rooms import SLOW_MODE_MAX, InvalidRoom, Room, RoomState, new_room, room_fields


def test_a_new_room_needs_an_id_and_a_title():
    assert new_room({"id": "side-event", "title": "Side event"}) == Room("side-event", "Side event")
    assert new_room({"id": "a", "title": " A ", "state": "read_only", "slow_mode": 5}) == Room(
        "a", "A", state=RoomState.READ_ONLY, slow_mode=5
    )


@pytest.mark.parametrize(
    "data, field",
    [
        ({"id": "ok"}, "title"),
        ({"id": "Bad Id", "title": "x"}, "id"),
        ({"id": "-x", "title": "x"}, "id"),
        ({"id": 3}, "id"),
        ({"id": "ok", "title": ""}, "title"),
        ({"id": "ok", "title": "x" * 81}, "title"),
        ({"id": "ok", "title": "t", "forum": 5}, "forum"),
        ({"id": "ok", "title": "t", "state": "gone"}, "state"),
        ({"id": "ok", "title": "t", "slow_mode": -1}, "slow_mode"),
        ({"id": "ok", "title": "t", "slow_mode": SLOW_MODE_MAX + 1}, "slow_mode"),
        ({"id": "ok", "title": "t", "slow_mode": True}, "slow_mode"),
    ],
)
def test_invalid_fields_are_named(data, field):
    with pytest.raises(InvalidRoom) as caught:
        new_room(data)
    assert caught.value.field == field and f'"{field}"' in str(caught.value)


def test_changes_hold_only_the_fields_given():
    assert room_fields({"slow_mode": SLOW_MODE_MAX}) == {"slow_mode": SLOW_MODE_MAX}
    assert room_fields({}) == {}
