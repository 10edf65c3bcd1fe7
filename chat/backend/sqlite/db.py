"""One SQLite file, used from one thread of its own, with writes committed in batches.

Every call the event loop makes is a job run by the database thread, in the order the calls
were made. Jobs that queue up while the thread is busy (a commit waiting for the disk) run
together in one transaction and share its commit: a group commit, so a busy room costs one
fsync per batch rather than per message, while a quiet one waits for no timer. A job's
awaiting caller resumes only after its transaction committed, so an `ack` is sent for a
message that is as durable as `[backend] synchronous` makes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from chat.backend.base import BackendUnavailable, StoreError
from chat.backend.sqlite.schema import MIGRATIONS, Migration, migrate, version_of

log = logging.getLogger("babelroom.backend.sqlite")

T = TypeVar("T")
BATCH_MAX = 256  # jobs sharing one transaction at most
SYNCHRONOUS = ("normal", "full")
TRANSIENT = ("database is locked", "disk i/o error", "database or disk is full", "unable to open", "readonly database")


@dataclass
class _Job(Generic[T]):
    run: Callable[[sqlite3.Connection], T]
    write: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    then: Callable[[T], None] | None  # run on the loop, in job order, before the caller resumes


class DamagedRow(Exception):
    """A row that cannot be read back (edited by hand, or a disk error quick_check does not see).
    Raised by the row decoders inside a job; the caller hears BackendUnavailable (`unavailable`)."""

    def __init__(self, what: str, cause: BaseException) -> None:
        super().__init__(f"{what}: {type(cause).__name__}: {cause}")
        self.what = what


class Database:
    """The file, opened (and migrated) when constructed: raises StoreError when it cannot be used.

    An existing file must be a babelroom database: an empty one (0 bytes, or SQLite with no
    table) is refused unless `create` (it may be a database lost by a bad copy or a full disk),
    and another program's SQLite file always is. A missing file is created."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "full",
        migrations: Sequence[Migration] = MIGRATIONS,
        create: bool = False,
    ) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        # Why writes fail ("" while they succeed): set by a failed write, cleared by a write that
        # changed something and committed. Written by the database thread, read by the loop.
        self.write_problem = ""
        self._damage_logged: set[str] = set()  # each damaged row is logged once, not on every read
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(opened, synchronous, migrations, create), name=f"sqlite {path.name}", daemon=True
        )
        self._thread.start()
        opened.result()  # the thread's StoreError, raised here

    # the event loop's side ---------------------------------------------------------
    async def read(self, run: Callable[[sqlite3.Connection], T]) -> T:
        return await self._submit(run, write=False, then=None)

    async def write(self, run: Callable[[sqlite3.Connection], T], then: Callable[[T], None] | None = None) -> T:
        """Run `run` in a transaction; `then(result)` runs on the loop once it is committed."""
        return await self._submit(run, write=True, then=then)

    def _submit(
        self, run: Callable[[sqlite3.Connection], T], *, write: bool, then: Callable[[T], None] | None
    ) -> asyncio.Future[T]:
        if not self._thread.is_alive():
            raise BackendUnavailable(f"the database {self.path} is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(run, write, loop, future, then))
        return future

    def close(self) -> None:
        """Finish the queued jobs, checkpoint the write-ahead log and close the file."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    # the database thread -----------------------------------------------------------
    def _serve(self, opened: Future[None], synchronous: str, migrations: Sequence[Migration], create: bool) -> None:
        try:
            db = self._open(synchronous, migrations, create)
        except BaseException as exc:  # noqa: BLE001 - whatever stops the open is handed to the constructor
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                batch = [job]
                while len(batch) < BATCH_MAX:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        self._jobs.put(None)  # stop after this batch
                        break
                    batch.append(job)
                self._run_batch(db, batch)
        finally:
            db.close()

    def _open(self, synchronous: str, migrations: Sequence[Migration], create: bool) -> sqlite3.Connection:
        where = self.path
        if where.is_dir():
            raise StoreError(f"database {where} is a directory; set [backend] path to a file")
        existed = where.exists()
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open database {where} ({exc}); check the path and its permissions ([backend] path)"
            ) from None
        try:
            # One node per file: the file stays locked while this process runs.
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            version = version_of(db)  # reads the header: "file is not a database" shows here
            if version > len(migrations):
                raise StoreError(
                    f"database {where} has schema version {version}, written by a newer babelroom "
                    f"(this one knows up to {len(migrations)}); run the newer babelroom, or set "
                    f"[backend] path to another file. The file was not changed"
                )
            if existed:
                _refuse_foreign_or_empty(db, where, version, create)
            problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                first = " ".join(problems[0].split())  # quick_check's lines hold newlines
                raise sqlite3.DatabaseError(f"quick_check: {first[:200]}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(
                    f"database {where} cannot use write-ahead logging (journal mode {mode}); put it on a local disk"
                )
            db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        except StoreError:
            db.close()
            raise
        except sqlite3.Error as exc:
            db.close()
            text = str(exc)
            if "locked" in text:
                raise StoreError(
                    f"database {where} is in use by another process (another babelroom node?); "
                    f"stop it, or set [backend] path to another file"
                ) from None
            if "unable to open" in text or "readonly" in text or "disk i/o" in text.lower():
                raise StoreError(
                    f"cannot use database {where} ({text}); check the path, its permissions and free space"
                ) from None
            raise StoreError(
                f"database {where} is corrupt or not a babelroom database ({text}); restore it "
                f"from a backup, or move it aside to start with an empty one. It was not "
                f"changed"
            ) from None
        try:
            reached = migrate(db, migrations)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(
                f"database {where}: the schema migration from version {version} failed ({exc}); "
                f"the file was left at its last complete version. Free disk space or fix the "
                f"cause, then start again"
            ) from None
        if reached:
            log.info("database %s: schema migrated to version %d", where, reached[-1])
        log.info(
            "database %s open (schema version %d, write-ahead log, synchronous=%s)", where, len(migrations), synchronous
        )
        return db

    def _run_batch(self, db: sqlite3.Connection, batch: list[_Job[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        writing = any(job.write for job in batch)
        try:
            if writing:
                db.execute("BEGIN IMMEDIATE")
            changes = db.total_changes
            for job in batch:
                outcomes.append(self._run_job(db, job))
            if writing:
                db.execute("COMMIT")
                # a commit that wrote rows proves the file takes writes again (one that changed nothing wrote nothing)
                if (
                    db.total_changes > changes
                    and self.write_problem
                    and not any(isinstance(value, BackendUnavailable) for ok, value in outcomes if not ok)
                ):
                    log.warning("database %s takes writes again", self.path)
                    self.write_problem = ""
        except sqlite3.Error as exc:
            # BEGIN or COMMIT failed: nothing of this batch is stored; every caller hears it.
            if db.in_transaction:
                db.execute("ROLLBACK")
            failure = self._failure(exc)
            outcomes = [(False, failure) for _ in batch]
        for loop in {job.loop for job in batch}:
            mine = [(job, outcome) for job, outcome in zip(batch, outcomes, strict=True) if job.loop is loop]
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, mine)

    def _run_job(self, db: sqlite3.Connection, job: _Job[Any]) -> tuple[bool, Any]:
        if not job.write:
            try:
                return True, job.run(db)
            except Exception as exc:  # noqa: BLE001 - whatever the job raised is the caller's to handle
                return False, self._failure(exc)
        # A savepoint per job: one that fails leaves the others of its batch intact.
        db.execute("SAVEPOINT job")
        try:
            result = job.run(db)
        except Exception as exc:  # as above, after undoing this job's writes only (or the batch's, re-raised)
            if isinstance(exc, sqlite3.Error) and not db.in_transaction:
                # SQLite rolled the whole transaction back itself (a full disk, an I/O error): the batch failed
                raise
            db.execute("ROLLBACK TO job")
            db.execute("RELEASE job")
            return False, self._failure(exc)
        db.execute("RELEASE job")
        return True, result

    def report_damage(self, damage: DamagedRow) -> None:
        """Log a damaged row: once per row, however often it is read (on the database thread)."""
        if damage.what not in self._damage_logged:
            self._damage_logged.add(damage.what)
            log.error(
                "database %s holds a damaged row (%s); the requests that read it answer `unavailable`. "
                "Restore the file from a backup, or delete or repair that row",
                self.path,
                damage,
            )

    def _failure(self, exc: BaseException) -> BaseException:
        if isinstance(exc, DamagedRow):
            self.report_damage(exc)
            return BackendUnavailable(f"the database {self.path} holds a damaged row")
        if isinstance(exc, sqlite3.Error):
            log.error("database %s: %s", self.path, exc)
            if any(sign in str(exc).lower() for sign in TRANSIENT):
                if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):
                    # shown by the public /healthz: no path (the log line above names the file)
                    self.write_problem = f"the database cannot be written: {exc}"
                return BackendUnavailable(f"the database {self.path} cannot be written now: {exc}")
        return exc


def decode_row(what: str, decode: Callable[[], T]) -> T:
    """`decode()`, a row turned into a value; DamagedRow naming `what` when the row does not hold what
    the schema promises (invalid JSON, a missing key, a wrong type)."""
    try:
        return decode()
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DamagedRow(what, exc) from None


BABELROOM_TABLES = ("rooms", "histories", "messages")  # the first schema's: every babelroom file has them


def _refuse_foreign_or_empty(db: sqlite3.Connection, where: Path, version: int, create: bool) -> None:
    """StoreError unless the existing file is a babelroom database (or empty, and `create` allows it)."""
    tables = sorted(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    if version == 0 and not tables:
        if not create:
            raise StoreError(
                f"database {where} exists but holds nothing ({where.stat().st_size} bytes): perhaps a "
                f"database lost to a bad copy or a full disk. Restore it from a backup, or start once "
                f"with `babelroom serve --new-database` ([backend] create = true) to make it a new "
                f"database. The file was not changed"
            )
        return
    if version == 0 or not set(BABELROOM_TABLES) <= set(tables):
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(
            f"database {where} is another program's SQLite file (tables: {shown}), not a babelroom "
            f"database; set [backend] path to another file. The file was not changed"
        )


def _settle(done: list[tuple[_Job[Any], tuple[bool, Any]]]) -> None:
    """On the loop: run each job's `then` and resume its caller, in job order."""
    for job, (ok, value) in done:
        if ok and job.then is not None:
            try:
                job.then(value)  # even when the caller is gone: what was stored is published
            except Exception as exc:  # noqa: BLE001 - the stored result stands; the caller hears the error
                ok, value = False, exc
        if job.future.cancelled():
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
