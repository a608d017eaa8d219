"""The SQLite store: one file shared by every terminal, one connection per thread."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000


def connect(path: str | Path) -> Database:
    """Open (and migrate) a database with WAL, foreign keys and a busy timeout."""
    db = Database(str(path))
    conn = db.conn
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        db.enable_wal()
    conn.execute("PRAGMA synchronous = NORMAL")
    return db


def migrate(db: Database) -> None:
    from .migrations import m

    m.apply(db)


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
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        for db in getattr(self, "_all", []):
            try:
                db.close()
            except Exception:
                pass
        self._all = []
        self._local = threading.local()
