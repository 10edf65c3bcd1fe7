"""The backend registry of the contract tests: every test here runs once per implementation.

Adding a backend is one entry in BACKENDS: how to start one (nodes of one test share state, the
way nodes of one cluster do; a sqlite node has a file of its own, as a file serves one node) and
how it loses a room's history. Redis uses a key prefix of the
test's own in the test database, deleted afterwards (tests/conftest.py `redis_prefix`);
redis-cluster the same prefix on a local 3-master Redis Cluster started once per run.
"""

from __future__ import annotations

import atexit
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from chat.backend import Backend, MemoryBackend
from chat.backend.redis import RedisBackend
from chat.backend.sqlite import SqliteBackend
from chat.config import BackendSettings
from tests.backend.support import ROOM, Node
from tests.conftest import REDIS_TEST_DB, REDIS_URL, redis_available
from tests.nodes import RedisCluster

NodeFactory = Callable[..., Awaitable[Node]]


def redis_settings(prefix: str, url: str = f"{REDIS_URL}/{REDIS_TEST_DB}", **changes: Any) -> BackendSettings:
    return BackendSettings(kind="redis", redis_url=url, key_prefix=prefix, **changes)


def start_memory(node_id: str, prefix: str, directory: Path, **settings: Any) -> Backend:
    return MemoryBackend(
        node_id=node_id,
        history_max=settings.get("history_max", 1000),
        idempotency_ttl=settings.get("idempotency_ttl", 86400),
    )


def start_sqlite(node_id: str, prefix: str, directory: Path, **settings: Any) -> Backend:
    return SqliteBackend(
        directory / f"{node_id}.sqlite3",
        node_id=node_id,
        history_max=settings.get("history_max", 1000),
        idempotency_ttl=settings.get("idempotency_ttl", 86400),
    )


def start_redis(node_id: str, prefix: str, directory: Path, **settings: Any) -> Backend:
    if not redis_available():
        pytest.fail(f"Redis is not answering at {REDIS_URL}; start it (see DEVELOPERS.md)")
    return RedisBackend(redis_settings(prefix, **settings), node_id)


_cluster: RedisCluster | None = None


def shared_cluster() -> RedisCluster:
    """One local 3-master Redis Cluster for the whole run, started on first use (each test has
    its own key prefix on it), stopped when the run ends."""
    global _cluster
    if _cluster is None:
        _cluster = RedisCluster(Path(tempfile.mkdtemp(prefix="babelroom-cluster-")))
        _cluster.start()
        atexit.register(_cluster.stop)
    return _cluster


def start_redis_cluster(node_id: str, prefix: str, directory: Path, **settings: Any) -> Backend:
    return RedisBackend(redis_settings(prefix, url=shared_cluster().url, redis_cluster=True, **settings), node_id)


async def lose_redis_cluster(node: Node, make_node: NodeFactory, prefix: str) -> Node:
    client = redis.asyncio.RedisCluster.from_url(shared_cluster().url)
    for key in [key async for key in client.scan_iter(match=f"{prefix}room:{{{ROOM}}}:*")]:
        await client.delete(key)
    await client.aclose()
    return node


async def lose_memory(node: Node, make_node: NodeFactory, prefix: str) -> Node:
    return await make_node()  # a memory node's history dies with it: the restarted node has none


async def lose_sqlite(node: Node, make_node: NodeFactory, prefix: str) -> Node:
    return await make_node()  # a node on a new file: the old file (and its history) is gone


async def lose_redis(node: Node, make_node: NodeFactory, prefix: str) -> Node:
    client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
    keys = [key async for key in client.scan_iter(match=f"{prefix}room:{ROOM}:*")]
    await client.delete(*keys)
    await client.aclose()
    return node


@dataclass(frozen=True)
class Kind:
    start: Callable[..., Backend]  # (node id, test prefix, test dir, **BackendSettings changes) -> unstarted
    lose_history: Callable[[Node, NodeFactory, str], Awaitable[Node]]  # -> the node to read from next
    marks: tuple[pytest.MarkDecorator, ...] = ()


BACKENDS: dict[str, Kind] = {
    "memory": Kind(start_memory, lose_memory),
    "sqlite": Kind(start_sqlite, lose_sqlite),
    "redis": Kind(start_redis, lose_redis, (pytest.mark.redis,)),
    "redis-cluster": Kind(start_redis_cluster, lose_redis_cluster, (pytest.mark.redis,)),
}


@pytest.fixture(params=[pytest.param(name, marks=kind.marks) for name, kind in BACKENDS.items()])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Each contract test runs once per registered backend."""
    return str(request.param)


@pytest.fixture
async def make_node(backend_kind: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """Start backends of this test's kind; nodes of one test share state (on redis: the prefix)."""
    started: list[Node] = []

    async def make(**settings: Any) -> Node:
        backend = BACKENDS[backend_kind].start(f"node-{len(started) + 1}", redis_prefix, tmp_path, **settings)
        node = Node(backend)
        await backend.start(node.on_event)
        started.append(node)
        return node

    yield make
    for node in started:
        await node.backend.close()


@pytest.fixture
async def node(make_node: NodeFactory) -> Node:
    return await make_node()


@pytest.fixture
def lose_history(backend_kind: str, make_node: NodeFactory, redis_prefix: str) -> Callable[[Node], Awaitable[Node]]:
    """Lose a room's history the way each backend can (a memory node restarts, a sqlite node starts on a
    new file, Redis loses the keys)."""

    async def lose(node: Node) -> Node:
        return await BACKENDS[backend_kind].lose_history(node, make_node, redis_prefix)

    return lose
