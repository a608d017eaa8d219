"""The PostgreSQL store: terminals on many hosts on one existing server.

`PgDatabase` offers the small part of sqlite-utils' `Database` the services and migrations use
(`execute`, `query`, `db[table]`'s insert/upsert/update/get/rows_where/create/create_index and a
`conn` with execute/executemany/in_transaction), over psycopg 3, translating SQLite's SQL on the
way (dialect.py). Services keep one text of each query.

Concurrency: every write transaction first takes one transaction-level advisory lock, so writers
follow each other as SQLite's BEGIN IMMEDIATE makes them: read-then-write logic (attempt counters,
send limits, throttles, unique login IDs, one account per member record) holds unchanged, with no
transaction to retry. Readers are never blocked. See docs/architecture.md.
"""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from decimal import Decimal
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Loader
from psycopg.rows import dict_row
from sqlite_utils.db import NotFoundError

from bene_tui.core.errors import BeneError
from . import sqlite as _sqlite
from .dialect import Translated, translate
from .migrations import m, m_member_names

# Keys of pg_advisory_xact_lock: one for migrations, one every writer takes (arbitrary, fixed).
MIGRATION_LOCK = 0x62656E65_0001
WRITER_LOCK = 0x62656E65_0002

_TYPES = {str: "text", int: "bigint", float: "double precision", bytes: "bytea", bool: "integer",
          dict: "text", list: "text"}


_SQLITE_TYPES = {"bigint": "INTEGER", "integer": "INTEGER", "double precision": "FLOAT", "text": "TEXT", "bytea": "BLOB"}


class Column(NamedTuple):
    """As sqlite-utils describes a column."""

    name: str
    type: str
    notnull: bool
    default_value: Any
    is_pk: bool


class IntegrityError(sqlite3.IntegrityError):
    """A constraint refused the write: the same class the services already catch on SQLite."""

    row: int | None = None  # of a bulk insert refused for a repeated member: its row (from 0; store.failed_row)


# serialization failure, deadlock, lock timeout, statement cancelled, server shutting down or starting
_BUSY_STATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"}


def is_pg_busy(exc: BaseException) -> bool:
    """Another writer held the lock too long, a serialization failure, or a lost connection (the
    server restarting): all "busy, try again" for the person at the screen. Not any other error
    (a bug should not read as a busy server)."""
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:  # raised by the client: the connection failed or was lost
        return isinstance(exc, psycopg.OperationalError)
    return state in _BUSY_STATES or state.startswith("08")


def pg_busy_error(exc: BaseException) -> BeneError:
    return BeneError("error.busy", staff=f"PostgreSQL busy or unreachable: {type(exc).__name__}: {exc}")


class _NumericLoader(Loader):
    """sum() of integers is numeric in PostgreSQL; SQLite hands back an int (or a float)."""

    def load(self, data):
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _no_nul(params: Sequence) -> Sequence:
    """PostgreSQL's text cannot hold NUL, which SQLite's can: a value with one (hostile input, never
    a stored value, which the services clean first) compares as U+FFFD instead of failing."""
    for p in params:  # (a plain loop: this runs before every statement)
        if type(p) is str and "\x00" in p:
            return [p.replace("\x00", "\ufffd") if type(p) is str else p for p in params]
    return params


def _raise_as_sqlite(exc: psycopg.Error):
    if isinstance(exc, psycopg.IntegrityError):
        raise IntegrityError(str(exc)) from exc
    raise exc


# executemany of `insert into t (...) values (?, ...) [on conflict ...]` with this many rows goes through COPY.
COPY_FROM = 1000
_INSERT_VALUES = re.compile(r"insert\s+into\s+(?P<table>\w+)\s*\((?P<cols>[^)]*)\)\s*values\s*\([?,\s]*\)(?P<tail>.*)",
                            re.IGNORECASE | re.DOTALL)
_CONFLICT_KEYS = re.compile(r"on\s+conflict\s*\((?P<keys>[^)]*)\)\s*do\s+update", re.IGNORECASE)


def _connect(url: str) -> psycopg.Connection:
    raw = psycopg.connect(url, autocommit=True, connect_timeout=max(1, _sqlite.BUSY_TIMEOUT_MS // 1000))
    raw.adapters.register_loader("numeric", _NumericLoader)
    # A writer waits for the writer lock as long as SQLite's busy timeout, then "busy, try again".
    raw.execute(f"set lock_timeout = {_sqlite.BUSY_TIMEOUT_MS}")
    return raw


class PgConnection:
    """What services and migrations ask of `db.conn` (a sqlite3 connection on SQLite).

    Reconnects by itself: a statement outside a transaction (a read, or the BEGIN of one) that
    finds the connection lost (the server restarted) runs again once on a new connection. Inside
    a transaction the loss is an error (busy, try again): the transaction is gone with it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.raw = _connect(url)
        self._conflicted: set[tuple[str, int]] = set()  # (table, transaction) where COPY met a conflict

    @property
    def in_transaction(self) -> bool:
        return not self.raw.closed and self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence | None = None, *, row_factory=None):
        t, is_pragma, builds_index = _statement(sql)
        if t is None:
            return _Empty()
        params = _no_nul(t.params(None if is_pragma else params))
        if builds_index and self.in_transaction:
            # PostgreSQL builds no index over rows with foreign-key checks still pending (a roster
            # import defers them, then rebuilds its indexes): check them now, as COMMIT would.
            self.raw.execute("set constraints all immediate")
        if self.raw.closed:
            self.raw = _connect(self.url)
        idle = not self.in_transaction
        try:
            try:
                cur = self.raw.cursor(row_factory=row_factory)
                cur.execute(t.sql, params)
            except psycopg.OperationalError:
                if not (idle and self.raw.closed):
                    raise
                self.raw = _connect(self.url)  # the server dropped us between statements: once more
                cur = self.raw.cursor(row_factory=row_factory)
                cur.execute(t.sql, params)
        except psycopg.Error as exc:
            _raise_as_sqlite(exc)
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence]):
        rows = rows if isinstance(rows, list) else list(rows)
        bulk = _INSERT_VALUES.fullmatch(sql.strip())
        try:
            # A roster import's members always: which row repeats an earlier one is found in the staging table.
            if bulk and self.in_transaction and (len(rows) >= COPY_FROM or self._checks_repeats(bulk["table"])):
                return self._copy_insert(bulk["table"], bulk["cols"], bulk["tail"].strip(), rows)
            t = translate(sql)
            cur = self.raw.cursor()
            cur.executemany(t.sql, [t.params(r) for r in rows])
        except psycopg.Error as exc:
            _raise_as_sqlite(exc)
        return cur

    def _copy_insert(self, table: str, cols: str, tail: str, rows: list[Sequence]):
        """Many rows of one INSERT through COPY (a roster import): straight into the table while
        none conflicts (a new roster), else through a staging table and the statement's own
        ON CONFLICT, the last of several rows with one key winning as it does row by row."""
        cur = self.raw.cursor()
        copy_sql = f'copy "{table}" ({cols}) from stdin'
        if (table, self._txid()) not in self._conflicted:
            try:
                with self.raw.transaction():  # a savepoint: a conflict undoes only this batch
                    with cur.copy(copy_sql) as copy:
                        for row in rows:
                            copy.write_row(row)
                return cur
            except pg_errors.UniqueViolation:
                if not tail and not self._checks_repeats(table):
                    raise
                self._conflicted.add((table, self._txid()))
        stage = f"_bulk_{table}"
        cur.execute(f'create temp table if not exists "{stage}" (like "{table}", _n bigserial) on commit drop')
        cur.execute(f'truncate "{stage}"')
        with cur.copy(f'copy "{stage}" ({cols}) from stdin') as copy:
            for row in rows:
                copy.write_row(row)
        keys = _CONFLICT_KEYS.search(tail)
        repeats = self._checks_repeats(table)
        if repeats and (not tail or cur.execute(
                f'select 1 from "{stage}" group by group_id, auth_key_1 having count(*) > 1 limit 1').fetchone()):
            self._refuse_repeat(cur, stage)  # a member twice in one batch, or (no upsert) again after an earlier one
        pick = f"distinct on ({keys['keys']}) " if keys else ""
        order = f" order by {keys['keys']}, _n desc" if keys else ""
        insert = translate(f'insert into "{table}" ({cols}) select {pick}{cols} from "{stage}"{order} {tail}').sql
        if not repeats:
            cur.execute(insert)
            return cur
        try:
            with self.raw.transaction():  # a savepoint: the import_once trigger's refusal leaves the batch staged
                cur.execute(insert)
        except pg_errors.UniqueViolation:
            self._refuse_repeat(cur, stage)
            raise
        return cur

    def _checks_repeats(self, table: str) -> bool:
        """A roster import writing members (store.refuse_member_repeats)."""
        return table == "members" and self._repeats is not None

    def _refuse_repeat(self, cur, stage: str) -> None:
        """IntegrityError naming the first staged row that repeats a member this import wrote: earlier in
        the batch, or in an earlier batch (inserted: an id above `existing`; updated: import_updated).
        Only where a repeat was met: it reads the members table once per staged row."""
        existing, message, updates = self._repeats
        found = [f'select _n from (select _n, row_number() over (partition by group_id, auth_key_1 order by _n) '
                 f'as k from "{stage}") s where k > 1',
                 f'select s._n from "{stage}" s join members m using (group_id, auth_key_1) where m.id > {existing}']
        if updates:
            found.append(f'select s._n from "{stage}" s join import_updated u using (group_id, auth_key_1)')
        row = cur.execute(f'select min(_n) - (select min(_n) from "{stage}") from ({" union all ".join(found)}) r'
                          ).fetchone()[0]
        if row is not None:
            error = IntegrityError(message)
            error.row = row
            raise error

    # -- long reads (store.read_snapshot, store.stream) ---------------------------------------------
    @contextmanager
    def read_snapshot(self):
        """A REPEATABLE READ, READ ONLY transaction: one snapshot for every statement inside, taking
        no lock a writer waits for. Inside a transaction already: that one's."""
        if self.in_transaction:
            yield
            return
        self.execute("begin isolation level repeatable read read only")
        try:
            yield
        finally:
            if self.in_transaction:
                self.raw.execute("rollback")  # nothing was written: ends the snapshot, whatever happened

    def stream(self, sql: str, params: Sequence | None = None, batch: int = 5000) -> Iterator[tuple]:
        """A server-side (named) cursor, `batch` rows per FETCH: psycopg's plain cursor would bring
        every row into this process first. Cursors live in a transaction: a read snapshot when none is open."""
        t = translate(sql)
        params = _no_nul(t.params(params))
        with self.read_snapshot():
            self._streams += 1
            try:
                with self.raw.cursor(name=f"bene_stream_{self._streams}") as cur:
                    cur.execute(t.sql, params)
                    while rows := cur.fetchmany(batch):
                        yield from rows
            except psycopg.Error as exc:
                _raise_as_sqlite(exc)

    _streams = 0

    # -- erasing personal data (store.secure_delete, store.purge_freed) ----------------------------
    @contextmanager
    def secure_delete(self):
        """Nothing to switch on: an UPDATE or DELETE leaves the old row version for VACUUM (purge_freed)."""
        yield

    def purge_freed(self, tables: list[str]) -> None:
        """VACUUM the tables (with their TOAST tables and, INDEX_CLEANUP ON, every index even when
        few rows died): the old row versions an erasure left are removed, unless a transaction older
        than the erasure still may see them (then autovacuum removes them later). Outside a
        transaction, as VACUUM must be. It does not zero the bytes (see docs/security.md)."""
        names = ", ".join(f'"{t}"' for t in tables)
        self.execute(f"vacuum (index_cleanup on) {names}")

    # -- a roster import refuses a member twice in one file (store.refuse_member_repeats) ------------
    def refuse_member_repeats(self, existing: int, message: str, updates: bool) -> None:
        """SQLite's temporary trigger, in PL/pgSQL: an UPDATE of a row this import inserted, or a
        second of one it updated, is a repeat (with `updates` only: plain INSERTs meet the primary
        key). Every batch goes through COPY, and a repeat is found in its staging table."""
        self._repeats = (int(existing), message, updates)
        if not updates:
            return
        self.raw.execute("create temp table if not exists import_updated (group_id text, auth_key_1 text, "
                         "primary key (group_id, auth_key_1)) on commit drop")
        self.raw.execute(f"""create or replace function pg_temp.import_once() returns trigger language plpgsql as $$
            begin
              if old.id > {int(existing)} then  -- a unique violation, as SQLite's trigger is a constraint error
                raise exception using errcode = 'unique_violation', message = '{message}';
              end if;
              insert into import_updated values (old.group_id, old.auth_key_1);
              return new;
            end $$""")
        # DDL is transactional here: no other terminal ever sees this trigger, gone with the import's commit.
        self.raw.execute("drop trigger if exists import_once on members")
        self.raw.execute("create trigger import_once before update on members for each row "
                         "execute function pg_temp.import_once()")

    def failed_row(self, exc: BaseException, rows: list, pending) -> int:
        """A bulk insert writes all of its rows or none: the refusal says which (IntegrityError.row)."""
        row = getattr(exc, "row", None)
        return len(rows) - 1 if row is None else row

    def stop_refusing_member_repeats(self) -> None:
        self._repeats = None
        self.raw.execute("drop trigger if exists import_once on members")
        self.raw.execute("drop table if exists import_updated")

    _repeats: tuple[int, str, bool] | None = None  # (existing, message, updates) while an import writes members

    def _txid(self) -> int:
        return self.raw.execute("select txid_current()").fetchone()[0]

    def scan_budget(self, seconds: float) -> "PgScanBudget":
        return PgScanBudget(self, seconds)

    def close(self) -> None:
        self.raw.close()


class _Empty(list):
    """The answer to a pragma PostgreSQL has no use for."""

    def fetchone(self):
        return (0,)

    def fetchall(self):
        return []


# SQLite pragmas and catalogue reads, as PostgreSQL says them ("" = nothing to do).
_PRAGMAS = {
    "pragma defer_foreign_keys = on": "set constraints all deferred",
    "pragma main.table_list": "select table_schema, table_name, 'table', 0, 0, 0 from information_schema.tables "
                              "where table_schema = current_schema() and table_type = 'BASE TABLE'",
    "select name, sql from sqlite_master where type = 'index' and tbl_name = 'members' and sql is not null":
        "select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename = 'members' "
        "and indexname not like '%%pkey'",
}


class _Statement(NamedTuple):
    translated: Translated | None  # None: a pragma PostgreSQL has no use for
    is_pragma: bool  # said in PostgreSQL's words, without the caller's parameters
    builds_index: bool


@lru_cache(maxsize=4096)
def _statement(sql: str) -> _Statement:
    """What `PgConnection.execute` makes of a text, worked out once per text (step 1's lookup runs
    the same one all day: normalising and matching it each time was a fifth of its client time)."""
    pragma = _pragma(sql)
    if pragma == "":
        return _Statement(None, True, False)
    t = translate(sql if pragma is None else pragma)
    return _Statement(t, pragma is not None, t.sql[:20].lower().startswith(("create index", "create unique index")))


def _pragma(sql: str) -> str | None:
    key = " ".join(sql.split()).lower()
    if key in _PRAGMAS:
        return _PRAGMAS[key]
    if key.startswith("pragma"):
        return ""
    return None


class PgTable:
    """db["name"]: the sqlite-utils Table methods the services use."""

    def __init__(self, db: "PgDatabase", name: str) -> None:
        self.db, self.name = db, name
        self.last_pk: Any = None
        self.last_rowid: Any = None

    @property
    def pks(self) -> list[str]:
        return self.db.primary_key(self.name)

    def exists(self) -> bool:
        return self.db.execute("select to_regclass(?) is not null", [self.name]).fetchone()[0]

    @property
    def columns(self) -> list[Column]:
        rows = self.db.execute(
            "select c.column_name, c.data_type, c.is_nullable = 'NO', c.column_default, "
            "c.column_name = any(?) from information_schema.columns c "
            "where c.table_schema = current_schema() and c.table_name = ? order by c.ordinal_position",
            [self.pks, self.name]).fetchall()
        return [Column(name, _SQLITE_TYPES.get(kind, "TEXT"), notnull, None if ident else default, is_pk)
                for name, kind, notnull, default, is_pk in rows
                for ident in [default is None and is_pk]]

    @property
    def count(self) -> int:
        return self.db.execute(f'select count(*) from "{self.name}"').fetchone()[0]

    def get(self, pk_values) -> dict:
        pks = self.pks
        values = pk_values if isinstance(pk_values, (list, tuple)) else [pk_values]
        where = " and ".join(f'"{k}" = ?' for k in pks)
        rows = list(self.db.query(f'select * from "{self.name}" where {where}', list(values)))
        if not rows:
            raise NotFoundError
        return rows[0]

    def rows_where(self, where: str | None = None, where_args: Sequence | None = None, order_by: str | None = None,
                   limit: int | None = None, select: str = "*") -> Iterator[dict]:
        sql = f'select {select} from "{self.name}"'
        if where:
            sql += f" where {where}"
        if order_by:
            sql += f" order by {order_by}"
        if limit is not None:
            sql += f" limit {int(limit)}"
        return self.db.query(sql, where_args or [])

    @property
    def rows(self) -> Iterator[dict]:
        return self.rows_where()

    def update(self, pk_values, updates: dict | None = None, **_) -> "PgTable":
        self.get(pk_values)  # NotFoundError, as sqlite-utils
        if updates:
            pks = self.pks
            values = pk_values if isinstance(pk_values, (list, tuple)) else [pk_values]
            sets = ", ".join(f'"{k}" = ?' for k in updates)
            where = " and ".join(f'"{k}" = ?' for k in pks)
            self.db.execute(f'update "{self.name}" set {sets} where {where}', [*updates.values(), *values])
        self.last_pk = pk_values
        return self

    def _insert_sql(self, columns: list[str], conflict: str) -> str:
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        pks = self.pks
        returning = ", ".join(f'"{k}"' for k in pks) if pks else "ctid"
        return f'insert into "{self.name}" ({cols}) values ({marks}) {conflict} returning {returning}'

    def _conflict(self, columns: list[str], ignore: bool, replace: bool, pk) -> str:
        keys = [pk] if isinstance(pk, str) else list(pk) if pk else self.pks
        if ignore:
            return "on conflict do nothing"
        if replace:
            target = ", ".join(f'"{k}"' for k in keys)
            sets = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
            return f"on conflict ({target}) do update set {sets}" if sets else f"on conflict ({target}) do nothing"
        return ""

    def insert(self, record: dict, pk=None, ignore: bool = False, replace: bool = False, **_) -> "PgTable":
        columns = list(record)
        sql = self._insert_sql(columns, self._conflict(columns, ignore, replace, pk))
        row = self.db.execute(sql, [_value(v) for v in record.values()]).fetchone()
        pks = self.pks
        if row is None:  # ignored: the key given is the key of the row that was there
            row = tuple(record.get(k) for k in pks)
        self.last_pk = row[0] if len(row) == 1 else tuple(row)
        self.last_rowid = self.last_pk
        return self

    def insert_all(self, records: Iterable[dict], pk=None, ignore: bool = False, replace: bool = False,
                   **_) -> "PgTable":
        for record in records:
            self.insert(record, pk=pk, ignore=ignore, replace=replace)
        return self

    def upsert(self, record: dict, pk=None, **_) -> "PgTable":
        return self.insert(record, pk=pk, replace=True)

    def upsert_all(self, records: Iterable[dict], pk=None, **_) -> "PgTable":
        return self.insert_all(records, pk=pk, replace=True)

    def delete_where(self, where: str | None = None, where_args: Sequence | None = None) -> "PgTable":
        self.db.execute(f'delete from "{self.name}"' + (f" where {where}" if where else ""), where_args or [])
        return self

    # -- schema (migrations) -------------------------------------------------------------
    def create(self, columns: dict, pk=None, not_null: Iterable[str] = (), defaults: dict | None = None,
               foreign_keys: Iterable = (), **_) -> "PgTable":
        """CREATE TABLE as sqlite-utils lays it out: a single integer key numbers itself (SQLite's
        rowid alias); foreign keys are deferrable (the roster import defers them to COMMIT)."""
        defaults = defaults or {}
        not_null = set(not_null)
        keys = [pk] if isinstance(pk, str) else list(pk or [])
        lines = []
        for name, kind in columns.items():
            line = f'"{name}" {_TYPES[kind]}'
            if keys == [name] and kind is int:
                line += " generated by default as identity"
            if name in not_null:
                line += " not null"
            if name in defaults:
                line += f" default {_literal(defaults[name])}"
            lines.append(line)
        if keys:
            lines.append("primary key (" + ", ".join(f'"{k}"' for k in keys) + ")")
        for fk in foreign_keys:
            column, other = fk[0], fk[1]
            other_column = fk[2] if len(fk) > 2 else self.db.primary_key(other)[0]
            lines.append(f'constraint "fk_{self.name}_{column}" foreign key ("{column}") '
                         f'references "{other}" ("{other_column}") deferrable initially immediate')
        self.db.execute(f'create table "{self.name}" (\n  ' + ",\n  ".join(lines) + "\n)")
        return self

    def add_column(self, name: str, kind=str, **_) -> "PgTable":
        """sqlite-utils' add_column: a nullable column of the given Python type."""
        self.db.execute(f'alter table "{self.name}" add column "{name}" {_TYPES[kind]}')
        return self

    def create_index(self, columns: Sequence[str], index_name: str | None = None, unique: bool = False,
                     if_not_exists: bool = False, **_) -> "PgTable":
        name = index_name or "idx_{}_{}".format(self.name.replace(" ", "_"), "_".join(columns))
        self.db.execute(f'create {"unique " if unique else ""}index {"if not exists " if if_not_exists else ""}'
                        f'"{name}" on "{self.name}" (' + ", ".join(f'"{c}"' for c in columns) + ")")
        return self


def _literal(value) -> str:
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _value(value):
    if isinstance(value, (dict, list)):

        return json.dumps(value, ensure_ascii=False)
    return value


class PgDatabase:
    """The adapter: a sqlite-utils-like Database over one psycopg connection."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.conn = PgConnection(url)
        self._pks: dict[str, list[str]] = {}

    def execute(self, sql: str, params: Sequence | None = None):
        if sql.lstrip()[:6].lower() in ("create", "alter ", "drop t", "drop i"):
            self._pks.clear()
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence | None = None) -> Iterator[dict]:
        yield from self.conn.execute(sql, params, row_factory=dict_row)

    def __getitem__(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table(self, name: str) -> PgTable:
        return PgTable(self, name)

    def primary_key(self, table: str) -> list[str]:
        if table not in self._pks:
            rows = self.conn.execute(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                "and a.attnum = any(i.indkey) where i.indrelid = to_regclass(?) and i.indisprimary "
                "order by array_position(i.indkey, a.attnum)", [f'"{table}"']).fetchall()
            self._pks[table] = [r[0] for r in rows]
        return self._pks[table]

    def table_names(self) -> list[str]:
        return [r[1] for r in self.conn.execute("pragma main.table_list").fetchall()]

    def close(self) -> None:
        self.conn.close()


class PgScanBudget(_sqlite.ScanBudget):
    """SQLite's scan budget as a statement timeout: each scan may run for what is left of it. Most
    fragments go through the trigram indexes well within it; one too short for a trigram (under
    three characters) is a scan, stopped as SQLite stops it."""

    def __enter__(self) -> "PgScanBudget":
        return self

    def __exit__(self, *exc) -> None:
        if not self.conn.raw.closed and not self.conn.in_transaction:
            self.conn.execute("reset statement_timeout")

    def _run(self, sql: str, args: list) -> list:
        left_ms = max(1, int((self.deadline - time.monotonic()) * 1000))
        self.conn.execute("select set_config('statement_timeout', ?, false)", [str(left_ms)])
        return self.conn.execute(sql, args).fetchall()

    @staticmethod
    def _interrupted(exc: BaseException) -> bool:
        return isinstance(exc, pg_errors.QueryCanceled)


# -- migrations ------------------------------------------------------------------------------

def migrate(db: PgDatabase) -> None:
    """The same migration functions as SQLite's, in the same order, recorded in the same table
    (`_sqlite_migrations`), all in one transaction under an advisory lock: terminals starting
    together on an empty database wait for the first, then find nothing left to do. A migration
    whose body is SQLite's own (triggers, a WITHOUT ROWID rebuild) runs its PostgreSQL twin below."""

    conn = db.conn
    conn.execute("begin")
    try:
        conn.execute("select pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
        _bootstrap(db)
        done = {r[0] for r in conn.execute("select name from _sqlite_migrations where migration_set = ?", [m.name])}
        for migration in m._migrations:
            if migration.name in done:
                continue
            (PG_BODIES.get(migration.name) or migration.fn)(db)
            conn.execute("insert into _sqlite_migrations (migration_set, name, applied_at) values (?, ?, ?)",
                         [m.name, migration.name, str(datetime.datetime.now(datetime.timezone.utc))])
        conn.execute("commit")
    except BaseException:
        if conn.in_transaction:
            conn.execute("rollback")
        raise


def _bootstrap(db: PgDatabase) -> None:
    """What SQLite has built in: a case-blind collation for `collate nocase`, trigram search, the
    migrations record (laid out as sqlite-utils lays it out)."""
    conn = db.conn
    if conn.execute("select 1 from pg_collation where collname = 'nocase'").fetchone() is None:
        conn.execute("create collation nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false)")
    conn.execute("create extension if not exists pg_trgm")
    if not db["_sqlite_migrations"].exists():
        db["_sqlite_migrations"].create({"id": int, "migration_set": str, "name": str, "applied_at": str}, pk="id")
        db["_sqlite_migrations"].create_index(["migration_set", "name"], unique=True)


def _pg_outbox_recipients(db: PgDatabase) -> None:
    """migrations.m_outbox_recipients: the per-recipient summary, kept by triggers on outbox."""
    db.execute("""create table outbox_recipients (
        recipient text primary key, channel text, last_id bigint not null,
        total bigint not null default 0, unread bigint not null default 0)""")
    db.execute("create index idx_outbox_recipients_last on outbox_recipients (last_id)")
    db.execute("create index idx_outbox_queued on outbox (deliver_at) where status = 'queued'")
    unread = "(case when {0}.read = 0 and {0}.status = 'sent' then 1 else 0 end)"
    recount = f"""
          delete from outbox_recipients where recipient in (old.recipient, new.recipient);
          insert into outbox_recipients (recipient, channel, last_id, total, unread)
            select recipient, (array_agg(channel order by id desc))[1], max(id), count(*), sum({unread.format('outbox')})
            from outbox where recipient in (old.recipient, new.recipient) group by recipient;"""
    db.execute(f"""create function outbox_recipients_sync() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          if new.recipient is not null then
            insert into outbox_recipients as r (recipient, channel, last_id, total, unread)
            values (new.recipient, new.channel, new.id, 1, {unread.format('new')})
            on conflict (recipient) do update set last_id = greatest(r.last_id, excluded.last_id),
              total = r.total + 1, unread = r.unread + excluded.unread, channel = excluded.channel;
          end if;
        elsif tg_op = 'UPDATE' then
          if new.recipient is distinct from old.recipient then {recount}
          elsif new.recipient is not null then
            update outbox_recipients set unread = unread + {unread.format('new')} - {unread.format('old')}
            where recipient = new.recipient;
          end if;
        elsif old.recipient is not null then
          update outbox_recipients set total = total - 1, unread = unread - {unread.format('old')},
            last_id = coalesce((select max(id) from outbox where recipient = old.recipient), 0)
          where recipient = old.recipient;
          delete from outbox_recipients where recipient = old.recipient and total <= 0;
        end if;
        return null;
      end $$""")
    db.execute("create trigger outbox_recipients_sync after insert or update of read, status, recipient "
               "or delete on outbox for each row execute function outbox_recipients_sync()")


def _pg_members_by_lookup_key(db: PgDatabase) -> None:
    """migrations.m_members_by_lookup_key: members keyed by (団体ID, 認証キー1), `id` unique and
    handed out by the roster import. PostgreSQL has no WITHOUT ROWID: the same primary key on a
    plain table (its index finds the row in one descent too)."""
    db.execute("alter table members add constraint members_id_key unique (id)")
    db.execute('alter table account_members drop constraint "fk_account_members_member_id"')
    db.execute("alter table members drop constraint members_pkey")
    db.execute("alter table members alter column id drop identity")
    db.execute("alter table members add primary key (group_id, auth_key_1)")
    db.execute("drop index idx_members_group_id_auth_key_1")
    db.execute('alter table account_members add constraint "fk_account_members_member_id" foreign key (member_id) '
               "references members (id) deferrable initially immediate")


def _pg_search_fragments(db: PgDatabase) -> None:
    """migrations.m_search_fragments: trigram indexes (pg_trgm) for the helpdesk's fragment search,
    on the very expressions it matches with LIKE (names without their spaces, login keys)."""
    for column in ("name", "kana"):
        db.execute(f"create index idx_members_{column}_trgm on members using gin "
                   f"((replace(replace({column}, ' ', ''), '　', '')) gin_trgm_ops)")
    db.execute("create index idx_accounts_login_key_trgm on accounts using gin (login_key gin_trgm_ops)")


def _pg_name_prefixes_by_pattern(db: PgDatabase) -> None:
    """migrations.m_name_prefixes_by_pattern: a GLOB prefix becomes LIKE '山田%', which a b-tree in
    the database's collation cannot answer (unless it is C): the same indexes, in code-point order."""
    for column in ("name", "kana"):
        db.execute(f"drop index if exists idx_members_{column}")
        db.execute(f"create index idx_members_{column} on members ({column} text_pattern_ops)")


def _pg_member_names(db: PgDatabase) -> None:
    """migrations.m_member_names: the same table, filled the same way; the trigrams of its names
    (the expression the search matches with LIKE) indexed instead of the members' (10 M rows
    each, and a three-character fragment's one trigram listed tens of thousands of them)."""
    m_member_names(db)
    db.execute("create index idx_member_names_trgm on member_names using gin "
               "((replace(replace(value, ' ', ''), '　', '')) gin_trgm_ops)")
    for column in ("name", "kana"):
        db.execute(f"drop index if exists idx_members_{column}_trgm")
    db.execute("analyze member_names")


PG_BODIES = {
    "m_member_names": _pg_member_names,
    "m_name_prefixes_by_pattern": _pg_name_prefixes_by_pattern,
    "m_search_fragments": _pg_search_fragments,
    "m_outbox_recipients": _pg_outbox_recipients,
    "m_members_by_lookup_key": _pg_members_by_lookup_key,
}


# -- the store -------------------------------------------------------------------------------

class PgStore:
    """One connection per thread, as the SQLite store; write transactions one at a time."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.path = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[PgDatabase] = []
        try:
            migrate(self.db)
        except psycopg.OperationalError as exc:
            raise pg_busy_error(exc) from exc

    @property
    def db(self) -> PgDatabase:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = PgDatabase(self.path)
            except psycopg.OperationalError as exc:
                raise pg_busy_error(exc) from exc
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    @contextmanager
    def tx(self):
        """One write transaction, behind every other terminal's (the writer lock, as BEGIN IMMEDIATE)."""
        db = self.db
        conn = db.conn
        if conn.in_transaction:
            yield db
            return
        try:
            conn.execute("begin")
            conn.execute("select pg_advisory_xact_lock(?)", [WRITER_LOCK])
        except psycopg.Error as exc:
            self._after_error(db, exc)
            raise pg_busy_error(exc) from exc
        try:
            yield db
        except BaseException as exc:
            self._after_error(db, exc)
            if isinstance(exc, psycopg.Error) and is_pg_busy(exc):
                raise pg_busy_error(exc) from exc
            raise
        else:
            try:
                conn.execute("commit")
            except psycopg.Error as exc:
                self._after_error(db, exc)
                if is_pg_busy(exc):
                    raise pg_busy_error(exc) from exc
                raise

    def _after_error(self, db: PgDatabase, exc: BaseException) -> None:
        """Roll back; a connection the server dropped is replaced at its next statement."""
        raw = db.conn.raw
        try:
            if db.conn.in_transaction:
                raw.execute("rollback")
        except psycopg.Error:
            raw.close()

    def close(self) -> None:
        with self._lock:
            dbs, self._all = self._all, []
        for db in dbs:
            try:
                db.close()
            except Exception:
                pass
        self._local = threading.local()
