"""Step-1 lookup benchmark: 団体ID + 認証キー1 → member row, then 認証キー2 compared.

    python bench/lookup_bench.py [N] [--keep DIR]   # default N = 1,000,000 (and always 1,000)

This is the SQL services/identify.py runs at step 1 (`select * from members where group_id = ? and
auth_key_1 = ?`: one descent of the members table, which is keyed by (group_id, auth_key_1)),
followed by a constant-time comparison of auth_key_2. Then the helpdesk search on the same two
files, by kind of query (names through their indexes; fragments by a scan cut at SCAN_SECONDS).
Each size gets a fresh database (same schema and PRAGMAs as the app, memory map included) filled
by plain executemany and laid out as `bene-tui import` lays out a big roster: the table first,
its secondary indexes built after it. `--keep DIR` keeps them for the next run (building 10
million members takes about 2 minutes). Each file is
read once from end to end first, so that it sits in the operating system's page cache as it does
on a host that has been serving step 1 all morning (otherwise the 10-million file's tail is the
disk's seek time, not the index); then, after one warm-up pass each, LOOKUPS lookups of random keys (one in ten missing, one in ten with a wrong
key 2) are timed one by one, the two sizes taking turns in ROUNDS rounds so that the machine's
load falls on both alike. Prints p50/p99 per size and the ratio N/1,000.
"""

from __future__ import annotations

import argparse
import hmac
import random
import shutil
import statistics
import sys
import tempfile
import time
from itertools import count, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _gen  # noqa: E402

LOOKUP_SQL = "select * from members where group_id = ? and auth_key_1 = ?"
LOOKUPS = 200_000
ROUNDS = 20


def build(path: Path, n: int):
    """A database of n members at `path`, built under another name first: an interrupted build
    is never taken for a finished one by the next `--keep` run."""
    from bene_tui.services import roster
    from bene_tui.store import connect, migrate

    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    db = connect(part)
    migrate(db)
    conn = db.conn
    with conn:
        # Laid out as `bene-tui import` lays out a big roster: the table first, its indexes built
        # after it (services/roster.py). Filled with the indexes in place, a quarter of the 10-million table
        # lay past the 2 GiB memory map, read through SQLite's small page cache instead.
        dropped = roster.drop_secondary_member_indexes(conn)
        conn.executemany("insert into organisations (group_id, name) values (?, ?)",
                         [(g, g) for g in _gen.org_ids(n)])
        ids = count(1)
        gen = ((next(ids), *row) for row in _gen.rows(n))
        while batch := list(islice(gen, 50_000)):
            conn.executemany("insert into members (id, group_id, auth_key_1, auth_key_2, name, kana, birth_date, "
                             "email_on_file, services) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        for sql in dropped:
            conn.execute(sql)
        for col in ("name", "kana"):  # the distinct names, as the import keeps them (migrations.m_member_names)
            conn.execute(f"insert or ignore into member_names (col, value) select distinct '{col}', {col} "
                         f"from members where {col} is not null and {col} != ''")
    db.close()  # (the last connection to close folds the WAL back into the file)
    part.rename(path)
    return connect(path)


def measure(db, n: int, seed: int = 1, lookups: int = LOOKUPS) -> list[float]:
    rnd = random.Random(seed)
    times, found = [], 0
    for _ in range(lookups):
        i = rnd.randrange(n)
        group, key1 = f"BX{i // _gen.PER_ORG:06d}", f"{i % _gen.PER_ORG:08d}"
        roll = rnd.random()
        if roll < 0.1:
            key1 = "X" + key1  # no such member
        key2 = "19000101" if roll > 0.9 else None
        t = time.perf_counter_ns()
        rows = list(db.query(LOOKUP_SQL, [group, key1]))  # as services/identify.py calls it
        ok = bool(rows) and hmac.compare_digest((key2 or rows[0]["auth_key_2"]).encode(),
                                                rows[0]["auth_key_2"].encode())
        times.append((time.perf_counter_ns() - t) / 1000)
        found += ok
    assert 0.7 * lookups < found < 0.9 * lookups, found  # the mix of hits and misses is as intended
    return times


def helpdesk_search(workdir: Path, sizes: tuple[int, int]) -> None:
    """The helpdesk search on the same files: median ms of 9 searches per kind of query."""
    from bene_tui.core.config import Settings
    from bene_tui.services import helpdesk
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore

    kinds = {"family name": lambda r: r[3].split()[0], "full name, no space": lambda r: r[3].replace(" ", ""),
             "kana prefix (hiragana)": lambda r: "".join(chr(ord(c) - 0x60) for c in r[4][:3]),
             "団体ID": lambda r: r[0], "given name (a fragment: scan)": lambda r: r[3].split()[1],
             "nobody (a fragment: scan)": lambda r: "該当なし"}
    rows = [row for row in islice(_gen.rows(1_000), 0, 1_000, 111)]
    print(f"\nhelpdesk search, median ms (a fragment scan stops at {helpdesk.SCAN_SECONDS * 1000:.0f} ms):")
    print(f"  {'query':32}" + "".join(f"{n:>14,}" for n in sizes))
    ctxs = [open_context(Settings(db_path=str(workdir / f"{n}.db"), terminal="bench"),
                         secret_store=SecretStore(workdir / "secrets.json", use_keyring=False))[0] for n in sizes]
    for kind, make in kinds.items():
        cells = []
        for ctx in ctxs:
            times = []
            for row in rows:
                t = time.perf_counter()
                helpdesk.search(ctx, make(row))
                times.append((time.perf_counter() - t) * 1000)
            cells.append(f"{statistics.median(times):14.1f}")
        print(f"  {kind:32}" + "".join(cells))
    for ctx in ctxs:
        ctx.store.close()


def read_through(path: Path) -> None:
    """Read the whole file once: its pages in the OS page cache, as on a host in service."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=int, default=1_000_000)
    p.add_argument("--keep", metavar="DIR", help="keep the databases in DIR and reuse them next time")
    args = p.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bene-lookup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = (1_000, args.n)
    try:
        dbs = {}
        for n in sizes:
            path = workdir / f"{n}.db"
            t = time.perf_counter()
            if path.exists() and args.keep:
                from bene_tui.store import connect

                dbs[n], how = connect(path), "reused"
            else:
                path.unlink(missing_ok=True)
                dbs[n], how = build(path, n), "built"
            print(f"{n:>12,} members {how} in {time.perf_counter() - t:.1f} s", flush=True)
            read_through(path)
            # and every page of the table mapped into this process once (the memory map faults pages
            # in on first touch), as in a terminal process that has served step 1 all morning
            dbs[n].execute("select sum(length(name)) from members").fetchone()
            measure(dbs[n], n, seed=99)  # warm-up: the first pass pays for reading pages from the file
        # Side by side: the sizes take turns, so a change in the machine's load falls on both.
        times: dict[int, list[float]] = {n: [] for n in sizes}
        for round_ in range(ROUNDS):
            for n in sizes if round_ % 2 == 0 else reversed(sizes):
                times[n] += measure(dbs[n], n, seed=round_ + 1, lookups=LOOKUPS // ROUNDS)
        results = {n: (pct(times[n], 50), pct(times[n], 99)) for n in sizes}
        for n in sizes:
            print(f"{n:>12,} members: p50 {results[n][0]:7.1f} µs   p99 {results[n][1]:7.1f} µs   "
                  f"({len(times[n]):,} lookups in {ROUNDS} rounds)")
            dbs[n].close()
        small, big = results[1_000], results[args.n]
        print(f"ratio {args.n:,} / 1,000:  p50 {big[0] / small[0]:.2f}x   p99 {big[1] / small[1]:.2f}x"
              f"   (target p99 <= 1 ms: {'OK' if big[1] <= 1000 else 'OVER'}; ratio <= 1.5)")
        helpdesk_search(workdir, sizes)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
