"""GET /api/people on a big directory: the full read it used to do against the store's index.

A real server (uvicorn in this process, on a fresh sqlite file by default, or --backend memory |
redis) holds --profiles profiles (default 30,000: names, organisations, languages, countries drawn
at random, 2% hidden). Then --requests GET /api/people requests per kind are timed over HTTP:

    first     the first page (limit 20)
    deep      a page from a cursor in the middle of the directory
    q         a name/organisation search that matches few people
    lang      a language + country filter

twice: "before" reads every profile and sorts them per request (the directory as it was up to
issue 20, reproduced by replacing the store's `directory` with that algorithm), "after" pages from
the store's index (sqlite: an index and a keyset query; redis: a sorted set; memory: a sorted
list). It prints p50/p99 in milliseconds, not pass/fail. Examples:

    .venv/bin/python benchmarks/directory.py
    .venv/bin/python benchmarks/directory.py --backend redis --profiles 30000 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rooms import Role
from rooms.conversations import DirectoryQuery, Profile, directory_key, encode_cursor
from rooms.stores import ConversationStore
from tests.conftest import REDIS_TEST_DB, REDIS_URL, RunningServer, start_server, test_config

FIRST = [
    "Ada",
    "Aino",
    "Bo",
    "Chen",
    "Dieter",
    "Elif",
    "Fatima",
    "Giulia",
    "Hiro",
    "Ines",
    "Jonas",
    "Kwame",
    "Li",
    "Mika",
    "Ngozi",
    "Olga",
    "Pedro",
    "Quynh",
    "Rosa",
    "Sami",
    "Tariq",
    "Uma",
    "Vera",
    "Wanjiru",
    "Xavier",
    "Yusuf",
    "Zoë",
    "Åsa",
    "Ólafur",
    "李伟",
]
LAST = [
    "Lovelace",
    "Virtanen",
    "Svensson",
    "Wei",
    "Müller",
    "Yılmaz",
    "Haddad",
    "Rossi",
    "Tanaka",
    "García",
    "Berg",
    "Mensah",
    "Na",
    "Korhonen",
    "Okafor",
    "Ivanova",
    "Silva",
    "Nguyen",
    "López",
    "Niemi",
]
ORGS = ["Sauna Oy", "Helsinki Tech", "Shenzhen Solar", "Kenya Red Cross", "UNDP", "Ministry of Energy", ""]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=("sqlite", "memory", "redis"),
        default="sqlite",
        help="the server's backend (default sqlite; redis uses database 15 of 127.0.0.1:6379)",
    )
    parser.add_argument("--profiles", type=int, default=30_000, help="profiles in the directory (default 30000)")
    parser.add_argument("--requests", type=int, default=100, help="requests timed per kind and run (default 100)")
    args = parser.parse_args(argv)
    if args.profiles <= 0 or args.requests <= 0:
        parser.error("--profiles and --requests must be positive")
    return args


def make_profiles(count: int) -> list[Profile]:
    rng = random.Random(2026)
    return [
        Profile(
            f"u_{index:06d}",
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            lang=rng.choice(["en", "fi", "zh", "de"]),
            organization=rng.choice(ORGS),
            country=rng.choice(["FI", "CN", "KE", "DE", ""]),
            anonymous=rng.random() < 0.5,
        )
        for index in range(count)
    ]


def full_read(store: ConversationStore) -> Any:
    """The directory as it was before issue 20: every profile read, filtered and sorted per request."""

    async def directory(query: DirectoryQuery, limit: int) -> list[Profile]:
        matches = sorted(
            (
                p
                for p in await store.profiles()
                if query.matches(p) and (query.after is None or directory_key(p) > query.after)
            ),
            key=directory_key,
        )
        return matches[:limit]

    return directory


async def timed(http: httpx.AsyncClient, token: str, params: dict[str, str], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = await http.get("/api/people", params=params, headers={"authorization": f"Bearer {token}"})
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return times


def figures(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p99 {p99:7.1f} ms"


async def fill(server: RunningServer, profiles: list[Profile]) -> None:
    store = server.node.conversations.store
    for start in range(0, len(profiles), 500):  # concurrent saves share commits (sqlite) and round trips (redis)
        await asyncio.gather(*(store.save_profile(p) for p in profiles[start : start + 500]))
    for profile in profiles[::50]:
        await store.set_hidden(profile.id, True)


async def run(args: argparse.Namespace) -> None:
    prefix = f"brbench:{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as directory:
        backend = {
            "kind": args.backend,
            "path": str(Path(directory) / "bench.sqlite3"),
            "redis_url": f"{REDIS_URL}/{REDIS_TEST_DB}",
            "key_prefix": prefix,
        }
        config = test_config(Path(directory), backend=backend, server={"node_id": "bench"})
        server = await start_server(config)
        try:
            profiles = make_profiles(args.profiles)
            started = time.perf_counter()
            await fill(server, profiles)
            print(
                f"{args.backend}: {len(profiles)} profiles stored in {time.perf_counter() - started:.1f} s; "
                f"{args.requests} requests per line"
            )
            token = server.node.signer.issue(name="Viewer", role=Role.DELEGATE, lang="en", ttl=3600, user_id="u_viewer")
            middle = sorted(profiles, key=directory_key)[len(profiles) // 2]
            kinds = {
                "first": {"limit": "20"},
                "deep": {"limit": "20", "cursor": encode_cursor(middle)},
                "q": {"limit": "20", "q": "yusuf virt"},
                "lang": {"limit": "20", "lang": "fi", "country": "KE"},
            }
            store = server.node.conversations.store
            indexed = store.directory
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                for label, directory_read in (("before (full read)", full_read(store)), ("after (index)", indexed)):
                    store.directory = directory_read  # type: ignore[method-assign]  # the "before" algorithm
                    await timed(http, token, kinds["first"], 3)  # warm up
                    for kind, params in kinds.items():
                        print(f"  {label:19} {kind:6} {figures(await timed(http, token, params, args.requests))}")
        finally:
            await server.stop()
            if args.backend == "redis":
                client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
                keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
                if keys:
                    await client.delete(*keys)
                await client.aclose()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
