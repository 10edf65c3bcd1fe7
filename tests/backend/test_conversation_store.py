"""The ConversationStore contract (rooms/stores/conversation_store.py) on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rooms.conversations import ContactRequest, Profile, pair_key
from rooms.stores import ConversationStore, now_ms
from rooms.stores.conversation_store import REPORTS_MAX
from tests.backend.support import ADA, BOB, ROOM

SHARED = {"redis", "redis-cluster"}  # backends whose nodes share state; a memory or sqlite backend serves one node


@pytest.fixture
async def nodes(make_node, backend_kind) -> tuple[ConversationStore, ConversationStore]:
    """The conversation stores of two nodes of one cluster (one node twice where the backend cannot share)."""
    a = await make_node()
    b = await make_node() if backend_kind in SHARED else a
    return a.stores.conversations, b.stores.conversations


async def test_profiles_keep_their_hidden_flag_and_show_on_every_node(nodes):
    a, b = nodes
    await a.save_profile(Profile("u_li", "Li", lang="zh", organization="Shenzhen Solar", country="CN"))
    await a.set_hidden("u_li", True)
    await a.save_profile(Profile("u_li", "Li Wei", lang="zh"))  # a new login keeps the flag
    [li] = await b.profiles(["u_li"])
    assert li.name == "Li Wei" and li.hidden is True
    assert await b.profiles(["u_nobody"]) == [] and await b.profiles([]) == []
    assert [p.id for p in await b.profiles()] == ["u_li"]


async def test_online_lasts_until_the_latest_mark_of_any_node(nodes):
    a, b = nodes
    await a.mark_online({"u_li", "u_aino"}, now_ms() + 60_000)
    await b.mark_online({"u_li"}, now_ms() - 1)  # an older mark does not shorten it
    await b.mark_online({"u_old"}, now_ms() - 1)
    assert await b.online(["u_li", "u_aino", "u_old", "u_x"]) == {"u_li", "u_aino"}


async def test_one_room_per_pair_even_when_two_nodes_race(nodes):
    a, b = nodes
    pair = pair_key("u_li", "u_aino")
    assert pair == pair_key("u_aino", "u_li")
    won = await asyncio.gather(a.claim_pair(pair, "c-1"), b.claim_pair(pair, "c-2"))
    assert won[0] == won[1] in ("c-1", "c-2")
    await a.release_pair(pair, "c-other")  # only the pair's own room releases it
    assert await b.claim_pair(pair, "c-3") == won[0]
    await a.release_pair(pair, won[0])
    assert await b.claim_pair(pair, "c-3") == "c-3"


async def test_members_read_positions_and_leaving(node):
    store = node.stores.conversations
    await store.add_conversation_members("c-1", ["u_li", "u_aino"])
    assert await store.conversation_members("c-1") == {"u_li", "u_aino"}
    assert await store.conversations_of("u_li") == ["c-1"]
    await store.set_read("c-1", "u_li", "e.5")
    assert await store.read_positions("u_li") == {"c-1": "e.5"}
    assert await store.leave_conversation("c-1", "u_li") == 1
    assert await store.conversations_of("u_li") == [] and await store.read_positions("u_li") == {}
    assert await store.leave_conversation("c-1", "u_aino") == 0


async def test_read_position_is_one_room_of_read_positions(node):
    store = node.stores.conversations
    await store.add_conversation_members("c-1", ["u_li", "u_aino"])
    await store.add_conversation_members("c-2", ["u_li"])
    assert await store.read_position("u_li", "c-1") is None
    await store.set_read("c-1", "u_li", "e.5")
    await store.set_read("c-2", "u_li", "e.7")
    await store.set_read("c-1", "u_li", "e.6")  # moved on
    assert await store.read_position("u_li", "c-1") == "e.6" == (await store.read_positions("u_li"))["c-1"]
    assert await store.read_position("u_li", "c-2") == "e.7"
    assert await store.read_position("u_aino", "c-1") is None
    await store.leave_conversation("c-1", "u_li")
    assert await store.read_position("u_li", "c-1") is None and await store.read_position("u_li", "c-2") == "e.7"


async def test_unread_count_counts_others_live_messages_after_the_position_up_to_the_cap(node):
    store = node.stores.conversations
    assert await store.unread_count(ROOM, "u_ada", None, 200) == 0  # no history yet
    authors = [ADA, BOB, BOB, ADA, BOB, BOB]
    ids = [(await node.say(f"m{i}", user=author)).id for i, author in enumerate(authors)]
    await node.stores.broker.delete_message(ROOM, ids[2])  # Bob's: deleted messages are not counted
    # no position: every kept message that someone else wrote
    assert await store.unread_count(ROOM, "u_ada", None, 200) == 3  # m1, m4, m5
    assert await store.unread_count(ROOM, "u_bob", None, 200) == 2  # m0, m3
    # after a position: only what came after it
    assert await store.unread_count(ROOM, "u_ada", ids[0], 200) == 3
    assert await store.unread_count(ROOM, "u_ada", ids[1], 200) == 2  # m2 deleted, m3 her own
    assert await store.unread_count(ROOM, "u_ada", ids[4], 200) == 1
    assert await store.unread_count(ROOM, "u_ada", ids[5], 200) == 0
    assert await store.unread_count(ROOM, "u_bob", ids[1], 200) == 1
    # the cap: counting stops there, with or without a position
    assert await store.unread_count(ROOM, "u_carl", None, 200) == 5
    assert [await store.unread_count(ROOM, "u_carl", None, cap) for cap in (0, 1, 4, 5)] == [0, 1, 4, 5]
    assert await store.unread_count(ROOM, "u_carl", ids[0], 2) == 2
    # a position `since` cannot replay from counts nothing, as it did when read from `since`
    for position in ("deadbeef.1", "garbage", "deadbeef.1-0"):
        assert await store.unread_count(ROOM, "u_ada", position, 200) == 0
    assert await store.unread_count("other-room", "u_ada", ids[0], 200) == 0


async def test_unread_count_of_a_trimmed_position_is_nothing(make_node):
    node = await make_node(history_max=3)
    store = node.stores.conversations
    ids = [(await node.say(f"m{i}", user=BOB)).id for i in range(5)]
    assert await store.unread_count(ROOM, "u_ada", ids[0], 200) == 0  # trimmed away: what was missed is lost
    assert await store.unread_count(ROOM, "u_ada", ids[1], 200) == 3  # the newest trimmed one: all kept follow
    assert await store.unread_count(ROOM, "u_ada", None, 200) == 3


async def test_a_request_is_answered_once(nodes):
    a, b = nodes
    request = ContactRequest(
        "rq-1", {"id": "u_li", "name": "Li"}, "u_aino", "Hello", now_ms(), now_ms() + 1000, {"country": "CN"}
    )
    await a.save_request(request)
    assert await b.get_request("rq-1") == request
    assert await b.requests_of("u_aino") == [request] == await b.requests_of("u_li")
    answers = await asyncio.gather(a.delete_request(request), b.delete_request(request))
    assert sorted(answers) == [False, True]
    assert await a.get_request("rq-1") is None and await a.requests_of("u_li") == []


async def test_contacts_cooldowns_and_blocks(nodes):
    a, b = nodes
    await a.add_contact("u_li", "u_aino")
    assert await b.is_contact("u_aino", "u_li") and not await b.is_contact("u_li", "u_x")
    until = now_ms() + 60_000
    await a.set_cooldown("u_li", "u_aino", until)
    assert await b.cooldown("u_li", "u_aino") == until
    assert await b.cooldown("u_aino", "u_li") is None  # one direction only
    assert await a.set_block("u_aino", "u_li", True) is True
    assert await b.set_block("u_aino", "u_li", True) is False
    assert await b.blocked_by("u_aino") == {"u_li"} and await b.blocked_by("u_li") == set()


def a_report(n: int, *, reporter: str = "u_bo", message: str | None = None, room: str = "plenary") -> dict[str, Any]:
    return {
        "id": f"rp-{n}",
        "ts": 1_700_000_000_000 + n,
        "room": {"id": room, "kind": "forum"},
        "message": {
            "id": message or f"0a1b2c3d.{n}",
            "ts": 1_700_000_000_000,
            "user": {"id": "u_x", "name": "X"},
            "lang": "en",
            "text": f"spam {n}",
        },
        "reporter": {"id": reporter, "name": reporter},
        "reason": "spam",
    }


async def test_a_report_is_stored_once_per_reporter_and_message_and_paged_by_seq(nodes):
    a, b = nodes
    first = await a.add_report(a_report(1))
    assert (first["id"], first["state"], first["reason"]) == ("rp-1", "open", "spam")
    again = await b.add_report(a_report(2, message="0a1b2c3d.1"))  # the same person, the same message
    assert again["id"] == "rp-1" and again["seq"] == first["seq"]
    assert (await b.find_report("plenary", "0a1b2c3d.1", "u_bo")) == first
    assert await b.find_report("plenary", "0a1b2c3d.1", "u_li") is None
    other = await b.add_report(a_report(3, message="0a1b2c3d.1", reporter="u_li"))
    assert other["id"] == "rp-3" and other["seq"] > first["seq"]
    for n in range(4, 9):
        await a.add_report(a_report(n))
    every = await b.reports(limit=100)
    assert [r["id"] for r in every] == ["rp-1", "rp-3", "rp-4", "rp-5", "rp-6", "rp-7", "rp-8"]
    assert [r["seq"] for r in every] == sorted(r["seq"] for r in every)
    page = await b.reports(limit=3)
    rest = await b.reports(after=page[-1]["seq"], limit=100)
    assert [r["id"] for r in page + rest] == [r["id"] for r in every]
    assert await b.reports(after=every[-1]["seq"]) == [] and await b.reports(limit=0) == []
    assert await a.open_report_count() == 7


async def test_closing_a_message_closes_all_its_reports_once_with_who_closed_them(nodes):
    a, b = nodes
    for n, reporter in enumerate(("u_bo", "u_li", "u_aino")):
        await a.add_report(a_report(n, reporter=reporter, message="0a1b2c3d.9"))
    await a.add_report(a_report(5))
    closed = {"by": {"id": "u_mo", "name": "Mo"}, "ts": 1_700_000_001_000, "action": "dismiss"}
    racing = await asyncio.gather(
        a.close_reports("plenary", "0a1b2c3d.9", "dismissed", closed),
        b.close_reports("plenary", "0a1b2c3d.9", "dismissed", closed),
    )
    done = [result for result in racing if result]
    assert len(done) == 1 and [r["id"] for r in done[0]] == ["rp-0", "rp-1", "rp-2"]
    assert all(r["state"] == "dismissed" and r["closed"] == closed for r in done[0])
    assert await b.close_reports("plenary", "0a1b2c3d.9", "actioned", closed) == []
    assert await b.open_report_count() == 1
    assert [r["id"] for r in await b.reports(state="open")] == ["rp-5"]
    assert [r["id"] for r in await b.reports(state="dismissed", limit=2)] == ["rp-0", "rp-1"]
    assert await b.reports(state="actioned") == []
    # a closed report still counts as the reporter's one report of that message
    assert (await a.add_report(a_report(7, message="0a1b2c3d.9")))["id"] == "rp-0"
    found = await a.find_report("plenary", "0a1b2c3d.9", "u_bo")
    assert found is not None and found["state"] == "dismissed" and found["closed"] == closed


async def test_reports_kept_are_the_newest_thousand_closed_ones_going_first(nodes):
    a, b = nodes
    await a.add_report(a_report(0, message="0a1b2c3d.0"))  # stays open: the oldest
    await a.add_report(a_report(1, message="0a1b2c3d.1"))
    closed = {"by": {"id": "u_mo", "name": "Mo"}, "ts": 1, "action": "dismiss"}
    assert await a.close_reports("plenary", "0a1b2c3d.1", "dismissed", closed)
    for n in range(2, REPORTS_MAX + 2):  # two more than are kept
        await a.add_report(a_report(n, reporter=f"u_{n}"))
    kept = await b.reports(limit=REPORTS_MAX + 10)
    assert len(kept) == REPORTS_MAX
    # the closed one went first, then the oldest open one
    assert [r["id"] for r in kept[:2]] == ["rp-2", "rp-3"] and kept[-1]["id"] == f"rp-{REPORTS_MAX + 1}"
    assert await b.open_report_count() == REPORTS_MAX
    # an evicted report no longer holds its reporter's place: reporting again stores a new one
    again = await a.add_report(a_report(REPORTS_MAX + 5, message="0a1b2c3d.0"))
    assert again["id"] == f"rp-{REPORTS_MAX + 5}"


def stranger_request(n: int, to: str, ts: int, ttl: int = 60_000) -> ContactRequest:
    return ContactRequest(f"rq-s{n}", {"id": f"u_s{n}", "name": f"S{n}"}, to, "hi", ts, ts + ttl, stranger=True)


async def test_the_incoming_cap_holds_when_many_senders_race_on_every_node(nodes):
    a, b = nodes
    now = now_ms()
    await a.save_request(stranger_request(0, "u_aino", now - 10_000, ttl=5_000))  # expired: not waiting
    contact = ContactRequest("rq-c", {"id": "u_li", "name": "Li"}, "u_aino", "hi", now, now + 60_000)
    assert await a.save_request(contact, incoming_cap=0) is True  # not from a stranger: no cap
    racing = [
        (a if n % 2 else b).save_request(stranger_request(n, "u_aino", now), incoming_cap=3) for n in range(1, 13)
    ]
    stored = await asyncio.gather(*racing)
    assert sum(stored) == 3
    waiting = [r for r in await b.requests_of("u_aino") if r.stranger and not r.expired(now)]
    assert len(waiting) == 3 and all(r.stranger for r in waiting)
    assert await a.save_request(stranger_request(20, "u_bo", now), incoming_cap=3) is True  # per target
    await a.delete_request(waiting[0])  # answered: a place frees
    assert await b.save_request(stranger_request(21, "u_aino", now), incoming_cap=3) is True
    assert await a.save_request(stranger_request(22, "u_aino", now), incoming_cap=3) is False
    assert await a.save_request(stranger_request(23, "u_aino", now)) is True  # no cap asked


async def test_a_group_invitation_keeps_its_group(nodes):
    a, b = nodes
    request = ContactRequest(
        "rq-g",
        {"id": "u_li", "name": "Li"},
        "u_aino",
        "",
        now_ms(),
        now_ms() + 1000,
        stranger=True,
        group={"id": "c-1", "title": "Solar"},
    )
    await a.save_request(request)
    assert await b.get_request("rq-g") == request
    assert (await b.requests_of("u_aino"))[0].group == {"id": "c-1", "title": "Solar"}


async def test_a_contact_can_be_removed_on_every_node(nodes):
    a, b = nodes
    await a.add_contact("u_li", "u_aino")
    await b.remove_contact("u_aino", "u_li")  # either order names the pair
    assert not await a.is_contact("u_li", "u_aino")
    await b.remove_contact("u_li", "u_x")  # no contact: nothing happens
