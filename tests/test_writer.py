"""The connection's writer (chat/writer.py) on its own.

Driven by a recording RawSocket where a real transport cannot show the edge case: how many
writes a burst costs, a transport that stays full for as long as the test says, a close frame
that never completes. What a real transport can show (a reader closed by the caps, the close
code it reads) is tested against real servers in tests/test_memory_limits.py and
tests/test_hardening.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

from chat.serving import Writable
from chat.wire import payload_of, text_frame
from chat.writer import CLOSE_OVERLOADED, Writer


class RecordingSocket:
    """A RawSocket whose writability the test sets; it records every write."""

    def __init__(self, high_water: int | None = None) -> None:
        self.writable = Writable()
        self.writes: list[bytes] = []
        self.aborted = False
        self.taking = True  # False: the connection no longer takes frames
        self.high_water = high_water  # like a transport: past this many bytes written, not writable

    def write_frame(self, frame: bytes) -> bool:
        if not self.taking:
            return False
        self.writes.append(frame)
        if self.high_water is not None and sum(map(len, self.writes)) > self.high_water:
            self.writable.clear()  # a transport pauses its protocol inside write()
        return True

    def abort_transport(self) -> None:
        self.aborted = True

    def payloads(self) -> list[bytes]:
        """The frames written, one payload each (a write may carry several frames)."""
        data = b"".join(self.writes)
        frames = []
        while data:
            size = data[1] & 0x7F
            head = 2 if size < 126 else 4 if size == 126 else 10
            length = size if size < 126 else int.from_bytes(data[2:head], "big")
            frames.append(payload_of(data[: head + length]))
            data = data[head + length :]
        return frames


class RecordingOwner:
    def __init__(self) -> None:
        self.aborted = 0

    def describe(self) -> str:
        return "test connection"

    async def writer_aborted(self) -> None:
        self.aborted += 1


class RecordingAsgi:
    """The ASGI `send` callable: records messages; a close can be made to never complete."""

    def __init__(self, close_completes: bool = True) -> None:
        self.messages: list[MutableMapping[str, Any]] = []
        self.close_completes = close_completes

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "websocket.close" and not self.close_completes:
            await asyncio.Event().wait()
        self.messages.append(message)

    def closes(self) -> list[tuple[int, str]]:
        return [(m["code"], m["reason"]) for m in self.messages if m["type"] == "websocket.close"]


def frame(n: int, size: int = 10) -> bytes:
    return text_frame(f'{{"n":{n},"pad":"{"x" * size}"}}'.encode())


def make(
    socket: RecordingSocket | None = None,
    *,
    frames_max: int = 100,
    bytes_max: int = 1 << 20,
    asgi: RecordingAsgi | None = None,
) -> tuple[Writer, RecordingSocket | None, RecordingOwner, RecordingAsgi]:
    owner, asgi = RecordingOwner(), asgi or RecordingAsgi()
    writer = Writer(owner, asgi, socket, frames_max=frames_max, bytes_max=bytes_max)
    return writer, socket, owner, asgi


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_burst_of_one_turn_is_one_write_in_order():
    writer, socket, _, _ = make(RecordingSocket())
    assert socket is not None
    for n in range(5):
        writer.push(frame(n))
    assert socket.writes == []  # corked until the end of this turn of the event loop
    await settle()
    assert len(socket.writes) == 1
    assert socket.payloads() == [payload_of(frame(n)) for n in range(5)]
    writer.push(frame(5))
    await settle()
    assert len(socket.writes) == 2  # the next turn: its own write


async def test_a_batch_joins_the_turns_write_in_order_and_is_not_changed_by_later_pushes():
    writer, socket, _, _ = make(RecordingSocket())
    assert socket is not None
    batch = [frame(n) for n in range(1, 4)]
    writer.push(frame(0))
    writer.push_all(batch, sum(map(len, batch)))
    writer.push(frame(4))
    other, other_socket, _, _ = make(RecordingSocket())
    assert other_socket is not None
    other.push_all(batch, sum(map(len, batch)))  # the same list for another reader: it starts the turn's frames
    other.push(frame(9))
    await settle()
    assert len(socket.writes) == 1 and len(other_socket.writes) == 1
    assert socket.payloads() == [payload_of(frame(n)) for n in range(5)]
    assert other_socket.payloads() == [payload_of(frame(n)) for n in (1, 2, 3, 9)]
    assert batch == [frame(n) for n in range(1, 4)]


async def test_a_batch_for_a_full_transport_or_past_the_cap_goes_the_long_way():
    writer, socket, owner, _ = make(RecordingSocket())
    assert socket is not None
    socket.writable.clear()
    batch = [frame(n) for n in range(3)]
    writer.push_all(batch, sum(map(len, batch)))
    assert writer.backlog == (3, sum(map(len, batch)))
    socket.writable.set()
    await settle()
    assert socket.payloads() == [payload_of(f) for f in batch]
    capped, capped_socket, capped_owner, _ = make(RecordingSocket(), bytes_max=len(frame(0)) * 2)
    assert capped_socket is not None
    capped.push_all(batch, sum(map(len, batch)))  # past the byte cap: written as three pushes would be
    assert capped_socket.payloads() == [payload_of(f) for f in batch[:2]]  # the first two at once, as a burst
    await settle()
    assert capped_socket.payloads() == [payload_of(f) for f in batch]
    assert owner.aborted == capped_owner.aborted == 0


async def test_without_the_transport_extension_a_batch_goes_out_as_asgi_messages_in_order():
    writer, _, _, asgi = make(None)
    batch = [frame(n) for n in range(3)]
    writer.push_all(batch, sum(map(len, batch)))
    writer.close(1000, "bye")
    await settle()
    assert [m.get("text") for m in asgi.messages if m["type"] == "websocket.send"] == [
        payload_of(f).decode() for f in batch
    ]


async def test_a_full_transport_queues_frames_and_drains_them_in_order_when_it_takes_them_again():
    writer, socket, _, _ = make(RecordingSocket())
    assert socket is not None
    socket.writable.clear()
    for n in range(10):
        writer.push(frame(n))
    await settle()
    assert socket.writes == []
    assert writer.backlog == (10, sum(len(frame(n)) for n in range(10)))
    socket.writable.set()
    await settle()
    assert socket.payloads() == [payload_of(frame(n)) for n in range(10)]
    assert writer.backlog == (0, 0)
    writer.push(frame(10))  # written at once again: no backlog left behind
    await settle()
    assert socket.payloads()[-1] == payload_of(frame(10))


async def test_frames_corked_when_the_transport_filled_go_before_the_backlog():
    writer, socket, _, _ = make(RecordingSocket())
    assert socket is not None
    writer.push(frame(0))
    writer.push(frame(1))
    socket.writable.clear()  # a ping went out meanwhile and filled the buffer
    await settle()
    writer.push(frame(2))
    socket.writable.set()
    await settle()
    assert socket.payloads() == [payload_of(frame(n)) for n in range(3)]


async def test_a_reader_frames_max_behind_is_aborted_1013_and_its_memberships_end():
    writer, socket, owner, asgi = make(RecordingSocket(), frames_max=8)
    assert socket is not None
    socket.writable.clear()
    for n in range(9):
        writer.push(frame(n))
    await settle()
    assert writer.closed and owner.aborted == 1
    assert asgi.closes() == [(CLOSE_OVERLOADED, "too slow: reconnect and join with since")]
    writer.push(frame(99))  # nothing is taken after the close
    socket.writable.set()
    await settle()
    assert socket.writes == []


async def test_a_reader_over_bytes_max_is_aborted_1013_with_few_frames_queued():
    one = len(frame(0, size=4000))
    writer, socket, owner, asgi = make(RecordingSocket(), frames_max=512, bytes_max=3 * one)
    assert socket is not None
    socket.writable.clear()
    for n in range(3):  # exactly the cap: still queued
        writer.push(frame(n, size=4000))
    await settle()
    assert not writer.closed and writer.backlog == (3, 3 * one)
    writer.push(frame(3, size=4000))  # one byte more than the cap would hold
    await settle()
    assert writer.closed and owner.aborted == 1
    assert asgi.closes() == [(CLOSE_OVERLOADED, "too slow: reconnect and join with since")]
    assert writer.backlog == (0, 0)  # what was queued is dropped


async def test_a_burst_of_one_turn_larger_than_bytes_max_is_bounded_too():
    """A socket answering many requests without yielding pushes them all in one turn: the cork
    is written once it holds bytes_max, the transport fills, and the rest meets the byte cap."""
    one = len(frame(0, size=4000))
    writer, socket, owner, asgi = make(RecordingSocket(high_water=16 * 1024), bytes_max=5 * one)
    assert socket is not None
    for n in range(50):  # 200 kB in one turn
        writer.push(frame(n, size=4000))
    await settle()
    written = sum(map(len, socket.writes))
    assert written <= 5 * one + one, f"{written} bytes reached the transport"
    assert writer.closed and owner.aborted == 1
    assert asgi.closes() == [(CLOSE_OVERLOADED, "too slow: reconnect and join with since")]


async def test_close_goes_out_after_the_frames_queued_before_it():
    writer, socket, owner, asgi = make(RecordingSocket())
    assert socket is not None
    socket.writable.clear()
    writer.push(frame(0))
    writer.push(frame(1))
    writer.close(4401, "unauthorized")
    writer.push(frame(2))  # after the close: dropped
    await settle()
    assert asgi.closes() == []  # waits behind the frames
    socket.writable.set()
    await settle()
    assert socket.payloads() == [payload_of(frame(0)), payload_of(frame(1))]
    assert asgi.closes() == [(4401, "unauthorized")]
    assert owner.aborted == 0  # a requested close is not an abort


async def test_a_close_asked_of_a_reader_already_over_the_cap_is_sent_at_once():
    writer, socket, owner, asgi = make(RecordingSocket(), frames_max=4)
    assert socket is not None
    socket.writable.clear()
    for n in range(4):
        writer.push(frame(n))
    writer.close(4403, "banned")
    await settle()
    assert asgi.closes() == [(4403, "banned")] and owner.aborted == 1


async def test_a_close_that_cannot_be_written_drops_the_transport():
    asgi = RecordingAsgi(close_completes=False)
    writer, socket, _, _ = make(RecordingSocket(), frames_max=2, asgi=asgi)
    assert socket is not None
    socket.writable.clear()
    for n in range(3):
        writer.push(frame(n))
    for _ in range(200):  # CLOSE_WRITE_SECONDS (1.5 s) and then some, however loaded the machine
        if socket.aborted:
            break
        await asyncio.sleep(0.05)
    assert socket.aborted
    await writer.finish()


async def test_a_transport_that_stops_taking_frames_ends_the_writing():
    writer, socket, _, _ = make(RecordingSocket())
    assert socket is not None
    socket.writable.clear()
    writer.push(frame(0))
    socket.taking = False
    socket.writable.set()
    await settle()
    assert writer.closed and socket.writes == []


async def test_without_the_transport_extension_frames_go_out_as_asgi_messages_in_order():
    writer, _, _, asgi = make(None)
    for n in range(3):
        writer.push(frame(n))
    writer.close(1000, "bye")
    await settle()
    assert [m.get("text") for m in asgi.messages if m["type"] == "websocket.send"] == [
        payload_of(frame(n)).decode() for n in range(3)
    ]
    assert asgi.closes() == [(1000, "bye")]


async def test_finish_lets_a_requested_close_go_out_and_stops_the_drainer_otherwise():
    writer, socket, _, asgi = make(RecordingSocket())
    assert socket is not None
    socket.writable.clear()
    writer.push(frame(0))
    await settle()
    finishing = asyncio.create_task(writer.finish())  # the connection ended without a close asked for
    await asyncio.wait_for(finishing, 5)  # not waiting CLOSE_FLUSH_SECONDS for frames nobody will take
    assert writer.closed and asgi.closes() == []


@pytest.mark.parametrize("frames_max, bytes_max", [(1, 1 << 20), (512, 1)])
async def test_either_cap_refuses_the_first_queued_frame_past_it(frames_max, bytes_max):
    writer, socket, owner, _ = make(RecordingSocket(), frames_max=frames_max, bytes_max=bytes_max)
    assert socket is not None
    socket.writable.clear()
    writer.push(frame(0))
    writer.push(frame(1))
    await settle()
    assert writer.closed and owner.aborted == 1
