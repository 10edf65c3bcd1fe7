"""Coalesced `reaction` frames (chat/hub.py): a burst on one message and emoji reaches a reader as
the first frame at once and the latest count at the end of the window, not one frame per toggle.

The hub runs on a real memory backend; the reader is a stand-in for a session that records the
frames the hub pushes. The burst is published within one turn of the event loop, so every event
after the first arrives inside the window whatever the machine's load."""

from __future__ import annotations

import asyncio

from chat.backend.memory import MemoryBackend
from chat.hub import Hub
from rooms.stores.events import Reaction
from tests.backend.support import wait_until
from tests.hub_reader import RecordingReader

ROOM = "plenary"
WINDOW = 0.2


async def started_hub(window: float) -> tuple[Hub, RecordingReader, MemoryBackend]:
    backend = MemoryBackend(node_id="n1")
    hub = Hub(backend.stores.broker, reaction_window=window)
    await backend.start(hub.on_event)
    reader = RecordingReader()
    await hub.attach(ROOM, reader)
    hub.deliver_held(ROOM, reader, set())
    return hub, reader, backend


async def test_a_burst_of_reactions_becomes_the_first_and_the_latest_count():
    hub, reader, backend = await started_hub(WINDOW)
    try:
        for count in range(1, 501):  # 500 members react with 👍 at once, and two with ❤️
            hub.on_event(ROOM, Reaction(room=ROOM, id="e.1", emoji="👍", count=count, user=f"u_{count}"))
        hub.on_event(ROOM, Reaction(room=ROOM, id="e.1", emoji="❤️", count=1, user="u_1"))
        hub.on_event(ROOM, Reaction(room=ROOM, id="e.1", emoji="❤️", count=2, user="u_2"))
        assert reader.reactions("👍") == [1] and reader.reactions("❤️") == [1]  # the first of each, at once
        await wait_until(
            timeout=10, condition=lambda: len(reader.reactions("👍")) == 2 and len(reader.reactions("❤️")) == 2
        )
        assert reader.reactions("👍") == [1, 500] and reader.reactions("❤️") == [1, 2]
        last = [f for f in reader.frames if f["type"] == "reaction" and f["emoji"] == "👍"][-1]
        assert last["user"] == "u_500"
        await asyncio.sleep(WINDOW * 3)  # nothing else was held: nothing else comes
        assert len(reader.frames) == 4
        hub.on_event(ROOM, Reaction(room=ROOM, id="e.1", emoji="👍", count=499, user="u_9"))  # a quiet message again
        assert reader.reactions("👍") == [1, 500, 499]
    finally:
        await backend.close()


async def test_without_a_window_every_reaction_goes_out():
    hub, reader, backend = await started_hub(0)
    try:
        for count in range(1, 6):
            hub.on_event(ROOM, Reaction(room=ROOM, id="e.1", emoji="👍", count=count, user=f"u_{count}"))
        assert reader.reactions("👍") == [1, 2, 3, 4, 5]
    finally:
        await backend.close()
