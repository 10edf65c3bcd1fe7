"""The sqlite backend's schema and its migrations.

The schema version is the file's `PRAGMA user_version`: the number of MIGRATIONS applied.
Each step runs in its own transaction together with the version bump, so a start interrupted
halfway leaves the file at the last complete version and the next start goes on from there.
A file with a higher version than this code knows was written by a newer babelroom: it is
refused before anything is written to it.

To change the schema, append a step (never edit one that shipped): it receives the
connection inside a transaction and must bring version N to N + 1, data included.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence

from rooms.text import is_scalar_text

Migration = Callable[[sqlite3.Connection], None]


def _v1(db: sqlite3.Connection) -> None:
    """The first schema: everything that must outlive the process. Presence is not here."""
    for statement in """
        CREATE TABLE rooms (
            id TEXT PRIMARY KEY,
            position INTEGER NOT NULL,    -- listing order: configured rooms first, then by creation
            data TEXT NOT NULL            -- Room.to_dict() as JSON
        );
        CREATE TABLE histories (
            room TEXT PRIMARY KEY,
            epoch TEXT NOT NULL,          -- this life of the room's history (ids carry it)
            next_position INTEGER NOT NULL
        );
        CREATE TABLE messages (
            room TEXT NOT NULL,
            position INTEGER NOT NULL,
            ts INTEGER NOT NULL,          -- ms since the epoch
            user TEXT NOT NULL,           -- {"id", "name"} as JSON
            lang TEXT NOT NULL,
            text TEXT NOT NULL,           -- '' once deleted
            tr TEXT NOT NULL DEFAULT '{}',  -- {lang: translation} as JSON
            deleted INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (room, position)
        ) WITHOUT ROWID;
        CREATE TABLE sent (               -- idempotency: a (room, user, cid) seen -> its message
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            cid TEXT NOT NULL,
            message_id TEXT NOT NULL,
            expires INTEGER NOT NULL,     -- ms since the epoch
            PRIMARY KEY (room, user, cid)
        ) WITHOUT ROWID;
        CREATE INDEX sent_expires ON sent (expires);
        CREATE TABLE mutes (
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            until INTEGER,                -- ms since the epoch, NULL = until unmuted
            PRIMARY KEY (room, user)
        ) WITHOUT ROWID;
        CREATE TABLE bans (
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            PRIMARY KEY (room, user)
        ) WITHOUT ROWID;
        CREATE TABLE moderators (
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            PRIMARY KEY (room, user)
        ) WITHOUT ROWID;
        CREATE TABLE roles (              -- the highest role each user was seen with in a room
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            role TEXT NOT NULL,
            rank INTEGER NOT NULL,        -- delegate 0, moderator 1, host 2
            PRIMARY KEY (room, user)
        ) WITHOUT ROWID;
        CREATE TABLE moderation_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            room TEXT NOT NULL,
            entry TEXT NOT NULL           -- the entry as JSON
        );
        CREATE INDEX moderation_log_room ON moderation_log (room, seq);
    """.split(";\n"):  # noqa: SIM905 - a SQL script stays readable as SQL
        if statement.strip():
            db.execute(statement)


def _v2(db: sqlite3.Connection) -> None:
    """Private conversations (issue 14): profiles, members, read positions, contact requests,
    contacts, cooldowns, blocks and reports (rooms/stores/conversation_store.py)."""
    for statement in """
        CREATE TABLE profiles (
            id TEXT PRIMARY KEY,
            data TEXT NOT NULL,           -- Profile.to_dict() without `hidden`, as JSON
            hidden INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE conversation_pairs (  -- the one 1:1 room of two people
            pair TEXT PRIMARY KEY,
            room TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE conversation_members (
            room TEXT NOT NULL,
            user TEXT NOT NULL,
            PRIMARY KEY (room, user)
        ) WITHOUT ROWID;
        CREATE INDEX conversation_members_user ON conversation_members (user, room);
        CREATE TABLE read_positions (
            user TEXT NOT NULL,
            room TEXT NOT NULL,
            message_id TEXT NOT NULL,     -- the newest message the member received
            PRIMARY KEY (user, room)
        ) WITHOUT ROWID;
        CREATE TABLE contact_requests (
            id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            target TEXT NOT NULL,
            data TEXT NOT NULL            -- ContactRequest.to_dict() as JSON
        );
        CREATE INDEX contact_requests_sender ON contact_requests (sender);
        CREATE INDEX contact_requests_target ON contact_requests (target);
        CREATE TABLE contacts (pair TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE cooldowns (
            sender TEXT NOT NULL,
            target TEXT NOT NULL,
            until INTEGER NOT NULL,       -- ms since the epoch
            PRIMARY KEY (sender, target)
        ) WITHOUT ROWID;
        CREATE TABLE blocks (
            user TEXT NOT NULL,
            other TEXT NOT NULL,
            PRIMARY KEY (user, other)
        ) WITHOUT ROWID;
        CREATE TABLE reports (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            data TEXT NOT NULL
        );
    """.split(";\n"):  # noqa: SIM905 - a SQL script stays readable as SQL
        if statement.strip():
            db.execute(statement)


def _v3(db: sqlite3.Connection) -> None:
    """The glossary a host set (issue 11): one row, absent until the first PUT /api/glossary, so the
    configured list applies until then."""
    db.execute("""
        CREATE TABLE glossary (
            id INTEGER PRIMARY KEY CHECK (id = 1),  -- one glossary per file
            terms TEXT NOT NULL           -- the terms as a JSON array, in order
        )""")


def _v4(db: sqlite3.Connection) -> None:
    """Meetings (issue 26): the places and slots organisers set, the meetings, and the holds that
    keep a person and a place to one meeting per slot (the primary key refuses a second holder)."""
    for statement in """
        CREATE TABLE meeting_places (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order places were added
            id TEXT NOT NULL UNIQUE,
            data TEXT NOT NULL            -- Place.to_dict() as JSON
        );
        CREATE TABLE meeting_slots (
            id TEXT PRIMARY KEY,
            start INTEGER NOT NULL,       -- ms since the epoch
            data TEXT NOT NULL            -- Slot.to_dict() as JSON
        ) WITHOUT ROWID;
        CREATE TABLE meetings (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order meetings were proposed
            id TEXT NOT NULL UNIQUE,
            proposer TEXT NOT NULL,
            invitee TEXT NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL            -- Meeting.to_dict() as JSON
        );
        CREATE INDEX meetings_proposer ON meetings (proposer);
        CREATE INDEX meetings_invitee ON meetings (invitee);
        CREATE TABLE meeting_holds (
            slot TEXT NOT NULL,
            holder TEXT NOT NULL,         -- user:<id> or place:<id>
            meeting TEXT NOT NULL,
            PRIMARY KEY (slot, holder)
        ) WITHOUT ROWID;
        CREATE INDEX meeting_holds_meeting ON meeting_holds (meeting);
    """.split(";\n"):  # noqa: SIM905 - a SQL script stays readable as SQL
        if statement.strip():
            db.execute(statement)


def _v5(db: sqlite3.Connection) -> None:
    """Reports a moderator can work (issue 20): one per (room, message, reporter), a state (`open`,
    `actioned`, `dismissed`) and who closed it. Earlier reports stay, as open ones; a reporter's
    repeats of one message, which older versions stored, keep only the first."""
    for statement in """
        ALTER TABLE reports ADD COLUMN room TEXT NOT NULL DEFAULT '';
        ALTER TABLE reports ADD COLUMN message TEXT NOT NULL DEFAULT '';
        ALTER TABLE reports ADD COLUMN reporter TEXT NOT NULL DEFAULT '';
        ALTER TABLE reports ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
        ALTER TABLE reports ADD COLUMN closed TEXT;
        UPDATE reports SET room = coalesce(json_extract(data, '$.room.id'), ''),
                           message = coalesce(json_extract(data, '$.message.id'), ''),
                           reporter = coalesce(json_extract(data, '$.reporter.id'), '');
        DELETE FROM reports WHERE seq NOT IN (SELECT min(seq) FROM reports GROUP BY room, message, reporter);
        CREATE UNIQUE INDEX reports_once ON reports (room, message, reporter);
        CREATE INDEX reports_state ON reports (state, seq);
    """.split(";\n"):  # noqa: SIM905 - a SQL script stays readable as SQL
        if statement.strip():
            db.execute(statement)


def _v6(db: sqlite3.Connection) -> None:
    """An indexed directory (issue 20): the columns GET /api/people pages and filters by, kept beside
    each profile's JSON, an index in directory order (case-folded name, id) over visible profiles,
    and what anonymous profiles need to expire (when each profile was last saved). Rows whose JSON
    holds text that is not Unicode (a lone surrogate from a claim older builds accepted) are dropped:
    they could not be answered as JSON."""
    for column in (
        "name_key TEXT NOT NULL DEFAULT ''",  # name.casefold()
        "org_key TEXT NOT NULL DEFAULT ''",  # organization.casefold()
        "lang TEXT NOT NULL DEFAULT ''",
        "country TEXT NOT NULL DEFAULT ''",
        "role TEXT NOT NULL DEFAULT 'delegate'",
        "anonymous INTEGER NOT NULL DEFAULT 0",
        "saved INTEGER NOT NULL DEFAULT 0",
    ):  # ms of the last save_profile
        db.execute(f"ALTER TABLE profiles ADD COLUMN {column}")
    now = int(time.time() * 1000)
    for user, data in db.execute("SELECT id, data FROM profiles").fetchall():
        profile = json.loads(data)
        texts = [user, *(value for value in profile.values() if isinstance(value, str))]
        if not all(is_scalar_text(text) for text in texts):
            db.execute("DELETE FROM profiles WHERE id = ?", (user,))
            continue
        db.execute(
            "UPDATE profiles SET name_key = ?, org_key = ?, lang = ?, country = ?, role = ?, anonymous = ?, "
            "saved = ? WHERE id = ?",
            (
                str(profile.get("name", "")).casefold(),
                str(profile.get("organization", "")).casefold(),
                str(profile.get("lang", "")),
                str(profile.get("country", "")),
                str(profile.get("role", "delegate")),
                int(bool(profile.get("anonymous"))),
                now,
                user,
            ),
        )
    db.execute("CREATE INDEX profiles_directory ON profiles (name_key, id) WHERE hidden = 0")
    db.execute("CREATE INDEX profiles_anonymous ON profiles (saved) WHERE anonymous = 1")
    db.execute("CREATE INDEX profiles_staff ON profiles (role) WHERE role != 'delegate'")


def _v7(db: sqlite3.Connection) -> None:
    """Sign-ins per device, personal sign-in codes and the delegate list (issue 23): a token's `sid`
    names a row of `sessions`; an ended session's row is deleted and its id kept in `ended_sessions`,
    so its tokens are refused from then on."""
    db.execute("""
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,          -- the tokens' sid claim
            user TEXT NOT NULL,           -- the person's user id (sub)
            device TEXT NOT NULL,         -- a label from the User-Agent
            created INTEGER NOT NULL,     -- ms since the epoch
            last_seen INTEGER NOT NULL    -- ms: the last connection or renewal
        )""")
    db.execute("CREATE INDEX sessions_by_user ON sessions (user)")
    db.execute("""
        CREATE TABLE ended_sessions (
            id TEXT PRIMARY KEY,          -- a signed-out session: its tokens stay refused
            ended INTEGER NOT NULL        -- ms since the epoch
        )""")
    db.execute("""
        CREATE TABLE signin_codes (
            digest TEXT PRIMARY KEY,      -- SHA-256 of the code: the code itself is never stored
            payload TEXT NOT NULL,        -- JSON: who the code signs in
            expires INTEGER NOT NULL      -- ms since the epoch
        )""")
    db.execute("""
        CREATE TABLE delegates (
            id TEXT PRIMARY KEY,          -- the user id, derived from the e-mail or external id
            data TEXT NOT NULL            -- JSON: key, name, lang, organization, country, role, revoked
        )""")


def _v8(db: sqlite3.Connection) -> None:
    """Edits, replies, mentions and reactions (issue 25): a message's `edited` mark, reply quote and
    mentions, and one row per person, message and emoji reacting (counted when history is read)."""
    for statement in """
        ALTER TABLE messages ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
        -- the quote of the message it answers ({id, user, text, tr}) as JSON, NULL = none
        ALTER TABLE messages ADD COLUMN reply TEXT;
        -- the user ids it mentions as a JSON array, NULL = none
        ALTER TABLE messages ADD COLUMN mentions TEXT;
        CREATE TABLE reactions (
            room TEXT NOT NULL,
            position INTEGER NOT NULL,    -- the message's
            emoji TEXT NOT NULL,
            user TEXT NOT NULL,
            PRIMARY KEY (room, position, emoji, user)
        ) WITHOUT ROWID
    """.split(";\n"):  # noqa: SIM905 - a SQL script stays readable as SQL
        if statement.strip():
            db.execute(statement)


def _v9(db: sqlite3.Connection) -> None:
    """Issue 23, same person everywhere: every key of a delegate (e-mail, external id) names their
    user id, so a website token's `sub` or `email` finds the person the list imported. The keys of
    a list imported before are its rows' `key`."""
    db.execute("""
        CREATE TABLE delegate_keys (
            key TEXT PRIMARY KEY,         -- an e-mail (lower case) or an external id
            id TEXT NOT NULL              -- the delegate's user id (delegates.id)
        )""")
    db.execute("CREATE INDEX delegate_keys_by_id ON delegate_keys (id)")
    db.execute(
        "INSERT OR IGNORE INTO delegate_keys (key, id) SELECT json_extract(data, '$.key'), id FROM delegates "
        "WHERE json_extract(data, '$.key') != ''"
    )


def _v10(db: sqlite3.Connection) -> None:
    """Meeting steps in the conversation (issue 26): the step a message records, as JSON
    ({id, step, slots, start, end, place, place_name, link, timezone}), NULL = an ordinary message."""
    db.execute("ALTER TABLE messages ADD COLUMN meeting TEXT")


MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10)


def version_of(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the file up to len(migrations), one transaction per step; the versions reached.

    The caller has checked that the file is not newer than `migrations`.
    """
    reached = []
    for version in range(version_of(db), len(migrations)):
        db.execute("BEGIN IMMEDIATE")
        try:
            migrations[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        reached.append(version + 1)
    return reached
