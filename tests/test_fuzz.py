"""A bounded WebSocket fuzz run on each backend: thousands of generated frames over several connections.

Every frame is answered (or its socket closed with a documented code), nothing is `internal`,
the node logs no traceback, and a normal client is served afterwards. Seeded: a failure replays.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import msgspec
import websockets

from chat.protocol import CLIENT_FRAMES
from rooms import Role
from tests.client import Client
from tests.log_recorder import LogRecorder

FRAMES = 2400  # per backend, over CONNECTIONS sockets: a few seconds each
CONNECTIONS = 6
SEED = 9
FIELDS = {
    kind: [field for field in msgspec.structs.fields(frame) if field.name != "ref"]
    for kind, frame in CLIENT_FRAMES.items()
}  # each frame type's fields, as defined
DOCUMENTED_CLOSES = {1000, 1007, 1008, 1009, 1013, 4401, 4403, 4429}
ANSWERS = {"ack", "error", "joined", "left", "ready", "history", "pong", "reactors"}
ROOMS = ["plenary", "climate", "announcements", "nope", "", "PLENARY", "plenary\u202e"]
LONE = "\ud800"


def scalar(rng: random.Random) -> Any:
    """A value of any JSON type, often hostile."""
    return rng.choice(
        [
            lambda: rng.choice(["", "x", "hi", "é…", "\u202e evil", LONE, "a" + LONE + "b", "\udc00", "\x00", " " * 3]),
            lambda: "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(0, 30))),
            lambda: "y" * rng.choice([63, 64, 65, 300, 301, 2000, 2001, 5000]),
            lambda: rng.choice([0, -1, 1, 59, 2592000, 2592001, 10**30, 2**63, -(2**63)]),
            lambda: rng.choice([0.5, 1e308, -0.0]),
            lambda: rng.choice([True, False, None]),
            lambda: [scalar(rng) for _ in range(rng.randrange(0, 3))],
            lambda: {"k": scalar(rng)},
        ]
    )()


def message_id(rng: random.Random, seen: list[str]) -> Any:
    epoch = seen[-1].split(".")[0] if seen else "deadbeef"
    return rng.choice(
        [
            lambda: rng.choice(seen) if seen else "deadbeef.1",
            lambda: f"{epoch}.²",
            lambda: f"{epoch}.99999999999999999999-0",
            lambda: f"{epoch}.١-١",
            lambda: f"{epoch}.{rng.randrange(10**6)}",
            lambda: f"{epoch}.{rng.randrange(10**13)}-{rng.randrange(9)}",
            lambda: scalar(rng),
        ]
    )()


VALID: dict[str, list[Any]] = {
    "room": ["plenary", "climate"],
    "history": [0, 5, 50],
    "limit": [1, 20],
    "seconds": [1, 60],
    "lang": ["de", "en", "es"],
    "user": ["u_fuzz1", "u_fuzz2", "u_x"],
    "text": ["hello", "hola amigos", "ciao"],
    "cid": ["c1", "c2", "c3"],
    "reason": ["spam"],
    "token": ["a.b"],
    "to": ["u_fuzz1", "u_fuzz2", "u_x"],
    "request": ["rq-0123456789abcdef", "rq-x"],
    "emoji": ["👍", "❤️", "🙏", "🤡"],
    "mentions": [["u_fuzz1"], ["u_x", "u_fuzz2", "u_x"], []],
}


def valid_value(rng: random.Random, name: str, seen: list[str]) -> Any:
    if name in ("since", "before", "after", "id", "reply_to"):
        return rng.choice(seen) if seen else "deadbeef.1"
    return rng.choice(VALID[name])


def field_value(rng: random.Random, name: str, seen: list[str]) -> Any:
    if rng.random() < 0.25:
        return scalar(rng)
    if name == "room":
        return rng.choice(ROOMS)
    if name in ("since", "before", "after", "id", "reply_to"):
        return message_id(rng, seen)
    if name in ("history", "limit"):
        return rng.choice([0, 1, 50, 200, 201, -1, 10**9])
    if name == "seconds":
        return rng.choice([1, 60, 2592000, 2592001, 0, 10**400 if rng.random() < 0.1 else 5])
    if name == "lang":
        return rng.choice(["de", "en", "pt-BR", "xx", "d", "de\n", "zh-Hant-TW", LONE])
    if name == "user":
        return rng.choice(["u_x", "u_fuzz0", "u_fuzz1", "", LONE])
    if name == "token":
        return rng.choice(["é…", "a.b", "garbage", LONE])
    return scalar(rng)


def frame_text(rng: random.Random, seen: list[str]) -> str | bytes:
    """One frame as sent: usually a JSON object built from the protocol's field list, sometimes not."""
    roll = rng.random()
    if roll < 0.01:
        return b'{"type":"ping","x":"\xff\xfe"}'  # not UTF-8: the socket closes 1007
    if roll < 0.02:
        return json.dumps({"type": "send", "room": "plenary", "text": "z" * 17000})  # over 16 KiB: 1009
    if roll < 0.10:
        return rng.choice(
            [
                "not json",
                "[1,2]",
                "{",
                '"x"',
                "null",
                "{}",
                '{"type":5}',
                "[" * 3000 + "]" * 3000,
                '{"type":"ping","ref":"\\ud800"}',
                '{"type":"send","room":"plenary","text":"\\udfff"}',
            ]
        )
    if roll < 0.55:  # well-formed: the paths past validation get exercised too
        kind = rng.choice(list(CLIENT_FRAMES))
        fields = {
            field.name: valid_value(rng, field.name, seen)
            for field in FIELDS[kind]
            if field.required or rng.random() < 0.5
        }
        return json.dumps({"type": kind, **fields, "ref": f"v{rng.randrange(10**6)}"})
    kind = rng.choice([*CLIENT_FRAMES, "fly", "", "JOIN"])
    frame: dict[str, Any] = {"type": kind}
    for field in FIELDS.get(kind, []):
        if rng.random() < 0.85:
            frame[field.name] = field_value(rng, field.name, seen)
    if kind == "send" and "text" in frame and rng.random() < 0.5:
        frame["text"] = rng.choice(["hello", "hola amigos", "x" * 2000, "\u202eevil", "a" + LONE])
    if rng.random() < 0.1:
        frame[rng.choice(["extra", "ref2", LONE])] = scalar(rng)
    roll = rng.random()
    if roll < 0.85:
        frame["ref"] = f"f{rng.randrange(10**6)}"
    elif roll < 0.95:
        frame["ref"] = scalar(rng)
    return json.dumps(frame)


class Connection:
    def __init__(self, server: Any, name: str, role: Role) -> None:
        self.server, self.name, self.role = server, name, role
        self.ws: websockets.ClientConnection  # set by open()
        self.closes: list[int] = []
        self.internal: list[dict[str, Any]] = []
        self.unanswered: list[str] = []

    async def open(self) -> None:
        client = await Client.connect(self.server.ws_url)
        await client.auth(self.server.token(self.name, self.role, user_id=f"u_{self.name}"))
        self.ws = client.ws

    async def run(self, frames: int, seed: int, seen: list[str]) -> None:
        rng = random.Random(seed)
        await self.open()
        for number in range(frames):
            text = frame_text(rng, seen)
            sync = f"sync-{number}"
            try:
                await self.ws.send(text, text=True)
                await self.ws.send(json.dumps({"type": "ping", "ref": sync}))
                answered = await self._until(sync, seen)
            except websockets.ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else 1006)
                await self.open()
                continue
            if not answered:
                self.unanswered.append(text if isinstance(text, str) else repr(text))
        await self.ws.close()

    async def _until(self, sync: str, seen: list[str]) -> int:
        """Frames up to our sync pong; how many of them answered the fuzz frame."""
        answered = 0
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 15))
            kind = frame.get("type")
            if kind == "pong" and frame.get("ref") == sync:
                return answered
            if kind == "error" and frame.get("code") == "internal":
                self.internal.append(frame)
            if kind == "ack" and isinstance(frame.get("id"), str):
                seen.append(frame["id"])
            if kind in ANSWERS:
                answered += 1


async def test_fuzzed_frames_are_answered_never_internal_and_leave_no_traceback(make_server):
    recorder = LogRecorder().install()
    try:
        server = await make_server(limits={"rate_per_second": 50.0, "rate_burst": 50})
        seen: list[str] = []
        roles = [Role.HOST] + [Role.DELEGATE] * (CONNECTIONS - 2) + [Role.MODERATOR]
        connections = [Connection(server, f"fuzz{i}", role) for i, role in enumerate(roles)]
        await asyncio.gather(
            *(connection.run(FRAMES // CONNECTIONS, SEED + i, seen) for i, connection in enumerate(connections))
        )
        print("fuzz: closes", sorted(set(code for c in connections for code in c.closes)), "acked messages", len(seen))
        for connection in connections:
            assert connection.internal == [], connection.internal[:3]
            assert connection.unanswered == [], connection.unanswered[:3]
            assert set(connection.closes) <= DOCUMENTED_CLOSES, connection.closes
        assert recorder.tracebacks() == []
        # the node still serves a normal client
        ada = await server.client("Ada")
        await ada.join("climate")
        bob = await server.client("Bob")
        await bob.join("climate")
        await ada.say("climate", "after the storm")
        await bob.expect("message", text="after the storm")
    finally:
        recorder.uninstall()
