"""The room store (rooms/stores/room_store.py) in the sqlite file: tables `rooms` and `glossary` (schema.py)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chat.backend.sqlite.db import DamagedRow, Database, decode_row
from rooms import Room
from rooms.stores import RoomStore, now_ms


class SqliteRooms(RoomStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def seed_rooms(self, rooms: tuple[Room, ...]) -> None:
        # configured rooms list first, in config order; rooms opened later follow by time
        await self._db.write(
            lambda db: db.executemany(
                "INSERT OR IGNORE INTO rooms (id, position, data) VALUES (?, ?, ?)",
                [(room.id, index, json.dumps(room.to_dict())) for index, room in enumerate(rooms)],
            )
        )

    async def list_rooms(self) -> list[Room]:
        def read(db: sqlite3.Connection) -> list[Room]:
            rooms = []
            for row in db.execute("SELECT id, data FROM rooms ORDER BY position, id").fetchall():
                try:
                    rooms.append(_room(row))
                except DamagedRow as damage:  # that room answers `unavailable`; the others are listed
                    self._db.report_damage(damage)
            return rooms

        return await self._db.read(read)

    async def get_room(self, room: str) -> Room | None:
        def read(db: sqlite3.Connection) -> Room | None:
            row = db.execute("SELECT id, data FROM rooms WHERE id = ?", (room,)).fetchone()
            return _room(row) if row else None

        return await self._db.read(read)

    async def save_room(self, room: Room) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO rooms (id, position, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (room.id, now_ms(), json.dumps(room.to_dict())),
            )
        )

    async def get_glossary(self) -> list[str] | None:
        def read(db: sqlite3.Connection) -> list[str] | None:
            row = db.execute("SELECT terms FROM glossary WHERE id = 1").fetchone()
            return None if row is None else decode_row("glossary", lambda: [str(term) for term in json.loads(row[0])])

        return await self._db.read(read)

    async def set_glossary(self, terms: list[str]) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO glossary (id, terms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET terms = excluded.terms",
                (json.dumps(list(terms), ensure_ascii=False),),
            )
        )


def _room(row: tuple[Any, ...]) -> Room:
    """A `rooms` row (id, data) as a Room."""
    return decode_row(f"rooms: id {row[0]!r}", lambda: Room.from_dict(json.loads(row[1])))
