"""The SessionStore contract (rooms/stores/sessions.py) on every backend."""

from __future__ import annotations

import asyncio

import pytest

from rooms.stores import SignIn, now_ms
from tests.backend.support import Node

SHARED = {"redis"}  # backends whose nodes share state; a memory or sqlite backend serves one node


@pytest.fixture
async def nodes(make_node, backend_kind) -> tuple[Node, Node]:
    """Two nodes of one cluster (one node twice where the backend cannot share)."""
    a = await make_node()
    return a, (await make_node() if backend_kind in SHARED else a)


def sign_in(session_id: str, user: str, created: int, device: str = "Firefox on Linux") -> SignIn:
    return SignIn(session_id, user, device, created, created)


async def test_a_session_is_seen_on_every_node_and_ended_for_good(nodes):
    a, b = nodes
    await a.stores.sessions.start_session(sign_in("s_1", "u_li", 1000, "Chrome on Android"))
    assert await b.stores.sessions.session("s_1") == SignIn("s_1", "u_li", "Chrome on Android", 1000, 1000)
    await b.stores.sessions.touch_session("s_1", 5000)
    await b.stores.sessions.touch_session("s_1", 4000)  # an older use does not move last seen back
    assert (await a.stores.sessions.session("s_1")).last_seen == 5000
    ended = await b.stores.sessions.end_session("s_1")
    assert ended is not None and ended.user == "u_li"
    assert await a.stores.sessions.session("s_1") is None and await b.stores.sessions.end_session("s_1") is None
    assert await a.stores.sessions.session_ended("s_1") and not await a.stores.sessions.session_ended("s_never")
    await a.stores.sessions.touch_session("s_1", 9000)  # touching an ended session does not bring it back
    assert await b.stores.sessions.session("s_1") is None and await b.stores.sessions.user_sessions("u_li") == []
    assert await a.stores.sessions.session("s_never") is None


async def test_a_person_sees_their_sessions_and_ends_them_all(nodes):
    a, b = nodes
    await a.stores.sessions.start_session(sign_in("s_phone", "u_li", 2000))
    await b.stores.sessions.start_session(sign_in("s_laptop", "u_li", 1000))
    await a.stores.sessions.start_session(sign_in("s_other", "u_aino", 1500))
    assert [s.id for s in await b.stores.sessions.user_sessions("u_li")] == ["s_laptop", "s_phone"]  # oldest first
    assert sorted(await b.stores.sessions.end_user_sessions("u_li")) == ["s_laptop", "s_phone"]
    assert await a.stores.sessions.user_sessions("u_li") == [] and await a.stores.sessions.session("s_phone") is None
    assert await a.stores.sessions.session_ended("s_laptop") and not await b.stores.sessions.session_ended("s_other")
    assert await b.stores.sessions.end_user_sessions("u_li") == []
    assert [s.id for s in await a.stores.sessions.user_sessions("u_aino")] == ["s_other"]  # others keep theirs


async def test_a_signin_code_is_taken_once_even_when_two_nodes_race(nodes):
    a, b = nodes
    await a.stores.sessions.put_signin_code("d1", '{"user": "u_li"}', now_ms() + 60_000)
    taken = await asyncio.gather(a.stores.sessions.take_signin_code("d1"), b.stores.sessions.take_signin_code("d1"))
    assert taken.count(None) == 1 and '{"user": "u_li"}' in taken
    assert await a.stores.sessions.take_signin_code("d1") is None
    assert await b.stores.sessions.take_signin_code("d_unknown") is None


async def test_an_expired_signin_code_is_refused(nodes):
    a, b = nodes
    await a.stores.sessions.put_signin_code("d_old", '{"user": "u_li"}', now_ms() + 50)
    await asyncio.sleep(0.2)
    assert await b.stores.sessions.take_signin_code("d_old") is None


async def test_the_delegate_list_is_saved_whole_and_replaced_by_id(nodes):
    from rooms.stores import Delegate

    a, b = nodes
    li = Delegate("d_li", "li@example.cn", "Li Wei", "zh", organization="Shenzhen Solar", country="CN")
    aino = Delegate("d_aino", "aino@example.fi", "Aino", "fi", role="moderator")
    await a.stores.sessions.save_delegates([li, aino])
    assert await b.stores.sessions.delegates() == [aino, li]  # by name
    await b.stores.sessions.save_delegates([Delegate("d_li", "li@example.cn", "Li Wei", "en", revoked=True)])
    [changed] = await a.stores.sessions.delegates(["d_li", "d_unknown"])
    assert changed.lang == "en" and changed.revoked and changed.organization == ""
    assert await a.stores.sessions.delegates([]) == [] and len(await a.stores.sessions.delegates()) == 2


async def test_every_key_of_a_delegate_names_them_and_a_changed_key_is_forgotten(nodes):
    from rooms.stores import Delegate

    a, b = nodes
    li = Delegate("d_li", "li@example.cn", "Li Wei", "zh", email="li@example.cn", external_id="REG-0042")
    aino = Delegate("d_aino", "AINO-7", "Aino", "fi", external_id="AINO-7")
    await a.stores.sessions.save_delegates([li, aino])
    assert await b.stores.sessions.delegate_ids(["REG-0042", "li@example.cn", "AINO-7", "nobody@example.org"]) == {
        "REG-0042": "d_li",
        "li@example.cn": "d_li",
        "AINO-7": "d_aino",
    }
    assert (await b.stores.sessions.delegates(["d_li"]))[0] == li  # both keys kept with the person
    # Li's e-mail changed (the same registration): the old address names nobody any more
    await b.stores.sessions.save_delegates(
        [Delegate("d_li", "li@example.cn", "Li Wei", "zh", email="wei.li@example.cn", external_id="REG-0042")]
    )
    assert await a.stores.sessions.delegate_ids(["li@example.cn", "wei.li@example.cn", "REG-0042"]) == {
        "wei.li@example.cn": "d_li",
        "REG-0042": "d_li",
    }
    assert await a.stores.sessions.delegate_ids([]) == {}


def test_a_delegate_saved_before_both_keys_were_kept_is_read_with_its_one_key():
    from rooms.stores import Delegate

    by_mail = Delegate.from_dict({"id": "d_1", "key": "li@example.cn", "name": "Li", "lang": "zh"})
    by_id = Delegate.from_dict({"id": "d_2", "key": "REG-7", "name": "Aino", "lang": "fi"})
    assert (by_mail.email, by_mail.external_id, by_mail.keys) == ("li@example.cn", "", ("li@example.cn",))
    assert (by_id.email, by_id.external_id, by_id.keys) == ("", "REG-7", ("REG-7",))
