"""Shared fixtures: a real uvicorn server on an ephemeral port, real clients, real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio
import uvicorn

from chat.app import create_app
from chat.config import Config, load_config
from chat.node import Node
from chat.serving import uvicorn_config
from rooms import Role
from tests.client import Client, http_client

REDIS_URL = os.environ.get("BABELROOM_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_TEST_DB = 15
STARTUP_SECONDS = 30.0  # a loaded CI machine loading translation packages can be slow
TEST_SECRET = "test-secret-not-for-production-use"
TEST_METRICS_TOKEN = "test-metrics-token"  # /metrics is off unless [server] metrics_token is set


# Fixtures that build something costly once per process, used by tests of more than one module: their
# tests run on one xdist worker, so it is built once per run (a module's own such fixture: a module mark)
GROUPED_FIXTURES = {"ct2_model_dirs": "ct2-models", "zh_fi_packages": "zh-fi-packages"}
# Groups that hold the most memory while they run share one worker, one after another: lingua's
# models (~850 MB in the worker), torch building the CTranslate2 test models and the zh/fi packages
# in a subprocess (~500 MB each). On three workers two of them at once would take the run's peak
# past 3 GB; on one they cost no wall time (the other workers run the rest meanwhile).
MEMORY_HEAVY_GROUPS = {"language-detectors", "ct2-models", "zh-fi-packages"}


@pytest.hookimpl(trylast=True)  # after every hook that adds an xdist_group mark (tests/e2e/conftest.py)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, give each test of an `xdist_group` its group in its node id, as
    pytest-xdist means to: the scheduler sends all tests whose id ends in `@group` to one worker.
    pytest-xdist 3.8 writes the suffix to `item._nodeid`, which pytest 9 no longer reads (a node's id
    is `item._id` now), so each grouped test went to either worker: two Chromiums, the lean-install
    venv built twice. Does nothing where the suffix took."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers by --dist loadgroup
        return
    from _pytest.nodeid import NodeId

    for item in items:
        for fixture, group in GROUPED_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))
        groups = sorted(
            {
                "memory-heavy" if group in MEMORY_HEAVY_GROUPS else group
                for group in (
                    str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                    for mark in item.iter_markers("xdist_group")
                )
            }
        )
        suffix = "@" + "_".join(groups)
        if groups and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_config(tmp_path: Path, **sections: Any) -> Config:
    """The bundled config with a fixed secret, a private data dir and the given section overrides
    (a dict of keys per section; `rooms=` a tuple of Room)."""
    config = load_config(environ={})
    config = config.replace("auth", secret=TEST_SECRET)
    config = config.replace(
        "server", data_dir=str(tmp_path / "data"), node_id="test-node", metrics_token=TEST_METRICS_TOKEN
    )
    # Apertium's Debian pairs are left out unless a test asks for them (engines=...). The test models have
    # random weights, so every translation is unsure: a test of the low-confidence display sets min_confidence.
    config = config.replace(
        "translation", packages_dir=str(tmp_path / "no-packages"), engines=("argos",), install=(), min_confidence=0.0
    )
    for section, changes in sections.items():
        if section == "rooms":
            config = dataclasses.replace(config, rooms=changes)
        else:
            config = config.replace(section, **changes)
    return config


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is told to: the same shutdown steps (stop listening,
    ask every connection to close, wait for the connections and their tasks, the app's lifespan
    shutdown), with waits that end when their condition holds where uvicorn ticks and polls every
    0.1 s and pauses 0.1 s after asking the connections to close. A test starts and stops about a
    thousand servers: those ticks were minutes of the suite's wall time with nothing to do."""

    POLL = 0.005

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    def request_exit(self) -> None:
        self.should_exit = True
        self.exit_requested.set()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):  # on_tick every 0.1 s still refreshes the date header
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_requested.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
                    await asyncio.sleep(self.POLL)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


class RunningServer:
    """A node served by uvicorn in this test's event loop."""

    def __init__(self, node: Node, server: PromptServer, task: asyncio.Task[None], port: int) -> None:
        self.node, self.server, self.task, self.port = node, server, task, port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"

    def token(self, name: str = "Ada", role: Role = Role.DELEGATE, lang: str = "en", **kwargs: Any) -> str:
        return self.node.signer.issue(name=name, role=role, lang=lang, ttl=kwargs.pop("ttl", 3600), **kwargs)

    async def client(self, name: str = "Ada", lang: str = "en", role: Role = Role.DELEGATE, **kwargs: Any) -> Client:
        """A connected, authenticated client."""
        client = await Client.connect(self.ws_url)
        await client.auth(self.token(name, role, lang, **kwargs))
        return client

    def http(self) -> httpx.AsyncClient:
        return http_client(self.url)

    async def metrics(self) -> str:
        """GET /metrics as Prometheus scrapes it (with the metrics bearer token): its text."""
        async with self.http() as http:
            response = await http.get("/metrics", headers={"authorization": f"Bearer {TEST_METRICS_TOKEN}"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return response.text

    async def stop(self) -> None:
        self.server.request_exit()
        await asyncio.wait_for(self.task, 15)


def listening_socket(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1:`port` (0: a free one the kernel picks), for uvicorn to listen on.
    Bound here and handed over, not picked with free_port() and bound by uvicorn later: in between,
    another process (another test run on this machine) could take the port, and our clients would
    talk to its server. Made with proto IPPROTO_TCP, as uvicorn's and asyncio's own listening sockets are:
    asyncio sets TCP_NODELAY only on connections accepted from such a socket (`_set_nodelay`), and
    without it each response's body, written after its head, waited for the client's delayed ACK
    (40 ms on Linux) behind Nagle's algorithm: 40 ms added to every HTTP response of a test server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart on the same port: as asyncio's
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


async def start_server(config: Config, node: Node | None = None, port: int | None = None) -> RunningServer:
    node = node or Node(config)
    sock = listening_socket(port or 0)
    port = sock.getsockname()[1]
    uv_config = uvicorn_config(create_app(config, node=node), config, host="127.0.0.1", port=port, log_level="warning")
    server = PromptServer(uv_config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while loop.time() < deadline:
        if server.started:
            return RunningServer(node, server, task, port)
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    raise RuntimeError(f"uvicorn did not start within {STARTUP_SECONDS} s")


ServerFactory = Callable[..., Awaitable[RunningServer]]


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


SERVER_BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
# a module that also runs on a local 3-master Redis Cluster overrides `backend_kind` with these
WITH_REDIS_CLUSTER = [*SERVER_BACKENDS, pytest.param("redis-cluster", marks=pytest.mark.redis)]


def checked_backend(kind: str) -> str:
    if kind == "redis" and not redis_available():
        pytest.fail(f"Redis is not answering at {REDIS_URL}; start it (see DEVELOPERS.md)")
    return kind


@pytest.fixture(params=SERVER_BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Every test that starts a server runs once per backend: the contract holds for all three."""
    return checked_backend(request.param)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the test database, deleted afterwards."""
    prefix = f"brtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def make_server(tmp_path: Path, backend_kind: str, redis_prefix: str) -> AsyncIterator[ServerFactory]:
    """Start servers with config overrides: `await make_server(limits={"text_chars": 10})`.

    Servers started by one test share the backend (on redis: the same prefix), like nodes of
    one cluster; each gets its own node id. On sqlite each node gets a file of its own (a file
    serves one node) unless the test names one: `make_server(backend={"path": ...})`.
    """
    running: list[RunningServer] = []

    async def make(node: Node | None = None, port: int | None = None, **sections: dict[str, Any]) -> RunningServer:
        node_id = f"node-{len(running) + 1}"
        backend: dict[str, Any] = {
            "kind": backend_kind,
            "redis_url": f"{REDIS_URL}/{REDIS_TEST_DB}",
            "key_prefix": redis_prefix,
            "path": str(tmp_path / f"{node_id}.sqlite3"),
        }
        if backend_kind == "redis-cluster":  # the run's local 3-master cluster (tests/backend/conftest.py)
            from tests.backend.conftest import shared_cluster

            backend.update(kind="redis", redis_url=shared_cluster().url, redis_cluster=True)
        backend.update(sections.pop("backend", {}))
        server_section = {"node_id": node_id, **sections.pop("server", {})}
        config = test_config(tmp_path, backend=backend, server=server_section, **sections)
        server = await start_server(config, node, port)
        running.append(server)
        return server

    yield make
    for server in running:
        await server.stop()


@pytest.fixture
async def server(make_server: ServerFactory) -> RunningServer:
    """A fresh server on this test's backend."""
    return await make_server()


LIVE_PAIRS = (("en", "de"), ("de", "en"), ("en", "es"), ("es", "en"))


def build_test_packages(
    out_dir: Path, pairs: tuple[tuple[str, str], ...], extra_text: tuple[str, ...] = ()
) -> list[Path]:
    """Tiny real `.argosmodel` files (random weights) for `pairs`, in that order, built by
    `python -m translation.testpkg` in a process of its own: building imports torch and
    transformers (~500 MB), which would otherwise stay in the test process for the whole run."""
    command = [
        sys.executable,
        "-m",
        "translation.testpkg",
        str(out_dir),
        "--size",
        "tiny",
        "--pairs",
        *(f"{source}-{target}" for source, target in pairs),
    ]
    if extra_text:
        lines = out_dir / "extra-text.txt"
        lines.write_text("\n".join(extra_text) + "\n", encoding="utf-8")
        command += ["--extra-text", str(lines)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"building the test packages failed:\n{result.stdout}\n{result.stderr}"
    built = [Path(line.rsplit("  ", 1)[0]) for line in result.stdout.splitlines() if line.endswith(" MB")]
    assert len(built) == len(pairs), result.stdout
    return built


# every pair of the test package sets (LIVE_PAIRS here, tests/translation's PAIRS): built together, once per run
TEST_PAIRS = (("en", "de"), ("de", "en"), ("en", "es"), ("es", "en"))


def run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of this run that every pytest-xdist worker of the run shares: their base temps'
    parent, the run's own numbered directory (pytest-of-<user>/pytest-N, made with mkdir and held by
    a lock while the run lasts, so no other run gets it). Without xdist, the process's own base temp:
    its parent is shared with every other run on the machine, as it is when PYTEST_XDIST_WORKER is
    only inherited (a test run started from inside a worker), which the name check tells apart."""
    base = tmp_path_factory.getbasetemp()
    under_xdist = os.environ.get("PYTEST_XDIST_WORKER") and base.name.startswith("popen-")
    return base.parent if under_xdist else base


@pytest.fixture(scope="session")
def built_test_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Tiny real `.argosmodel` files for TEST_PAIRS (random weights, seeded by the pair), built once
    per run: the first worker to need them builds them under a file lock, the other finds them built
    (a build imports torch: a few CPU-seconds and ~250 MB while it runs)."""
    shared = run_directory(tmp_path_factory) / "test-argosmodels"
    shared.mkdir(exist_ok=True)
    built = shared / "built.json"
    with open(shared / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the build fails
        if not built.exists():
            paths = build_test_packages(shared, TEST_PAIRS)
            built.write_text(json.dumps([str(path) for path in paths]), encoding="utf-8")
        paths = [Path(path) for path in json.loads(built.read_text(encoding="utf-8"))]
    return dict(zip(TEST_PAIRS, paths, strict=True))


@pytest.fixture(scope="session")
def translation_package_files(built_test_packages: dict[tuple[str, str], Path]) -> list[Path]:
    """Tiny real `.argosmodel` files en<->de and en<->es (random weights), built once (shared: do not modify)."""
    return [built_test_packages[pair] for pair in LIVE_PAIRS]


@pytest.fixture(scope="session")
def translation_packages(tmp_path_factory: pytest.TempPathFactory, translation_package_files: list[Path]) -> Path:
    """A packages dir with the tiny packages installed (shared: do not modify)."""
    from translation.packages import install_file

    directory = tmp_path_factory.mktemp("live-packages")
    for path in translation_package_files:
        install_file(path, directory)
    return directory
