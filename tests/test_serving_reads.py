"""A connection's reads (chat/serving.py GuardedWebSocket): a client that sends one frame at a time
is read without pausing (uvicorn paused and resumed reading around every frame: issue 27); frames
that arrive together are all answered, in order, while reading pauses until the session has taken
them, so a client sending faster than its session works is held back by TCP, not by memory."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.serving import INBOX_FRAMES, GuardedWebSocket
from tests.conftest import RunningServer, ServerFactory
from tests.raw_websocket import RawClient, mask_frame


@pytest.fixture
def backend_kind() -> str:
    return "memory"  # the transport's reads, the same whatever stores the rooms


class ReadSpy:
    """Counts the pauses and resumes of one connection's reading on the server side."""

    def __init__(self, connection: GuardedWebSocket) -> None:
        self.pauses = self.resumes = 0
        transport: Any = connection.transport
        pause, resume = transport.pause_reading, transport.resume_reading

        def counted_pause() -> None:
            self.pauses += 1
            pause()

        def counted_resume() -> None:
            self.resumes += 1
            resume()

        transport.pause_reading, transport.resume_reading = counted_pause, counted_resume


def only_connection(server: RunningServer) -> GuardedWebSocket:
    connections = [c for c in server.server.server_state.connections if isinstance(c, GuardedWebSocket)]
    assert len(connections) == 1
    return connections[0]


async def signed_in(server: RunningServer) -> RawClient:
    client = await RawClient.connect(server.port)
    await client.send_json({"type": "auth", "token": server.token("Ada")})
    await client.read_json("ready")
    return client


async def test_one_frame_at_a_time_never_pauses_reading(make_server: ServerFactory) -> None:
    server = await make_server()
    client = await signed_in(server)
    spy = ReadSpy(only_connection(server))
    for number in range(20):
        await client.send_json({"type": "ping", "ref": f"p{number}"})
        assert (await client.read_json("pong"))["ref"] == f"p{number}"
    assert (spy.pauses, spy.resumes) == (0, 0)
    client.close()


async def test_frames_arriving_together_pause_reading_until_taken_and_are_all_answered_in_order(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    client = await signed_in(server)
    connection = only_connection(server)
    spy = ReadSpy(connection)
    count = 10 * INBOX_FRAMES
    client.writer.write(
        b"".join(mask_frame(0x1, json.dumps({"type": "ping", "ref": f"p{n}"}).encode()) for n in range(count))
    )  # one write: the server reads them in one go
    refs = [(await client.read_json("pong"))["ref"] for _ in range(count)]
    assert refs == [f"p{n}" for n in range(count)]
    assert spy.pauses >= 1 and spy.resumes == spy.pauses  # paused while they waited, reading again after
    assert not connection.read_paused
    await client.send_json({"type": "ping", "ref": "after"})
    assert (await client.read_json("pong"))["ref"] == "after"
    client.close()


async def test_a_frame_that_is_not_utf8_closes_1007_and_the_next_connection_is_served(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    client = await signed_in(server)
    await client.send_text(b'{"type":"ping","ref":"\xff"}')
    assert await client.drain_until_closed(5) == 1007
    other = await signed_in(server)
    await other.send_json({"type": "ping", "ref": "still"})
    assert (await other.read_json("pong"))["ref"] == "still"
    other.close()
