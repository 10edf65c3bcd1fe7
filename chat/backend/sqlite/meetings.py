"""The meeting store (rooms/stores/meetings.py) in the sqlite file (tables of schema version 4).

A booking is one job of the database thread, so one transaction: the version check, the holds
check (the primary key of meeting_holds allows one meeting per slot and holder) and the writes
commit together or not at all, and no other job runs between them.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Literal

from chat.backend.sqlite.db import Database
from rooms.meetings import Meeting, Place, Slot
from rooms.stores import MeetingStore
from rooms.stores.meetings import CHANGED, TAKEN, Hold


class SqliteMeetings(MeetingStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save_place(self, place: Place) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO meeting_places (id, data) VALUES (?, "
                "?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (place.id, json.dumps(place.to_dict())),
            )
        )

    async def places(self) -> list[Place]:
        rows = await self._db.read(lambda db: db.execute("SELECT data FROM meeting_places ORDER BY seq").fetchall())
        return [Place.from_dict(json.loads(row[0])) for row in rows]

    async def save_slot(self, slot: Slot) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO meeting_slots (id, start, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET start = excluded.start, data = excluded.data",
                (slot.id, slot.start, json.dumps(slot.to_dict())),
            )
        )

    async def slots(self) -> list[Slot]:
        rows = await self._db.read(lambda db: db.execute("SELECT data FROM meeting_slots").fetchall())
        return sorted((Slot.from_dict(json.loads(row[0])) for row in rows), key=lambda s: (s.start, s.end, s.id))

    async def add_meeting(self, meeting: Meeting) -> Meeting:
        stored = meeting.changed(version=1)
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO meetings (id, proposer, invitee, version, data) VALUES (?, ?, ?, 1, ?)",
                (stored.id, stored.proposer, stored.invitee, json.dumps(stored.to_dict())),
            )
        )
        return stored

    async def meeting(self, meeting_id: str) -> Meeting | None:
        row = await self._db.read(
            lambda db: db.execute("SELECT data FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
        )
        return Meeting.from_dict(json.loads(row[0])) if row else None

    async def meetings_of(self, user: str) -> list[Meeting]:
        rows = await self._db.read(
            lambda db: db.execute(
                "SELECT data FROM meetings WHERE proposer = ? OR invitee = ? ORDER BY seq", (user, user)
            ).fetchall()
        )
        return [Meeting.from_dict(json.loads(row[0])) for row in rows]

    async def all_meetings(self) -> list[Meeting]:
        rows = await self._db.read(lambda db: db.execute("SELECT data FROM meetings ORDER BY seq").fetchall())
        return [Meeting.from_dict(json.loads(row[0])) for row in rows]

    async def update_meeting(
        self, meeting: Meeting, *, version: int, holds: list[Hold]
    ) -> Meeting | Literal["taken", "changed"]:
        updated = meeting.changed(version=version + 1)

        def book(db: sqlite3.Connection) -> Meeting | Literal["taken", "changed"]:
            row = db.execute("SELECT version FROM meetings WHERE id = ?", (meeting.id,)).fetchone()
            if row is None or int(row[0]) != version:
                return CHANGED
            for slot, holder in holds:
                held = db.execute(
                    "SELECT meeting FROM meeting_holds WHERE slot = ? AND holder = ?", (slot, holder)
                ).fetchone()
                if held is not None and held[0] != meeting.id:
                    return TAKEN
            db.execute("DELETE FROM meeting_holds WHERE meeting = ?", (meeting.id,))
            db.executemany(
                "INSERT INTO meeting_holds (slot, holder, meeting) VALUES (?, ?, ?)",
                [(slot, holder, meeting.id) for slot, holder in holds],
            )
            db.execute(
                "UPDATE meetings SET version = ?, data = ? WHERE id = ?",
                (updated.version, json.dumps(updated.to_dict()), meeting.id),
            )
            return updated

        return await self._db.write(book)
