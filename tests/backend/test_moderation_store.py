"""The ModerationStore contract (rooms/stores/moderation_store.py) on every backend."""
from __future__ import annotations

import asyncio
import time

from chat.backend import Mute
from rooms import Role
from tests.backend.support import ROOM


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
