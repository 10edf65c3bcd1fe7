"""Coalesced `room` summaries (chat/hub.py): the lobby tickers of several nodes announcing the rooms
a join storm touched reach a connection as the first summary at once and then the latest summary
of each room at the end of the window, not one frame per room per node per tick.

The hub runs on a real memory backend; the reader is a stand-in for a connected session that
records the frames the hub pushes. Each burst is handed over within one turn of the event loop,
so every summary after the first arrives inside the window whatever the machine's load."""

from __future__ import annotations

import asyncio

import chat.hub
from chat.backend.memory import MemoryBackend
from chat.hub import Hub
from rooms.stores.events import RoomChanged
from tests.backend.support import wait_until
from tests.hub_reader import RecordingReader

WINDOW = 0.2


def summary(room: str, members: int, event: str = "updated", state: str = "open") -> RoomChanged:
    return RoomChanged(event=event, room={"id": room, "title": room, "state": state, "members": members})


async def started_hub(
    window: float, bytes_per_second: float = 0.0, readers: int = 1
) -> tuple[Hub, RecordingReader, MemoryBackend]:
    backend = MemoryBackend(node_id="n1")
    hub = Hub(backend.stores.broker, lobby_window=window, lobby_bytes_per_second=bytes_per_second)
    await backend.start(hub.on_event)
    reader = RecordingReader()
    hub.connect(reader)
    for _ in range(readers - 1):  # more connections hearing the same summaries
        hub.connect(RecordingReader())
    return hub, reader, backend


async def test_a_burst_of_summaries_becomes_the_first_and_the_latest_of_each_room():
    hub, reader, backend = await started_hub(WINDOW)
    try:
        hub.on_event(None, summary("room-0", 1))
        for members in range(1, 4):  # two nodes' tickers announce rooms 1..3, each as its members join
            for room in ("room-1", "room-2", "room-3"):
                hub.on_event(None, summary(room, members))
        hub.on_event(None, summary("room-1", 3))  # the other node's, last
        assert reader.summaries() == [("updated", "room-0", 1)]  # the first at once
        await wait_until(lambda: len(reader.summaries()) == 4, timeout=10)
        assert reader.summaries()[1:] == [("updated", "room-2", 3), ("updated", "room-3", 3), ("updated", "room-1", 3)]
        await asyncio.sleep(WINDOW * 3)  # nothing else was held: nothing else comes
        assert len(reader.summaries()) == 4
        hub.on_event(None, summary("room-0", 2))  # quiet for a window: at once again
        assert reader.summaries()[-1] == ("updated", "room-0", 2)
    finally:
        await backend.close()


async def test_opened_and_closed_go_out_at_once_after_what_was_held():
    hub, reader, backend = await started_hub(WINDOW)
    try:
        hub.on_event(None, summary("room-0", 1))
        hub.on_event(None, summary("room-1", 2))  # held
        hub.on_event(None, summary("room-1", 0, "closed"))
        hub.on_event(None, summary("room-9", 0, "opened"))
        assert reader.summaries() == [
            ("updated", "room-0", 1),
            ("updated", "room-1", 2),
            ("closed", "room-1", 0),
            ("opened", "room-9", 0),
        ]
        await asyncio.sleep(WINDOW * 3)  # what was held went out with the close: not again
        assert len(reader.summaries()) == 4
    finally:
        await backend.close()


async def test_without_a_window_every_summary_goes_out():
    hub, reader, backend = await started_hub(0)
    try:
        for members in range(1, 4):
            hub.on_event(None, summary("room-1", members))
        assert reader.summaries() == [("updated", "room-1", 1), ("updated", "room-1", 2), ("updated", "room-1", 3)]
    finally:
        await backend.close()


async def test_a_hosts_change_goes_out_at_once_after_what_was_held():
    hub, reader, backend = await started_hub(WINDOW)
    try:
        hub.on_event(None, summary("room-0", 1))
        hub.on_event(None, summary("room-1", 1))  # counts: held
        hub.on_event(None, summary("room-2", 1))  # counts: held
        hub.on_event(None, summary("room-0", 1, state="read_only"))  # a host made it read-only: at once
        assert reader.summaries() == [
            ("updated", "room-0", 1),
            ("updated", "room-1", 1),
            ("updated", "room-2", 1),
            ("updated", "room-0", 1),
        ]
        assert reader.frames[-1]["room"]["state"] == "read_only"
        hub.on_event(None, summary("room-0", 2, state="read_only"))  # counts again: held
        assert len(reader.summaries()) == 4
        await wait_until(lambda: len(reader.summaries()) == 5, timeout=10)
        assert reader.summaries()[-1] == ("updated", "room-0", 2)
    finally:
        await backend.close()


async def test_in_a_join_storm_the_next_counts_wait_for_what_the_last_batch_cost(monkeypatch):
    """The lobby's bytes per second bound the node's lobby traffic: a batch heard by many
    connections stretches the window after it (up to LOBBY_WINDOW_MAX), where a quiet hub keeps it."""
    monkeypatch.setattr(chat.hub, "LOBBY_WINDOW_MAX", 1.5)
    # 100 connections hear each summary (~100 bytes): one summary costs ~10 kB, so at 10 kB/s the
    # next waits about a second; a batch of five rooms, five seconds, held to the 1.5 s bound
    hub, reader, backend = await started_hub(WINDOW, bytes_per_second=10_000, readers=100)
    loop = asyncio.get_running_loop()
    try:
        hub.on_event(None, summary("room-0", 1))  # the first at once
        first = loop.time()
        await asyncio.sleep(WINDOW * 2)  # a window is over: without the bound the next would go at once
        hub.on_event(None, summary("room-1", 1))
        assert reader.summaries() == [("updated", "room-0", 1)]  # held: the last one cost ~10 kB
        await wait_until(lambda: len(reader.summaries()) == 2, timeout=10)
        assert loop.time() - first >= 0.5  # ~10 kB at 10 kB/s, whatever the machine: never sooner
        batch = loop.time()
        for room in ("room-2", "room-3", "room-4", "room-5"):
            hub.on_event(None, summary(room, 2))  # held behind what room-1 cost
        await wait_until(lambda: len(reader.summaries()) == 6, timeout=10)
        assert loop.time() - batch >= 0.5
        sent = loop.time()
        hub.on_event(None, summary("room-6", 3))  # four rooms to 100 connections: ~40 kB, ~4 s, held to 1.5 s
        await wait_until(lambda: len(reader.summaries()) == 7, timeout=10)
        assert loop.time() - sent >= 1.4
        assert reader.summaries()[-1] == ("updated", "room-6", 3)
    finally:
        await backend.close()


async def test_a_quiet_hub_keeps_its_window_under_the_bound():
    hub, reader, backend = await started_hub(WINDOW, bytes_per_second=10_000_000)
    try:
        hub.on_event(None, summary("room-0", 1))
        await asyncio.sleep(WINDOW * 2)  # one reader, ~100 bytes: far under the bound, the window as before
        hub.on_event(None, summary("room-1", 1))
        assert reader.summaries() == [("updated", "room-0", 1), ("updated", "room-1", 1)]
    finally:
        await backend.close()
