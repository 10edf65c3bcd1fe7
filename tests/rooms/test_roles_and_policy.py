"""A user's role in a room, and who outranks whom (rooms/policy.py, rooms/roles.py)."""

from __future__ import annotations

import pytest

from rooms import Role, Room, RoomKind, RoomState
from rooms.policy import (
    appointed_role,
    export_refusal,
    listed,
    may_act_on,
    organises,
    room_role,
    send_refusal,
    writers,
)
from tests.rooms.conftest import DEE, ELSEWHERE_MOD, HOST, MOD, ROOM


@pytest.mark.parametrize(
    "role, scope, appointed, expected",
    [
        (Role.HOST, (), set(), Role.HOST),
        (Role.MODERATOR, (), set(), Role.MODERATOR),
        (Role.MODERATOR, (ROOM,), set(), Role.MODERATOR),
        (Role.DELEGATE, (), set(), Role.DELEGATE),
        (Role.DELEGATE, (), {"u"}, Role.MODERATOR),
    ],
)
def test_room_role(role, scope, appointed, expected):
    assert room_role(role, scope, ROOM, appointed, "u") is expected


def test_a_scoped_moderator_token_is_a_delegate_elsewhere():
    assert room_role(Role.MODERATOR, ("other",), ROOM, set(), "u") is Role.DELEGATE


@pytest.mark.parametrize(
    "actor, target, allowed",
    [
        (Role.HOST, Role.MODERATOR, True),
        (Role.HOST, Role.DELEGATE, True),
        (Role.HOST, Role.HOST, False),
        (Role.MODERATOR, Role.DELEGATE, True),
        (Role.MODERATOR, Role.MODERATOR, False),
        (Role.MODERATOR, Role.HOST, False),
        (Role.DELEGATE, Role.DELEGATE, False),
        (Role.MODERATOR, None, True),
    ],
)
def test_who_may_act_on_whom(actor, target, allowed):
    assert may_act_on(actor, target) is allowed


def test_room_states_refuse_writers():
    assert send_refusal(Room("r", "R", state=RoomState.CLOSED), Role.HOST) == ("room_closed", "room 'r' is closed")
    refusal = send_refusal(Room("r", "R", state=RoomState.READ_ONLY), Role.DELEGATE)
    assert refusal is not None and refusal[0] == "forbidden"
    assert send_refusal(Room("r", "R", state=RoomState.READ_ONLY), Role.MODERATOR) is None


def test_hosts_organise():
    assert [role for role in Role if organises(role)] == [Role.HOST]


def test_an_appointment_makes_a_delegate_a_moderator():
    assert appointed_role(True) is Role.MODERATOR and appointed_role(False) is Role.DELEGATE


def test_private_conversations_are_never_listed_nor_exported():
    forum, private = Room("r", "R"), Room("c-1", "C", kind=RoomKind.PRIVATE)
    assert listed(forum) and not listed(private)
    assert export_refusal(forum) is None
    assert export_refusal(private) == ("forbidden", "private conversations are never exported")


async def test_roles_of_actors_follow_tokens_and_appointments(core):
    assert await core.roles.of(HOST, ROOM) is Role.HOST
    assert await core.roles.of(ELSEWHERE_MOD, ROOM) is Role.DELEGATE
    assert await core.roles.of(DEE, ROOM) is Role.DELEGATE
    await core.stores.moderation.set_moderator(ROOM, DEE.id, True)
    assert await core.roles.of(DEE, ROOM) is Role.MODERATOR
    assert await core.roles.of(DEE, "quiet") is Role.DELEGATE


async def test_standing_is_the_highest_role_seen_present_or_not(core):
    assert await core.roles.highest_role_seen(ROOM, HOST.id) is None  # never seen here
    await core.access.join(HOST, ROOM)
    assert await core.roles.highest_role_seen(ROOM, HOST.id) is Role.HOST  # joined, then (as far as presence goes) away
    await core.stores.presence.add_member(ROOM, MOD.member("c1"))
    assert await core.roles.highest_role_seen(ROOM, MOD.id) is Role.MODERATOR  # present
    await core.stores.moderation.set_moderator(ROOM, DEE.id, True)
    assert await core.roles.highest_role_seen(ROOM, DEE.id) is Role.MODERATOR  # appointed, never joined


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (RoomState.OPEN, [Role.HOST, Role.MODERATOR, Role.DELEGATE]),
        (RoomState.READ_ONLY, [Role.HOST, Role.MODERATOR]),
        (RoomState.CLOSED, []),
    ],
)
def test_writers_are_the_roles_send_refusal_lets_write(state, expected):
    room = Room("r", "R", state=state)
    assert writers(room) == expected
    assert writers(room) == [role for role in Role if send_refusal(room, role) is None]
