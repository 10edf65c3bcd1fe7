"""The sqlite file: what survives a restart, schema migrations, and files it must refuse.

Real files in the test's directory; the CLI tests run `python -m chat.cli serve` as a user would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.backend import BackendUnavailable, StoreError
from chat.backend.sqlite import SqliteBackend
from chat.backend.sqlite.db import Database
from chat.backend.sqlite.schema import MIGRATIONS, migrate, version_of
from rooms import Role, Room, RoomState
from rooms.conversations import DirectoryQuery
from rooms.stores import SignIn, now_ms

ROOM = "plenary"
ADA = {"id": "u_ada", "name": "Ada"}


@contextlib.contextmanager
def plain(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection, committed and closed afterwards (an open one would hold the file)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def started(path: Path, **kwargs) -> SqliteBackend:
    backend = SqliteBackend(path, node_id="n", **kwargs)
    await backend.start(lambda room, event: None)
    return backend


async def test_everything_but_presence_survives_a_restart(tmp_path):
    path = tmp_path / "db.sqlite3"
    backend = await started(path)
    await backend.stores.rooms.seed_rooms((Room(ROOM, "Plenary"),))
    opened = Room("side-event", "Side event", forum="Sub", state=RoomState.READ_ONLY, slow_mode=30)
    await backend.stores.rooms.save_room(opened)
    first = (await backend.stores.broker.append_message(ROOM, user=ADA, text="hello", lang="en", cid="c1")).message
    second = (await backend.stores.broker.append_message(ROOM, user=ADA, text="gone soon", lang="en", cid=None)).message
    await backend.stores.broker.add_translation(ROOM, first.id, "de", "hallo")
    await backend.stores.broker.delete_message(ROOM, second.id)
    await backend.stores.moderation.set_moderator(ROOM, "u_mo", True)
    await backend.stores.moderation.set_mute(ROOM, "u_tim", None)
    await backend.stores.moderation.set_ban(ROOM, "u_eve", True)
    await backend.stores.moderation.remember_role(ROOM, "u_hana", Role.HOST)
    await backend.stores.moderation.remember_role(ROOM, "u_hana", Role.DELEGATE)
    await backend.stores.moderation.record_moderation(ROOM, {"ts": 1, "action": "ban", "user": "u_eve", "by": "u_mo"})
    await backend.stores.presence.add_member(ROOM, _member())
    await backend.stores.rooms.set_glossary(["Cargotec", "Zürich AG"])
    await backend.close()

    backend = await started(path)
    try:
        assert [room.id for room in await backend.stores.rooms.list_rooms()] == [ROOM, "side-event"]
        assert await backend.stores.rooms.get_room("side-event") == opened
        history = await backend.stores.broker.history(ROOM, before=None, limit=10)
        assert [m.id for m in history] == [first.id, second.id]
        assert history[0].tr == {"de": "hallo"} and history[0].text == "hello"
        assert history[1].deleted is True and history[1].text == ""
        replay = await backend.stores.broker.since(ROOM, first.id, limit=10)
        assert replay.recovered is True and [m.id for m in replay.messages] == [second.id]
        retry = await backend.stores.broker.append_message(ROOM, user=ADA, text="hello", lang="en", cid="c1")
        assert retry.created is False and retry.message.id == first.id
        after = (await backend.stores.broker.append_message(ROOM, user=ADA, text="after", lang="en", cid=None)).message
        assert after.id.split(".")[0] == first.id.split(".")[0], "same epoch: history was not lost"
        assert await backend.stores.moderation.moderators(ROOM) == {"u_mo"}
        mute = await backend.stores.moderation.get_mute(ROOM, "u_tim")
        assert mute is not None and mute.until is None
        assert await backend.stores.moderation.is_banned(ROOM, "u_eve") is True
        assert await backend.stores.moderation.known_role(ROOM, "u_hana") is Role.HOST
        assert await backend.stores.moderation.moderation_log(ROOM) == [
            {"ts": 1, "action": "ban", "user": "u_eve", "by": "u_mo"}
        ]
        assert await backend.stores.rooms.get_glossary() == ["Cargotec", "Zürich AG"]
        assert await backend.stores.presence.members(ROOM) == []  # presence is the process's own
    finally:
        await backend.close()


def _member():
    from chat.backend import Member

    return Member("c1", ADA["id"], ADA["name"], "en", "delegate")


async def test_expired_idempotency_keys_are_pruned(tmp_path):
    path = tmp_path / "db.sqlite3"
    backend = await started(path, idempotency_ttl=0)
    await backend.stores.broker.append_message(ROOM, user=ADA, text="x", lang="en", cid="c1")
    await backend.close()
    backend = await started(path, idempotency_ttl=0)  # the sweep runs at start
    await backend.close()
    with plain(path) as db:
        assert db.execute("SELECT count(*) FROM sent").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1


def test_a_new_and_an_empty_file_asked_for_are_migrated_to_the_current_version(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="babelroom.backend.sqlite")
    for path in (tmp_path / "new" / "db.sqlite3", tmp_path / "empty.sqlite3"):
        if path.name == "empty.sqlite3":
            path.write_bytes(b"")
        Database(path, create=path.name == "empty.sqlite3").close()  # a missing file needs no asking
        with plain(path) as db:
            assert version_of(db) == len(MIGRATIONS)
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {
                "rooms",
                "histories",
                "messages",
                "sent",
                "mutes",
                "bans",
                "moderators",
                "roles",
                "moderation_log",
            } <= tables
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sum(f"schema migrated to version {len(MIGRATIONS)}" in r.getMessage() for r in caplog.records) == 2


def _v2(db: sqlite3.Connection) -> None:
    """A v1 -> v2 step of the kind a later schema change would add: a column, filled from data."""
    db.execute("ALTER TABLE rooms ADD COLUMN title TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE rooms SET title = json_extract(data, '$.title')")


async def test_a_file_of_the_previous_version_is_migrated_keeping_its_data(tmp_path):
    path = tmp_path / "db.sqlite3"
    backend = await started(path)
    await backend.stores.rooms.seed_rooms((Room(ROOM, "Plenary"),))
    sent = (await backend.stores.broker.append_message(ROOM, user=ADA, text="kept", lang="en", cid=None)).message
    await backend.close()

    Database(path, migrations=(*MIGRATIONS, _v2)).close()
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS) + 1
        assert db.execute("SELECT title FROM rooms WHERE id = ?", (ROOM,)).fetchone() == ("Plenary",)
        assert db.execute("SELECT text FROM messages").fetchall() == [("kept",)]
    Database(path, migrations=(*MIGRATIONS, _v2)).close()  # already there: nothing to do
    assert sent.text == "kept"


async def test_a_version_1_file_gains_the_conversation_tables_and_keeps_its_rooms(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path, migrations=MIGRATIONS[:1]).close()
    with plain(path) as db:
        db.execute(
            'INSERT INTO rooms (id, position, data) VALUES (\'plenary\', 0, \'{"id": "plenary", "title": "P"}\')'
        )
        db.commit()
    backend = await started(path)
    room = await backend.stores.rooms.get_room(ROOM)
    assert room is not None and room.kind.value == "forum"  # a room saved before `kind` existed
    await backend.stores.conversations.add_conversation_members("c-1", ["u_a", "u_b"])
    assert await backend.stores.conversations.conversation_members("c-1") == {"u_a", "u_b"}
    await backend.close()
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS)


async def test_a_version_2_file_gains_the_glossary_table_and_keeps_its_data(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path, migrations=MIGRATIONS[:2]).close()
    with plain(path) as db:
        db.execute("INSERT INTO rooms (id, position, data) VALUES (?, 0, ?)", (ROOM, '{"id": "plenary", "title": "P"}'))
        db.execute("INSERT INTO conversation_members (room, user) VALUES ('c-1', 'u_a')")
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'glossary'").fetchone() is None
    backend = await started(path)
    try:
        assert await backend.stores.rooms.get_glossary() is None  # migrated, never set: the configured list applies
        room = await backend.stores.rooms.get_room(ROOM)
        assert room is not None and room.title == "P"
        assert await backend.stores.conversations.conversation_members("c-1") == {"u_a"}
        await backend.stores.rooms.set_glossary(["Cargotec"])
        assert await backend.stores.rooms.get_glossary() == ["Cargotec"]
    finally:
        await backend.close()
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS) >= 3  # every later step too (4: meetings, 5: reports, 8: issue 25)


async def test_a_version_4_file_keeps_its_reports_open_and_one_per_reporter_and_message(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path, migrations=MIGRATIONS[:4]).close()  # meetings, before issue 20's reports

    def old_report(n: int, reporter: str) -> str:  # as versions before issue 20 stored them, repeats included
        return json.dumps(
            {
                "id": f"rp-{n}",
                "ts": n,
                "room": {"id": ROOM, "kind": "forum"},
                "message": {
                    "id": "0a1b2c3d.7",
                    "ts": 1,
                    "user": {"id": "u_x", "name": "X"},
                    "lang": "en",
                    "text": "spam",
                },
                "reporter": {"id": reporter, "name": reporter},
            }
        )

    with plain(path) as db:
        for n, reporter in enumerate(("u_bo", "u_bo", "u_li")):
            db.execute("INSERT INTO reports (data) VALUES (?)", (old_report(n, reporter),))
        db.commit()
    backend = await started(path)
    try:
        kept = await backend.stores.conversations.reports()
        assert [(r["id"], r["state"]) for r in kept] == [("rp-0", "open"), ("rp-2", "open")]
        assert await backend.stores.conversations.open_report_count() == 2
        closed = {"by": {"id": "u_mo", "name": "Mo"}, "ts": 5, "action": "delete"}
        assert len(await backend.stores.conversations.close_reports(ROOM, "0a1b2c3d.7", "actioned", closed)) == 2
    finally:
        await backend.close()
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS)


async def test_a_version_5_file_gains_the_directory_index_and_drops_profiles_that_are_not_text(tmp_path):
    """Schema 6 (issue 20): profiles get the columns the directory pages by; a profile whose JSON holds
    a lone surrogate (a claim older builds accepted, which made GET /api/people answer 500) is dropped."""
    path = tmp_path / "db.sqlite3"
    Database(path, migrations=MIGRATIONS[:5]).close()
    with plain(path) as db:
        for user, data, hidden in [
            ("u_b", '{"id": "u_b", "name": "Bea", "lang": "fi", "country": "FI", "organization": "Sauna Oy"}', 0),
            ("u_a", '{"id": "u_a", "name": "aino", "lang": "en"}', 0),
            ("u_h", '{"id": "u_h", "name": "Hidden"}', 1),
            ("u_bad", '{"id": "u_bad", "name": "Bad", "bio": "\\ud800"}', 0),
            ("u_host", '{"id": "u_host", "name": "Hanna", "role": "host"}', 0),
        ]:
            db.execute("INSERT INTO profiles (id, data, hidden) VALUES (?, ?, ?)", (user, data, hidden))
    backend = await started(path)
    try:
        listed = await backend.stores.conversations.directory(DirectoryQuery("nobody"), 10)
        assert [p.id for p in listed] == ["u_a", "u_b", "u_host"]
        found = await backend.stores.conversations.directory(DirectoryQuery("nobody", q="sauna", country="FI"), 10)
        assert [p.id for p in found] == ["u_b"]
        assert [p.id for p in await backend.stores.conversations.staff()] == ["u_host"]
        assert await backend.stores.conversations.profiles(["u_bad"]) == []
        assert await backend.stores.conversations.expire_profiles(now_ms() + 1) == []  # none was known to be anonymous
    finally:
        await backend.close()
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS) >= 6
        plan = " ".join(
            str(row)
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT data FROM profiles WHERE hidden = 0 AND (name_key, id) > ('a', '') "
                "ORDER BY name_key, id LIMIT 21"
            )
        )
        assert "profiles_directory" in plan and "TEMP B-TREE" not in plan  # read in index order, not sorted


async def test_a_version_6_file_gains_the_session_tables_and_keeps_its_glossary(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path, migrations=MIGRATIONS[:6]).close()
    with plain(path) as db:
        db.execute("INSERT INTO glossary (id, terms) VALUES (1, '[\"Cargotec\"]')")
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'sessions'").fetchone() is None
    backend = await started(path)
    try:
        assert await backend.stores.rooms.get_glossary() == ["Cargotec"]
        await backend.stores.sessions.start_session(SignIn("s_1", "u_a", "Firefox on Linux", 1, 1))
        assert [s.id for s in await backend.stores.sessions.user_sessions("u_a")] == ["s_1"]
    finally:
        await backend.close()
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS) >= 7


def test_a_failing_migration_step_leaves_the_last_complete_version(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path).close()

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk full, say")

    with pytest.raises(StoreError, match=f"migration from version {len(MIGRATIONS)} failed"):
        Database(path, migrations=(*MIGRATIONS, broken))
    with plain(path) as db:
        assert version_of(db) == len(MIGRATIONS)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
    Database(path, migrations=(*MIGRATIONS, _v2)).close()  # the next start goes on from there


def test_the_runner_applies_only_the_missing_steps_in_order(tmp_path):
    applied = []
    steps = [lambda db, n=n: applied.append(n) for n in range(3)]
    db = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    assert migrate(db, steps[:1]) == [1]
    assert migrate(db, steps) == [2, 3]
    assert migrate(db, steps) == []
    assert applied == [0, 1, 2]
    db.close()


def test_a_newer_file_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "db.sqlite3"
    Database(path).close()
    with plain(path) as db:
        db.execute("PRAGMA user_version = 99")
    before = digest(path)
    with pytest.raises(StoreError, match=r"schema version 99.*newer babelroom"):
        Database(path)
    assert digest(path) == before


def _corrupt_page(path: Path) -> None:
    """Scribble over the middle of a file that holds some history, as a failing disk would."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = b"\xde\xad\xbe\xef" * 1024
    path.write_bytes(bytes(data))


async def _file_with_history(path: Path) -> None:
    backend = await started(path)
    for i in range(300):
        await backend.stores.broker.append_message(ROOM, user=ADA, text=f"message {i} " * 20, lang="en", cid=None)
    await backend.close()


async def test_a_corrupt_file_is_refused_never_replaced(tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    before = digest(garbage)
    with pytest.raises(StoreError, match=r"garbage.sqlite3 is corrupt .*restore it from a backup"):
        Database(garbage)
    assert digest(garbage) == before

    damaged = tmp_path / "damaged.sqlite3"
    await _file_with_history(damaged)
    _corrupt_page(damaged)
    before = digest(damaged)
    with pytest.raises(StoreError, match=r"damaged\.sqlite3 is corrupt"):
        Database(damaged)
    assert digest(damaged) == before


async def test_an_empty_file_is_refused_unless_a_new_database_is_asked_for(tmp_path):
    zero = tmp_path / "zero.sqlite3"
    zero.write_bytes(b"")
    header_only = tmp_path / "header-only.sqlite3"  # SQLite, but no table: a first start cut short, or a stray file
    with plain(header_only) as db:
        db.execute("PRAGMA journal_mode = WAL")
    for path in (zero, header_only):
        before = digest(path)
        with pytest.raises(StoreError, match=rf"{path.name} exists but holds nothing .*--new-database"):
            Database(path)
        assert digest(path) == before
        Database(path, create=True).close()
        with plain(path) as db:
            assert version_of(db) == len(MIGRATIONS)
        Database(path).close()  # from now on a babelroom database: no asking


def test_another_programs_sqlite_file_is_refused_even_when_a_new_database_is_asked_for(tmp_path):
    invoices = tmp_path / "invoices.sqlite3"
    with plain(invoices) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    versioned = tmp_path / "versioned.sqlite3"  # another program that numbers its schema too
    with plain(versioned) as db:
        db.execute("CREATE TABLE rooms (id TEXT)")
        db.execute("PRAGMA user_version = 2")
    for path, tables in ((invoices, "invoices"), (versioned, "rooms")):
        before = digest(path)
        for create in (False, True):
            with pytest.raises(
                StoreError,
                match=rf"{path.name} is another program's SQLite file "
                rf"\(tables: {tables}\), not a babelroom database",
            ):
                Database(path, create=create)
        assert digest(path) == before


async def _damage(path: Path) -> tuple[str, str]:
    """A file whose `plenary` history holds a message row that is not JSON (a hand edit), and whose
    `climate` room row is garbage; the file itself is sound (quick_check passes). The ids of two
    messages of another room."""
    backend = await started(path)
    await backend.stores.rooms.seed_rooms((Room(ROOM, "Plenary"), Room("climate", "Climate"), Room("health", "Health")))
    await backend.stores.broker.append_message(ROOM, user=ADA, text="fine", lang="en", cid=None)
    await backend.stores.broker.append_message(ROOM, user=ADA, text="soon damaged", lang="en", cid=None)
    kept = [
        (await backend.stores.broker.append_message("health", user=ADA, text=text, lang="en", cid=None)).message.id
        for text in ("one", "two")
    ]
    await backend.close()
    with plain(path) as db:
        db.execute('UPDATE messages SET user = \'{"id": "u_ada", "na\' WHERE room = ? AND position = 2', (ROOM,))
        db.execute("UPDATE rooms SET data = '{\"title\": 3}' WHERE id = 'climate'")
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    return kept[0], kept[1]


async def test_a_damaged_row_answers_unavailable_with_one_log_line_naming_the_file(tmp_path, caplog):
    path = tmp_path / "db.sqlite3"
    kept = await _damage(path)
    caplog.set_level(logging.INFO, logger="babelroom.backend.sqlite")
    backend = await started(path)
    try:
        for _ in range(3):
            with pytest.raises(BackendUnavailable, match="damaged row"):
                await backend.stores.broker.history(ROOM, before=None, limit=10)
            with pytest.raises(BackendUnavailable, match="damaged row"):
                await backend.stores.rooms.get_room("climate")
            # the listing leaves the damaged room out rather than failing for every room
            assert [room.id for room in await backend.stores.rooms.list_rooms()] == [ROOM, "health"]
        assert [m.id for m in await backend.stores.broker.history("health", before=None, limit=10)] == list(kept)
        assert (await backend.stores.rooms.get_room(ROOM)) == Room(ROOM, "Plenary")
        assert backend.healthy()  # a damaged row is not a database that cannot write
    finally:
        await backend.close()
    damaged = [r for r in caplog.records if "damaged row" in r.getMessage()]
    assert len(damaged) == 2, [r.getMessage() for r in damaged]  # one per row, not one per read
    assert all(str(path) in r.getMessage() and r.exc_info is None for r in damaged)
    assert "messages: room 'plenary', position 2" in damaged[0].getMessage()
    assert "rooms: id 'climate'" in damaged[1].getMessage()


async def test_a_damaged_glossary_or_log_entry_is_unavailable_too(tmp_path, caplog):
    path = tmp_path / "db.sqlite3"
    backend = await started(path)
    await backend.stores.rooms.set_glossary(["Cargotec"])
    await backend.stores.moderation.record_moderation(ROOM, {"ts": 1, "action": "mute", "user": "u_tim", "by": "u_mo"})
    await backend.close()
    with plain(path) as db:
        db.execute("UPDATE glossary SET terms = '[\"Carg'")
        db.execute("UPDATE moderation_log SET entry = '[1, 2]'")
    backend = await started(path)
    try:
        with pytest.raises(BackendUnavailable, match="damaged row"):
            await backend.stores.rooms.get_glossary()
        with pytest.raises(BackendUnavailable, match="damaged row"):
            await backend.stores.moderation.moderation_log(ROOM)
    finally:
        await backend.close()
    damaged = [r.getMessage() for r in caplog.records if "damaged row" in r.getMessage()]
    assert len(damaged) == 2 and "(glossary:" in damaged[0] and "(moderation_log: seq 1:" in damaged[1], damaged


async def test_a_damaged_row_answers_a_join_with_unavailable(tmp_path, caplog):
    from tests.conftest import start_server, test_config

    path = tmp_path / "db.sqlite3"
    await _damage(path)
    config = test_config(
        tmp_path, backend={"kind": "sqlite", "path": str(path)}, rooms=(Room(ROOM, "Plenary"), Room("health", "Health"))
    )
    server = await start_server(config)
    try:
        client = await server.client("Ada")
        for ref in ("j1", "j2"):
            await client.send({"type": "join", "room": ROOM, "ref": ref})
            error = await client.expect_error("unavailable", ref=ref)
            assert "backend" in error["message"]
        joined = await client.join("health")
        assert [m["text"] for m in joined["messages"]] == ["one", "two"]
    finally:
        await server.stop()
    assert not [r for r in caplog.records if r.exc_info], "a damaged row logs no traceback"
    damaged = [r.getMessage() for r in caplog.records if "damaged row" in r.getMessage()]
    assert sum("messages: room 'plenary'" in line for line in damaged) == 1, damaged  # two joins, one line
    assert all(str(path) in line for line in damaged)


async def test_a_database_that_cannot_write_is_unhealthy_until_a_write_succeeds(tmp_path, caplog):
    path = tmp_path / "db.sqlite3"
    database = Database(path)
    try:
        pages = await database.read(lambda db: db.execute("PRAGMA page_count").fetchone()[0])
        await database.read(lambda db: db.execute(f"PRAGMA max_page_count = {pages}"))  # the disk is full
        with pytest.raises(BackendUnavailable, match="full"):
            await database.write(
                lambda db: db.executemany(
                    "INSERT INTO moderation_log (room, entry) VALUES ('r', ?)", [("x" * 4000,)] * 20
                )
            )
        assert database.write_problem == "the database cannot be written: database or disk is full"
        assert sum(str(path) in r.getMessage() and "full" in r.getMessage() for r in caplog.records) == 1
        await database.write(lambda db: db.execute("DELETE FROM sent WHERE expires < 0"))  # changes nothing
        assert database.write_problem, "a commit that wrote nothing proves nothing"
        await database.read(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))  # space again
        await database.write(lambda db: db.execute("INSERT INTO moderation_log (room, entry) VALUES ('r', 'y')"))
        assert database.write_problem == ""
    finally:
        database.close()


async def test_a_file_in_use_by_another_node_is_refused(tmp_path):
    path = tmp_path / "db.sqlite3"
    backend = await started(path)
    try:
        result = serve(tmp_path, path)
        assert result.returncode == 2
        assert "in use by another process" in result.stderr and str(path) in result.stderr
    finally:
        await backend.close()


def serve(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BABELROOM_BACKEND_KIND": "sqlite",
        "BABELROOM_BACKEND_PATH": str(path),
        "BABELROOM_SERVER_DATA_DIR": str(tmp_path / "data"),
        "BABELROOM_AUTH_SECRET": "s",
        "BABELROOM_SERVER_PORT": "0",
        "BABELROOM_TRANSLATION_ENABLED": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "chat.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )


async def test_serve_on_a_corrupt_or_newer_file_says_so_in_one_line_and_exits_2(tmp_path):
    corrupt = tmp_path / "corrupt.sqlite3"
    await _file_with_history(corrupt)
    _corrupt_page(corrupt)
    newer = tmp_path / "newer.sqlite3"
    Database(newer).close()
    with plain(newer) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    for path, says in ((corrupt, "is corrupt"), (newer, "newer babelroom")):
        before = digest(path)
        result = serve(tmp_path, path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("babelroom: database error:") and str(path) in lines[0] and says in lines[0]
        assert "Traceback" not in result.stderr
        assert digest(path) == before


async def test_serve_refuses_an_empty_file_in_one_line_and_makes_it_new_when_asked(tmp_path):
    from tests.nodes import NodeProcess

    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    result = serve(tmp_path, empty)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, lines
    assert lines[0].startswith("babelroom: database error:") and str(empty) in lines[0]
    assert "babelroom serve --new-database" in lines[0] and empty.stat().st_size == 0

    node = NodeProcess(
        "n1",
        tmp_path / "node",
        backend="sqlite",
        args=("--new-database",),
        env={"BABELROOM_BACKEND_PATH": str(empty), "BABELROOM_TRANSLATION_ENABLED": "false"},
    )
    node.start()
    node.stop()
    with plain(empty) as db:
        assert version_of(db) == len(MIGRATIONS)


def test_an_unusable_path_is_refused_naming_it(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StoreError, match=r"a-folder is a directory; set \[backend\] path to a file"):
        Database(folder)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a directory should be")
    with pytest.raises(StoreError, match=r"cannot open database .*not-a-dir/db.sqlite3"):
        Database(blocked / "db.sqlite3")
