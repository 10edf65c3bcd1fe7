"""The `reports` count on one node: moderators get how many reports are open, not a frame per report.

Every change of the open reports (rooms/reports.py) is a node-wide `reports_changed` event; on
each node the hub hands it here, and at most once per `interval` (1 s) the node reads the count
from the store and sends `reports {open}` to its connections of hosts and event-wide moderators
— only when the count differs from the one it sent last. So 200 reports a second cost each node
one store read and each moderator one frame a second, and every node reads the same count (the
store's), whichever node the change happened on. A moderator who connects gets the count after
`ready` (chat/session.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from chat.frames import Reports, encode_bytes
from chat.wire import text_frame
from rooms.stores import BackendUnavailable

log = logging.getLogger("babelroom.reports")

INTERVAL = 1.0  # seconds: at most one `reports` frame per node and interval


class ReportCount:
    def __init__(
        self,
        read_count: Callable[[], Awaitable[int]],
        push_to_moderators: Callable[[bytes], None],
        interval: float = INTERVAL,
    ) -> None:
        self._read_count = read_count
        self._push = push_to_moderators
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._again = False  # a change arrived while a count was being read or sent
        self._sent: int | None = None

    def changed(self) -> None:
        """The open reports changed somewhere (the hub calls this for each `reports_changed`)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._tell())

    async def _tell(self) -> None:
        while True:
            self._again = False
            try:
                count = await self._read_count()
            except BackendUnavailable:
                log.warning("could not read the open reports' count: the backend is unavailable")
                count = None
            except Exception:
                log.exception("could not read the open reports' count")
                count = None
            if count is not None and count != self._sent:
                self._sent = count
                self._push(text_frame(encode_bytes(Reports(open=count))))
            await asyncio.sleep(self._interval)  # the coalescing: changes meanwhile make one more round
            if not self._again:
                return

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


__all__ = ["INTERVAL", "ReportCount"]
