"""The HTTP API: sessions, rooms, languages, health, metrics, headers, bad bodies."""

from __future__ import annotations

import asyncio

import pytest

from tests.client import Client


async def test_a_delegate_session_gives_a_token_that_opens_the_socket(server):
    async with server.http() as http:
        response = await http.post("/api/session", json={"name": "  Ngozi ", "lang": "fr"})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["name"] == "Ngozi" and body["user"]["role"] == "delegate" and body["lang"] == "fr"
    client = await Client.connect(server.ws_url)
    ready = await client.auth(body["token"])
    assert ready["user"] == body["user"] and ready["lang"] == "fr"


@pytest.mark.parametrize(
    "body, says",
    [
        (b"not json", "JSON object"),
        (b"[1]", "JSON object"),
        (b'{"lang": "en"}', "name"),
        (b'{"name": "", "lang": "en"}', "name"),
        (b'{"name": 7, "lang": "en"}', "name"),
        ('{"name": "%s", "lang": "en"}' % ("x" * 41), "40"),
        (b'{"name": "Ada\\u0000", "lang": "en"}', "control"),
        (b'{"name": "Ada"}', "lang"),
        (b'{"name": "Ada", "lang": "xx"}', "/api/languages"),
    ],
)
async def test_bad_session_bodies_are_400_with_a_message(server, body, says):
    async with server.http() as http:
        response = await http.post("/api/session", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request" and says in response.json()["message"]


async def test_an_oversized_body_is_413(server):
    async with server.http() as http:
        response = await http.post("/api/session", content=b"{" + b" " * 20000 + b"}")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


async def test_the_access_code_guards_sessions_when_configured(make_server):
    server = await make_server(auth={"access_code": "geneva-2026"})
    async with server.http() as http:
        refused = await http.post("/api/session", json={"name": "Ada", "lang": "en", "access_code": "guess"})
        assert refused.status_code == 401 and "access code" in refused.json()["message"]
        admitted = await http.post("/api/session", json={"name": "Ada", "lang": "en", "access_code": "geneva-2026"})
        assert admitted.status_code == 200


async def test_rooms_list_the_configured_forum_with_member_counts(server):
    client = await server.client()
    await client.join("climate")
    async with server.http() as http:
        rooms = {room["id"]: room for room in (await http.get("/api/rooms")).json()["rooms"]}
    assert {"plenary", "announcements", "climate", "health", "education"} <= set(rooms)
    assert rooms["climate"]["members"] == 1 and rooms["plenary"]["members"] == 0
    assert rooms["announcements"]["state"] == "read_only" and rooms["plenary"]["forum"] == "Main hall"


async def test_languages_are_named_in_themselves(server):
    async with server.http() as http:
        languages = {entry["code"]: entry for entry in (await http.get("/api/languages")).json()["languages"]}
    assert languages["de"]["name"] == "Deutsch" and languages["ar"]["rtl"] is True
    assert languages["en"]["rtl"] is False


async def test_languages_cover_central_eastern_and_northern_europe(server):
    async with server.http() as http:
        languages = {entry["code"]: entry for entry in (await http.get("/api/languages")).json()["languages"]}
    for code, name in {
        "fi": "Suomi",
        "sk": "Slovenčina",
        "sr": "Српски",
        "hu": "Magyar",
        "ro": "Română",
        "bg": "Български",
        "bs": "Bosanski",
        "ka": "ქართული",
        "pl": "Polski",
        "zh": "中文",
    }.items():
        assert languages[code]["name"] == name
    assert all(entry["name"] != entry["code"] for entry in languages.values()), "a language lacks its own name"


async def test_health_and_metrics(server):
    await server.client()
    async with server.http() as http:
        health = (await http.get("/healthz")).json()
    metrics = await server.metrics()
    assert health["status"] == "ok" and health["node"] == server.node.id and "reason" not in health
    assert "babelroom_connections 1" in metrics


async def test_health_is_503_with_the_reason_while_the_database_cannot_write(tmp_path):
    """As with a full disk or a file gone read-only: the node says so until a write succeeds again."""
    from chat.backend.sqlite import SqliteBackend
    from tests.conftest import start_server, test_config

    path = tmp_path / "db.sqlite3"
    server = await start_server(test_config(tmp_path, backend={"kind": "sqlite", "path": str(path)}))
    try:
        backend = server.node.backend
        assert isinstance(backend, SqliteBackend)
        ada = await server.client("Ada")
        await ada.join("plenary")
        await ada.say("plenary", "stored")
        # the node's own connection stops taking writes (what SQLite answers on a read-only file)
        await backend._db.read(lambda db: db.execute("PRAGMA query_only = ON"))
        await ada.send({"type": "send", "room": "plenary", "text": "not stored", "ref": "s2"})
        await ada.expect_error("unavailable", ref="s2")
        async with server.http() as http:
            response = await http.get("/healthz")
            health = response.json()
            assert response.status_code == 503 and health["status"] == "degraded", health
            assert health["reason"] == "the database cannot be written: attempt to write a readonly database"
            assert str(tmp_path) not in response.text  # /healthz is public: the log names the file
            await backend._db.read(lambda db: db.execute("PRAGMA query_only = OFF"))  # writable again
            for _ in range(300):  # the node probes by itself (nothing else may write to a node marked 503)
                response = await http.get("/healthz")
                if response.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert response.status_code == 200 and "reason" not in response.json()
        await ada.say("plenary", "stored again")
    finally:
        await server.stop()


async def test_the_page_is_served_with_a_strict_content_security_policy(server):
    async with server.http() as http:
        page = await http.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_unknown_paths_are_404_and_wrong_methods_405(server):
    async with server.http() as http:
        assert (await http.get("/api/nothing")).status_code == 404
        assert (await http.put("/api/session")).status_code == 405
