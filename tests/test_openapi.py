"""The OpenAPI document describes every HTTP route, and the running server keeps to it (schemathesis)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from starlette.routing import Route

from chat.app import create_app
from rooms import Role
from tests.conftest import REDIS_TEST_DB, REDIS_URL, RunningServer, checked_backend, start_server
from tests.conftest import test_config as config_for
from web.openapi import PATHS

# Bounded on purpose: a few examples per operation and phase, a fixed seed (reproducible in CI).
SCHEMATHESIS_EXAMPLES = 10
SCHEMATHESIS_SEED = 20261201
SCHEMATHESIS_TIMEOUT = 300
BACKENDS = ("memory", "sqlite", "redis")  # the first is the one schemathesis runs against
# tests/schemathesis_hooks.py, loaded by the schemathesis CLI only (it registers a check: not imported here),
# and the environment variables it reads
SCHEMATHESIS_HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ALSO_ENV = "BABELROOM_SCHEMATHESIS_ALSO"
LOG_ENV = "BABELROOM_SCHEMATHESIS_LOG"
NOT_YET_DESCRIBED: set[tuple[str, str]] = set()


def test_every_http_route_is_described(tmp_path):
    app = create_app(config_for(tmp_path))
    routes = {
        (route.path.replace(":path}", "}"), method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD" and route.path != "/api/{rest:path}"
    }
    described = {(path, method) for path, operations in PATHS.items() for method in operations}
    assert described <= routes, described - routes
    assert routes - described == NOT_YET_DESCRIBED


async def test_the_document_is_served_as_openapi_3_1(server):
    async with server.http() as http:
        document = (await http.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "de" in document["components"]["schemas"]["SessionRequest"]["properties"]["lang"]["enum"]


async def test_unknown_api_paths_and_methods_answer_json(server):
    async with server.http() as http:
        missing = await http.get("/api/nothing-here")
        wrong_method = await http.put("/api/rooms")
    assert missing.status_code == 404 and "openapi.json" in missing.json()["message"]
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["allow"]


@pytest.mark.redis
async def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(tmp_path, redis_prefix):
    """Every check schemathesis has, on every backend: no 5xx, documented statuses, content types and
    schemas, schema-valid requests accepted / schema-violating ones refused; host calls carry a host token.

    One run makes the cases and sends each to all three servers (tests/schemathesis_hooks.py): making
    them is most of its cost (a run per backend made the same cases three times). The stateful phase
    builds its cases from the first server's answers, so it runs on each of the others by itself.
    Measured (2026-12-07, the hook logging both statuses): each other backend answered 2393 of the
    2396 cases of the coverage and fuzzing phases with the first server's status (the other three:
    POST /api/session, its rate limit), so the cases reach as deep into them as into the first."""
    servers: dict[str, RunningServer] = {}
    try:
        for kind in BACKENDS:
            backend = {"kind": checked_backend(kind), "redis_url": f"{REDIS_URL}/{REDIS_TEST_DB}"}
            backend.update(key_prefix=redis_prefix, path=str(tmp_path / f"{kind}.sqlite3"))
            config = config_for(tmp_path, backend=backend, server={"node_id": f"node-{kind}"})
            servers[kind] = await start_server(config)
        first, *others = BACKENDS
        sent_log = tmp_path / "sent-to-the-other-backends.tsv"
        hooks_env = {
            "SCHEMATHESIS_HOOKS": str(SCHEMATHESIS_HOOKS),
            ALSO_ENV: " ".join(f"{kind}={servers[kind].url}" for kind in others),
            LOG_ENV: str(sent_log),
        }
        outputs = [await run_schemathesis(servers[first], tmp_path / first, hooks_env)]
        # after it, as on the first server (on a server another run is changing, a resource it saw
        # created could be gone when it looks again); the two at once, each on a server of its own
        async with asyncio.TaskGroup() as runs:
            stateful = [
                runs.create_task(run_schemathesis(servers[kind], tmp_path / kind, {}, "--phases", "stateful"))
                for kind in others
            ]
        outputs += [run.result() for run in stateful]
        async with servers[first].http() as http:
            document = (await http.get("/api/openapi.json")).json()
    finally:
        for server in servers.values():
            await server.stop()
    for text in outputs:
        assert " passed" in text and "Tested: 0" not in text, text[-3000:]
    operations = {
        f"{method.upper()} {path}"
        for path, items in document["paths"].items()
        for method in items
        if method != "parameters"
    } - {"GET /api/openapi.json"}  # schemathesis leaves out the document it was given
    sent = [line.split("\t") for line in sent_log.read_text(encoding="utf-8").splitlines()]
    for kind in others:  # the hook ran: each other backend was sent cases of every operation
        assert {operation for to, operation, _ in sent if to == kind} == operations, kind


def unmeasured(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment without coverage's settings for child Pythons (`make test` measures the nodes
    the tests start: pyproject.toml `[tool.coverage.run] patch`): schemathesis runs no project code,
    and traced by coverage its run took twice the CPU (hypothesis making the cases)."""
    return {name: value for name, value in environment.items() if name != "COVERAGE_PROCESS_CONFIG"}


async def run_schemathesis(server: RunningServer, directory: Path, env: dict[str, str], *options: str) -> str:
    """The schemathesis CLI's run against `server`, in a process of its own (hypothesis and the
    schemathesis engine hold ~150 MB): its output; fails the test unless it passed."""
    directory.mkdir()
    command = [
        sys.executable,
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "run",
        f"{server.url}/api/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(SCHEMATHESIS_EXAMPLES),
        "--seed",
        str(SCHEMATHESIS_SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--header",
        f"Authorization: Bearer {server.token('Host', Role.HOST)}",
        *options,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=directory,
        env={**unmeasured(os.environ), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), SCHEMATHESIS_TIMEOUT)
    finally:
        if process.returncode is None:  # timed out, or the other run failed: not left running
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    return text
