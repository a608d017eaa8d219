"""PostgreSQL benchmarks, on a server this script starts (Debian's binaries, Unix socket only,
as tests/pg_cluster.py starts it for the tests), SQLite beside it where there is a twin.

    python bench/pg_bench.py [N]               # default N = 1,000,000; the issue's target is 10,000,000
    python bench/pg_bench.py N --only import   # import | lookup | search | register (default: all)
    python bench/pg_bench.py N --keep DIR      # the server and its databases kept in DIR for the next run

import   N members (bench/_gen.py, 10,000 per organisation) by `bene-tui import` of the JSON roster
         (COPY, store/postgres.py) into a fresh migrated database, in a child process (its peak
         RSS is its own), against `psql \\copy` of the same rows as CSV into another fresh migrated
         database. Target: rows/s ratio >= 0.8, peak RSS <= 200 MiB.
lookup   step 1's query (services/identify.py) over the Unix socket, at 1,000 and N members (the table read
         into memory first), beside `select 1` over the same socket and SQLite's lookup on files
         of the same sizes (bench/lookup_bench.py's files and loop), all taking turns; Python's
         collector off while timing, as in the app (--collector: on). Target: p99 <= 1 ms, p99
         ratio N/1,000 <= 1.5.
search   the helpdesk search for fragments from the middle of names and login IDs at N members
         (pg_trgm). Target: p99 <= 50 ms.
register bench/parallel_register.py with 16 processes on this server (--procs 16 --db URL): registrations/s
         against the Argon2id-hashing-bound limit on the same cores. Target: ratio >= 0.8.
"""

from __future__ import annotations

import argparse
import csv
import hmac
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))
import _gen  # noqa: E402
from pg_cluster import Cluster, find_bindir  # noqa: E402

COLUMNS = "id, group_id, auth_key_1, auth_key_2, name, kana, birth_date, email_on_file, services"


def fresh_database(cluster: Cluster, name: str) -> str:
    import psycopg

    from bene_tui.store import open_store

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"drop database if exists {name} with (force)")
        conn.execute(f"create database {name}")
    open_store(cluster.url(name)).close()  # migrated
    return cluster.url(name)


def orgs_sql(n: int) -> list[str]:
    return [f"insert into organisations (group_id, name, updated_at) values ('{g}', '{g}', 0)" for g in _gen.org_ids(n)]


def child_import(url: str, path: str) -> None:
    from bene_tui.core.clock import Clock
    from bene_tui.core.config import Settings
    from bene_tui.services import roster
    from bene_tui.services.context import Context
    from bene_tui.services.secret_store import SecretStore
    from bene_tui.store import open_store

    ctx = Context(store=open_store(url), clock=Clock(), settings=Settings(db_path=url, terminal="bench"),
                  secret_store=SecretStore(Path(path).with_suffix(".secrets.json"), use_keyring=False))
    t = time.perf_counter()
    result = roster.import_file(ctx, path)
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "members": result.members,
                      "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def bench_import(cluster: Cluster, n: int, work: Path) -> None:
    roster_file, csv_file = work / "roster.json", work / "members.csv"
    _gen.write_json(roster_file, n)
    with csv_file.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        for i, r in enumerate(_gen.rows(n), 1):
            w.writerow([i, *r[:7], r[7] or ""])
    # psql \copy: the same rows, already clean, into the same migrated schema, in one transaction
    url = fresh_database(cluster, "bench_copy")
    setup = ";\n".join(orgs_sql(n)) + ";\n"
    script = work / "copy.sql"
    script.write_text("begin;\n" + setup + f"\\copy members ({COLUMNS}) from '{csv_file}' with (format csv)\ncommit;\n")
    psql = [str(cluster.bindir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(script)]
    t = time.perf_counter()
    subprocess.run(psql, check=True, stdout=subprocess.DEVNULL)
    copy_s = time.perf_counter() - t
    url = fresh_database(cluster, "bench_import")
    out = _child(url, roster_file)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["members"] == n, got
    ratio = copy_s / got["seconds"]
    print(f"import {n:,} members into PostgreSQL:")
    print(f"  psql \\copy (CSV, clean rows)   {copy_s:8.1f} s  {n / copy_s:10,.0f} rows/s")
    print(f"  bene-tui import (JSON, COPY)   {got['seconds']:8.1f} s  {n / got['seconds']:10,.0f} rows/s"
          f"   peak RSS {got['rss_mib']:.0f} MiB")
    print(f"  ratio {ratio:.2f}  (target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}; "
          f"RSS <= 200 MiB: {'met' if got['rss_mib'] <= 200 else 'NOT met'})", flush=True)


def _child(url: str, roster_file: Path) -> str:
    done = subprocess.run([sys.executable, __file__, "--child-import", url, str(roster_file)],
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"import failed:\n{done.stderr}")
    return done.stdout


def build(cluster: Cluster, n: int, work: Path, keep: bool = False) -> str:
    """A database of n members through the app's own import (what the lookup and search read);
    with --keep, the one an earlier run built (migrated to today's schema as the app opens it)."""
    if keep and _members(cluster, f"bench_{n}") == n:
        from bene_tui.store import open_store

        open_store(cluster.url(f"bench_{n}")).close()
        return cluster.url(f"bench_{n}")
    url = fresh_database(cluster, f"bench_{n}")
    roster_file = work / f"roster_{n}.json"
    _gen.write_json(roster_file, n)
    _child(url, roster_file)
    roster_file.unlink()
    from bene_tui.store.postgres import PgDatabase

    db = PgDatabase(url)
    db.execute("vacuum analyze")
    db.close()
    return url


def _members(cluster: Cluster, name: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(cluster.url(name), autocommit=True) as conn:
            return conn.execute("select count(*) from members").fetchone()[0]
    except psycopg.Error:
        return None


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def sqlite_twins(where: Path, sizes: tuple[int, ...], keep: bool) -> dict[int, Path]:
    """SQLite files of the same sizes, as bench/lookup_bench.py builds them (kept with --keep)."""
    import lookup_bench

    where.mkdir(parents=True, exist_ok=True)
    paths = {}
    for n in sizes:
        path = paths[n] = where / f"{n}.db"
        if not (keep and path.exists()):
            path.unlink(missing_ok=True)
            lookup_bench.build(path, n).close()
    return paths


def round_trips(db, n: int, seed: int, lookups: int) -> list[float]:
    """`select 1` over the same socket: what any statement costs before it reads anything."""
    times = []
    for _ in range(lookups):
        t = time.perf_counter_ns()
        db.execute("select 1").fetchone()
        times.append((time.perf_counter_ns() - t) / 1000)
    return times


def bench_lookup(urls: dict[int, str], twins: dict[int, Path], collector: bool,
                 rounds: int = 10, per_round: int = 5_000) -> None:
    """Step 1's lookup as identify.py runs it (bench/lookup_bench.py's loop: one in ten keys missing,
    one in ten with a wrong key 2), on PostgreSQL and on SQLite at both sizes, and `select 1` over
    the socket, all taking turns in each round so that the machine's load falls on all alike.
    Python's automatic collector is off while timing, as it is while the app runs (core/runtime_tricks.py, quiet_gc)."""
    import gc

    import lookup_bench
    from bene_tui.store import connect
    from bene_tui.store.postgres import PgDatabase

    small, big = sorted(urls)
    series = {}
    for n, url in urls.items():
        db = PgDatabase(url)
        # the table and its key in memory first, as on a server that has served step 1 all morning
        # (as the SQLite files are read into the page cache): both in shared buffers, which the
        # server is given as PostgreSQL's documentation advises (tests/pg_cluster.py)
        db.execute("create extension if not exists pg_prewarm")
        db.execute("select pg_prewarm('members'), pg_prewarm('members_pkey')").fetchone()
        series[f"PostgreSQL {n:>12,}"] = (db, n, lookup_bench.measure)
    series[f"PostgreSQL select 1 {'':>3}"] = (PgDatabase(urls[small]), small, round_trips)
    for n, path in twins.items():
        lookup_bench.read_through(path)
        db = connect(path)
        db.execute("select sum(length(name)) from members").fetchone()  # every page mapped once
        series[f"SQLite     {n:>12,}"] = (db, n, lookup_bench.measure)
    for db, n, run in series.values():
        run(db, n, 99, 2_000)  # warm-up (and psycopg prepares the statement after its fifth run)
    times = {label: [] for label in series}
    order = list(series)
    gc.collect()
    if not collector:
        gc.disable()
    collections = sum(s["collections"] for s in gc.get_stats())
    try:
        for r in range(rounds):
            for label in (order if r % 2 == 0 else order[::-1]):
                db, n, run = series[label]
                times[label] += run(db, n, r + 1, per_round)
    finally:
        gc.enable()
    collections = sum(s["collections"] for s in gc.get_stats()) - collections
    print(f"step-1 lookup, µs ({rounds} rounds of {per_round:,} each, taking turns; Python's collector "
          f"{'on' if collector else 'off, as in the app'}: {collections} collections while timing):")
    for label, values in times.items():
        print(f"  {label}: p50 {pct(values, 50):7.1f}   p99 {pct(values, 99):7.1f}   p99.9 {pct999(values):7.1f}")
    interleaved(series, 20_000)
    pg_small, pg_big = (pct(times[f"PostgreSQL {n:>12,}"], 99) for n in (small, big))
    ratio = pg_big / pg_small
    print(f"  PostgreSQL p99 ratio {big:,} / {small:,}: {ratio:.2f}  (target p99 <= 1 ms: "
          f"{'met' if pg_big <= 1000 else 'NOT met'}; ratio <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})",
          flush=True)
    for db, _, _ in series.values():
        db.close()


def interleaved(series: dict, calls: int) -> None:
    """The same series one call each in turn (not in runs of thousands): a moment when the machine
    stalls falls on all of them alike, so their tails compare directly."""
    import gc

    import lookup_bench

    times = {label: [] for label in series}
    gc.disable()
    try:
        for i in range(calls):
            for label, (db, n, run) in series.items():
                times[label] += run(db, n, i, 1) if run is round_trips else _one_lookup(db, n, i, lookup_bench)
    finally:
        gc.enable()
    print(f"  the same, one call of each in turn ({calls:,} rounds):")
    for label, values in times.items():
        print(f"  {label}: p50 {pct(values, 50):7.1f}   p99 {pct(values, 99):7.1f}   p99.9 {pct999(values):7.1f}")


def _one_lookup(db, n: int, seed: int, lookup_bench) -> list[float]:
    """One lookup of lookup_bench.measure's mix (its own loop checks the mix over many)."""
    rnd = random.Random(seed)
    i = rnd.randrange(n)
    key1 = f"{i % _gen.PER_ORG:08d}" if rnd.random() > 0.1 else "X0000000"
    t = time.perf_counter_ns()
    rows = list(db.query(lookup_bench.LOOKUP_SQL, [f"BX{i // _gen.PER_ORG:06d}", key1]))
    if rows:
        hmac.compare_digest(rows[0]["auth_key_2"].encode(), rows[0]["auth_key_2"].encode())
    return [(time.perf_counter_ns() - t) / 1000]


def pct999(values: list[float]) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[998]


def bench_search(url: str, n: int, work: Path) -> None:
    from bene_tui.core.config import Settings
    from bene_tui.services import helpdesk
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore

    ctx, _ = open_context(Settings(db_path=url, terminal="bench"),
                          secret_store=SecretStore(work / "search.json", use_keyring=False), check_key=False)
    rnd = random.Random(3)
    sample = [r for i, r in enumerate(_gen.rows(min(n, 200_000))) if i % 997 == 0][:100]
    queries = {"given name (middle of the name)": lambda r: r[3].split()[1],
               "name across the space": lambda r: r[3].replace(" ", "")[1:4],
               "login-ID-like fragment": lambda r: r[6].split("@")[0][2:8],
               "nobody": lambda r: "該当なし" + str(rnd.randrange(99))}
    print(f"helpdesk fragment search at {n:,} members (pg_trgm), ms:")
    for kind, make in queries.items():
        times = []
        for row in sample:
            t = time.perf_counter()
            helpdesk.search(ctx, make(row))
            times.append((time.perf_counter() - t) * 1000)
        print(f"  {kind:34} p50 {pct(times, 50):7.1f}   p99 {pct(times, 99):7.1f}"
              f"   (target p99 <= 50 ms: {'met' if pct(times, 99) <= 50 else 'NOT met'})", flush=True)
    ctx.store.close()


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-import":
        child_import(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=int, default=1_000_000)
    p.add_argument("--only", choices=["import", "lookup", "search", "register"])
    p.add_argument("--keep", metavar="DIR", help="keep the server and its lookup/search databases in DIR, "
                                                 "and reuse them next time (a 10 M build takes a while)")
    p.add_argument("--collector", action="store_true",
                   help="leave Python's automatic garbage collector on while timing lookups (the app turns it off)")
    args = p.parse_args()
    bindir = find_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries (apt-get install postgresql)")
    cluster = Cluster(bindir, Path(args.keep) / "cluster" if args.keep else None)
    os.environ.setdefault("BENE_TUI_NO_KEYRING", "1")
    # A durable server (fsync on, unlike the tests'): the figures are those of a real one.
    cluster.start(durable=True)
    work = Path(tempfile.mkdtemp(prefix="bene-pgbench-"))
    os.chmod(work, 0o755)  # psql \copy reads as root, the server never does; fine either way
    try:
        print(f"PostgreSQL {bindir.parent.name}, {os.cpu_count()} CPU(s); N = {args.n:,}", flush=True)
        if args.only in (None, "import"):
            bench_import(cluster, args.n, work)
        if args.only in (None, "lookup", "search"):
            urls = {n: build(cluster, n, work, keep=bool(args.keep)) for n in (1_000, args.n)}
            if args.only in (None, "lookup"):
                where = Path(args.keep) / "sqlite" if args.keep else work / "sqlite"
                bench_lookup(urls, sqlite_twins(where, (1_000, args.n), bool(args.keep)), args.collector)
            if args.only in (None, "search"):
                bench_search(urls[args.n], args.n, work)
        if args.only in (None, "register"):
            print("16 processes registering (bench/parallel_register.py):", flush=True)
            subprocess.run([sys.executable, str(HERE / "parallel_register.py"), "--procs", "16",
                            "--db", fresh_database(cluster, "bench_register")], check=False,
                           env={**os.environ, "PYTHONPATH": str(HERE.parent)})  # this checkout's bene_tui
    finally:
        cluster.down() if args.keep else cluster.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
