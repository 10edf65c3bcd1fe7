"""The session store (rooms/stores/sessions.py) in the sqlite file: tables `sessions` and
`signin_codes` (schema version 6, schema.py). A sign-in lasts across restarts."""

from __future__ import annotations

import json
import sqlite3

from chat.backend.sqlite.db import Database
from rooms.stores import Delegate, SessionStore, SignIn, now_ms

COLUMNS = "id, user, device, created, last_seen"


def _sign_in(row: tuple[object, ...]) -> SignIn:
    session_id, user, device, created, last_seen = row
    return SignIn(str(session_id), str(user), str(device), int(str(created)), int(str(last_seen)))


class SqliteSessions(SessionStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start_session(self, session: SignIn) -> None:
        await self._db.write(
            lambda db: db.execute(
                f"INSERT OR REPLACE INTO sessions ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (session.id, session.user, session.device, session.created, session.last_seen),
            )
        )

    async def session(self, session_id: str) -> SignIn | None:
        row = await self._db.read(
            lambda db: db.execute(f"SELECT {COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        )
        return None if row is None else _sign_in(row)

    async def session_ended(self, session_id: str) -> bool:
        row = await self._db.read(
            lambda db: db.execute("SELECT 1 FROM ended_sessions WHERE id = ?", (session_id,)).fetchone()
        )
        return row is not None

    async def touch_session(self, session_id: str, when: int) -> None:
        await self._db.write(
            lambda db: db.execute("UPDATE sessions SET last_seen = MAX(last_seen, ?) WHERE id = ?", (when, session_id))
        )

    async def user_sessions(self, user: str) -> list[SignIn]:
        rows = await self._db.read(
            lambda db: db.execute(
                f"SELECT {COLUMNS} FROM sessions WHERE user = ? ORDER BY created, id", (user,)
            ).fetchall()
        )
        return [_sign_in(row) for row in rows]

    async def end_session(self, session_id: str) -> SignIn | None:
        def end(db: sqlite3.Connection) -> SignIn | None:
            row = db.execute(f"SELECT {COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            db.execute("INSERT OR IGNORE INTO ended_sessions (id, ended) VALUES (?, ?)", (session_id, now_ms()))
            return None if row is None else _sign_in(row)

        return await self._db.write(end)

    async def end_user_sessions(self, user: str) -> list[str]:
        def end(db: sqlite3.Connection) -> list[str]:
            ended = [
                str(row[0])
                for row in db.execute("SELECT id FROM sessions WHERE user = ? ORDER BY created, id", (user,))
            ]
            db.execute("DELETE FROM sessions WHERE user = ?", (user,))
            db.executemany(
                "INSERT OR IGNORE INTO ended_sessions (id, ended) VALUES (?, ?)",
                [(session_id, now_ms()) for session_id in ended],
            )
            return ended

        return await self._db.write(end)

    async def put_signin_code(self, digest: str, payload: str, expires: int) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM signin_codes WHERE expires <= ?", (now_ms(),))  # expired codes go as new ones come
            db.execute(
                "INSERT OR REPLACE INTO signin_codes (digest, payload, expires) VALUES (?, ?, ?)",
                (digest, payload, expires),
            )

        await self._db.write(put)

    async def take_signin_code(self, digest: str) -> str | None:
        def take(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "DELETE FROM signin_codes WHERE digest = ? RETURNING payload, expires", (digest,)
            ).fetchone()
            return None if row is None or int(row[1]) <= now_ms() else str(row[0])

        return await self._db.write(take)

    async def save_delegates(self, delegates: list[Delegate]) -> None:
        def save(db: sqlite3.Connection) -> None:  # one transaction: all or nothing
            db.executemany(
                "INSERT INTO delegates (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                [(delegate.id, json.dumps(delegate.to_dict())) for delegate in delegates],
            )
            db.executemany("DELETE FROM delegate_keys WHERE id = ?", [(delegate.id,) for delegate in delegates])
            db.executemany(
                "INSERT OR REPLACE INTO delegate_keys (key, id) VALUES (?, ?)",
                [(key, delegate.id) for delegate in delegates for key in delegate.keys],
            )

        await self._db.write(save)

    async def delegate_ids(self, keys: list[str]) -> dict[str, str]:
        def read(db: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for key in dict.fromkeys(keys):
                row = db.execute("SELECT id FROM delegate_keys WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    found[key] = str(row[0])
            return found

        return await self._db.read(read)

    async def delegates(self, ids: list[str] | None = None) -> list[Delegate]:
        def read(db: sqlite3.Connection) -> list[Delegate]:
            if ids is None:
                rows = db.execute("SELECT data FROM delegates").fetchall()
            else:
                rows = [
                    row
                    for one in ids
                    for row in db.execute("SELECT data FROM delegates WHERE id = ?", (one,)).fetchall()
                ]
            return [Delegate.from_dict(json.loads(data)) for (data,) in rows]

        return sorted(await self._db.read(read), key=lambda d: (d.name, d.id))
