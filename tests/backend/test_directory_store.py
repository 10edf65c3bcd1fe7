"""The directory part of the ConversationStore contract (rooms/stores/conversation_store.py) on every
backend: `directory` pages from an index in (case-folded name, id) order with the filters applied,
`staff` lists hosts and moderators, `expire_profiles` forgets anonymous profiles nobody saw."""

from __future__ import annotations

import json
import random

import pytest
import redis.asyncio

from chat.backend.redis.conversations import RedisConversations
from rooms.conversations import DirectoryQuery, Profile, directory_key, directory_page
from rooms.stores import now_ms
from tests.conftest import REDIS_TEST_DB, REDIS_URL

NAMES = ["ana", "Ana", "ANA", "Ängel", "Bo", "bo", "Zoë", "李伟", "Ólafur", "mika", "Mika", "Aino", "Li", "li"]
COUNTRIES = ["FI", "CN", "BR", ""]
LANGS = ["fi", "zh", "pt", "en"]


def people(count: int) -> list[Profile]:
    """Profiles with names that tie once case-folded, different ids, languages, countries and organisations."""
    rng = random.Random(20)
    return [
        Profile(
            f"u{index:03d}",
            rng.choice(NAMES),
            lang=rng.choice(LANGS),
            country=rng.choice(COUNTRIES),
            organization=rng.choice(["Sauna Oy", "Helsinki Tech", "Shenzhen Solar", ""]),
        )
        for index in range(count)
    ]


async def all_pages(store, query: DirectoryQuery, limit: int) -> list[Profile]:
    """Every page the way GET /api/people reads them: limit + 1 rows, the cursor of the last one shown."""
    seen: list[Profile] = []
    after = None
    while True:
        rows = await store.directory(DirectoryQuery(query.viewer, query.q, query.lang, query.country, after), limit + 1)
        page, cursor = directory_page(rows, limit)
        seen.extend(page)
        if cursor is None:
            return seen
        after = directory_key(page[-1])


def expected(profiles: list[Profile], query: DirectoryQuery, hidden: set[str]) -> list[str]:
    return [p.id for p in sorted(profiles, key=directory_key) if query.matches(p) and p.id not in hidden]


async def test_pages_list_each_visible_person_once_in_name_order_with_every_filter(node):
    store = node.stores.conversations
    profiles = people(60)
    for profile in profiles:
        await store.save_profile(profile)
    hidden = {"u003", "u017", "u042"}
    for user in hidden:
        await store.set_hidden(user, True)
    for query in [
        DirectoryQuery("u000"),
        DirectoryQuery("u001", q="TECH"),
        DirectoryQuery("u002", q="ana"),
        DirectoryQuery("u004", lang="fi"),
        DirectoryQuery("u005", country="CN"),
        DirectoryQuery("u006", q="s", lang="pt", country="BR"),
        DirectoryQuery("nobody", q="no match"),
    ]:
        for limit in (1, 4, 7, 100):
            listed = [p.id for p in await all_pages(store, query, limit)]
            assert listed == expected(profiles, query, hidden), (query, limit)
            assert len(listed) == len(set(listed))


async def test_a_renamed_hidden_or_shown_profile_moves_in_the_index(node):
    store = node.stores.conversations
    await store.save_profile(Profile("u1", "Zed"))
    await store.save_profile(Profile("u2", "Mia"))
    await store.save_profile(Profile("u1", "Adam"))  # renamed: listed once, at its new place
    assert [p.name for p in await store.directory(DirectoryQuery("x"), 10)] == ["Adam", "Mia"]
    await store.set_hidden("u2", True)
    await store.save_profile(Profile("u2", "Mia Li"))  # a new login keeps the profile hidden
    assert [p.name for p in await store.directory(DirectoryQuery("x"), 10)] == ["Adam"]
    await store.set_hidden("u2", False)
    assert [p.name for p in await store.directory(DirectoryQuery("x"), 10)] == ["Adam", "Mia Li"]
    assert [p.name for p in await store.directory(DirectoryQuery("x", after=("adam", "u1")), 10)] == ["Mia Li"]


async def test_staff_are_the_hosts_and_moderators(node):
    store = node.stores.conversations
    await store.save_profile(Profile("h1", "Hanna", role="host"))
    await store.save_profile(Profile("m1", "Mira", role="moderator"))
    await store.save_profile(Profile("d1", "Dan"))
    await store.set_hidden("m1", True)
    assert sorted((p.id, p.name, p.hidden) for p in await store.staff()) == [
        ("h1", "Hanna", False),
        ("m1", "Mira", True),
    ]
    await store.save_profile(Profile("h1", "Hanna", role="delegate"))  # the same id with a delegate token now
    assert [p.id for p in await store.staff()] == ["m1"]


async def test_anonymous_profiles_expire_unless_online_and_others_never(node):
    store = node.stores.conversations
    await store.save_profile(Profile("anon-gone", "Gone", anonymous=True))
    await store.save_profile(Profile("anon-online", "Online", anonymous=True))
    await store.save_profile(Profile("site-1", "Member"))  # a website's token: never expires
    await store.save_profile(Profile("host-1", "Host", role="host"))
    await store.set_hidden("anon-gone", True)
    await store.mark_online({"anon-online"}, now_ms() + 60_000)
    assert await store.expire_profiles(now_ms() - 60_000) == []  # all were saved within the last minute
    assert await store.expire_profiles(now_ms() + 1) == ["anon-gone"]
    assert sorted(p.id for p in await store.profiles()) == ["anon-online", "host-1", "site-1"]
    assert [p.id for p in await store.directory(DirectoryQuery("x"), 10)] == ["host-1", "site-1", "anon-online"]
    await store.save_profile(Profile("anon-gone", "Back", anonymous=True))  # signs in again: a fresh profile
    [back] = await store.profiles(["anon-gone"])
    assert back.name == "Back" and back.hidden is False


@pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])
async def test_redis_indexes_the_profiles_an_older_build_stored_and_drops_those_not_text(make_node, redis_prefix):
    client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
    await client.hset(
        f"{redis_prefix}people",
        mapping={
            "u_b": json.dumps({"id": "u_b", "name": "Bea", "role": "delegate", "lang": "fi"}),
            "u_a": json.dumps({"id": "u_a", "name": "aino", "role": "delegate", "lang": "en"}),
            "u_host": json.dumps({"id": "u_host", "name": "Hanna", "role": "host", "lang": "en"}),
            "u_hidden": json.dumps({"id": "u_hidden", "name": "Hidden", "role": "delegate", "lang": "en"}),
            "u_bad": json.dumps({"id": "u_bad", "name": "Bad\ud800", "role": "delegate", "lang": "en"}),
        },
    )
    await client.sadd(f"{redis_prefix}people:hidden", "u_hidden")
    await client.aclose()
    store = (await make_node()).stores.conversations
    assert isinstance(store, RedisConversations)
    assert [p.id for p in await store.directory(DirectoryQuery("x"), 10)] == ["u_a", "u_b", "u_host"]
    assert [p.id for p in await store.staff()] == ["u_host"]
    assert await store.profiles(["u_bad"]) == []
    assert await store.index_profiles() == 0  # once per Redis
