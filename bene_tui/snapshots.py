"""Demo snapshots: the whole store saved under a name and loaded back, while terminals run.

SQLite: the online backup API both ways. Saving copies one consistent read snapshot of the live
file (writers elsewhere carry on); loading copies the snapshot into the live database through
its own connection, under its write lock, so terminals that have it open see the old contents
or the new, never a mix (a file copy over an open WAL database would corrupt it).
PostgreSQL: pg_dump's custom format (one consistent snapshot of the database, taken while
terminals write) and pg_restore --clean in one transaction (terminals see the old contents or the
new, and their connections carry on; a statement that meets the restore's locks waits for it).
The client tools are looked for on the PATH, then beside Debian's server binaries.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")  # no dots or slashes: no way out of the folder
AUTO = "demo-start"  # what a demo started from, saved at its start unless `demo --load` chose one
SETTING = "demo.snapshot"  # the name `demo --load` loaded last (the app's rewind point)
SQLITE_SUFFIX, PG_SUFFIX = ".sqlite", ".pgdump"
REQUIRED_TABLES = {"organisations", "members", "accounts", "audit", "settings"}
PG_BINDIRS = "/usr/lib/postgresql/*/bin"  # Debian's postgresql-client-NN (newest first)


class SnapshotError(ValueError):
    """A message for the person at the command line (main() prints ValueErrors without a traceback)."""


@dataclass
class Snapshot:
    name: str
    path: Path
    bytes: int
    saved_at: float
    seconds: float = 0.0


def snapshots_dir() -> Path:
    from .paths import user_data_dir

    path = user_data_dir() / "snapshots"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name or ""):
        raise SnapshotError(f"a snapshot name is 1 to 40 letters, digits, '-' or '_', starting with a letter or "
                            f"digit: {name[:60]!r}")
    return name


def is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def available() -> list[Snapshot]:
    out = []
    for path in sorted(snapshots_dir().iterdir()):
        if path.suffix in (SQLITE_SUFFIX, PG_SUFFIX) and NAME_RE.fullmatch(path.stem):
            st = path.stat()
            out.append(Snapshot(path.stem, path, st.st_size, st.st_mtime))
    return out


def find(name: str, db: str | None = None) -> Snapshot:
    """The snapshot NAME; of two of that name (one per kind of store), the one `db` can load."""
    check_name(name)
    found = [snap for snap in available() if snap.name == name]
    if db is not None:
        found.sort(key=lambda snap: (snap.path.suffix == PG_SUFFIX) != is_postgres(db))
    if found:
        return found[0]
    raise SnapshotError(f"no snapshot named {name!r}; `bene-tui demo --list` shows them")


def save(db: str, name: str) -> Snapshot:
    """Copy the live store to the snapshot NAME (replacing one of that name), file mode 0600."""
    check_name(name)
    t0 = time.perf_counter()
    if is_postgres(db):
        target = snapshots_dir() / (name + PG_SUFFIX)
        tmp = Path(f"{target}.tmp")
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private before a byte is written
        try:
            _pg("pg_dump", "--format=custom", "--no-owner", f"--file={tmp}", db)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    else:
        target = snapshots_dir() / (name + SQLITE_SUFFIX)
        _sqlite_save(db, Path(f"{target}.tmp"))
    os.replace(f"{target}.tmp", target)  # a whole snapshot or the previous one
    snap = find(name, db)
    snap.seconds = time.perf_counter() - t0
    return snap


def load(db: str, name: str) -> Snapshot:
    """Replace the live store's contents by the snapshot NAME."""
    snap = find(name, db)
    t0 = time.perf_counter()
    if is_postgres(db) != (snap.path.suffix == PG_SUFFIX):
        raise SnapshotError(f"snapshot {name!r} was saved from a {'PostgreSQL' if snap.path.suffix == PG_SUFFIX else 'SQLite'} "
                            "store and cannot be loaded into this one")
    if is_postgres(db):
        _pg_load(snap.path, db)
    else:
        _sqlite_load(snap.path, db)
    snap.seconds = time.perf_counter() - t0
    return snap


# -- SQLite ------------------------------------------------------------------------------------

def _connect(path, **kw) -> sqlite3.Connection:
    from .store import BUSY_TIMEOUT_MS

    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, **kw)
    conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _sqlite_save(db: str, tmp: Path) -> None:
    if not Path(db).is_file():
        raise SnapshotError(f"no database at {db}")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # SQLite keeps the mode of the file
    src, dst = _connect(db), _connect(tmp)
    try:
        src.backup(dst)  # in one step: one consistent read of the live file
        dst.execute("pragma journal_mode = delete")  # a single self-contained file
    except BaseException:
        dst.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()


def _sqlite_load(path: Path, db: str) -> None:
    src = _connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            tables = {r[0] for r in src.execute("select name from sqlite_master where type = 'table'")}
        except sqlite3.DatabaseError:  # "file is not a database"
            tables = set()
        if not REQUIRED_TABLES <= tables:
            raise SnapshotError(f"{path.name} is not a bene-tui snapshot")
        live = _connect(db)
        try:
            src.backup(live)  # one step under the live file's write lock (waits for other terminals' writes)
        except sqlite3.OperationalError as exc:
            raise SnapshotError(f"could not load {path.name} into {db}: {exc}") from exc
        finally:
            live.close()
    finally:
        src.close()


# -- PostgreSQL --------------------------------------------------------------------------------

def pg_tool(tool: str) -> str | None:
    """pg_dump or pg_restore: on the PATH, else beside the newest of Debian's server binaries."""
    found = shutil.which(tool)
    if found:
        return found
    for bindir in sorted(glob.glob(PG_BINDIRS), key=lambda d: int(re.sub(r"\D", "", d) or 0), reverse=True):
        if os.access(os.path.join(bindir, tool), os.X_OK):
            return os.path.join(bindir, tool)
    return None


def check_tools(db: str) -> None:
    """Before anything is opened: a PostgreSQL store needs the PostgreSQL client tools."""
    if is_postgres(db):
        missing = [tool for tool in ("pg_dump", "pg_restore") if pg_tool(tool) is None]
        if missing:
            raise SnapshotError("snapshots of a PostgreSQL store need pg_dump and pg_restore (the PostgreSQL "
                                "client tools, e.g. Debian's postgresql-client) on the PATH or in "
                                f"{PG_BINDIRS}; "
                                f"not found: {', '.join(missing)}")


def _pg(tool: str, *args: str) -> str:
    """Run pg_dump or pg_restore; their output."""
    check_tools("postgresql://")
    done = subprocess.run([pg_tool(tool), *args], capture_output=True, text=True)
    if done.returncode:
        raise SnapshotError(f"{tool} failed: {done.stderr.strip()[:500]}")
    return done.stdout


def _pg_load(path: Path, db: str) -> None:
    """Check the archive's table of contents, then replace the database's objects by the archive's,
    all in one transaction (a failure leaves the store as it was). Comments are left out: only the
    owner of an extension may set its comment."""
    try:
        contents = _pg("pg_restore", "--list", str(path))
    except SnapshotError:
        raise SnapshotError(f"{path.name} is not a bene-tui snapshot") from None
    tables = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", contents, re.MULTILINE))
    if not REQUIRED_TABLES <= tables:
        raise SnapshotError(f"{path.name} is not a bene-tui snapshot")
    _pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--no-comments", "--single-transaction",
        f"--dbname={db}", str(path))
    _drop_newer(db, tables, set(re.findall(r"^\d+; \d+ \d+ FUNCTION \S+ (\w+)\(", contents, re.MULTILINE)))


def _drop_newer(db: str, tables: set[str], functions: set[str]) -> None:
    """pg_restore --clean replaces what the archive holds and leaves the rest: tables and functions
    made by migrations newer than the snapshot, which the restored migration record no longer
    lists. Dropped, so the migration after the load makes them anew (as a SQLite load replaces the
    whole file). Not the extensions' own functions (pg_trgm's)."""
    import psycopg

    with psycopg.connect(db) as conn:  # one transaction
        live = [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = current_schema()")]
        for name in sorted(set(live) - tables):
            conn.execute(f'drop table if exists "{name}" cascade')
        own = conn.execute(
            "select p.oid::regprocedure::text, p.proname from pg_proc p where p.pronamespace = current_schema()::regnamespace "
            "and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')").fetchall()
        for signature, name in own:
            if name not in functions:
                conn.execute(f"drop function if exists {signature} cascade")


# -- with a Context: the CLI's load and the demo's rewind point --------------------------------

def restore(ctx, name: str, remember: bool = False) -> Snapshot:
    """Load NAME into ctx's store (migrating an older snapshot), audited; `remember`: make it the
    demo's rewind point (`demo --load`)."""
    from . import audit
    from .store import migrate

    snap = load(ctx.store.path, name)
    migrate(ctx.db)
    with ctx.tx() as db:
        if remember:
            db["settings"].upsert({"key": SETTING, "value": name}, pk="key")
        audit.record(ctx, "demo.snapshot_load", f"terminal:{ctx.terminal}", "ok", name=name)
    return snap


def start_point(ctx) -> str | None:
    """The snapshot this demo rewinds to: the one `demo --load` loaded, else the store as it is now."""
    row = ctx.db.execute("select value from settings where key = ?", [SETTING]).fetchone()
    suffix = PG_SUFFIX if is_postgres(ctx.store.path) else SQLITE_SUFFIX
    if row and any(s.name == row[0] and s.path.suffix == suffix for s in available()):
        return row[0]
    if ctx.store.path == ":memory:":
        return None
    try:
        check_tools(ctx.store.path)
    except SnapshotError:
        return None  # PostgreSQL without its client tools: the demo runs on, without a rewind point
    save(ctx.store.path, AUTO)
    return AUTO
