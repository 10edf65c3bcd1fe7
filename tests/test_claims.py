"""Claims validated like forms (issue 20), against real servers on memory, sqlite and redis.

Each attack of the issue is a test: claims holding lone surrogates, control or invisible characters
are refused at `auth` (`unauthorized`, close 4401, the reason naming the claim) and the directory
stays whole; ids as long as e-mail addresses work in every `user` field; names that render blank or
copy a host's or moderator's name are refused in the sign-in form and in claims alike.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from rooms import Role
from tests.client import Client
from tests.conftest import TEST_SECRET
from tests.log_recorder import LogRecorder

LONE = "\ud800"
EMAIL_ID = "delegate.with.a.long.address+babelroom-summit-2026@delegations.conference.example.org"


@pytest.fixture
def node_log():
    recorder = LogRecorder().install()
    yield recorder
    recorder.uninstall()


def token_with(**claims: Any) -> str:
    """An HS256 token the server's secret signs, as a conference website would mint it."""
    base = {"sub": "site-7", "name": "Wanjiru", "role": "delegate", "lang": "en", "exp": int(time.time()) + 600}
    return jwt.encode({**base, **claims}, TEST_SECRET, algorithm="HS256")


async def refused_at_auth(server, token: str) -> str:
    """The `unauthorized` message of an auth with this token; the socket is closed with 4401."""
    client = await Client.connect(server.ws_url)
    await client.send({"type": "auth", "token": token})
    error = await client.expect("error")
    assert error["code"] == "unauthorized", error
    assert await client.closed() == 4401
    return str(error["message"])


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def directory(server, viewer: str) -> list[dict[str, Any]]:
    async with server.http() as http:
        response = await http.get("/api/people", params={"limit": 100}, headers=bearer(viewer))
    assert response.status_code == 200, response.text
    people: list[dict[str, Any]] = response.json()["people"]
    return people


@pytest.mark.parametrize(
    "claim, value",
    [
        ("name", f"Ada{LONE}"),
        ("organization", f"Sauna{LONE}Oy"),
        ("bio", f"hello {LONE}"),
        ("sub", f"u{LONE}"),
        ("country", LONE),
    ],
)
async def test_a_lone_surrogate_in_a_claim_is_refused_and_the_directory_stays_whole(server, node_log, claim, value):
    await server.client("Aino", user_id="u_aino", organization="Sauna Oy", country="FI")
    viewer = server.token("Viewer", user_id="u_viewer")
    before = await directory(server, viewer)
    assert [p["id"] for p in before] == ["u_aino"]

    message = await refused_at_auth(server, token_with(**{claim: value}))
    assert f"'{claim}' claim" in message
    async with server.http() as http:  # the same token over HTTP: 401, nothing stored
        response = await http.get("/api/people", headers=bearer(token_with(**{claim: value})))
    assert response.status_code == 401 and f"'{claim}' claim" in response.json()["message"]
    assert await directory(server, viewer) == before
    assert node_log.tracebacks() == []


@pytest.mark.parametrize(
    "claim, value, says",
    [
        ("name", "Ada\x00", "control"),
        ("name", "Ada\nLovelace", "control"),
        ("name", "\u3164", "U+3164"),
        ("name", "\u2800", "U+2800"),
        ("name", "\uffa0", "U+FFA0"),
        ("name", "\u0301\u0301", "blank"),
        ("name", "\u0301Ada", "combining mark"),
        ("name", "Ada\u200b", "U+200B"),
        ("name", "Ada\u202eecalevoL", "U+202E"),
        ("organization", "Sauna\u202eOy", "U+202E"),
        ("organization", "Sauna\u200bOy", "U+200B"),
        ("bio", "hi\u2067there", "U+2067"),
        ("sub", "u\x00x", "control"),
        ("sub", "x" * 129, "128"),
        ("lang", "e\u0301n", "language code"),
        ("rooms", ["plenary", LONE], "room ids"),
    ],
)
async def test_control_and_invisible_characters_in_claims_are_refused_naming_the_claim(server, claim, value, says):
    message = await refused_at_auth(server, token_with(**{claim: value}))
    assert f"'{claim}' claim" in message and says in message, message


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("name", "\u3164", "U+3164"),
        ("name", "\u2800\u2800", "U+2800"),
        ("name", "\uffa0", "U+FFA0"),
        ("name", "\u0301", "blank"),
        ("name", "\u20dd\u20dd", "blank"),
        ("name", "Ada\u200d", "U+200D"),
        ("name", "A\u202eB", "U+202E"),
        ("organization", "Sauna\u202eOy", "U+202E"),
        ("organization", "\u200b", "U+200B"),
        ("bio", "hello\u2066", "U+2066"),
        ("bio", "\u3164", "U+3164"),
    ],
)
async def test_blank_and_invisible_texts_are_refused_by_the_sign_in_form(server, field, value, says):
    body = {"name": "Ada", "lang": "en", field: value}
    async with server.http() as http:
        response = await http.post("/api/session", json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == "bad_request" and answer["field"] == field and says in answer["message"]


async def test_an_email_address_id_can_be_muted_kicked_and_banned(server):
    host = await server.client("Hanna", role=Role.HOST, user_id="u_hanna")
    delegate = await server.client("Mail", user_id=EMAIL_ID)
    assert 64 < len(EMAIL_ID) <= 128
    for client in (host, delegate):
        await client.join("plenary")
    await host.send({"type": "mute", "room": "plenary", "user": EMAIL_ID, "seconds": 60, "ref": "m"})
    await host.expect("ack", ref="m")
    assert (await delegate.expect("moderation", action="mute"))["user"] == EMAIL_ID
    await delegate.send({"type": "send", "room": "plenary", "text": "still here?", "ref": "s"})
    assert (await delegate.expect_error("muted", "s"))["code"] == "muted"
    await host.send({"type": "kick", "room": "plenary", "user": EMAIL_ID, "ref": "k"})
    await host.expect("ack", ref="k")
    assert (await delegate.expect("left", room="plenary"))["reason"] == "kicked"
    assert await delegate.closed() == 4403  # kicked from the only room it had
    delegate = await server.client("Mail", user_id=EMAIL_ID)
    await delegate.join("plenary")
    await host.send({"type": "ban", "room": "plenary", "user": EMAIL_ID, "ref": "b"})
    await host.expect("ack", ref="b")
    assert (await delegate.expect("left", room="plenary", reason="banned"))["reason"] == "banned"
    assert await delegate.closed() == 4403
    delegate = await server.client("Mail", user_id=EMAIL_ID)
    await delegate.send({"type": "join", "room": "plenary", "ref": "j"})
    await delegate.expect_error("banned", "j")
    await host.send({"type": "unban", "room": "plenary", "user": EMAIL_ID, "ref": "u"})
    await host.expect("ack", ref="u")
    async with server.http() as http:  # and over HTTP: a block names the same id
        response = await http.post("/api/blocks", json={"user": EMAIL_ID}, headers=bearer(server.token("Bo")))
    assert response.status_code == 201


async def test_an_id_longer_than_any_user_field_is_refused_at_auth(server):
    message = await refused_at_auth(server, token_with(sub="a" * 120 + "@example.org"))
    assert "'sub' claim" in message and "128" in message


LOOK_ALIKES = [
    "Host Anna",
    "host anna",
    "HOST ANNA",
    "\u0397ost Anna",  # Greek capital eta
    "\uff28\uff4f\uff53\uff54 \uff21\uff4e\uff4e\uff41",  # fullwidth
    "\U0001d407\U0001d428\U0001d42c\U0001d42d \U0001d400\U0001d427\U0001d427\U0001d41a",  # mathematical bold
    "H\u043est \u0410nna",  # Cyrillic o and A
    "Host  Anna",
]


@pytest.mark.parametrize("copy", LOOK_ALIKES)
async def test_a_delegate_cannot_copy_or_imitate_a_hosts_name(server, copy):
    host = await server.client("Host Anna", role=Role.HOST, user_id="u_host")
    await server.client("Mod Mira", role=Role.MODERATOR, user_id="u_mod")
    async with server.http() as http:
        response = await http.post("/api/session", json={"name": copy, "lang": "en"})
    assert response.status_code == 409, response.text
    answer = response.json()
    assert answer["code"] == "name_reserved" and answer["field"] == "name" and "host" in answer["message"]
    message = await refused_at_auth(server, token_with(sub="u_copy", name=copy))
    assert "'name' claim" in message and "host" in message
    # nobody with that name was listed; the host, a moderator and other names are unaffected
    names = [p["name"] for p in await directory(server, server.token("Viewer", user_id="u_viewer"))]
    assert names == ["Host Anna", "Mod Mira"]
    for name in ("Hostess Anna", "Anna Host"):
        assert (await server.client(name, user_id=f"u_{len(name)}")) is not None
    assert "'name' claim" in await refused_at_auth(server, token_with(sub="u_m2", name="M\u043ed M\u0456ra"))
    await host.send({"type": "ping", "ref": "p"})
    await host.expect("pong")


async def test_hosts_and_moderators_may_share_a_look_alike_name_and_delegates_only_among_themselves(server):
    await server.client("Host Anna", role=Role.HOST, user_id="u_host")
    assert await server.client("Host Anna", role=Role.MODERATOR, user_id="u_mod")  # staff are not refused
    assert await server.client("Dan", user_id="u_dan1")
    assert await server.client("Dan", user_id="u_dan2")  # delegates' names are not protected
    assert await server.client("Host Anna", role=Role.HOST, user_id="u_host")  # the host again
