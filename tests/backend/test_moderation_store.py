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
    store = node.stores.moderation
    assert await store.get_mute(ROOM, "u_x") is None
    until = int(time.time() * 1000) + 300
    await store.set_mute(ROOM, "u_x", until)
    assert await store.get_mute(ROOM, "u_x") == Mute(until)
    assert await store.get_mute("climate", "u_x") is None
    await asyncio.sleep(0.4)
    assert await store.get_mute(ROOM, "u_x") is None
    await store.set_mute(ROOM, "u_x", None)
    assert await store.get_mute(ROOM, "u_x") == Mute(None)
    assert await store.clear_mute(ROOM, "u_x") is True
    assert await store.clear_mute(ROOM, "u_x") is False
    assert await store.get_mute(ROOM, "u_x") is None


async def test_bans_say_whether_they_changed_anything(node):
    store = node.stores.moderation
    assert await store.is_banned(ROOM, "u_x") is False
    assert await store.set_ban(ROOM, "u_x", True) is True
    assert await store.set_ban(ROOM, "u_x", True) is False
    assert await store.is_banned(ROOM, "u_x") is True and await store.is_banned("climate", "u_x") is False
    assert await store.set_ban(ROOM, "u_x", False) is True
    assert await store.set_ban(ROOM, "u_x", False) is False
    assert await store.is_banned(ROOM, "u_x") is False


async def test_room_moderators(node):
    store = node.stores.moderation
    assert await store.moderators(ROOM) == set()
    assert await store.set_moderator(ROOM, "u_a", True) is True
    assert await store.set_moderator(ROOM, "u_a", True) is False
    assert await store.set_moderator(ROOM, "u_b", True) is True
    assert await store.moderators(ROOM) == {"u_a", "u_b"}
    assert await store.set_moderator(ROOM, "u_a", False) is True
    assert await store.moderators(ROOM) == {"u_b"} and await store.moderators("climate") == set()


async def test_moderation_log_keeps_order_and_honours_limit(node):
    entries = [{"action": "mute", "user": f"u_{i}", "by": "u_mod", "ts": i} for i in range(5)]
    for entry in entries:
        await node.stores.moderation.record_moderation(ROOM, entry)
    assert await node.stores.moderation.moderation_log(ROOM) == entries
    assert await node.stores.moderation.moderation_log(ROOM, limit=2) == entries[3:]
    assert await node.stores.moderation.moderation_log("climate") == []


async def test_the_highest_role_seen_is_remembered_per_room(node):
    assert await node.stores.moderation.known_role(ROOM, "u_host") is None
    await node.stores.moderation.remember_role(ROOM, "u_host", Role.HOST)
    await node.stores.moderation.remember_role(ROOM, "u_host", Role.DELEGATE)  # a lower role never demotes
    await node.stores.moderation.remember_role(ROOM, "u_mod", Role.DELEGATE)
    await node.stores.moderation.remember_role(ROOM, "u_mod", Role.MODERATOR)
    assert await node.stores.moderation.known_role(ROOM, "u_host") is Role.HOST
    assert await node.stores.moderation.known_role(ROOM, "u_mod") is Role.MODERATOR
    assert await node.stores.moderation.known_role("other", "u_host") is None


async def test_token_roles_are_remembered_event_wide_apart_from_the_rooms(node):
    """Roles.authenticated keeps each user's token role under "*": every node reads it back."""
    store = node.stores.moderation
    assert await store.known_role(EVENT_WIDE, "u_mod") is None
    await store.remember_role(EVENT_WIDE, "u_mod", Role.MODERATOR)
    await store.remember_role(EVENT_WIDE, "u_mod", Role.DELEGATE)  # a later delegate token: still a moderator
    await store.remember_role(EVENT_WIDE, "u_dee", Role.DELEGATE)
    assert await store.known_role(EVENT_WIDE, "u_mod") is Role.MODERATOR
    assert await store.known_role(EVENT_WIDE, "u_dee") is Role.DELEGATE
    assert await store.known_role(ROOM, "u_mod") is None  # no room role follows from it


async def test_standing_reads_appointment_bans_and_mutes_in_the_room_and_event_wide(node: Node) -> None:
    store = node.stores.moderation
    assert await store.standing(ROOM, "u_x") == Standing(
        appointed=False, banned=False, banned_event=False, mute=None, mute_event=None
    )
    until = int(time.time() * 1000) + 300
    await store.set_moderator(ROOM, "u_x", True)
    await store.set_ban(ROOM, "u_x", True)
    await store.set_mute(ROOM, "u_x", until)
    await store.set_mute(EVENT_WIDE, "u_x", None)
    assert await store.standing(ROOM, "u_x") == Standing(
        appointed=True, banned=True, banned_event=False, mute=Mute(until), mute_event=Mute(None)
    )
    assert await store.standing("climate", "u_x") == Standing(
        appointed=False, banned=False, banned_event=False, mute=None, mute_event=Mute(None)
    )
    await store.set_ban(EVENT_WIDE, "u_x", True)
    assert (await store.standing("climate", "u_x")).banned_event is True
    assert await store.standing(ROOM, "u_y") == Standing(
        appointed=False, banned=False, banned_event=False, mute=None, mute_event=None
    ), "per user"
    await asyncio.sleep(0.4)
    standing = await store.standing(ROOM, "u_x")
    assert standing.mute is None and standing.mute_event == Mute(None), "an ended mute is forgotten"
    assert await store.get_mute(ROOM, "u_x") is None


async def test_standing_answers_as_the_single_reads_do(node: Node) -> None:
    store = node.stores.moderation
    await store.set_ban(EVENT_WIDE, "u_a", True)
    await store.set_mute(ROOM, "u_b", int(time.time() * 1000) + 60_000)
    await store.set_moderator(ROOM, "u_c", True)
    for user in ("u_a", "u_b", "u_c", "u_d"):
        for room in (ROOM, "climate"):
            standing = await store.standing(room, user)
            assert standing == Standing(
                appointed=user in await store.moderators(room),
                banned=await store.is_banned(room, user),
                banned_event=await store.is_banned(EVENT_WIDE, user),
                mute=await store.get_mute(room, user),
                mute_event=await store.get_mute(EVENT_WIDE, user),
            ), (user, room)
