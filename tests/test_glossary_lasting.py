"""A host's glossary lasts: it outlives a restart (sqlite) and reaches every node (redis), with real
Apertium output (Debian's eng-spa).

"Green Steel" is two English words Apertium translates ("el acero verde") unless the glossary
protects them, so each test first shows the line translated without the term, then with it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms import Role
from tests.conftest import RunningServer, ServerFactory
from translation.apertium import discover

pytestmark = pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")

LINE = "Good morning, Cargotec and Green Steel signed the agreement"
CONFIGURED = {"engines": ("apertium",), "glossary": ("BMH Technologies",)}


def host(server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token('Hanna', role=Role.HOST)}"}


async def spanish_of(server: RunningServer, text: str) -> str:
    """The Spanish a reader on this node gets for an English line."""
    ada = await server.client("Ada", lang="en")
    sofia = await server.client("Sofia", lang="es")
    await ada.join("plenary")
    await sofia.join("plenary")
    ack = await ada.say("plenary", text)
    return str((await sofia.expect("translation", id=ack["id"]))["text"])


async def glossary_of(server: RunningServer) -> Any:
    async with server.http() as http:
        answer = await http.get("/api/glossary", headers=host(server))
        assert answer.status_code == 200
        return answer.json()["terms"]


async def put_glossary(server: RunningServer, terms: list[str]) -> httpx.Response:
    async with server.http() as http:
        return await http.put("/api/glossary", json={"terms": terms}, headers=host(server))


@pytest.mark.parametrize("backend_kind", ["sqlite"])
async def test_a_glossary_set_on_a_sqlite_node_outlives_its_restart(make_server: ServerFactory, tmp_path: Path) -> None:
    database = {"path": str(tmp_path / "one-file.sqlite3")}
    first = await make_server(backend=database, translation=CONFIGURED)
    assert await glossary_of(first) == ["BMH Technologies"]  # nothing stored yet: the configured list
    assert "Green Steel" not in await spanish_of(first, LINE)
    refused = await put_glossary(first, ["Cargotec", "x" * 101])
    assert refused.status_code == 400 and refused.json()["field"] == "terms"  # the panel words it by the field
    put = await put_glossary(first, [" Cargotec ", "Green Steel", "green steel"])
    assert put.status_code == 200 and put.json()["terms"] == ["Cargotec", "Green Steel"]
    await first.stop()

    again = await make_server(backend=database, translation=CONFIGURED)
    assert await glossary_of(again) == ["Cargotec", "Green Steel"]  # the stored list wins over config
    spanish = await spanish_of(again, LINE)
    assert "Cargotec" in spanish and "Green Steel" in spanish and "Buenos días" in spanish


@pytest.mark.parametrize("backend_kind", ["sqlite"])
async def test_an_emptied_glossary_stays_empty_after_a_restart(make_server: ServerFactory, tmp_path: Path) -> None:
    database = {"path": str(tmp_path / "one-file.sqlite3")}
    first = await make_server(backend=database, translation=CONFIGURED)
    assert (await put_glossary(first, [])).json()["terms"] == []
    await first.stop()
    again = await make_server(backend=database, translation=CONFIGURED)
    assert await glossary_of(again) == []  # a host's empty list is a list: config does not come back


@pytest.mark.redis
@pytest.mark.parametrize("backend_kind", ["redis"])
async def test_a_glossary_set_on_one_redis_node_applies_on_the_others(make_server: ServerFactory) -> None:
    node_a = await make_server(translation=CONFIGURED)
    node_b = await make_server(translation=CONFIGURED)
    assert "Green Steel" not in await spanish_of(node_b, LINE)
    assert (await put_glossary(node_a, ["Cargotec", "Green Steel"])).status_code == 200
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await glossary_of(node_b) != ["Cargotec", "Green Steel"]:  # the `glossary` node event, live
        assert loop.time() < deadline, f"node B still has {await glossary_of(node_b)}"
        await asyncio.sleep(0.05)
    spanish = await spanish_of(node_b, LINE)
    assert "Cargotec" in spanish and "Green Steel" in spanish
    node_c = await make_server(translation=CONFIGURED)  # started after the PUT: it reads the stored list
    assert await glossary_of(node_c) == ["Cargotec", "Green Steel"]
