"""Benchmark 6: 8 processes registering at once on one SQLite file, beside the limit set by
password hashing alone on the same cores.

    python bench/parallel_register.py [--procs 8] [--per-proc 4] [--rounds 3] [--db postgresql://...]

register   PROCS terminal processes (multiprocessing, spawn) on one database, each with its own
           connection, production Argon2id parameters, its own terminal name; each registers
           PER_PROC different members through the services, start to finish (step 1 lookup,
           step 2 policy check + Argon2id hash + provisional account + code + outbox, step 3 code,
           step 4 activation and link). Released together by a barrier after a warm-up: one
           registration each, untimed (a new connection's first statements cost the server more).
hash only  PROCS processes doing nothing but the same number of Argon2id hashes with the same
           parameters: the ceiling the cores allow.

The two kinds alternate for ROUNDS rounds (noise hits both alike). Each round's rate is
work done / (last finisher - first starter), on the system-wide monotonic clock. Prints
registrations/s, hashes/s, their ratio (target >= 0.8), errors (target 0) and duplicates
(target 0: login IDs held twice, member records linked twice, registrations missing).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("BENE_TUI_NO_KEYRING", "1")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import _gen  # noqa: E402

PASSWORD = "kumo-no-ue-de-odoru-neko-42"


def _register_proc(db_path: str, secrets: str, index: int, members: list, warm_up: tuple, barrier, queue) -> None:
    try:
        from bene_tui.core.config import Rules, Settings
        from bene_tui.core.errors import BeneError
        from bene_tui.services import passwords, registration
        from bene_tui.services.context import open_context
        from bene_tui.services.secret_store import SecretStore

        ctx, _ = open_context(Settings(db_path=db_path, terminal=f"bench-{index}", rules=Rules()),
                              secret_store=SecretStore(Path(secrets), use_keyring=False))
        ctx.hmac_key  # noqa: B018
        passwords.check_policy(PASSWORD, ctx.rules, "warm.up@example.jp")  # zxcvbn loads its dictionaries

        def register(group, key1, key2, login):
            flow_id = registration.start(ctx, group, key1, key2).flow_id
            message = registration.submit_credentials(ctx, flow_id, "email", login, PASSWORD, True, "ja")
            registration.verify_code(ctx, flow_id, message["code"])
            registration.complete(ctx, flow_id, True)

        # One registration before the clock starts, as a terminal that has been working: a new
        # connection's first statements load the server's catalog caches and are planned afresh
        # (on PostgreSQL about a registration's worth of CPU), which a terminal pays once a day.
        register(*warm_up)
        barrier.wait(timeout=300)
        t0 = time.monotonic()
        done, errors = 0, []
        for group, key1, key2, login in members:
            try:
                register(group, key1, key2, login)
                done += 1
            except BeneError as e:
                errors.append(f"{e.key}: {e.staff}")
        queue.put((index, t0, time.monotonic(), done, errors))
    except BaseException as exc:  # noqa: BLE001
        barrier.abort()
        queue.put((index, 0.0, 0.0, 0, [f"crash: {exc!r}\n{traceback.format_exc()}"]))


def _hash_proc(index: int, count: int, barrier, queue) -> None:
    try:
        from bene_tui.core.config import Rules
        from bene_tui.services import passwords

        rules = Rules()
        passwords.hash_password(f"{PASSWORD}-{index}-warm-up", rules)  # as the registering side warms up
        barrier.wait(timeout=300)
        t0 = time.monotonic()
        for i in range(count):
            passwords.hash_password(f"{PASSWORD}-{index}-{i}", rules)
        queue.put((index, t0, time.monotonic(), count, []))
    except BaseException as exc:  # noqa: BLE001
        barrier.abort()
        queue.put((index, 0.0, 0.0, 0, [f"crash: {exc!r}"]))


def run_round(target, args_for, procs: int) -> tuple[float, int, list[str]]:
    mp = multiprocessing.get_context("spawn")
    barrier, queue = mp.Barrier(procs), mp.Queue()
    ps = [mp.Process(target=target, args=(*args_for(i), barrier, queue)) for i in range(procs)]
    for p in ps:
        p.start()
    results = [queue.get(timeout=900) for _ in ps]
    for p in ps:
        p.join(timeout=60)
    start = min(r[1] for r in results)
    end = max(r[2] for r in results)
    done = sum(r[3] for r in results)
    errors = [e for r in results for e in r[4]]
    return done / (end - start) if end > start else 0.0, done, errors


def build(directory: Path, members: int, url: str | None = None) -> Path | str:
    from bene_tui.core.config import Settings
    from bene_tui.services import roster
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore

    path = url or directory / "parallel.db"
    roster_file = directory / "roster.json"
    _gen.write_json(roster_file, members)
    ctx, _ = open_context(Settings(db_path=str(path), terminal="bench"),
                          secret_store=SecretStore(directory / "secrets.json", use_keyring=False))
    roster.import_file(ctx, roster_file)
    ctx.hmac_key  # noqa: B018  (one key for every terminal)
    ctx.store.close()
    return path


def duplicates(path: Path | str, expected: int) -> dict[str, int]:
    import sqlite3

    from bene_tui.store import is_postgres_url

    if is_postgres_url(path):
        from bene_tui.store.postgres import PgDatabase

        conn = PgDatabase(path)
    else:
        conn = sqlite3.connect(path)
    try:
        q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "login IDs held twice": q("select count(*) from (select login_key from accounts group by login_key "
                                      "having count(*) > 1) as twice"),
            "member records linked twice": q("select count(*) from (select member_id from account_members "
                                             "group by member_id having count(*) > 1) as twice"),
            "registrations missing": expected - q("select count(*) from accounts a join account_members am "
                                                  "on am.account_id = a.id where a.status = 'active' "
                                                  "and a.login_id like 'par.%'"),
            "integrity_check not ok": 0 if is_postgres_url(path) else int(q("pragma integrity_check") != "ok"),
        }
    finally:
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--per-proc", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--db", metavar="URL", help="an empty PostgreSQL database instead of a new SQLite file")
    args = ap.parse_args()
    from bene_tui.core.config import Rules

    r = Rules()
    per_round = args.procs * args.per_proc
    print(f"{args.procs} processes x {args.per_proc} registrations, {args.rounds} rounds; Argon2id t={r.argon2_time_cost} "
          f"m={r.argon2_memory_kib} KiB p={r.argon2_parallelism}; {os.cpu_count()} CPU(s) visible", flush=True)
    reg_rates, hash_rates, errors = [], [], []
    with tempfile.TemporaryDirectory(prefix="bene-parallel-") as tmp:
        timed = per_round * args.rounds
        members = timed + args.procs * args.rounds  # and a warm-up member for each process of each round
        path = build(Path(tmp), members, args.db)
        rows = list(_gen.rows(members))
        secrets = str(Path(tmp) / "secrets.json")
        for rnd in range(args.rounds):
            def reg_args(i, rnd=rnd):
                base = rnd * per_round + i * args.per_proc
                mine = [(g, k1, k2, f"par.{base + j}@example.jp") for j, (g, k1, k2, *_rest)
                        in enumerate(rows[base:base + args.per_proc])]
                warm = timed + rnd * args.procs + i
                return (str(path), secrets, i, mine, (*rows[warm][:3], f"warm.{warm}@example.jp"))

            kinds = [("register", _register_proc, reg_args), ("hash", _hash_proc, lambda i: (i, args.per_proc))]
            for kind, target, args_for in (kinds if rnd % 2 == 0 else kinds[::-1]):
                rate, done, errs = run_round(target, args_for, args.procs)
                (reg_rates if kind == "register" else hash_rates).append(rate)
                errors += errs
                print(f"  round {rnd + 1}  {kind:<8} {done:3d} done  {rate:6.2f}/s", flush=True)
        dup = duplicates(path, per_round * args.rounds)
    reg, hsh = statistics.median(reg_rates), statistics.median(hash_rates)
    print(f"\nregistrations/s (median of rounds): {reg:6.2f}")
    print(f"Argon2id hashes/s, same cores, same count (median): {hsh:6.2f}")
    print(f"ratio: {reg / hsh:.2f}   target >= 0.8 ({'met' if reg / hsh >= 0.8 else 'NOT met'})")
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))
    for what, n in dup.items():
        print(f"{what}: {n}")
    return 0 if not errors and not any(dup.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
