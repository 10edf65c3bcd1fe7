"""Delegates are people, not browser tabs (issue 23): sign-ins per device, renewal, signing out
(one device, everywhere), personal sign-in codes, and the event's access modes; on every backend,
and across two redis nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client import Client, http_client
from tests.nodes import NodeProcess, RedisServer, start_together

CLOSE_UNAUTHORIZED = 4401
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def sign_in(http: httpx.AsyncClient, name: str = "Li Wei", lang: str = "zh", **extra: Any) -> dict[str, Any]:
    response = await http.post(
        "/api/session", json={"name": name, "lang": lang, **extra}, headers={"user-agent": FIREFOX_ANDROID}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_sign_in_is_a_session_the_person_sees_and_a_renewal_keeps_it(server):
    async with server.http() as http:
        first = await sign_in(http, organization="Shenzhen Solar", country="cn")
        listed = (await http.get("/api/me/sessions", headers=bearer(first["token"]))).json()["sessions"]
        assert [(s["id"], s["device"], s["current"]) for s in listed] == [
            (first["session"], "Firefox on Android", True)
        ]
        renewed = await http.post("/api/session/renew", headers=bearer(first["token"]))
        assert renewed.status_code == 200
        body = renewed.json()
        assert body["user"] == first["user"] and body["session"] == first["session"] and body["lang"] == "zh"
        assert body["profile"] == {"organization": "Shenzhen Solar", "country": "CN"}
    client = await Client.connect(server.ws_url)
    ready = await client.auth(body["token"])
    assert ready["user"] == first["user"]


async def test_signing_out_refuses_the_token_and_closes_its_socket_but_not_the_other_device(server):
    async with server.http() as http:
        laptop = await sign_in(http)
        code = (await http.post("/api/me/signin-code", headers=bearer(laptop["token"]))).json()["code"]
        phone = (await http.post("/api/session", json={"code": code})).json()
        assert phone["user"] == laptop["user"] and phone["session"] != laptop["session"]
        on_laptop, on_phone = await Client.connect(server.ws_url), await Client.connect(server.ws_url)
        await on_laptop.auth(laptop["token"])
        await on_phone.auth(phone["token"])
        assert (await http.delete("/api/session", headers=bearer(laptop["token"]))).status_code == 204
        assert await on_laptop.closed() == CLOSE_UNAUTHORIZED
        again = await Client.connect(server.ws_url)
        await again.send({"type": "auth", "token": laptop["token"]})
        assert "signed out" in (await again.expect_error("unauthorized"))["message"]
        assert (await http.post("/api/session/renew", headers=bearer(laptop["token"]))).status_code == 401
        await on_phone.send({"type": "ping", "ref": "p"})
        await on_phone.expect("pong")  # the phone stays signed in
        listed = (await http.get("/api/me/sessions", headers=bearer(phone["token"]))).json()["sessions"]
        assert [s["id"] for s in listed] == [phone["session"]]


async def test_a_person_ends_one_device_from_another_and_only_their_own(server):
    async with server.http() as http:
        laptop = await sign_in(http)
        other = await sign_in(http, name="Aino", lang="fi")
        code = (await http.post("/api/me/signin-code", headers=bearer(laptop["token"]))).json()["code"]
        phone = (await http.post("/api/session", json={"code": code})).json()
        refused = await http.delete(f"/api/me/sessions/{other['session']}", headers=bearer(phone["token"]))
        assert refused.status_code == 404 and refused.json()["code"] == "not_found"
        assert (
            await http.delete(f"/api/me/sessions/{laptop['session']}", headers=bearer(phone["token"]))
        ).status_code == 204
        assert (await http.get("/api/me/sessions", headers=bearer(laptop["token"]))).status_code == 401
        assert (await http.get("/api/me/sessions", headers=bearer(other["token"]))).status_code == 200


async def test_a_signin_code_signs_the_same_person_in_once(server):
    async with server.http() as http:
        first = await sign_in(http, organization="Shenzhen Solar")
        made = await http.post("/api/me/signin-code", headers=bearer(first["token"]))
        assert made.status_code == 200
        body = made.json()
        assert body["url"].endswith(f"/#code={body['code']}") and body["qr"].startswith("data:image/svg+xml")
        assert body["expires"] > first["expires_in"]  # ms since the epoch
        typed = body["code"].lower().replace("-", " ")  # as typed on a phone
        second = await http.post("/api/session", json={"code": typed, "lang": "en"})
        assert second.status_code == 200
        assert second.json()["user"] == first["user"] and second.json()["lang"] == "en"
        assert second.json()["profile"] == {"organization": "Shenzhen Solar"}
        used = await http.post("/api/session", json={"code": body["code"]})
        assert used.status_code == 401 and "used already" in used.json()["message"]
        bad = await http.post("/api/session", json={"code": 7})
        assert bad.status_code == 400


async def test_signin_codes_are_rate_limited_per_person(make_server):
    server = await make_server(auth={"signin_codes_per_hour": 2})
    async with server.http() as http:
        first = await sign_in(http)
        answers = [await http.post("/api/me/signin-code", headers=bearer(first["token"])) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "rate_limited" and answers[2].json()["retry_after"] > 0


async def test_token_renewals_are_rate_limited_per_sign_in(make_server):
    server = await make_server(auth={"renewals_per_hour": 2})
    async with server.http() as http:
        first = await sign_in(http)
        answers = [await http.post("/api/session/renew", headers=bearer(first["token"])) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["code"] == "rate_limited" and answers[2].json()["retry_after"] > 0
        other = await sign_in(http, name="Aino", lang="fi")  # another sign-in has its own allowance
        assert (await http.post("/api/session/renew", headers=bearer(other["token"]))).status_code == 200


async def test_sign_out_everywhere_closes_every_device(server):
    async with server.http() as http:
        laptop = await sign_in(http)
        code = (await http.post("/api/me/signin-code", headers=bearer(laptop["token"]))).json()["code"]
        phone = (await http.post("/api/session", json={"code": code})).json()
        clients = [await Client.connect(server.ws_url) for _ in range(2)]
        for client, who in zip(clients, (laptop, phone), strict=True):
            await client.auth(who["token"])
            await client.join("plenary")
        ended = await http.delete("/api/me/sessions", headers=bearer(phone["token"]))
        assert ended.status_code == 200 and ended.json() == {"ended": 2}
        assert [await client.closed() for client in clients] == [CLOSE_UNAUTHORIZED] * 2


async def test_invited_mode_refuses_a_name_and_admits_a_personal_code(make_server):
    server = await make_server(auth={"access": "invited"})
    async with server.http() as http:
        assert (await http.get("/api/access")).json() == {"access": "invited"}
        refused = await http.post("/api/session", json={"name": "Stranger", "lang": "en"})
        assert refused.status_code == 403 and refused.json()["code"] == "invited_only"
        # a delegate with a token from the event's website makes a personal code for their phone
        website = server.token("Li Wei", lang="zh", user_id="u_li")
        code = (await http.post("/api/me/signin-code", headers=bearer(website))).json()["code"]
        phone = await http.post("/api/session", json={"code": code})
        assert phone.status_code == 200 and phone.json()["user"]["id"] == "u_li"


# two redis nodes -------------------------------------------------------------------------------
@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, NodeProcess]]:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    nodes = (
        NodeProcess("a", tmp_path, redis_url=redis_server.url),
        NodeProcess("b", tmp_path, redis_url=redis_server.url),
    )
    try:
        await asyncio.to_thread(start_together, *nodes, timeout=60)
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        redis_server.stop()


@pytest.mark.redis
async def test_on_two_nodes_signing_out_refuses_the_token_and_closes_sockets_everywhere(cluster):
    a, b = cluster
    async with (
        http_client(a.url) as on_a,
        http_client(b.url) as on_b,
    ):
        laptop = await sign_in(on_a)
        made = (await on_a.post("/api/me/signin-code", headers=bearer(laptop["token"]))).json()
        phone = (await on_b.post("/api/session", json={"code": made["code"]})).json()  # the code works on b, once
        assert phone["user"] == laptop["user"]
        assert (await on_a.post("/api/session", json={"code": made["code"]})).status_code == 401
        # b checks (and trusts for a while) the laptop's sign-in; a ends it: b refuses it at once
        early = await Client.connect(b.ws_url)
        await early.auth(laptop["token"])
        assert (await on_a.delete("/api/session", headers=bearer(laptop["token"]))).status_code == 204
        assert await early.closed() == CLOSE_UNAUTHORIZED
        late = await Client.connect(b.ws_url)
        await late.send({"type": "auth", "token": laptop["token"]})
        await late.expect_error("unauthorized")
        # sign out everywhere from b closes the phone's sockets on both nodes
        sockets = [await Client.connect(node.ws_url) for node in (a, b)]
        for client in sockets:
            await client.auth(phone["token"])
        assert (await on_b.delete("/api/me/sessions", headers=bearer(phone["token"]))).json() == {"ended": 1}
        assert [await client.closed() for client in sockets] == [CLOSE_UNAUTHORIZED] * 2
    for node in (a, b):  # codes travel in bodies and fragments only: no log line holds one
        assert made["code"] not in node.log()


@pytest.mark.parametrize(
    "agent, label",
    [
        (FIREFOX_ANDROID, "Firefox on Android"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 "
            "Edg/126.0",
            "Edge on Windows",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown device"),
    ],
)
def test_a_device_is_named_from_its_user_agent(agent, label):
    from web.sign_in import device_label

    assert device_label(agent) == label


def test_code_access_without_an_access_code_stops_the_start(tmp_path):
    from chat.config import ConfigError
    from chat.node import Node
    from tests.conftest import test_config

    config = test_config(tmp_path).replace("auth", access="code")
    with pytest.raises(ConfigError, match="access_code"):
        Node(config)
