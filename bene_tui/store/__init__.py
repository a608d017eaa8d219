"""The store: embedded SQLite (a file path, the default) or an existing PostgreSQL server (a
postgresql:// URL). Services see one surface, a sqlite-utils `Database` or its PostgreSQL
adapter (store/postgres.py); every difference between the two lives in this package.

psycopg is imported only when a PostgreSQL URL is opened: start-up on SQLite is unchanged.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from . import sqlite as _sqlite
from .sqlite import BUSY_TIMEOUT_MS, MMAP_BYTES, Database, Store, busy_error, connect, is_sqlite_busy

__all__ = ["BUSY_TIMEOUT_MS", "MMAP_BYTES", "Database", "Store", "busy_error", "connect", "is_busy",
           "is_postgres_url", "migrate", "open_store", "purge_freed", "read_snapshot", "refuse_member_repeats",
           "scan_budget", "secure_delete", "stop_refusing_member_repeats", "stream"]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | Path | None) -> bool:
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def open_store(target: str | Path):
    """A `postgresql://` URL opens PostgreSQL; anything else is a SQLite file (or ':memory:')."""
    if is_postgres_url(target):
        # lazy: psycopg only for a PostgreSQL URL
        from .postgres import PgStore

        return PgStore(str(target))
    return Store(target)


def migrate(db) -> None:
    """Apply the pending migrations to an open store's database, each backend its way (e.g. after
    a snapshot from an older version was loaded into it)."""
    if getattr(db, "dialect", None) == "postgresql":
        # lazy: psycopg only for a PostgreSQL store
        from .postgres import migrate as pg_migrate

        pg_migrate(db)
    else:
        _sqlite.migrate(db)


def _own(db, name: str):
    """Backend-specific operation `name`: the PostgreSQL connection's own method of that name, else
    sqlite.py's function of that name on the sqlite3 connection. `db`: a Database or its connection."""
    conn = getattr(db, "conn", db)
    return getattr(conn, name, None) or functools.partial(getattr(_sqlite, name), conn)


def refuse_member_repeats(conn, existing: int, message: str, updates: bool) -> None:
    """A roster import refuses a member twice in one file (roster._Writer), one organisation at a
    time; `updates`: its rows are upserted (it has members already). Each backend its way."""
    _own(conn, "refuse_member_repeats")(existing, message, updates)


def stop_refusing_member_repeats(conn) -> None:
    _own(conn, "stop_refusing_member_repeats")()


def failed_row(conn, exc: BaseException, rows: list, pending) -> int:
    """Which of `rows` (from 0) `conn.executemany` refused with `exc`; `pending`: the iterator it was given."""
    return _own(conn, "failed_row")(exc, rows, pending)


def read_snapshot(db):
    """`with read_snapshot(db):` the reads inside see one consistent state of the store (an export's
    count and its rows agree), whatever other terminals commit meanwhile. Nests in a transaction."""
    return _own(db, "read_snapshot")()


def stream(db, sql: str, params=(), batch: int = 5000):
    """The rows of one query, `batch` at a time, in bounded memory however many there are (SQLite's
    stepping cursor; a server-side cursor on PostgreSQL, whose plain cursor would fetch them all).
    Other statements may run on the same connection between rows."""
    return _own(db, "stream")(sql, params, batch)


def secure_delete(db):
    """`with secure_delete(db):` what the writes inside free is overwritten (SQLite's secure_delete;
    PostgreSQL keeps old row versions until VACUUM: see purge_freed)."""
    return _own(db, "secure_delete")()


def purge_freed(db, tables) -> None:
    """After a commit that erased personal data: no copy of the old rows left where the store keeps
    them. SQLite: the WAL checkpointed into the (zeroed) file and emptied. PostgreSQL: VACUUM of
    `tables` (their TOAST and indexes too) drops the old row versions; see docs/security.md, Known gaps."""
    _own(db, "purge_freed")(list(tables))


def scan_budget(db, seconds: float):
    """Scans sharing `seconds` (the helpdesk's fragment search), cut short once they are spent:
    SQLite's progress handler, PostgreSQL's statement timeout. A context manager with `scan` and `cut`."""
    return _own(db, "scan_budget")(seconds)


def is_busy(exc: BaseException) -> bool:
    """True when another terminal held the store too long, or the server went away for a moment:
    the screen says "busy, try again" (and a PostgreSQL terminal reconnects by itself)."""
    if is_sqlite_busy(exc):
        return True
    if "bene_tui.store.postgres" in sys.modules:  # only a PostgreSQL store can raise its errors
        return sys.modules["bene_tui.store.postgres"].is_pg_busy(exc)
    return False
