"""The conversation store (rooms/stores/conversation_store.py) in the sqlite file.

Profiles, conversation members, read positions, requests, contacts, cooldowns, blocks and
reports are kept in the file (tables of schema version 2, reports extended in 5: schema.py); who is online is this
process's own, like presence (one file serves one node).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chat.backend.ids import parse_sequence_id
from chat.backend.sqlite.db import Database
from rooms.conversations import ContactRequest, DirectoryQuery, Profile, pair_key
from rooms.stores import ConversationStore, now_ms
from rooms.stores.conversation_store import REPORTS_MAX, report_key


class SqliteConversations(ConversationStore):
    def __init__(self, db: Database) -> None:
        self._db = db
        self._online: dict[str, int] = {}  # who is online: this process's own, like presence

    # profiles and who is online -------------------------------------------------------------
    async def save_profile(self, profile: Profile) -> None:
        data = profile.to_dict()
        data.pop("hidden")
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO profiles (id, data, name_key, org_key, lang, country, role, anonymous, saved) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
                "name_key = excluded.name_key, org_key = excluded.org_key, lang = excluded.lang, "
                "country = excluded.country, role = excluded.role, "
                "anonymous = excluded.anonymous, saved = excluded.saved",
                (
                    profile.id,
                    json.dumps(data),
                    profile.name.casefold(),
                    profile.organization.casefold(),
                    profile.lang,
                    profile.country,
                    profile.role,
                    int(profile.anonymous),
                    now_ms(),
                ),
            )
        )

    @staticmethod
    def _profile(data: str, hidden: int) -> Profile:
        return Profile.from_dict({**json.loads(data), "hidden": bool(hidden)})

    async def profiles(self, ids: list[str] | None = None) -> list[Profile]:
        def read(db: sqlite3.Connection) -> list[Profile]:
            if ids is None:
                rows = db.execute("SELECT data, hidden FROM profiles").fetchall()
            else:
                rows = [
                    row
                    for user in ids
                    for row in db.execute("SELECT data, hidden FROM profiles WHERE id = ?", (user,)).fetchall()
                ]
            return [self._profile(data, hidden) for data, hidden in rows]

        return await self._db.read(read)

    async def set_hidden(self, user: str, hidden: bool) -> None:
        await self._db.write(lambda db: db.execute("UPDATE profiles SET hidden = ? WHERE id = ?", (int(hidden), user)))

    async def directory(self, query: DirectoryQuery, limit: int) -> list[Profile]:
        # Keyset paging on the partial index profiles_directory (name_key, id) WHERE hidden = 0: SQLite
        # walks the index from the cursor and stops after `limit` matching rows.
        sql = ["SELECT data, hidden FROM profiles WHERE hidden = 0 AND id != ?"]
        args: list[object] = [query.viewer]
        if query.after is not None:
            sql.append("AND (name_key, id) > (?, ?)")
            args.extend(query.after)
        if query.needle:
            sql.append("AND (instr(name_key, ?) > 0 OR instr(org_key, ?) > 0)")
            args.extend((query.needle, query.needle))
        if query.lang:
            sql.append("AND lang = ?")
            args.append(query.lang)
        if query.country:
            sql.append("AND country = ?")
            args.append(query.country)
        sql.append("ORDER BY name_key, id LIMIT ?")
        args.append(limit)
        rows = await self._db.read(lambda db: db.execute(" ".join(sql), args).fetchall())
        return [self._profile(data, hidden) for data, hidden in rows]

    async def staff(self) -> list[Profile]:
        rows = await self._db.read(
            lambda db: db.execute("SELECT data, hidden FROM profiles WHERE role != 'delegate' ORDER BY id").fetchall()
        )
        return [self._profile(data, hidden) for data, hidden in rows]

    async def expire_profiles(self, before: int) -> list[str]:
        now = now_ms()
        # who this node counts online, or did after `before`, keeps the profile (online is per process here)
        keep = {user for user, until in self._online.items() if until > now or until >= before}

        def expire(db: sqlite3.Connection) -> list[str]:
            candidates = [
                row[0] for row in db.execute("SELECT id FROM profiles WHERE anonymous = 1 AND saved < ?", (before,))
            ]
            gone = [user for user in candidates if user not in keep]
            db.executemany("DELETE FROM profiles WHERE id = ?", [(user,) for user in gone])
            return gone

        return await self._db.write(expire)

    async def mark_online(self, users: set[str], until: int) -> None:
        for user in users:
            self._online[user] = max(until, self._online.get(user, 0))

    async def online(self, users: list[str]) -> set[str]:
        now = now_ms()
        return {user for user in users if self._online.get(user, 0) > now}

    # conversations --------------------------------------------------------------------------
    async def claim_pair(self, pair: str, room: str) -> str:
        def claim(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO conversation_pairs (pair, room) VALUES (?, ?)", (pair, room))
            return str(db.execute("SELECT room FROM conversation_pairs WHERE pair = ?", (pair,)).fetchone()[0])

        return await self._db.write(claim)

    async def release_pair(self, pair: str, room: str) -> None:
        await self._db.write(
            lambda db: db.execute("DELETE FROM conversation_pairs WHERE pair = ? AND room = ?", (pair, room))
        )

    async def add_conversation_members(self, room: str, users: list[str]) -> None:
        await self._db.write(
            lambda db: db.executemany(
                "INSERT OR IGNORE INTO conversation_members (room, user) VALUES (?, ?)", [(room, u) for u in users]
            )
        )

    async def leave_conversation(self, room: str, user: str) -> int:
        def leave(db: sqlite3.Connection) -> int:
            db.execute("DELETE FROM conversation_members WHERE room = ? AND user = ?", (room, user))
            db.execute("DELETE FROM read_positions WHERE room = ? AND user = ?", (room, user))
            return int(db.execute("SELECT COUNT(*) FROM conversation_members WHERE room = ?", (room,)).fetchone()[0])

        return await self._db.write(leave)

    async def conversation_members(self, room: str) -> set[str]:
        return await self._db.read(
            lambda db: {row[0] for row in db.execute("SELECT user FROM conversation_members WHERE room = ?", (room,))}
        )

    async def conversations_of(self, user: str) -> list[str]:
        return await self._db.read(
            lambda db: [
                row[0]
                for row in db.execute("SELECT room FROM conversation_members WHERE user = ? ORDER BY room", (user,))
            ]
        )

    async def set_read(self, room: str, user: str, message_id: str) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO read_positions (user, room, message_id) VALUES (?, ?, ?) "
                "ON CONFLICT (user, room) DO UPDATE SET message_id = excluded.message_id",
                (user, room, message_id),
            )
        )

    async def read_positions(self, user: str) -> dict[str, str]:
        return await self._db.read(
            lambda db: {
                room: message_id
                for room, message_id in db.execute(
                    "SELECT room, message_id FROM read_positions WHERE user = ?", (user,)
                )
            }
        )

    async def read_position(self, user: str, room: str) -> str | None:
        def position(db: sqlite3.Connection) -> str | None:
            query = "SELECT message_id FROM read_positions WHERE user = ? AND room = ?"
            row = db.execute(query, (user, room)).fetchone()
            return None if row is None else str(row[0])

        return await self._db.read(position)

    async def unread_count(self, room: str, viewer: str, after: str | None, cap: int) -> int:
        def count(db: sqlite3.Connection) -> int:
            head = db.execute(
                "SELECT epoch, next_position, (SELECT min(position) FROM messages WHERE room = ?) "
                "FROM histories WHERE room = ?",
                (room, room),
            ).fetchone()
            if head is None or cap <= 0:
                return 0
            epoch, next_position, first = head
            low = 0  # positions start at 1: every kept message
            if after is not None:  # where `since` replays from (SqliteBackend.since), or nothing when it could not
                parts = parse_sequence_id(after)
                first = next_position if first is None else first
                if parts is None or parts[0] != epoch or not first - 1 <= parts[1] < next_position:
                    return 0
                low = parts[1]
            # A range of the primary key (room, position), stopped after `cap` matches; the author's
            # id is read from the user JSON inside SQLite, no row reaches Python.
            return int(
                db.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM messages WHERE room = ? AND position > ? AND deleted = 0 "
                    "AND json_extract(user, '$.id') IS NOT ? LIMIT ?)",
                    (room, low, viewer, cap),
                ).fetchone()[0]
            )

        return await self._db.read(count)

    # contact requests, contacts, cooldowns ---------------------------------------------------
    async def save_request(self, request: ContactRequest, *, incoming_cap: int | None = None) -> bool:
        def save(db: sqlite3.Connection) -> bool:  # one write transaction: the count and the insert
            if request.stranger and incoming_cap is not None:
                waiting = db.execute(
                    "SELECT COUNT(*) FROM contact_requests WHERE target = ? AND json_extract(data, '$.stranger') "
                    "AND json_extract(data, '$.expires') > ?",
                    (request.to, request.ts),
                ).fetchone()[0]
                if waiting >= incoming_cap:
                    return False
            db.execute(
                "INSERT OR REPLACE INTO contact_requests (id, sender, target, data) VALUES (?, ?, ?, ?)",
                (request.id, request.sender["id"], request.to, json.dumps(request.to_dict())),
            )
            return True

        return await self._db.write(save)

    async def get_request(self, request_id: str) -> ContactRequest | None:
        row = await self._db.read(
            lambda db: db.execute("SELECT data FROM contact_requests WHERE id = ?", (request_id,)).fetchone()
        )
        return ContactRequest.from_dict(json.loads(row[0])) if row else None

    async def delete_request(self, request: ContactRequest) -> bool:
        return await self._db.write(
            lambda db: db.execute("DELETE FROM contact_requests WHERE id = ?", (request.id,)).rowcount > 0
        )

    async def requests_of(self, user: str) -> list[ContactRequest]:
        rows = await self._db.read(
            lambda db: db.execute(
                "SELECT data FROM contact_requests WHERE sender = ? OR target = ? ORDER BY id", (user, user)
            ).fetchall()
        )
        return [ContactRequest.from_dict(json.loads(row[0])) for row in rows]

    async def add_contact(self, a: str, b: str) -> None:
        await self._db.write(
            lambda db: db.execute("INSERT OR IGNORE INTO contacts (pair) VALUES (?)", (pair_key(a, b),))
        )

    async def remove_contact(self, a: str, b: str) -> None:
        await self._db.write(lambda db: db.execute("DELETE FROM contacts WHERE pair = ?", (pair_key(a, b),)))

    async def is_contact(self, a: str, b: str) -> bool:
        return await self._db.read(
            lambda db: db.execute("SELECT 1 FROM contacts WHERE pair = ?", (pair_key(a, b),)).fetchone() is not None
        )

    async def set_cooldown(self, sender: str, target: str, until: int) -> None:
        await self._db.write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO cooldowns (sender, target, until) VALUES (?, ?, ?)", (sender, target, until)
            )
        )

    async def cooldown(self, sender: str, target: str) -> int | None:
        row = await self._db.read(
            lambda db: db.execute(
                "SELECT until FROM cooldowns WHERE sender = ? AND target = ? AND until > ?", (sender, target, now_ms())
            ).fetchone()
        )
        return int(row[0]) if row else None

    # blocks and reports ------------------------------------------------------------------------
    async def set_block(self, user: str, other: str, blocked: bool) -> bool:
        if blocked:
            sql, args = "INSERT OR IGNORE INTO blocks (user, other) VALUES (?, ?)", (user, other)
        else:
            sql, args = "DELETE FROM blocks WHERE user = ? AND other = ?", (user, other)
        return await self._db.write(lambda db: db.execute(sql, args).rowcount > 0)

    async def blocked_by(self, user: str) -> set[str]:
        return await self._db.read(
            lambda db: {row[0] for row in db.execute("SELECT other FROM blocks WHERE user = ?", (user,))}
        )

    async def add_report(self, report: dict[str, Any]) -> dict[str, Any]:
        room, message, reporter = report_key(report)

        def add(db: sqlite3.Connection) -> dict[str, Any]:
            added = db.execute(
                "INSERT INTO reports (data, room, message, reporter) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (room, message, reporter) DO NOTHING",
                (json.dumps(report), room, message, reporter),
            )
            if added.rowcount:
                excess = db.execute("SELECT count(*) FROM reports").fetchone()[0] - REPORTS_MAX
                if excess > 0:  # the oldest closed ones first, then the oldest
                    db.execute(
                        "DELETE FROM reports WHERE seq IN (SELECT seq FROM reports "
                        "ORDER BY state = 'open', seq LIMIT ?)",
                        (excess,),
                    )
            return _report(db.execute(FIND_REPORT, (room, message, reporter)).fetchone())

        return await self._db.write(add)

    async def find_report(self, room: str, message_id: str, reporter: str) -> dict[str, Any] | None:
        row = await self._db.read(lambda db: db.execute(FIND_REPORT, (room, message_id, reporter)).fetchone())
        return None if row is None else _report(row)

    async def reports(self, *, after: int = 0, limit: int = 100, state: str | None = None) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        where, args = ("seq > ?", (after, limit)) if state is None else ("state = ? AND seq > ?", (state, after, limit))
        sql = f"SELECT {REPORT_COLUMNS} FROM reports WHERE {where} ORDER BY seq LIMIT ?"
        rows = await self._db.read(lambda db: db.execute(sql, args).fetchall())
        return [_report(row) for row in rows]

    async def close_reports(
        self, room: str, message_id: str, state: str, closed: dict[str, Any]
    ) -> list[dict[str, Any]]:
        def close(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                f"UPDATE reports SET state = ?, closed = ? WHERE room = ? AND message = ? "
                f"AND state = 'open' RETURNING {REPORT_COLUMNS}",
                (state, json.dumps(closed), room, message_id),
            ).fetchall()
            return sorted((_report(row) for row in rows), key=lambda report: int(report["seq"]))

        return await self._db.write(close)

    async def open_report_count(self) -> int:
        return int(
            await self._db.read(
                lambda db: db.execute("SELECT count(*) FROM reports WHERE state = 'open'").fetchone()[0]
            )
        )


REPORT_COLUMNS = "seq, data, state, closed"
FIND_REPORT = f"SELECT {REPORT_COLUMNS} FROM reports WHERE room = ? AND message = ? AND reporter = ?"


def _report(row: tuple[int, str, str, str | None]) -> dict[str, Any]:
    """A report as stored: its JSON with the columns that change (`seq`, `state`, `closed`)."""
    seq, data, state, closed = row
    report: dict[str, Any] = {**json.loads(data), "seq": seq, "state": state}
    if closed:
        report["closed"] = json.loads(closed)
    return report
