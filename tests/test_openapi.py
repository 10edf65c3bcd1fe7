"""The OpenAPI document describes every HTTP route, and the running server keeps to it (schemathesis)."""

from __future__ import annotations

import asyncio
import sys

from starlette.routing import Route

from chat.app import create_app
from rooms import Role
from tests.conftest import test_config as config_for
from web.openapi import PATHS

# Bounded on purpose: a few examples per operation and phase, a fixed seed (reproducible in CI).
SCHEMATHESIS_EXAMPLES = 10
SCHEMATHESIS_SEED = 20261201
SCHEMATHESIS_TIMEOUT = 300
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


async def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(server, tmp_path):
    """Every check schemathesis has: no 5xx, documented statuses, content types and schemas, and
    schema-valid requests accepted / schema-violating ones refused; host calls carry a host token."""
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
    ]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), SCHEMATHESIS_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert " passed" in text and "Tested: 0" not in text, text[-3000:]
