"""Benchmark 8: the Operations screen and `bene-tui report` over 1 M and 10 M audit rows.

    python bench/report_bench.py [--sizes 1000000 10000000] [--runs 7] [--keep DIR] [--db pg | --db URL]

`--db pg` runs it on PostgreSQL, on a durable server this script starts (Debian's binaries, Unix
socket only, as bench/pg_bench.py); `--db postgresql://...` on an existing server, where it creates
(and with --keep reuses) one database per size, `bench_report_<size>`. Default: SQLite files.

For each size, a database with the app's schema (migrations) gets a synthetic registration drive
written straight into its tables with `executemany` (not through the services): 20 organisations,
10 terminals, 60 days; every registration starts at step 1 and 75 % reach step 2, 60 % enter the
code, 55 % complete (with a duration), plus logins, benefit grants, step-1 refusals, lockouts and
resets, about 4.9 audit rows per registration. Its flows and members rows are written too, so the
organisation of each row is derived as the app derives it. Then `report.rebuild` derives
daily_stats from the audit rows (what the migration's backfill does on an existing database; the
app itself keeps them row by row in `audit.record`).

Timed, each RUNS times, the sizes taking turns:
  summary   report.summary(ctx): the screen's data load and `report`'s query
  report    `bene-tui report --json` in-process (cli.main: open, migrate check, query, JSON out)
  screen    in a helpdesk BeneApp under Pilot: push OperationsScreen → both charts drawn with the data
Prints medians, the ratio largest/smallest (target <= 1.5) and the absolute (target <= 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BENE_TUI_NO_KEYRING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

START = 1774998000.0 - 60 * 86400  # the drive's first day; the last is 2026-04-01 JST
DAYS, ORGS, TERMINALS = 60, 20, 10
ROWS_PER_REGISTRATION = 4.9


def _registrations(n_rows: int, seed: int = 11):
    """(members, flows, audit) rows in batches, until about n_rows audit rows."""
    rnd = random.Random(seed)
    n = int(n_rows / ROWS_PER_REGISTRATION)  # spread over the days as if this many
    members, flows, audit = [], [], []
    written, i = 0, -1
    while written < n_rows:
        i += 1
        gid, terminal = f"BR{i % ORGS:06d}", f"kiosk-{rnd.randrange(TERMINALS)}"
        member, account, flow = 10**9 + i, 10**9 + i, f"{i:024x}"  # clear of the demo world's ids
        t = START + (i / n) * DAYS * 86400
        members.append((member, gid, f"{i:08d}", "19800101", "ベンチ 太郎"))
        stage = rnd.random()
        state = "identified" if stage > 0.75 else "provisional" if stage > 0.60 else "verified" if stage > 0.55 else "completed"
        flows.append((flow, "enrol", state, terminal, member, account if stage <= 0.75 else None, t, t, t + 86400))
        rows = [(t, terminal, "user", "registration.step1", f"member:{member}", "ok", None, json.dumps({"flow": flow}))]
        if stage <= 0.75:
            rows.append((t + 60, terminal, "user", "registration.provisional", f"account:{account}", "ok", None,
                         json.dumps({"flow": flow, "resumed": False})))
            rows.append((t + 61, terminal, "user", "code.sent", f"flow:{flow}", "ok", None,
                         json.dumps({"purpose": "verification", "channel": "email", "message_id": i, "delivery": "sent"})))
        if stage <= 0.60:
            rows.append((t + 150, terminal, "user", "code.checked", f"flow:{flow}", "ok", None,
                         json.dumps({"purpose": "verification"})))
        if stage <= 0.55:
            seconds = rnd.randint(120, 1800)
            rows.append((t + seconds, terminal, "user", "registration.complete", f"account:{account}", "ok", None,
                         json.dumps({"member": member, "flow": flow, "seconds": seconds})))
            rows.append((t + seconds + 5, terminal, "user", "benefit.grant", f"account:{account}", "ok", None, None))
            rows.append((t + seconds + 9, terminal, "user", "auth.login", f"account:{account}", "ok", None,
                         json.dumps({"service": "benefit_station"})))
        if i % 25 == 0:
            rows.append((t + 2, terminal, "user", "registration.step1", f"terminal:{terminal}", "refused",
                         "wrong auth key 2", json.dumps({"group_id": gid, "failures": 1})))
        if i % 200 == 0 and stage <= 0.55:
            rows.append((t + 4000, terminal, "user", "auth.login", f"account:{account}", "refused",
                         "wrong password (5 consecutive); locked until 2026-04-01 10:00:00", None))
        audit += rows
        written += len(rows)
        if len(audit) >= 100_000 or written >= n_rows:
            yield members, flows, audit
            members, flows, audit = [], [], []


def _secrets(target: str) -> Path:
    """One secrets file per database, beside the SQLite file or in the work directory."""
    return Path(SECRETS_DIR or Path(target).parent) / f"{_label(target)}.secrets.json"


def _label(target: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(target).path.strip("/") if "://" in target else Path(target).stem


SECRETS_DIR: Path | None = None  # PostgreSQL: the work directory


def build(path: str, n_rows: int) -> tuple[int, float]:
    from bene_tui import report
    from bene_tui.config import Settings
    from bene_tui.context import open_context
    from bene_tui.secret_store import SecretStore

    ctx, _ = open_context(Settings(db_path=str(path), terminal="bench", mode="helpdesk"),
                          secret_store=SecretStore(_secrets(path), use_keyring=False))
    conn = ctx.db.conn
    with ctx.tx():
        conn.executemany("insert into organisations (group_id, name) values (?, ?)",
                         [(f"BR{o:06d}", f"ベンチ株式会社{o}") for o in range(ORGS)])
    t0 = time.perf_counter()
    total = 0
    for members, flows, audit in _registrations(n_rows):
        with ctx.tx():
            conn.executemany("insert into members (id, group_id, auth_key_1, auth_key_2, name) values (?, ?, ?, ?, ?)",
                             members)
            conn.executemany("insert into flows (id, kind, state, terminal, member_id, account_id, created_at, "
                             "updated_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", flows)
            conn.executemany("insert into audit (at, terminal, actor, action, subject, outcome, reason, detail) "
                             "values (?, ?, ?, ?, ?, ?, ?, ?)", audit)
        total += len(audit)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ctx.tx() as db:
        report.rebuild(db)
    rebuilt = time.perf_counter() - t0
    stats = conn.execute("select count(*) from daily_stats").fetchone()[0]
    ctx.store.close()
    print(f"  {total:,} audit rows generated in {generated:.1f} s; daily_stats rebuilt from them in "
          f"{rebuilt:.1f} s ({total / rebuilt:,.0f} rows/s) -> {stats:,} aggregate rows ({_label(path)})", flush=True)
    return total, rebuilt


def ensure(directory: Path, n_rows: int, server: str | None = None, keep: bool = False) -> str:
    """The database of this size: a SQLite file in `directory` (reused if there), or a database on
    the PostgreSQL `server` (reused with --keep, else made anew)."""
    if server is None:
        path = directory / f"report_{n_rows}.db"
        if not path.exists():
            build(str(path), n_rows)
        return str(path)
    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    name = f"bench_report_{n_rows}"
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as conn:
        there = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if there and keep and _secrets(url).exists():
            return url
        conn.execute(f"drop database if exists {name} with (force)")
        conn.execute(f"create database {name}")
    _secrets(url).unlink(missing_ok=True)
    build(url, n_rows)
    return url


def _settings(path: str):
    from bene_tui.config import Settings

    return Settings(db_path=str(path), terminal="bench", mode="helpdesk", lang="ja")


def summary_time(path: str) -> float:
    from bene_tui import report
    from bene_tui.clock import Clock
    from bene_tui.context import open_context
    from bene_tui.secret_store import SecretStore

    ctx, _ = open_context(_settings(path), clock=Clock(START),
                          secret_store=SecretStore(_secrets(path), use_keyring=False))
    try:
        t0 = time.perf_counter()
        report.summary(ctx, rows=False)  # as the screen asks
        return time.perf_counter() - t0
    finally:
        ctx.store.close()


def cli_time(path: str) -> float:
    from bene_tui import cli

    os.environ["BENE_TUI_SECRETS_FILE"] = str(_secrets(path))  # the key the database was made with
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["--db", str(path), "report", "--json"])
    assert code == 0
    return time.perf_counter() - t0


async def screen_times(path: str, runs: int) -> list[float]:
    """Push → both charts drawn with the numbers (each PlotextPlot's render after the data came)."""
    from textual_plotext import PlotextPlot

    from bene_tui.app import BeneApp
    from bene_tui.clock import Clock
    from bene_tui.screens.operations import OperationsScreen
    from bene_tui.secret_store import SecretStore

    drawn: set[int] = set()
    render = PlotextPlot.render

    def counted(plot):
        if plot.screen.data is not None:
            drawn.add(id(plot))
        return render(plot)

    PlotextPlot.render = counted
    app = BeneApp(settings=_settings(path), clock=Clock(START),
                  secret_store=SecretStore(_secrets(path), use_keyring=False))
    out = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await app._ctx_ready.wait()
            for n in range(runs + 1):  # the first opening (imports plotext) is a warm-up
                drawn.clear()
                t0 = time.perf_counter()
                app.push_screen(OperationsScreen())
                while len(drawn) < 2:
                    await asyncio.sleep(0.0005)
                if n:
                    out.append(time.perf_counter() - t0)
                app.pop_screen()
                await pilot.pause()
                await asyncio.sleep(0.3)  # the collection after a screen change (quiet_gc) out of the way
    finally:
        PlotextPlot.render = render
    return out


def main() -> int:
    global SECRETS_DIR
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", help="directory to keep (and reuse) the generated databases")
    ap.add_argument("--db", metavar="pg|URL", help="PostgreSQL: 'pg' (a server of its own) or a server's URL")
    args = ap.parse_args()
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bene-report-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        server = args.db
        if server == "pg":
            server = stack.enter_context(_own_server())
        if server is not None:
            SECRETS_DIR = directory
        store = f"PostgreSQL ({server})" if server else "SQLite"
        print(f"operations report over {', '.join(f'{n:,}' for n in args.sizes)} audit rows, {store} ({directory})",
              flush=True)
        paths = {n: ensure(directory, n, server, keep=bool(args.keep)) for n in args.sizes}
        return _measure(args, paths)


@contextlib.contextmanager
def _own_server():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_cluster import Cluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL server binaries (apt-get install postgresql)")
    cluster = Cluster(bindir).start(durable=True)  # fsync on: the figures of a real server
    try:
        yield cluster.url()
    finally:
        cluster.stop()


def _measure(args, paths: dict[int, str]) -> int:
    times: dict[str, dict[int, list[float]]] = {"summary": {}, "report": {}, "screen": {}}
    for r in range(args.runs):
        for n in (args.sizes if r % 2 == 0 else args.sizes[::-1]):
            times["summary"].setdefault(n, []).append(summary_time(paths[n]))
            times["report"].setdefault(n, []).append(cli_time(paths[n]))
    for n in args.sizes:
        times["screen"][n] = asyncio.run(screen_times(paths[n], args.runs))
    small, big = min(args.sizes), max(args.sizes)
    ok = True
    for what, per_size in times.items():
        medians = {n: statistics.median(xs) for n, xs in per_size.items()}
        ratio = medians[big] / medians[small]
        worst = max(medians.values())
        ok &= ratio <= 1.5 and worst <= 1.0
        cells = "   ".join(f"{n:>12,}: {m * 1000:7.1f} ms" for n, m in medians.items())
        print(f"  {what:8} {cells}   ratio {ratio:4.2f} (<= 1.5)   worst {worst * 1000:6.1f} ms (<= 1000)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
