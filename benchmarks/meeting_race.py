"""The double-booking race (issue 26): many people accept meetings at one table in one slot at once,
through two `babelroom serve` nodes on one Redis. Exactly one booking per round may win.

It starts everything itself on 127.0.0.1: a private redis-server (no persistence) and two nodes
(conversation policy `open`). Each round a host adds a new slot with one table; `--pairs` pairs of
delegates (made with POST /api/session, alternately on each node) each propose a meeting in that
slot; then every invitee accepts at once, half through each node. Printed per round and in total:
attempts, winners (200), `taken` (409) and anything else — winners must be 1 per round.

    .venv/bin/python benchmarks/meeting_race.py                 # 5 rounds of 50 pairs
    .venv/bin/python benchmarks/meeting_race.py --rounds 10 --pairs 100
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rooms import Role
from tests.nodes import NodeProcess, RedisServer

ENV = {
    "BABELROOM_CONVERSATIONS_POLICY": "open",
    "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
    "BABELROOM_LIMITS_RATE_BURST": "1000",
    # every delegate signs in from 127.0.0.1: lift the per-address session limit
    "BABELROOM_LIMITS_SESSION_RATE": "1000",
    "BABELROOM_LIMITS_SESSION_BURST": "100000",
}


async def delegate(http: httpx.AsyncClient, url: str, name: str) -> tuple[str, str]:
    answer = (await http.post(f"{url}/api/session", json={"name": name, "lang": "en"})).json()
    return answer["token"], answer["user"]["id"]


async def one_round(
    http: httpx.AsyncClient, nodes: list[NodeProcess], host: str, number: int, pairs: int
) -> Counter[str]:
    start = datetime.now(tz=UTC) + timedelta(days=1, minutes=30 * number)
    slot = (
        await http.post(
            f"{nodes[0].url}/api/meeting-slots",
            headers={"authorization": f"Bearer {host}"},
            json={
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=20)).isoformat(),
                "places": ["Table 14"],
            },
        )
    ).json()["slot"]["id"]
    accepts = []
    for n in range(pairs):
        node = nodes[n % 2]
        proposer, _ = await delegate(http, node.url, f"P{number}-{n}")
        invitee, invitee_id = await delegate(http, node.url, f"I{number}-{n}")
        meeting = (
            await http.post(
                f"{node.url}/api/meetings",
                headers={"authorization": f"Bearer {proposer}"},
                json={"with": invitee_id, "slots": [slot]},
            )
        ).json()["meeting"]["id"]
        accepts.append((nodes[(n + 1) % 2].url, invitee, meeting))  # answered through the other node
    answers = await asyncio.gather(
        *(
            http.post(
                f"{url}/api/meetings/{meeting}/accept",
                headers={"authorization": f"Bearer {token}"},
                json={"slot": slot},
            )
            for url, token, meeting in accepts
        )
    )
    return Counter("winner" if r.status_code == 200 else r.json().get("code", str(r.status_code)) for r in answers)


async def main(rounds: int, pairs: int) -> int:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        redis_server = RedisServer(work, persistent=False)
        redis_server.start()
        nodes = [NodeProcess(f"race-{n}", work, redis_url=redis_server.url, env=ENV) for n in (1, 2)]
        try:
            for node in nodes:
                node.start()
            host = nodes[0].token("Host", role=Role.HOST)
            total: Counter[str] = Counter()
            bad_rounds = 0
            # idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them, so a
            # round's burst never reuses one the server is closing (httpx.ReadError)
            limits = httpx.Limits(max_connections=2 * pairs, keepalive_expiry=1.0)
            async with httpx.AsyncClient(timeout=60, limits=limits) as http:
                for number in range(rounds):
                    counts = await one_round(http, nodes, host, number, pairs)
                    total += counts
                    bad_rounds += counts["winner"] != 1
                    print(
                        f"round {number + 1}: attempts {pairs}, winners {counts['winner']}, "
                        f"taken {counts['taken']}, other {pairs - counts['winner'] - counts['taken']}"
                    )
            print(
                f"total: attempts {rounds * pairs}, winners {total['winner']} (one per round: "
                f"{'yes' if not bad_rounds else 'NO'}), taken {total['taken']}"
            )
            return 1 if bad_rounds else 0
        finally:
            for node in nodes:
                node.stop()
            redis_server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="slots raced for, one after another")
    parser.add_argument("--pairs", type=int, default=50, help="meetings racing for the one table of each slot")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.rounds, arguments.pairs)))
