"""The ConversationStore contract (rooms/stores/conversation_store.py) on every backend."""
from __future__ import annotations

import asyncio

import pytest

from rooms.conversations import ContactRequest, Profile, pair_key
from rooms.stores import now_ms
from tests.backend.support import Node

SHARED = {"redis"}  # backends whose nodes share state; a memory or sqlite backend serves one node


@pytest.fixture
async def nodes(make_node, backend_kind) -> tuple[Node, Node]:
    """Two nodes of one cluster (one node twice where the backend cannot share)."""
    a = await make_node()
    return a, (await make_node() if backend_kind in SHARED else a)


async def test_profiles_keep_their_hidden_flag_and_show_on_every_node(nodes):
    a, b = nodes
    await a.backend.save_profile(Profile("u_li", "Li", lang="zh", organization="Shenzhen Solar", country="CN"))
    await a.backend.set_hidden("u_li", True)
    await a.backend.save_profile(Profile("u_li", "Li Wei", lang="zh"))  # a new login keeps the flag
    [li] = await b.backend.profiles(["u_li"])
    assert li.name == "Li Wei" and li.hidden is True
    assert await b.backend.profiles(["u_nobody"]) == [] and await b.backend.profiles([]) == []
    assert [p.id for p in await b.backend.profiles()] == ["u_li"]


async def test_online_lasts_until_the_latest_mark_of_any_node(nodes):
    a, b = nodes
    await a.backend.mark_online({"u_li", "u_aino"}, now_ms() + 60_000)
    await b.backend.mark_online({"u_li"}, now_ms() - 1)  # an older mark does not shorten it
    await b.backend.mark_online({"u_old"}, now_ms() - 1)
    assert await b.backend.online(["u_li", "u_aino", "u_old", "u_x"]) == {"u_li", "u_aino"}


async def test_one_room_per_pair_even_when_two_nodes_race(nodes):
    a, b = nodes
    pair = pair_key("u_li", "u_aino")
    assert pair == pair_key("u_aino", "u_li")
    won = await asyncio.gather(a.backend.claim_pair(pair, "c-1"), b.backend.claim_pair(pair, "c-2"))
    assert won[0] == won[1] in ("c-1", "c-2")
    await a.backend.release_pair(pair, "c-other")  # only the pair's own room releases it
    assert await b.backend.claim_pair(pair, "c-3") == won[0]
    await a.backend.release_pair(pair, won[0])
    assert await b.backend.claim_pair(pair, "c-3") == "c-3"


async def test_members_read_positions_and_leaving(node):
    backend = node.backend
    await backend.add_conversation_members("c-1", ["u_li", "u_aino"])
    assert await backend.conversation_members("c-1") == {"u_li", "u_aino"}
    assert await backend.conversations_of("u_li") == ["c-1"]
    await backend.set_read("c-1", "u_li", "e.5")
    assert await backend.read_positions("u_li") == {"c-1": "e.5"}
    assert await backend.leave_conversation("c-1", "u_li") == 1
    assert await backend.conversations_of("u_li") == [] and await backend.read_positions("u_li") == {}
    assert await backend.leave_conversation("c-1", "u_aino") == 0


async def test_a_request_is_answered_once(nodes):
    a, b = nodes
    request = ContactRequest("rq-1", {"id": "u_li", "name": "Li"}, "u_aino", "Hello", now_ms(), now_ms() + 1000,
                             {"country": "CN"})
    await a.backend.save_request(request)
    assert await b.backend.get_request("rq-1") == request
    assert await b.backend.requests_of("u_aino") == [request] == await b.backend.requests_of("u_li")
    answers = await asyncio.gather(a.backend.delete_request(request), b.backend.delete_request(request))
    assert sorted(answers) == [False, True]
    assert await a.backend.get_request("rq-1") is None and await a.backend.requests_of("u_li") == []


async def test_contacts_cooldowns_blocks_and_reports(nodes):
    a, b = nodes
    await a.backend.add_contact("u_li", "u_aino")
    assert await b.backend.is_contact("u_aino", "u_li") and not await b.backend.is_contact("u_li", "u_x")
    until = now_ms() + 60_000
    await a.backend.set_cooldown("u_li", "u_aino", until)
    assert await b.backend.cooldown("u_li", "u_aino") == until
    assert await b.backend.cooldown("u_aino", "u_li") is None  # one direction only
    assert await a.backend.set_block("u_aino", "u_li", True) is True
    assert await b.backend.set_block("u_aino", "u_li", True) is False
    assert await b.backend.blocked_by("u_aino") == {"u_li"} and await b.backend.blocked_by("u_li") == set()
    for n in range(3):
        await a.backend.add_report({"id": f"rp-{n}", "reason": "spam"})
    assert [r["id"] for r in await b.backend.reports(limit=2)] == ["rp-1", "rp-2"]


def stranger_request(n: int, to: str, ts: int, ttl: int = 60_000) -> ContactRequest:
    return ContactRequest(f"rq-s{n}", {"id": f"u_s{n}", "name": f"S{n}"}, to, "hi", ts, ts + ttl, stranger=True)


async def test_the_incoming_cap_holds_when_many_senders_race_on_every_node(nodes):
    a, b = nodes
    now = now_ms()
    await a.backend.save_request(stranger_request(0, "u_aino", now - 10_000, ttl=5_000))  # expired: not waiting
    contact = ContactRequest("rq-c", {"id": "u_li", "name": "Li"}, "u_aino", "hi", now, now + 60_000)
    assert await a.backend.save_request(contact, incoming_cap=0) is True  # not from a stranger: no cap
    racing = [(a if n % 2 else b).backend.save_request(stranger_request(n, "u_aino", now), incoming_cap=3)
              for n in range(1, 13)]
    stored = await asyncio.gather(*racing)
    assert sum(stored) == 3
    waiting = [r for r in await b.backend.requests_of("u_aino") if r.stranger and not r.expired(now)]
    assert len(waiting) == 3 and all(r.stranger for r in waiting)
    assert await a.backend.save_request(stranger_request(20, "u_bo", now), incoming_cap=3) is True  # per target
    await a.backend.delete_request(waiting[0])  # answered: a place frees
    assert await b.backend.save_request(stranger_request(21, "u_aino", now), incoming_cap=3) is True
    assert await a.backend.save_request(stranger_request(22, "u_aino", now), incoming_cap=3) is False
    assert await a.backend.save_request(stranger_request(23, "u_aino", now)) is True  # no cap asked


async def test_a_group_invitation_keeps_its_group(nodes):
    a, b = nodes
    request = ContactRequest("rq-g", {"id": "u_li", "name": "Li"}, "u_aino", "", now_ms(), now_ms() + 1000,
                             stranger=True, group={"id": "c-1", "title": "Solar"})
    await a.backend.save_request(request)
    assert await b.backend.get_request("rq-g") == request
    assert (await b.backend.requests_of("u_aino"))[0].group == {"id": "c-1", "title": "Solar"}


async def test_a_contact_can_be_removed_on_every_node(nodes):
    a, b = nodes
    await a.backend.add_contact("u_li", "u_aino")
    await b.backend.remove_contact("u_aino", "u_li")  # either order names the pair
    assert not await a.backend.is_contact("u_li", "u_aino")
    await b.backend.remove_contact("u_li", "u_x")  # no contact: nothing happens
