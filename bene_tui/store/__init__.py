"""The store: embedded SQLite (a file path, the default) or an existing PostgreSQL server (a
postgresql:// URL). Services see one surface, a sqlite-utils `Database` or its PostgreSQL
adapter (store/postgres.py); every difference between the two lives in this package.

psycopg is imported only when a PostgreSQL URL is opened: start-up on SQLite is unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import sqlite as _sqlite
from .sqlite import BUSY_TIMEOUT_MS, MMAP_BYTES, Database, Store, busy_error, connect, is_sqlite_busy, migrate

__all__ = ["BUSY_TIMEOUT_MS", "MMAP_BYTES", "Database", "Store", "busy_error", "connect", "is_busy",
           "is_postgres_url", "migrate", "open_store", "refuse_member_repeats", "scan_budget",
           "stop_refusing_member_repeats"]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | Path | None) -> bool:
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def open_store(target: str | Path):
    """A `postgresql://` URL opens PostgreSQL; anything else is a SQLite file (or ':memory:')."""
    if is_postgres_url(target):
        from .postgres import PgStore

        return PgStore(str(target))
    return Store(target)


def refuse_member_repeats(conn, existing: int, message: str) -> None:
    """A roster import refuses a member twice in one file (roster._Writer): each backend its way."""
    own = getattr(conn, "refuse_member_repeats", None)  # PostgreSQL's connection has its own
    (own or (lambda *a: _sqlite.refuse_member_repeats(conn, *a)))(existing, message)


def stop_refusing_member_repeats(conn) -> None:
    own = getattr(conn, "stop_refusing_member_repeats", None)
    (own or (lambda: _sqlite.stop_refusing_member_repeats(conn)))()


def scan_budget(db, seconds: float):
    """Scans sharing `seconds` (the helpdesk's fragment search), cut short once they are spent:
    SQLite's progress handler, PostgreSQL's statement timeout. A context manager with `scan` and `cut`."""
    own = getattr(db, "scan_budget", None)  # PostgreSQL's database has its own
    return own(seconds) if own else _sqlite.ScanBudget(db, seconds)


def is_busy(exc: BaseException) -> bool:
    """True when another terminal held the store too long, or the server went away for a moment:
    the screen says "busy, try again" (and a PostgreSQL terminal reconnects by itself)."""
    if is_sqlite_busy(exc):
        return True
    if "bene_tui.store.postgres" in sys.modules:  # only a PostgreSQL store can raise its errors
        return sys.modules["bene_tui.store.postgres"].is_pg_busy(exc)
    return False
