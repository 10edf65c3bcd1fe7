"""LimitStore: the per-user token bucket and slow mode, on every backend (and across nodes on Redis)."""

from __future__ import annotations

import asyncio

import pytest

from tests.backend.support import ROOM, Node


async def test_the_token_bucket_allows_the_burst_then_says_how_long_to_wait(node):
    limits = node.stores.limits
    waits = [await limits.take_token("u_a", 2.0, 3) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0] and 0 < waits[3] <= 0.5
    assert await limits.take_token("u_b", 2.0, 3) == 0.0, "one bucket per user"
    await asyncio.sleep(waits[3] + 0.1)
    assert await limits.take_token("u_a", 2.0, 3) == 0.0, "a token came back"


async def test_slow_mode_allows_one_message_per_period_per_room_and_user(node):
    limits = node.stores.limits
    assert await limits.slow_mode_wait(ROOM, "u_a", 1) == 0.0
    wait = await limits.slow_mode_wait(ROOM, "u_a", 1)
    assert 0 < wait <= 1
    assert await limits.slow_mode_wait("climate", "u_a", 1) == 0.0
    assert await limits.slow_mode_wait(ROOM, "u_b", 1) == 0.0
    await asyncio.sleep(wait + 0.1)
    assert await limits.slow_mode_wait(ROOM, "u_a", 1) == 0.0


@pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_user_on_two_nodes_gets_one_allowance(make_node):
    a, b = await make_node(), await make_node()
    waits = [await (a if i % 2 else b).stores.limits.take_token("u_a", 0.01, 4) for i in range(6)]
    assert waits[:4] == [0.0] * 4 and all(wait > 0 for wait in waits[4:])
    assert await a.stores.limits.slow_mode_wait(ROOM, "u_a", 60) == 0.0
    assert 0 < await b.stores.limits.slow_mode_wait(ROOM, "u_a", 60) <= 60


async def test_take_send_takes_the_token_and_the_slow_mode_slot_together_or_neither(node: Node) -> None:
    limits = node.stores.limits
    first = await limits.take_send("u_a", 0.5, 2, ROOM, 1)
    assert first.allowed and (first.token, first.slow) == (0.0, 0.0)
    refused = await limits.take_send("u_a", 0.5, 2, ROOM, 1)
    assert refused.token == 0.0 and 0 < refused.slow <= 1, "slow mode refuses while a token is there"
    assert (await limits.take_send("u_a", 0.5, 2, "climate", 1)).allowed, "the refusal spent no token"
    empty = await limits.take_send("u_a", 0.5, 2, "workshop", 1)
    assert 0 < empty.token <= 2 and empty.slow == 0.0 and not empty.allowed, "the burst of 2 is spent"
    assert await limits.slow_mode_wait("workshop", "u_a", 1) == 0.0, "the refused send took no slot"
    assert (await limits.take_send("u_b", 0.5, 2, ROOM, 0)).allowed
    assert (await limits.take_send("u_b", 0.5, 2, ROOM, 1)).allowed, "without slow mode no slot was taken"
    assert (await limits.take_send("u_b", 0.5, 2, ROOM, 1)).slow > 0
