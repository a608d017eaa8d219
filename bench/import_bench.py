"""Roster import benchmark: bene-tui's JSON and CSV import against plain sqlite3 executemany.

    python bench/import_bench.py [N]          # default N = 1,000,000
    python bench/import_bench.py --target     # the target run of issue 6: N = 10,000,000
    python bench/import_bench.py 200000 --keep /tmp/bench   # keep the generated files
    python bench/import_bench.py --target --modes json      # only some of plain,json,csv
    python bench/import_bench.py --target --keep /tmp/bench --against ../old   # beside another checkout

Generates N members as JSON (1 organisation per 10,000 members) and as CSV (one organisation),
then imports each into a fresh database, every measurement in its own child process so that
its peak RSS (getrusage ru_maxrss) is its own. The baseline is plain `executemany` of the
same, already-clean rows into the same schema (migrations, same connection PRAGMAs, SQLite's
default page cache), in one transaction; only executemany and COMMIT are timed (generating the
rows is not). The import itself raises the page cache to roster.IMPORT_CACHE_KIB for its
duration and, for a large roster, rebuilds the secondary member indexes once at the end
instead of updating them row by row: that is why it can beat the baseline. The figures to look at:
rows/s, the ratio import/plain (target >= 0.7) and peak RSS (target <= 200 MiB at 10M).
`--against CHECKOUT` also runs that checkout's own child for each import mode, on the same files
right after this one's: whether a change made the import slower, on the same machine in the same
hour. `--keep DIR` generates the files once (DIR/roster.n says for how many members).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _gen  # noqa: E402

PLAIN_INSERT = ("insert into members (id, group_id, auth_key_1, auth_key_2, name, kana, birth_date, email_on_file, "
                "services) values (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _context(db_path: Path):
    """A bare Context on a fresh database: no demo seeding, so only the roster is measured."""
    from bene_tui.core.clock import Clock
    from bene_tui.core.config import Settings
    from bene_tui.services.context import Context
    from bene_tui.services.secret_store import SecretStore
    from bene_tui.store import Store

    settings = Settings(db_path=str(db_path), terminal="bench")
    return Context(store=Store(db_path), clock=Clock(), settings=settings,
                   secret_store=SecretStore(db_path.with_suffix(".secrets.json"), use_keyring=False))


def child(mode: str, workdir: Path, n: int) -> dict:
    from bene_tui.services import roster

    db_path = workdir / f"{mode}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    if mode == "json":
        ctx = _context(db_path)
        t = time.perf_counter()
        result = roster.import_file(ctx, workdir / "roster.json")
        seconds, rows = time.perf_counter() - t, result.members
    elif mode == "csv":
        ctx = _context(db_path)
        head = workdir / "org.json"
        head.write_text(json.dumps({"organisations": [{**_gen.org_row("BX000000"), "members": []}]},
                                   ensure_ascii=False), encoding="utf-8")
        roster.import_file(ctx, head)
        t = time.perf_counter()
        result = roster.import_roster_csv(ctx, "BX000000", workdir / "roster.csv")
        seconds, rows = time.perf_counter() - t, result.members
    else:  # plain sqlite3 executemany, the baseline
        from bene_tui.store import connect, migrate

        db = connect(db_path)
        migrate(db)
        conn = db.conn
        conn.execute("pragma mmap_size = 0")  # as the import runs
        conn.execute("begin immediate")
        conn.executemany("insert into services (id, name_ja, name_en, family_allowed) values (?, ?, ?, ?)",
                         [tuple(s.values()) for s in roster.BUILTIN_SERVICES])
        conn.executemany("insert into organisations (group_id, name) values (?, ?)",
                         [(g, g) for g in _gen.org_ids(n)])
        gen, seconds, rows = _gen.rows(n), 0.0, 0
        while batch := [(rows + i + 1, *row) for i, row in enumerate(islice(gen, 50_000))]:  # member ids, untimed
            t = time.perf_counter()
            conn.executemany(PLAIN_INSERT, batch)
            seconds += time.perf_counter() - t
            rows += len(batch)
        t = time.perf_counter()
        conn.execute("commit")
        seconds += time.perf_counter() - t
    return {"mode": mode, "rows": rows, "seconds": seconds,
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=int, default=1_000_000, help="members (default 1,000,000)")
    p.add_argument("--target", action="store_true", help="the issue-6 target run: 10,000,000 members")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep the files")
    p.add_argument("--modes", default="plain,json,csv", help="which measurements (default plain,json,csv)")
    p.add_argument("--against", metavar="CHECKOUT", type=Path,
                   help="also run another checkout's import of the same files, after this one's")
    p.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args()
    n = 10_000_000 if args.target else args.n
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), n)))
        return

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bene-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        made = workdir / "roster.n"  # --keep: the files of an earlier run, if they hold n members
        if made.exists() and made.read_text() == str(n):
            print(f"reusing the {n:,} members of {workdir}")
        else:
            made.unlink(missing_ok=True)
            if "json" in args.modes:
                _gen.write_json(workdir / "roster.json", n)
            if "csv" in args.modes:
                _gen.write_csv(workdir / "roster.csv", n)
            if "json" in args.modes and "csv" in args.modes:
                made.write_text(str(n))
        sizes = ", ".join(f"{f.suffix[1:].upper()} {f.stat().st_size / 2**20:,.0f} MiB"
                          for f in sorted(workdir.glob("roster.*")) if f != made)
        print(f"generated {n:,} members in {time.perf_counter() - t:.1f} s: {sizes}  ({workdir})")
        runs = []  # (label, mode, checkout): each checkout's own child, the other's right after this one's
        labels = {"plain": "plain executemany", "json": "roster.import_file", "csv": "roster.import_roster_csv"}
        here = Path(__file__).resolve().parent.parent
        for mode in args.modes.split(","):
            runs.append((labels[mode], mode, here))
            if args.against and mode != "plain":
                runs.append((f"  {mode} of {args.against.resolve().name}", mode, args.against.resolve()))
        results = {}
        for label, mode, checkout in runs:
            env = dict(os.environ, PYTHONPATH=str(checkout))  # its bene_tui before the installed one
            out = subprocess.run([sys.executable, str(checkout / "bench" / "import_bench.py"), str(n), "--child",
                                  mode, str(workdir)], check=True, capture_output=True, text=True, env=env,
                                 cwd=checkout).stdout
            results[label] = r = json.loads(out.strip().splitlines()[-1])
            r["rate"] = r["rows"] / r["seconds"]
            (workdir / f"{mode}.db").unlink(missing_ok=True)  # disk: each database is several GB at 10M
        base = results[labels["plain"]]["rate"] if labels["plain"] in results else float("nan")
        print(f"{'':26}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'vs plain':>10}{'peak RSS':>12}")
        for label, r in results.items():
            print(f"{label:26}{r['rows']:>12,}{r['seconds']:>10.1f}{r['rate']:>12,.0f}"
                  f"{r['rate'] / base:>9.2f}x{r['max_rss_mib']:>8.0f} MiB")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
