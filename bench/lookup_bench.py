"""Step-1 lookup benchmark: 団体ID + 認証キー1 → member row, then 認証キー2 compared.

    python bench/lookup_bench.py [N]        # default N = 1,000,000 (and always 1,000)

This is the SQL identify.py runs at step 1 (`select * from members where group_id = ? and
auth_key_1 = ?`: one descent of the members table, which is keyed by (group_id, auth_key_1)),
followed by a constant-time comparison of auth_key_2. Each size gets a fresh database (same schema and PRAGMAs as the app)
filled by plain executemany; then LOOKUPS lookups of random keys (one in ten missing, one in ten
with a wrong key 2) are timed one by one. Prints p50/p99 per size and the ratio N/1,000: with a
B-tree index it should stay close to 1 (log growth), whatever N is.
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
LOOKUPS = 20_000


def build(path: Path, n: int):
    from bene_tui.store import connect, migrate

    db = connect(path)
    migrate(db)
    conn = db.conn
    with conn:
        conn.executemany("insert into organisations (group_id, name) values (?, ?)",
                         [(g, g) for g in _gen.org_ids(n)])
        ids = count(1)
        gen = ((next(ids), *row) for row in _gen.rows(n))
        while batch := list(islice(gen, 50_000)):
            conn.executemany("insert into members (id, group_id, auth_key_1, auth_key_2, name, kana, birth_date, "
                             "email_on_file, services) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    return db


def measure(db, n: int, seed: int = 1) -> list[float]:
    rnd = random.Random(seed)
    times, found = [], 0
    for _ in range(LOOKUPS):
        i = rnd.randrange(n)
        group, key1 = f"BX{i // _gen.PER_ORG:06d}", f"{i % _gen.PER_ORG:08d}"
        roll = rnd.random()
        if roll < 0.1:
            key1 = "X" + key1  # no such member
        key2 = "19000101" if roll > 0.9 else None
        t = time.perf_counter_ns()
        rows = list(db.query(LOOKUP_SQL, [group, key1]))  # as identify.py calls it
        ok = bool(rows) and hmac.compare_digest((key2 or rows[0]["auth_key_2"]).encode(),
                                                rows[0]["auth_key_2"].encode())
        times.append((time.perf_counter_ns() - t) / 1000)
        found += ok
    assert 0.7 * LOOKUPS < found < 0.9 * LOOKUPS, found  # the mix of hits and misses is as intended
    return times


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("n", nargs="?", type=int, default=1_000_000)
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bene-lookup-"))
    try:
        results = {}
        for n in (1_000, args.n):
            t = time.perf_counter()
            db = build(workdir / f"{n}.db", n)
            built = time.perf_counter() - t
            measure(db, n, seed=99)  # warm-up: the first pass pays for reading pages from the file
            times = measure(db, n)
            results[n] = (pct(times, 50), pct(times, 99))
            print(f"{n:>12,} members (built in {built:.1f} s): p50 {results[n][0]:7.1f} µs   "
                  f"p99 {results[n][1]:7.1f} µs   ({LOOKUPS:,} lookups)")
            db.close()
        small, big = results[1_000], results[args.n]
        print(f"ratio {args.n:,} / 1,000:  p50 {big[0] / small[0]:.2f}x   p99 {big[1] / small[1]:.2f}x")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
