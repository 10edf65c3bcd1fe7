"""The ModerationStore contract (rooms/stores/moderation_store.py) on every backend."""
from __future__ import annotations

import asyncio
import time

from chat.backend import Mute
from rooms import Role
from rooms.conversations import EVENT_WIDE
from rooms.stores import Standing
from tests.backend.support import ROOM, Node


async def test_mutes_with_and_without_expiry(node):
    backend = node.backend
    assert await backend.get_mute(ROOM, "u_x") is None
    until = int(time.time() * 1000) + 300
    await backend.set_mute(ROOM, "u_x", until)
    assert await backend.get_mute(ROOM, "u_x") == Mute(until)
    assert await backend.get_mute("climate", "u_x") is None
    await asyncio.sleep(0.4)
    assert await backend.get_mute(ROOM, "u_x") is None
    await backend.set_mute(ROOM, "u_x", None)
    assert await backend.get_mute(ROOM, "u_x") == Mute(None)
    assert await backend.clear_mute(ROOM, "u_x") is True
    assert await backend.clear_mute(ROOM, "u_x") is False
    assert await backend.get_mute(ROOM, "u_x") is None


async def test_bans_say_whether_they_changed_anything(node):
    backend = node.backend
    assert await backend.is_banned(ROOM, "u_x") is False
    assert await backend.set_ban(ROOM, "u_x", True) is True
    assert await backend.set_ban(ROOM, "u_x", True) is False
    assert await backend.is_banned(ROOM, "u_x") is True and await backend.is_banned("climate", "u_x") is False
    assert await backend.set_ban(ROOM, "u_x", False) is True
    assert await backend.set_ban(ROOM, "u_x", False) is False
    assert await backend.is_banned(ROOM, "u_x") is False


async def test_room_moderators(node):
    backend = node.backend
    assert await backend.moderators(ROOM) == set()
    assert await backend.set_moderator(ROOM, "u_a", True) is True
    assert await backend.set_moderator(ROOM, "u_a", True) is False
    assert await backend.set_moderator(ROOM, "u_b", True) is True
    assert await backend.moderators(ROOM) == {"u_a", "u_b"}
    assert await backend.set_moderator(ROOM, "u_a", False) is True
    assert await backend.moderators(ROOM) == {"u_b"} and await backend.moderators("climate") == set()


async def test_moderation_log_keeps_order_and_honours_limit(node):
    entries = [{"action": "mute", "user": f"u_{i}", "by": "u_mod", "ts": i} for i in range(5)]
    for entry in entries:
        await node.backend.record_moderation(ROOM, entry)
    assert await node.backend.moderation_log(ROOM) == entries
    assert await node.backend.moderation_log(ROOM, limit=2) == entries[3:]
    assert await node.backend.moderation_log("climate") == []


async def test_the_highest_role_seen_is_remembered_per_room(node):
    assert await node.backend.known_role(ROOM, "u_host") is None
    await node.backend.remember_role(ROOM, "u_host", Role.HOST)
    await node.backend.remember_role(ROOM, "u_host", Role.DELEGATE)  # a lower role never demotes
    await node.backend.remember_role(ROOM, "u_mod", Role.DELEGATE)
    await node.backend.remember_role(ROOM, "u_mod", Role.MODERATOR)
    assert await node.backend.known_role(ROOM, "u_host") is Role.HOST
    assert await node.backend.known_role(ROOM, "u_mod") is Role.MODERATOR
    assert await node.backend.known_role("other", "u_host") is None


async def test_token_roles_are_remembered_event_wide_apart_from_the_rooms(node):
    """Roles.authenticated keeps each user's token role under "*": every node reads it back."""
    assert await node.backend.known_role(EVENT_WIDE, "u_mod") is None
    await node.backend.remember_role(EVENT_WIDE, "u_mod", Role.MODERATOR)
    await node.backend.remember_role(EVENT_WIDE, "u_mod", Role.DELEGATE)  # a later delegate token: still a moderator
    await node.backend.remember_role(EVENT_WIDE, "u_dee", Role.DELEGATE)
    assert await node.backend.known_role(EVENT_WIDE, "u_mod") is Role.MODERATOR
    assert await node.backend.known_role(EVENT_WIDE, "u_dee") is Role.DELEGATE
    assert await node.backend.known_role(ROOM, "u_mod") is None  # no room role follows from it


async def test_standing_reads_appointment_bans_and_mutes_in_the_room_and_event_wide(node: Node) -> None:
    backend = node.backend
    assert await backend.standing(ROOM, "u_x") == Standing(appointed=False, banned=False, banned_event=False,
                                                           mute=None, mute_event=None)
    until = int(time.time() * 1000) + 300
    await backend.set_moderator(ROOM, "u_x", True)
    await backend.set_ban(ROOM, "u_x", True)
    await backend.set_mute(ROOM, "u_x", until)
    await backend.set_mute(EVENT_WIDE, "u_x", None)
    assert await backend.standing(ROOM, "u_x") == Standing(appointed=True, banned=True, banned_event=False,
                                                           mute=Mute(until), mute_event=Mute(None))
    assert await backend.standing("climate", "u_x") == Standing(appointed=False, banned=False, banned_event=False,
                                                                mute=None, mute_event=Mute(None))
    await backend.set_ban(EVENT_WIDE, "u_x", True)
    assert (await backend.standing("climate", "u_x")).banned_event is True
    assert await backend.standing(ROOM, "u_y") == Standing(appointed=False, banned=False, banned_event=False,
                                                           mute=None, mute_event=None), "per user"
    await asyncio.sleep(0.4)
    standing = await backend.standing(ROOM, "u_x")
    assert standing.mute is None and standing.mute_event == Mute(None), "an ended mute is forgotten"
    assert await backend.get_mute(ROOM, "u_x") is None


async def test_standing_answers_as_the_single_reads_do(node: Node) -> None:
    backend = node.backend
    await backend.set_ban(EVENT_WIDE, "u_a", True)
    await backend.set_mute(ROOM, "u_b", int(time.time() * 1000) + 60_000)
    await backend.set_moderator(ROOM, "u_c", True)
    for user in ("u_a", "u_b", "u_c", "u_d"):
        for room in (ROOM, "climate"):
            standing = await backend.standing(room, user)
            assert standing == Standing(
                appointed=user in await backend.moderators(room), banned=await backend.is_banned(room, user),
                banned_event=await backend.is_banned(EVENT_WIDE, user), mute=await backend.get_mute(room, user),
                mute_event=await backend.get_mute(EVENT_WIDE, user)), (user, room)
