"""Demo snapshot benchmark: `snapshots.save` and `snapshots.load` of an N-member store.

    python bench/snapshot_bench.py [N]     # default N = 1,000,000 members
    python bench/snapshot_bench.py [N] --db pg   # PostgreSQL: pg_dump / pg_restore on a server of its own

The store is built as import_bench.py's baseline builds it (the real schema and indexes, rows
from _gen.py). Then: save it (the online backup API, from a live WAL database), load the
snapshot back into it while another connection holds the store open (as a running terminal
would), and check the loaded store. Snapshots go to a temporary XDG_DATA_HOME.
With `--db pg`: a durable server started as bench/pg_bench.py starts it, the store built by the
app's own import (pg_bench.build), and the same three steps.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=int, default=1_000_000, help="members (default 1,000,000)")
    p.add_argument("--db", choices=["pg"], help="pg: on PostgreSQL, a server this script starts")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bene-snap-bench-"))
    os.environ["XDG_DATA_HOME"] = str(work / "xdg")
    try:
        if args.db == "pg":
            return _pg(args.n, work)
        import import_bench

        from bene_tui import snapshots

        t = time.perf_counter()
        import_bench.child("plain", work, args.n)
        db = str(work / "plain.db")
        size = sum(Path(db + s).stat().st_size for s in ("", "-wal") if Path(db + s).exists())
        print(f"built a store of {args.n:,} members in {time.perf_counter() - t:.1f} s ({size / 2**20:,.0f} MiB)")

        snap = snapshots.save(db, "bench")
        _saved(snap)
        terminal = sqlite3.connect(db)  # another terminal with the store open
        terminal.execute("delete from members where id % 2 = 0")
        terminal.commit()
        snap = snapshots.load(db, "bench")
        _loaded(snap)
        members = terminal.execute("select count(*) from members").fetchone()[0]
        ok = terminal.execute("pragma quick_check").fetchone()[0]
        terminal.close()
        print(f"after load: {members:,} members, quick_check {ok}")
        assert members == args.n and ok == "ok"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _saved(snap) -> None:
    print(f"save: {snap.seconds:6.2f} s  ({snap.bytes / 2**20:,.0f} MiB, {snap.bytes / 2**20 / snap.seconds:,.0f} MiB/s)")


def _loaded(snap) -> None:
    print(f"load: {snap.seconds:6.2f} s  (into the live store, another connection open)")


def _pg(n: int, work: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "tests"))
    import pg_bench
    from pg_cluster import Cluster, find_bindir

    from bene_tui import snapshots
    from bene_tui.store.postgres import PgDatabase

    if find_bindir() is None:
        raise SystemExit("no PostgreSQL server binaries (apt-get install postgresql)")
    cluster = Cluster(find_bindir()).start(durable=True)
    os.chmod(work, 0o755)  # the import's child reads the roster file; the server never does
    try:
        t = time.perf_counter()
        url = pg_bench.build(cluster, n, work)
        terminal = PgDatabase(url)  # another terminal with the store open
        size = terminal.execute("select pg_database_size(current_database())").fetchone()[0]
        print(f"built a store of {n:,} members in {time.perf_counter() - t:.1f} s ({size / 2**20:,.0f} MiB)")
        _saved(snapshots.save(url, "bench"))
        terminal.execute("delete from members where id % 2 = 0 and id not in (select member_id from account_members)")
        _loaded(snapshots.load(url, "bench"))
        members = terminal.execute("select count(*) from members").fetchone()[0]
        terminal.close()
        print(f"after load: {members:,} members")
        assert members == n
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
