"""rooms/sign_ins.py on the memory stores: liveness with its cache, the `signed_out` notice, codes."""

from __future__ import annotations

from typing import Any

import pytest

from chat.backend import MemoryBackend
from rooms import Refused
from rooms.sign_ins import SignIns, access_code_refusal, code_digest, invited_refusal
from rooms.stores import SignIn, Stores, now_ms


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sign_ins_on(store: Stores, **settings: Any) -> SignIns:
    return SignIns(store.sessions, store.broker, store.limits, check_ttl=5, code_ttl=600, codes_per_hour=10, **settings)


@pytest.fixture
async def store():
    backend = MemoryBackend(node_id="n")
    await backend.start(lambda room, event: None)
    yield backend.stores
    await backend.close()


async def test_a_node_trusts_live_for_a_while_but_an_ended_notice_at_once(store):
    clock = Clock()
    here = sign_ins_on(store, clock=clock)
    there = sign_ins_on(store, clock=clock)
    session = await here.start("u_li", "Firefox on Linux")
    assert await there.live(session.id, "u_li")
    await store.sessions.end_session(session.id)  # ended behind `there`'s back (a lost notice)
    assert await there.live(session.id, "u_li")  # trusted for check_ttl
    clock.now += 6
    assert not await there.live(session.id, "u_li")  # then asked again
    second = await here.start("u_li", "Chrome on Android")
    assert await there.live(second.id, "u_li")
    there.forget([second.id])  # the notice: refused at once, and for good
    assert not await there.live(second.id, "u_li")


async def test_a_session_the_store_lost_but_never_ended_is_recorded_again(store):
    sign_ins = sign_ins_on(store)
    assert await sign_ins.live("s_from_before_a_restart", "u_li")
    [again] = await sign_ins.of("u_li")
    assert again.id == "s_from_before_a_restart" and again.device == "Unknown device"
    await sign_ins.end("u_li", again.id)
    assert not await sign_ins_on(store).live(again.id, "u_li")


async def test_ending_a_session_of_someone_else_is_not_found(store):
    sign_ins = sign_ins_on(store)
    session = await sign_ins.start("u_li", "Firefox on Linux")
    with pytest.raises(Refused) as refused:
        await sign_ins.end("u_aino", session.id)
    assert refused.value.code == "not_found"
    assert await sign_ins.live(session.id, "u_li")


async def test_sessions_unused_longer_than_a_token_lives_are_not_devices_any_more(store):
    sign_ins = sign_ins_on(store, token_ttl=60)
    await store.sessions.start_session(SignIn("s_old", "u_li", "Safari on iPhone", 1, now_ms() - 61_000))
    fresh = await sign_ins.start("u_li", "Firefox on Linux")
    assert [s.id for s in await sign_ins.of("u_li")] == [fresh.id]
    assert await store.sessions.session("s_old") is None and not await sign_ins.live("s_old", "u_li")


async def test_a_code_is_kept_as_a_digest_and_works_as_typed_once(store):
    sign_ins = sign_ins_on(store)
    made = await sign_ins.issue_code("u_li", {"user": "u_li"})
    assert await store.sessions.take_signin_code(made.code) is None  # not kept as typed
    assert await sign_ins.redeem(f" {made.code.lower()} ") == {"user": "u_li"}
    with pytest.raises(Refused) as refused:
        await sign_ins.redeem(made.code)
    assert refused.value.code == "unauthorized"
    other = await sign_ins.issue_code("u_li", {"user": "u_li"})
    kept = await store.sessions.take_signin_code(code_digest(other.code))  # kept under its digest
    assert kept is not None and other.code not in kept


def test_who_may_sign_themselves_in_from_the_form():
    assert invited_refusal("open") is None
    refusal = invited_refusal("invited")
    assert refusal is not None and refusal.code == "invited_only"
    assert access_code_refusal("", None) is None  # no code configured: anyone
    assert access_code_refusal("geneva-2026", "geneva-2026") is None
    for given in (None, "", "guess", "geneva-2026 "):
        refusal = access_code_refusal("geneva-2026", given)
        assert refusal is not None and refusal.code == "unauthorized", given
