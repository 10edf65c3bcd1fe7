"""The embedded default: one node, one SQLite file in the data directory, nothing lost on restart.

History (broker.py), rooms, moderators, mutes, bans, the moderation log, translations and
idempotency keys are kept in the file (schema in schema.py), and so are profiles and private
conversations (conversations.py), meetings and sign-ins: a store object each, all on one
Database (db.py). Live fan-out and presence are this process's own (LocalBroker, LocalPresence),
as are the send limits (LocalLimits): one file serves one node, and it is locked while the node
runs.

Every database call runs on the database thread (db.Database); the event loop only
waits for it. A message is published, and its sender acked, after its transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

from chat.backend.base import Backend, BackendUnavailable, EventHandler, now_ms
from chat.backend.local import LocalLimits, LocalPresence
from chat.backend.sends import SendsInARow
from chat.backend.sqlite.broker import SqliteBroker
from chat.backend.sqlite.conversations import SqliteConversations
from chat.backend.sqlite.db import Database
from chat.backend.sqlite.meetings import SqliteMeetings
from chat.backend.sqlite.moderation import SqliteModeration
from chat.backend.sqlite.rooms import SqliteRooms
from chat.backend.sqlite.sessions import SqliteSessions
from rooms.stores import Stores

log = logging.getLogger("babelroom.backend.sqlite")

PRUNE_INTERVAL = 600.0  # seconds between sweeps of expired idempotency keys
PROBE_INTERVAL = 5.0  # seconds between test writes while writes fail (nothing else may write: /healthz says 503)


class SqliteBackend(Backend):
    def __init__(
        self,
        path: Path,
        *,
        node_id: str,
        history_max: int = 1000,
        idempotency_ttl: int = 86400,
        synchronous: str = "full",
        create: bool = False,
    ) -> None:
        self.node_id = node_id
        self.path = path
        self._db = Database(path, synchronous=synchronous, create=create)  # StoreError when it cannot be used
        self._pruner: asyncio.Task[None] | None = None
        self._broker = broker = SqliteBroker(self._db, history_max=history_max, idempotency_ttl=idempotency_ttl)
        presence, moderation, limits = LocalPresence(), SqliteModeration(self._db), LocalLimits()
        self.stores = Stores(
            broker=broker,
            presence=presence,
            rooms=SqliteRooms(self._db),
            moderation=moderation,
            limits=limits,
            conversations=SqliteConversations(self._db),
            meetings=SqliteMeetings(self._db),
            sessions=SqliteSessions(self._db),
            sends=SendsInARow(moderation, limits, presence, broker=broker),
        )

    async def start(self, on_event: EventHandler) -> None:
        self._broker.start(on_event)
        self._pruner = asyncio.create_task(self._prune_loop(), name="sqlite-prune")

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        self._broker.close()
        await asyncio.to_thread(self._db.close)

    def healthy(self) -> bool:
        return not self._db.write_problem

    def health_problem(self) -> str:
        return self._db.write_problem

    async def _prune_loop(self) -> None:
        """Sweeps expired idempotency keys (at start, then every PRUNE_INTERVAL), and while writes fail
        tries one every PROBE_INTERVAL: a node the load balancer took out for its 503 gets no
        client writes that could show it healthy again."""
        loop = asyncio.get_running_loop()
        pruned: float | None = None
        while True:
            if self._db.write_problem:
                with contextlib.suppress(BackendUnavailable):  # still failing: the database logged it
                    await self._db.write(_probe)
            if pruned is None or loop.time() - pruned >= PRUNE_INTERVAL:
                pruned = loop.time()
                try:
                    await self._db.write(lambda db: db.execute("DELETE FROM sent WHERE expires <= ?", (now_ms(),)))
                except BackendUnavailable:
                    pass  # logged by the database; the sweep runs again later
                except Exception:  # the sweep runs again later
                    log.exception("pruning idempotency keys failed")
            await asyncio.sleep(PROBE_INTERVAL)


def _probe(db: sqlite3.Connection) -> None:
    """A write that changes a page and leaves no trace, to learn whether the file takes writes again."""
    db.execute("INSERT OR REPLACE INTO sent (room, user, cid, message_id, expires) VALUES ('', '', 'probe', '', 0)")
    db.execute("DELETE FROM sent WHERE room = '' AND user = '' AND cid = 'probe'")
