"""May join, may send: room state, bans, mutes, the token bucket and slow mode (rooms/access.py)."""

from __future__ import annotations

import pytest

from rooms import Refused, Role
from rooms.stores import now_ms
from tests.rooms.conftest import DEE, EVE, HOST, MOD, ROOM


async def refused(coroutine) -> Refused:
    with pytest.raises(Refused) as caught:
        await coroutine
    return caught.value


async def test_join_answers_the_room_and_role_and_remembers_the_role(core):
    room, role = await core.access.join(MOD, ROOM)
    assert room.id == ROOM and role is Role.MODERATOR
    assert await core.stores.moderation.known_role(ROOM, MOD.id) is Role.MODERATOR


async def test_join_refusals(core):
    assert (await refused(core.access.join(DEE, "nowhere"))).code == "not_found"
    assert (await refused(core.access.join(HOST, "shut"))).code == "room_closed"
    await core.stores.moderation.set_ban(ROOM, DEE.id, True)
    error = await refused(core.access.join(DEE, ROOM))
    assert error.code == "banned" and ROOM in error.message


async def test_a_ban_on_record_against_a_host_is_void(core):
    await core.stores.moderation.set_ban(ROOM, HOST.id, True)
    await core.stores.moderation.set_mute(ROOM, HOST.id, None)
    await core.access.join(HOST, ROOM)
    assert await core.access.check_send(HOST, ROOM) is Role.HOST
    assert await core.access.binding_mute(HOST, ROOM, Role.HOST) is None  # `joined.you` shows no mute either


async def test_read_only_rooms_take_moderators_not_delegates(core):
    assert (await refused(core.access.check_send(DEE, "quiet"))).code == "forbidden"
    assert await core.access.check_send(MOD, "quiet") is Role.MODERATOR


async def test_muted_users_hear_for_how_long(core):
    await core.stores.moderation.set_mute(ROOM, DEE.id, now_ms() + 90_000)
    error = await refused(core.access.check_send(DEE, ROOM))
    assert error.code == "muted" and "more seconds" in error.message
    await core.stores.moderation.set_mute(ROOM, DEE.id, None)
    assert "until a moderator unmutes you" in (await refused(core.access.check_send(DEE, ROOM))).message
    await core.stores.moderation.set_mute(ROOM, DEE.id, now_ms() - 1)  # expired
    await core.access.check_send(DEE, ROOM)


async def test_the_token_bucket_is_per_user(core):
    for _ in range(3):  # burst 3
        await core.access.check_send(DEE, ROOM)
    error = await refused(core.access.check_send(DEE, ROOM))
    assert error.code == "rate_limited" and "wait" in error.message
    await core.access.check_send(EVE, ROOM)


async def test_slow_mode_binds_delegates_not_moderators(core):
    await core.access.check_send(DEE, "slow")
    error = await refused(core.access.check_send(DEE, "slow"))
    assert error.code == "rate_limited" and "slow mode" in error.message
    await core.access.check_send(MOD, "slow")
    await core.access.check_send(MOD, "slow")
