"""The moderation store (rooms/stores/moderation_store.py) in the sqlite file: mutes, bans,
appointed moderators, known roles and the moderation log (schema.py)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chat.backend.sqlite.db import Database, decode_row
from rooms import Role
from rooms.conversations import EVENT_WIDE
from rooms.stores import ModerationStore, Mute, Standing, now_ms


class SqliteModeration(ModerationStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def standing(self, room: str, user: str) -> Standing:
        def read(db: sqlite3.Connection) -> Standing:  # one trip to the database thread, one snapshot
            scopes = (room, EVENT_WIDE)
            bans = {
                row[0] for row in db.execute("SELECT room FROM bans WHERE room IN (?, ?) AND user = ?", (*scopes, user))
            }
            mutes = {
                row[0]: row[1]
                for row in db.execute(
                    "SELECT room, until FROM mutes WHERE room IN (?, ?) AND user = ?", (*scopes, user)
                )
            }
            appointed = db.execute("SELECT 1 FROM moderators WHERE room = ? AND user = ?", (room, user)).fetchone()
            return Standing(
                appointed=appointed is not None,
                banned=room in bans,
                banned_event=EVENT_WIDE in bans,
                mute=_current_mute(mutes, room),
                mute_event=_current_mute(mutes, EVENT_WIDE),
            )

        return await self._db.read(read)

    async def get_mute(self, room: str, user: str) -> Mute | None:
        row = await self._db.read(
            lambda db: db.execute("SELECT until FROM mutes WHERE room = ? AND user = ?", (room, user)).fetchone()
        )
        if row is None or (row[0] is not None and row[0] <= now_ms()):
            return None
        return Mute(row[0])

    async def set_mute(self, room: str, user: str, until: int | None) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO mutes (room, user, until) VALUES (?, ?, ?)", (room, user, until)
            )
        )

    async def clear_mute(self, room: str, user: str) -> bool:
        return await self._changed("DELETE FROM mutes WHERE room = ? AND user = ?", room, user)

    async def is_banned(self, room: str, user: str) -> bool:
        return await self._exists("SELECT 1 FROM bans WHERE room = ? AND user = ?", room, user)

    async def set_ban(self, room: str, user: str, banned: bool) -> bool:
        if banned:
            return await self._changed("INSERT OR IGNORE INTO bans (room, user) VALUES (?, ?)", room, user)
        return await self._changed("DELETE FROM bans WHERE room = ? AND user = ?", room, user)

    async def moderators(self, room: str) -> set[str]:
        rows = await self._db.read(
            lambda db: db.execute("SELECT user FROM moderators WHERE room = ?", (room,)).fetchall()
        )
        return {row[0] for row in rows}

    async def set_moderator(self, room: str, user: str, appointed: bool) -> bool:
        if appointed:
            return await self._changed("INSERT OR IGNORE INTO moderators (room, user) VALUES (?, ?)", room, user)
        return await self._changed("DELETE FROM moderators WHERE room = ? AND user = ?", room, user)

    async def remember_role(self, room: str, user: str, role: Role) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO roles (room, user, role, rank) VALUES (?, ?, ?, ?) ON CONFLICT (room, user) "
                "DO UPDATE SET role = excluded.role, rank = excluded.rank WHERE excluded.rank > roles.rank",
                (room, user, role.value, role.rank),
            )
        )

    async def known_role(self, room: str, user: str) -> Role | None:
        row = await self._db.read(
            lambda db: db.execute("SELECT role FROM roles WHERE room = ? AND user = ?", (room, user)).fetchone()
        )
        return Role(row[0]) if row else None

    async def record_moderation(self, room: str, entry: dict[str, Any]) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO moderation_log (room, entry) VALUES (?, ?)", (room, json.dumps(entry, ensure_ascii=False))
            )
        )

    async def moderation_log(self, room: str, limit: int = 200) -> list[dict[str, Any]]:
        def read(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT seq, entry FROM moderation_log WHERE room = ? ORDER BY seq DESC LIMIT ?", (room, max(0, limit))
            ).fetchall()
            return [_log_entry(seq, entry) for seq, entry in reversed(rows)]

        return await self._db.read(read)

    async def _changed(self, statement: str, *args: Any) -> bool:
        return await self._db.write(lambda db: db.execute(statement, args).rowcount > 0)

    async def _exists(self, statement: str, *args: Any) -> bool:
        return await self._db.read(lambda db: db.execute(statement, args).fetchone() is not None)


def _current_mute(mutes: dict[str, int | None], scope: str) -> Mute | None:
    """The scope's mute among the rows read, unless it has ended (as get_mute answers)."""
    if scope not in mutes:
        return None
    until = mutes[scope]
    return None if until is not None and until <= now_ms() else Mute(until)


def _log_entry(seq: int, entry: str) -> dict[str, Any]:
    """A `moderation_log` row's entry."""
    return decode_row(f"moderation_log: seq {seq}", lambda: dict(json.loads(entry)))
