"""Audit export benchmark: `bene-tui audit export` over N audit rows, rows/s and peak RSS per format.

    python bench/audit_export_bench.py [N]        # default N = 1,000,000
    python bench/audit_export_bench.py --target   # the target run of issue 16: N = 10,000,000
    python bench/audit_export_bench.py 200000 --keep /tmp/bench   # keep the generated database
    python bench/audit_export_bench.py [N] --db pg   # on PostgreSQL: a durable server of its own

The rows are generated in SQL (a recursive CTE: a few seconds per million) with realistic
actions, subjects and details over 30 days. Each export runs as the real command in its own
child process, its output to /dev/null; its peak RSS is that child's ru_maxrss (os.wait4).
The export reads FETCH rows at a time (on PostgreSQL through a server-side cursor), so peak RSS
should not grow with N. With `--db pg` the server is started as bench/pg_bench.py starts it
(Debian's binaries, Unix socket only) and the same rows are generated with generate_series.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACTIONS = ("registration.start", "registration.credentials", "code.checked", "registration.complete",
           "auth.login", "recovery.reset_start", "family.invite", "kiosk.wipe")
START = 1774998000.0  # 2026-04-01, spread over 30 days from here


def build(db_path: Path, n: int) -> float:
    """N audit rows written by SQLite itself; returns the seconds it took."""
    from bene_tui.store import Store

    store = Store(db_path)  # the real schema (migrations)
    conn = store.db.conn
    actions = ", ".join(f"('{a}')" for a in ACTIONS)
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.execute(f"create temp table acts(i integer primary key, a text)")
    conn.execute(f"insert into acts(a) values {actions}")
    conn.execute(f"""
        with recursive seq(i) as (select 1 union all select i + 1 from seq where i < {n})
        insert into audit (id, at, terminal, actor, action, subject, outcome, reason, detail)
        select i, {START} + i * (30.0 * 86400 / {n}), 'kiosk-' || (i % 24), 'user',
               (select a from acts where acts.i = 1 + i % {len(ACTIONS)}),
               'flow:' || lower(hex(randomblob(8))), case when i % 13 = 0 then 'refused' else 'ok' end,
               case when i % 13 = 0 then 'wrong code, 3 attempts left' end,
               case when i % 3 = 0 then '{{"purpose": "verification", "channel": "email"}}' end
        from seq""")
    conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    store.close()
    return seconds


def build_pg(url: str, n: int) -> float:
    """The same rows as `build`, written by PostgreSQL itself (generate_series)."""
    import psycopg

    from bene_tui.store import open_store

    open_store(url).close()  # the real schema (migrations)
    actions = "array[" + ", ".join(f"'{a}'" for a in ACTIONS) + "]"
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute(f"""
            insert into audit (id, at, terminal, actor, action, subject, outcome, reason, detail)
            overriding system value
            select i, {START} + i * (30.0 * 86400 / {n}), 'kiosk-' || (i % 24), 'user',
                   ({actions})[1 + i % {len(ACTIONS)}],
                   'flow:' || substr(md5(random()::text), 1, 16), case when i % 13 = 0 then 'refused' else 'ok' end,
                   case when i % 13 = 0 then 'wrong code, 3 attempts left' end,
                   case when i % 3 = 0 then '{{"purpose": "verification", "channel": "email"}}' end
            from generate_series(1, {n}) i""")
        conn.execute("select setval(pg_get_serial_sequence('audit', 'id'), (select max(id) from audit))")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze audit")
    return time.perf_counter() - t0


def export(db_path: Path | str, fmt: str, env: dict) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one `bene-tui audit export` in a child process."""
    cmd = [sys.executable, "-m", "bene_tui.cli", "--db", str(db_path), "audit", "export", "--format", fmt]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"export failed ({child.returncode}): {' '.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=int, default=1_000_000)
    p.add_argument("--target", action="store_true", help="N = 10,000,000")
    p.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    p.add_argument("--db", choices=["pg"], help="pg: on PostgreSQL, a server this script starts")
    args = p.parse_args()
    n = 10_000_000 if args.target else args.n
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bene-audit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "audit.db"
    env = {**os.environ, "BENE_TUI_NO_KEYRING": "1", "BENE_TUI_SECRETS_FILE": str(work / "secrets.json"),
           "BENE_TUI_CONFIG": str(work / "none.toml"), "XDG_DATA_HOME": str(work / "xdg")}
    cluster = None
    try:
        if args.db == "pg":
            sys.path.insert(0, str(ROOT / "tests"))
            from pg_cluster import Cluster, find_bindir

            if find_bindir() is None:
                raise SystemExit("no PostgreSQL server binaries (apt-get install postgresql)")
            cluster = Cluster(find_bindir()).start(durable=True)
            import psycopg

            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                conn.execute("create database bench_audit")
            db_path = cluster.url("bench_audit")
            print(f"building {n:,} audit rows on PostgreSQL ...", flush=True)
            print(f"  built in {build_pg(db_path, n):.1f} s", flush=True)
        elif not db_path.exists():
            print(f"building {n:,} audit rows ...", flush=True)
            print(f"  built in {build(db_path, n):.1f} s ({db_path.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        print(f"{'format':8} {'rows':>12} {'seconds':>9} {'rows/s':>10} {'peak RSS':>10}")
        for fmt in ("jsonl", "csv"):
            seconds, rss = export(db_path, fmt, env)
            print(f"{fmt:8} {n:>12,} {seconds:>9.1f} {n / seconds:>10,.0f} {rss:>7.0f} MiB", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
