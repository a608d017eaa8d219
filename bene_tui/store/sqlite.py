"""The SQLite store (the default): one file shared by the terminals of one host, one connection per thread."""

from __future__ import annotations

import os
from operator import length_hint
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from bene_tui.core.errors import BeneError
from bene_tui.core.paths import private


BUSY_TIMEOUT_MS = 10_000
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_sqlite_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" family (SQLITE_BUSY / SQLITE_LOCKED and their extended codes)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def busy_error(exc: BaseException) -> BeneError:
    """What the screen shows when another terminal held the database longer than the busy timeout."""
    return BeneError("error.busy", staff=f"SQLite busy after {BUSY_TIMEOUT_MS} ms: {exc}")


MMAP_BYTES = 1 << 31


def connect(path: str | Path) -> Database:
    """Open (and migrate) a database with WAL, foreign keys and a busy timeout."""
    if str(path) not in ("", ":memory:"):
        create_private(path)
    db = Database(str(path))
    conn = db.conn
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        _enable_wal(db)
    conn.execute("PRAGMA synchronous = NORMAL")
    # Reads through a memory map: a lookup in a 10-million-member file touches pages in the OS page
    # cache (shared by every terminal) instead of copying them into this process (bench/lookup_bench.py).
    # SQLite caps the size at its build's limit (2 GiB here): a big roster import builds the member
    # indexes after the table, which then lies inside it (roster.drop_secondary_member_indexes).
    # The import itself turns the map off.
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return db


def create_private(path: str | Path) -> None:
    """The file holds every member's 認証キー and the outbox: readable by its owner only (0600).
    It is created so before SQLite opens it; SQLite gives the -wal, -shm and -journal files it
    creates the main file's mode (whatever the umask: tests/test_private_files.py), so no
    umask is needed. Files left 0644 by an older version are tightened."""

    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # no such directory, not allowed...: SQLite says so when it opens the path
    for suffix in ("", "-wal", "-shm", "-journal"):
        private(f"{path}{suffix}")


def _enable_wal(db: Database) -> None:
    """Switch a new file to WAL. Terminals switched on together on a new file race for it, and
    SQLite answers that switch with an immediate SQLITE_BUSY (no busy handler: it would deadlock),
    so retry for as long as the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if not is_sqlite_busy(exc):
                raise
            if time.monotonic() > deadline:
                raise busy_error(exc) from exc
            time.sleep(0.01)


def migrate(db: Database) -> None:
    """Apply pending migrations under the write lock, so terminals starting together on a new file
    do not both create the same tables (the loser would fail with "table ... already exists").
    A migration that cannot run in a transaction (`transactional=False`) runs alone and takes the
    lock itself; the ones around it are applied in batches under ours."""
    # start-up: the schema loads in the worker that opens the store, after the first frame
    from .migrations import m

    conn = db.conn
    while pending := m.pending(db):
        if not pending[0].transactional:
            try:
                m.apply(db, stop_before=[p.name for p in pending[1:]])
            except sqlite3.IntegrityError:
                if pending[0] in m.pending(db):
                    raise
                # another terminal applied (and recorded) it while this one waited for the lock
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # What is pending now that we hold the lock (another terminal may have moved on); nests as savepoints.
            later = [p.name for p in m.pending(db) if not p.transactional]
            m.apply(db, stop_before=later)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")


class Store:
    """Hands each thread its own connection to the same file (sqlite3 connections are per thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        migrate(self.db)

    @property
    def db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
            with self._lock:
                self._all = getattr(self, "_all", []) + [db]
        return db

    @contextmanager
    def tx(self):
        """One write transaction: the state change, its audit row and its outbox message together.

        BEGIN IMMEDIATE takes the write lock up front, so two terminals never both read-then-write.
        """
        db = self.db
        conn = db.conn
        if conn.in_transaction:
            yield db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")  # waits up to BUSY_TIMEOUT_MS for the other terminals
        except sqlite3.OperationalError as exc:
            if is_sqlite_busy(exc):
                raise busy_error(exc) from exc
            raise
        try:
            yield db
        except BaseException:
            if conn.in_transaction:  # some errors (e.g. a full disk) have already rolled back
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if is_sqlite_busy(exc):
                    raise busy_error(exc) from exc
                raise

    def close(self) -> None:
        for db in getattr(self, "_all", []):
            try:
                db.close()
            except Exception:
                pass
        self._all = []
        self._local = threading.local()


@contextmanager
def read_snapshot(conn):
    """One read transaction: every statement inside sees the same committed state (WAL readers
    never block writers, nor wait for them)."""
    if conn.in_transaction:
        yield
        return
    with conn:
        conn.execute("begin")
        yield


def stream(conn, sql: str, params=(), batch: int = 5000):
    """The rows of a query, `batch` at a time from SQLite's cursor (it steps through the table: bounded memory)."""
    cursor = conn.execute(sql, params)
    try:
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


@contextmanager
def secure_delete(conn):
    """SQLite overwrites what a statement frees with zeros while this is on."""
    before = conn.execute("pragma secure_delete").fetchone()[0]
    conn.execute("pragma secure_delete = on")
    try:
        yield
    finally:
        conn.execute(f"pragma secure_delete = {int(before)}")


def purge_freed(conn, tables) -> None:
    """Copy the committed pages into the database file and empty the WAL, where the old pages still were."""
    conn.execute("pragma wal_checkpoint(truncate)")


def refuse_member_repeats(conn, existing: int, message: str, updates: bool) -> None:
    """While a roster import writes one organisation's members (roster._Writer): a member (団体ID +
    認証キー1) may appear once in the file. Plain INSERTs (`updates` False: an organisation new to the
    store) meet the primary key, nothing to add. An upsert turns a repeat into an UPDATE, which this
    temporary trigger refuses: of a row the import inserted (an id above `existing`) at once, of a
    row it updates by the primary key of `import_updated`. Nothing is held in Python. Both live in
    the import's transaction: a rollback removes them, `stop_refusing_member_repeats` drops them.
    Only where needed: any trigger on members makes each INSERT seek the row's place twice."""
    if not updates:
        return
    conn.execute("drop trigger if exists temp.import_once")
    conn.execute("drop table if exists temp.import_updated")
    conn.execute("create temp table import_updated (group_id text, auth_key_1 text, "
                 "primary key (group_id, auth_key_1)) without rowid")
    conn.execute(f"""create temp trigger import_once before update on main.members begin
        select raise(abort, '{message}') where old.id > {int(existing)};
        insert into import_updated values (old.group_id, old.auth_key_1);
      end""")


def stop_refusing_member_repeats(conn) -> None:
    conn.execute("drop trigger if exists temp.import_once")
    conn.execute("drop table if exists temp.import_updated")


def failed_row(conn, exc: BaseException, rows: list, pending) -> int:
    """executemany takes one row at a time and stops at the one refused (those before it are written)."""
    return len(rows) - length_hint(pending) - 1


class ScanBudget:
    """Scans of a whole column (the helpdesk's fragment search) sharing one time budget: SQLite
    stops a statement once the deadline has passed, `scan` then returns nothing more and `cut` is
    set. `store.scan_budget` picks this or PostgreSQL's (a statement timeout)."""

    def __init__(self, conn, seconds: float) -> None:
        self.conn, self.deadline, self.cut = conn, time.monotonic() + seconds, False

    def __enter__(self) -> "ScanBudget":
        self.conn.set_progress_handler(lambda: time.monotonic() > self.deadline, 10_000)
        return self

    def __exit__(self, *exc) -> None:
        self.conn.set_progress_handler(None, 0)

    def scan(self, sql: str, args: list) -> list:
        if self.cut or time.monotonic() >= self.deadline:  # out of time before this scan began
            self.cut = True
            return []
        try:
            return self._run(sql, args)
        except Exception as exc:
            if not self._interrupted(exc):
                raise
            self.cut = True
            return []

    def _run(self, sql: str, args: list) -> list:
        return self.conn.execute(sql, args).fetchall()

    @staticmethod
    def _interrupted(exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc)


def scan_budget(conn, seconds: float) -> ScanBudget:
    return ScanBudget(conn, seconds)
