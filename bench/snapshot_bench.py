"""Demo snapshot benchmark: `snapshots.save` and `snapshots.load` of an N-member store.

    python bench/snapshot_bench.py [N]     # default N = 1,000,000 members

The store is built as import_bench.py's baseline builds it (the real schema and indexes, rows
from _gen.py). Then: save it (the online backup API, from a live WAL database), load the
snapshot back into it while another connection holds the store open (as a running terminal
would), and check the loaded store. Snapshots go to a temporary XDG_DATA_HOME.
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
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bene-snap-bench-"))
    os.environ["XDG_DATA_HOME"] = str(work / "xdg")
    try:
        import import_bench

        from bene_tui import snapshots

        t = time.perf_counter()
        import_bench.child("plain", work, args.n)
        db = str(work / "plain.db")
        size = sum(Path(db + s).stat().st_size for s in ("", "-wal") if Path(db + s).exists())
        print(f"built a store of {args.n:,} members in {time.perf_counter() - t:.1f} s ({size / 2**20:,.0f} MiB)")

        snap = snapshots.save(db, "bench")
        print(f"save: {snap.seconds:6.2f} s  ({snap.bytes / 2**20:,.0f} MiB, {snap.bytes / 2**20 / snap.seconds:,.0f} MiB/s)")
        terminal = sqlite3.connect(db)  # another terminal with the store open
        terminal.execute("delete from members where id % 2 = 0")
        terminal.commit()
        snap = snapshots.load(db, "bench")
        print(f"load: {snap.seconds:6.2f} s  (into the live store, another connection open)")
        members = terminal.execute("select count(*) from members").fetchone()[0]
        ok = terminal.execute("pragma quick_check").fetchone()[0]
        terminal.close()
        print(f"after load: {members:,} members, quick_check {ok}")
        assert members == args.n and ok == "ok"
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
