"""Run real processes for multi-node tests and benchmarks: a private redis-server and babelroom nodes.

Everything listens on 127.0.0.1 only, on free ports, and every wait is bounded. A free port is
only free when it is picked: another process (another test suite on this machine) may take it
before our process binds it, so every start checks that what answers on the port is the process
it started, never a stranger's server that happens to be there (a node of another run on the same
port answers /healthz just as well, and its rooms, bans and people are not this test's).

    redis = RedisServer(tmp / "redis"); redis.start()
    node = NodeProcess("a", tmp, redis_url=redis.url); node.start()
    ...  # Client.connect(node.ws_url), node.token("Ada")
    node.stop(); redis.stop()
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import redis

from chat.tokens import TokenSigner
from rooms import Role

REPO = Path(__file__).resolve().parent.parent
SECRET = "multinode-test-secret-of-32-bytes!"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.05)


class PortTaken(RuntimeError):
    """Another process holds the port our process was to listen on."""


def listens_on(process: subprocess.Popen[bytes] | None, port: int) -> bool:
    """Whether `process` itself has a listening socket on `port` (not another process there)."""
    if process is None or process.poll() is not None:
        return False
    return pid_listens_on(process.pid, port)


def pid_listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` has a listening socket on `port` (False when it is gone)."""
    try:
        return any(
            connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN
            for connection in psutil.Process(pid).net_connections(kind="tcp")
        )
    except psutil.Error:
        return False


def port_taken_said(log: str) -> bool:
    """Whether a node's output says it could not listen because another process holds its port."""
    said = log.lower()
    return "another program is listening there" in said or "address already in use" in said


def _log_since(path: Path, offset: int) -> str:
    """What a log file got past `offset` (this launch's lines; the file is appended to across restarts)."""
    if not path.exists():
        return ""
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", errors="replace")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _end(process: subprocess.Popen[bytes] | None, sig: int, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class RedisServer:
    """A redis-server of the caller's own: same port and data across kill/start.

    Every write is fsynced to the append-only file before Redis answers, so a message that was
    acknowledged survives even SIGKILL; that is what lets a test demand "every acked message is
    in history" across a restart.
    """

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        *,
        persistent: bool = True,
        extra: tuple[str, ...] = (),
        pick_port: Callable[[], int] = free_port,
    ) -> None:
        self.directory = directory
        self.port = port or pick_port()
        self._pick_port = None if port else pick_port  # a port the caller chose is kept
        self.persistence = ("--appendonly", "yes", "--appendfsync", "always") if persistent else ("--appendonly", "no")
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = directory / "redis.log"
        self._log_offset = 0
        self._started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        """Start and wait until it answers. A port that another process took before ours bound it
        is picked again (twice at most), unless the caller chose it or it served here before (a
        restart keeps its port: its clients know it)."""
        for attempt in range(3):
            self._launch()
            try:
                _wait(self.answers, timeout, f"redis-server did not answer on port {self.port}")
            except PortTaken:
                self.kill()
                if self._started or self._pick_port is None or attempt == 2:
                    raise
                self.port = self._pick_port()
                continue
            self._started = True
            return

    def _launch(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log_offset = _size(self.log_path)
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                *self.persistence,
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.log_path),
                "--daemonize",
                "no",
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def answers(self) -> bool:
        """Whether our redis-server answers (and has loaded its data). Raises PortTaken when another
        process holds the port: its Redis must not pass for ours (another run's keys, its tests')."""
        if self.process is None or self.process.poll() is not None:
            if "Address already in use" in _log_since(self.log_path, self._log_offset):
                raise PortTaken(f"port {self.port} was taken before redis-server could listen on it")
            raise RuntimeError(f"redis-server exited; see {self.log_path}")
        try:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5) as client:
                pid = int(client.info("server")["process_id"])
                loaded = bool(client.ping())
        except redis.RedisError:  # refused, or still loading its data (PING answers LOADING)
            return False
        if pid != self.process.pid:
            raise PortTaken(f"port {self.port} is answered by redis-server {pid}, not ours ({self.process.pid})")
        return loaded

    def kill(self) -> None:
        """Die at once, as in a crash."""
        _end(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM)


def free_cluster_port() -> int:
    """A free port under 55536 whose cluster bus port (10000 higher) is free too."""
    while True:
        port = random.randint(20000, 55000)
        try:
            with socket.socket() as sock, socket.socket() as bus:
                sock.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
                return port
        except OSError:
            continue


class RedisCluster:
    """A local Redis Cluster of `masters` redis-servers (cluster mode), each with `replicas`
    replicas (0: none), each on a free port with its own directory and append-only file:

        cluster = RedisCluster(tmp / "cluster"); cluster.start()   # redis-cli --cluster create
        cluster.url  # names one node: a cluster client learns the others
    """

    def __init__(self, directory: Path, masters: int = 3, replicas: int = 0) -> None:
        self.replicas = replicas
        cluster_mode = (
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
        )
        self.servers = [
            RedisServer(directory / f"node{i}", pick_port=free_cluster_port, extra=cluster_mode)
            for i in range(masters * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        return self.servers[0].url.removesuffix("/0")

    def start(self, timeout: float = 30) -> None:
        for server in self.servers:
            server.start()
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{s.port}" for s in self.servers),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )
        _wait(self.ready, timeout, "the Redis Cluster did not report cluster_state:ok on every node")
        _wait(self.replicated, timeout, "the Redis Cluster's replicas did not finish their first sync")

    def replicated(self) -> bool:
        """Every master has its replicas and every replica's link is up (a failover needs one)."""
        masters = 0
        for server in self.servers:
            with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as client:
                info = client.info("replication")
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    return False
                if info["role"] == "master" and int(info.get("connected_slaves", 0)) == self.replicas:
                    masters += 1
        return masters == len(self.servers) // (1 + self.replicas)

    def ready(self) -> bool:
        for server in self.servers:
            if server.process is None or server.process.poll() is not None:
                continue  # a node killed on purpose
            with redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=0.5) as client:
                if client.cluster("INFO").get("cluster_state") != "ok":
                    return False
        return True

    def master_of(self, key: str) -> RedisServer:
        """The server that is the master of `key`'s slot now."""
        for server in self.servers:
            if server.process is None or server.process.poll() is not None:
                continue
            with redis.RedisCluster(host="127.0.0.1", port=server.port) as client:
                node = client.get_node_from_key(key)
                return next(s for s in self.servers if s.port == node.port)
        raise RuntimeError("no live node in the cluster")

    def masters(self) -> list[RedisServer]:
        """The live servers that are masters now."""
        found = []
        for server in self.servers:
            if server.process is None or server.process.poll() is not None:
                continue
            with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as client:
                if client.info("replication")["role"] == "master":
                    found.append(server)
        return found

    def move_slot(self, slot: int, to: RedisServer, *, pause: float = 0.0, batch: int = 10) -> int:
        """Move a hash slot, keys and all, to another master while it is in use, the way
        `redis-cli --cluster reshard` moves each slot: the target IMPORTING and the source
        MIGRATING, the keys MIGRATEd `batch` at a time, then the new owner set on the target, the
        source and the other masters. `pause` seconds are spent in the migrating state before the
        first and after the last key, and a tenth of it between batches, so traffic meets each
        state (the source answering ASK or TRYAGAIN). Returns the number of keys moved."""
        source = next(server for server in self.masters() if slot in self.slots_of(server))
        if source is to:
            return 0

        def client(server: RedisServer) -> redis.Redis:
            return redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)

        moved = 0
        with client(source) as src, client(to) as dst:
            source_id, target_id = src.cluster("MYID"), dst.cluster("MYID")
            dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
            src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
            time.sleep(pause)
            while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, batch):
                src.execute_command("MIGRATE", "127.0.0.1", to.port, "", 0, 5000, "KEYS", *keys)
                moved += len(keys)
                time.sleep(pause / 10)
            time.sleep(pause)
            for server in [to, source, *(m for m in self.masters() if m not in (to, source))]:
                with client(server) as master:
                    master.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)
        return moved

    def slots_of(self, server: RedisServer) -> set[int]:
        """The hash slots `server` is the master of, as it sees them."""
        with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as client:
            myself = client.cluster("MYID")
            owned: set[int] = set()
            for first, last, master, *_ in client.execute_command("CLUSTER SLOTS"):
                if master[2] == myself:
                    owned.update(range(int(first), int(last) + 1))
            return owned

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


class NodeProcess:
    """One `babelroom serve` process (the console script's code, run as `python -m chat.cli`).

    With `backend="sqlite"` and no redis_url it keeps its file at the default place,
    workdir/data/babelroom.sqlite3, across kill and start.
    """

    def __init__(
        self,
        node_id: str,
        workdir: Path,
        *,
        redis_url: str | None = None,
        key_prefix: str = "babelroom:",
        port: int | None = None,
        env: dict[str, str] | None = None,
        backend: str = "memory",
        args: tuple[str, ...] = (),
        command_prefix: tuple[str, ...] = (),
    ) -> None:
        self.node_id = node_id
        self.args = args  # more `serve` options
        self.command_prefix = command_prefix  # runs the node under another program (valgrind: benchmarks)
        self.workdir = workdir
        self.port = port or free_port()
        self._port_chosen = port is not None  # a port the caller chose is kept
        self._started = False
        self.log_path = workdir / f"node-{node_id}.log"
        self._log_offset = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.signer = TokenSigner(SECRET)
        self.env = {
            "BABELROOM_BACKEND_KIND": "redis" if redis_url else backend,
            "BABELROOM_AUTH_SECRET": SECRET,
            "BABELROOM_SERVER_DATA_DIR": str(workdir / "data"),
            "BABELROOM_TRANSLATION_PACKAGES_DIR": str(workdir / "empty"),
            "BABELROOM_TRANSLATION_INSTALL": "",  # no downloads in tests
            "BABELROOM_TRANSLATION_EVENT_LANGUAGES": "",
            "BABELROOM_SERVER_NODE_ID": node_id,
            "BABELROOM_SERVER_HOST": "127.0.0.1",
            "BABELROOM_SERVER_LOG_LEVEL": "info",
            **(
                {"BABELROOM_BACKEND_REDIS_URL": redis_url, "BABELROOM_BACKEND_KEY_PREFIX": key_prefix}
                if redis_url
                else {}
            ),
            **(env or {}),
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def token(
        self,
        name: str,
        *,
        user_id: str | None = None,
        lang: str = "en",
        role: Role = Role.DELEGATE,
        rooms: tuple[str, ...] = (),
    ) -> str:
        return self.signer.issue(name=name, role=role, lang=lang, ttl=3600, user_id=user_id, rooms=rooms)

    def start(self, timeout: float = 30) -> None:
        self.launch()
        self.wait_started(timeout)

    def launch(self) -> None:
        """Start the process; returns at once (`wait_started` waits for it to serve)."""
        (self.workdir / "empty").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        self._log_offset = _size(self.log_path)
        with open(self.log_path, "ab") as log:  # the child holds its own descriptor
            self.process = subprocess.Popen(
                [*self.command_prefix, sys.executable, "-m", "chat.cli", "serve", "--port", str(self.port), *self.args],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_started(self, timeout: float = 30) -> None:
        """Until the launched node is healthy, and it is this node that answers on its port. A port
        that another process took before the node could listen on it is picked again (twice at
        most), unless the caller chose it or the node served on it before (a restart keeps it)."""
        for attempt in range(3):
            try:
                self._wait_serving(timeout)
            except PortTaken:
                self.kill()
                if self._started or self._port_chosen or attempt == 2:
                    raise
                self.port = free_port()
                self.launch()
                continue
            self._started = True
            return

    def _wait_serving(self, timeout: float) -> None:
        try:
            _wait(lambda: self.health() == 200, timeout, f"node {self.node_id} was not healthy (see {self.log_path})")
        except RuntimeError:  # it exited: because the port was taken, or the test's to read in its log
            if port_taken_said(_log_since(self.log_path, self._log_offset)):
                raise PortTaken(f"port {self.port} was taken before node {self.node_id} could listen on it") from None
            raise
        if not listens_on(self.process, self.port):  # what answered is another process on our port
            raise PortTaken(f"port {self.port} is answered by another process, not node {self.node_id} ({self.pid})")

    def data_file(self) -> Path:
        """Where a sqlite node keeps its file: the default, in its data directory."""
        return self.workdir / "data" / "babelroom.sqlite3"

    def health(self) -> int | None:
        """/healthz status: 200 ok, 503 degraded (backend unreachable), None when not answering."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"node {self.node_id} exited; see {self.log_path}:\n{self.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def wait_health(self, status: int, timeout: float = 20) -> None:
        _wait(lambda: self.health() == status, timeout, f"node {self.node_id} did not report {status}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        _end(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM)


def start_together(*nodes: NodeProcess, timeout: float = 30) -> None:
    """Start the nodes at once and wait until each is healthy: one node's start-up (imports, app,
    backend) overlaps the others' instead of each waiting for the one before. `timeout` is each
    node's, as with `start`: all of them together get as long as one after the other would have
    (on a busy machine they share the CPU while they start)."""
    for node in nodes:
        node.launch()
    deadline = time.monotonic() + timeout * len(nodes)
    for node in nodes:
        node.wait_started(max(timeout, deadline - time.monotonic()))


class WorkerProcess:
    """One `babelroom translate-worker` process on the nodes' Redis (`python -m chat.cli translate-worker`)."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        *,
        redis_url: str,
        key_prefix: str = "babelroom:",
        env: dict[str, str] | None = None,
        pairs: str = "",
        args: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.pairs = pairs
        self.args = args  # more `translate-worker` options
        self.log_path = workdir / f"worker-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            "BABELROOM_BACKEND_KIND": "redis",
            "BABELROOM_BACKEND_REDIS_URL": redis_url,
            "BABELROOM_BACKEND_KEY_PREFIX": key_prefix,
            "BABELROOM_SERVER_DATA_DIR": str(workdir / "data"),
            "BABELROOM_TRANSLATION_INSTALL": "",
            "BABELROOM_SERVER_LOG_LEVEL": "info",
            **(env or {}),
        }

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start; returns at once (the caller waits for the worker's advertisement in Redis)."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "chat.cli",
                    "translate-worker",
                    "--name",
                    self.name,
                    *(("--pairs", self.pairs) if self.pairs else ()),
                    *self.args,
                ],
                cwd=REPO,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        _end(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM)
