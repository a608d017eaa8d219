"""Benchmark 7: the outbox viewer (F2) opening over 1,000,000 messages vs over 100.

    python bench/outbox_open.py [--big 1000000] [--small 100] [--runs 15] [--keep DIR]

Three databases with the app's schema (migrations, so the outbox triggers are live) and the demo
world; their outbox tables are filled directly with `executemany` (e-mail and SMS, a few unread):
  small       100 messages, about four per recipient (~25 conversations)
  small-wide  100 messages, one per recipient (100 conversations: as many as the viewer lists)
  big         1,000,000 messages, about four per recipient (~250,000 conversations)
Then, in one BeneApp per database driven by Pilot (helpdesk mode, so no live demo panel), the
OutboxScreen is pushed RUNS times, the databases taking turns in rounds; each time is measured
from `push_screen(OutboxScreen())` to both of its lists populated (conversations, and the first
conversation's messages) — what a person waits for after pressing F2.

Also timed, outside the UI: the service calls the viewer makes (`outbox.recipients_summary`
and `outbox.messages` for one recipient), so a difference can be blamed on SQL or on widgets.

Prints medians, p95 and the ratios big/small. The viewer lists at most 100 conversations, and
laying out a list row costs the widget ~0.1 ms, so the fair baseline for "as fast as over 100"
is small-wide (same list length); target ratio <= 1.2.
`--keep DIR` keeps (and on a later run reuses) the generated databases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

os.environ.setdefault("BENE_TUI_NO_KEYRING", "1")

PER_RECIPIENT = 4  # messages per recipient on average
START = 1774998000.0  # 2026-04-01 09:00 JST


def _rows(n: int, per_recipient: int = PER_RECIPIENT, seed: int = 3):
    rnd = random.Random(seed)
    recipients = max(1, n // per_recipient)
    t = START - n  # one message a second, the newest at START
    for i in range(n):
        r = i if per_recipient == 1 else rnd.randrange(recipients)
        if r % 3 == 0:
            recipient, channel, sender, subject = f"+8190{r % 100_000_000:08d}", "sms", "BenefitOne", None
            body = f"【ベネアカウント】認証コード:{rnd.randrange(1_000_000):06d} 有効期限10分。"
        else:
            recipient, channel, sender = f"user{r}@example.jp", "email", "benefitone-platform@benefit-one.co.jp"
            subject = "【ベネアカウント】認証コードのお知らせ"
            body = (f"ベネアカウントの認証コードをお送りします。\n\n認証コード: {rnd.randrange(1_000_000):06d}\n"
                    "有効期限: 10分\n\n本メールは送信専用です。")
        code = body.split(":")[-1][:6] if "認証コード" in body else None
        read = 0 if rnd.random() < 0.05 else 1
        yield (channel, recipient, sender, subject, body, "verification", code, None, "sent", read,
               t + i, t + i, None)


def build(path: Path, n: int, per_recipient: int) -> None:
    from bene_tui.core.config import Settings
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore

    ctx, _ = open_context(Settings(db_path=str(path), terminal="bench", mode="helpdesk"),
                          secret_store=SecretStore(path.with_suffix(".secrets.json"), use_keyring=False))
    conn = ctx.db.conn
    gen = _rows(n, per_recipient)
    t0 = time.perf_counter()
    while batch := list(islice(gen, 50_000)):
        with ctx.tx():
            conn.executemany(
                "insert into outbox (channel, recipient, sender, subject, body, purpose, code, link, status, "
                "read, created_at, deliver_at, flow_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    ctx.store.close()
    print(f"  generated {n:,} messages in {time.perf_counter() - t0:.1f} s -> {path.name}", flush=True)


def ensure(directory: Path, n: int, per_recipient: int = PER_RECIPIENT) -> Path:
    path = directory / f"outbox_{n}_{per_recipient}.db"
    if path.exists():
        import sqlite3

        have = sqlite3.connect(path).execute("select count(*) from outbox").fetchone()[0]
        if have == n:
            return path
        for p in directory.glob(f"outbox_{n}_{per_recipient}.*"):
            p.unlink()
    build(path, n, per_recipient)
    return path


def service_times(path: Path, runs: int) -> dict[str, list[float]]:
    from bene_tui.core.clock import Clock
    from bene_tui.core.config import Settings
    from bene_tui.services import outbox
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore

    ctx, _ = open_context(Settings(db_path=str(path), terminal="bench", mode="helpdesk"), clock=Clock(START),
                          secret_store=SecretStore(path.with_suffix(".secrets.json"), use_keyring=False))
    out: dict[str, list[float]] = {"recipients_summary": [], "messages": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = outbox.recipients_summary(ctx, None)
        t1 = time.perf_counter()
        outbox.messages(ctx, recipient=rows[0]["recipient"], limit=100)
        t2 = time.perf_counter()
        out["recipients_summary"].append(t1 - t0)
        out["messages"].append(t2 - t1)
    ctx.store.close()
    return out


class Viewer:
    """One running BeneApp on one database; `open()` times F2 → lists populated."""

    def __init__(self, path: Path) -> None:
        from bene_tui.core.clock import Clock
        from bene_tui.core.config import Settings
        from bene_tui.services.secret_store import SecretStore
        from bene_tui.ui.app import BeneApp

        settings = Settings(db_path=str(path), terminal="bench", mode="helpdesk", lang="ja")
        self.app = BeneApp(settings=settings, clock=Clock(START),
                           secret_store=SecretStore(path.with_suffix(".secrets.json"), use_keyring=False))

    async def open(self, pilot) -> float:
        from textual.widgets import OptionList

        from bene_tui.ui.screens.outbox import OutboxScreen

        app = self.app
        t0 = time.perf_counter()
        app.push_screen(OutboxScreen())
        while True:
            screen = app.screen
            if isinstance(screen, OutboxScreen):
                try:
                    recipients = screen.query_one("#ob-recipients", OptionList)
                    messages = screen.query_one("#ob-messages", OptionList)
                except Exception:
                    recipients = messages = None
                if recipients is not None and recipients.option_count and messages.option_count:
                    self.listed = recipients.option_count
                    break
            await asyncio.sleep(0.0005)
        elapsed = time.perf_counter() - t0
        app.pop_screen()
        await pilot.pause()
        await asyncio.sleep(0.05)
        return elapsed


ui_rows: dict[str, int] = {}


async def ui_times(paths: dict[str, Path], runs: int, rounds: int = 3) -> dict[str, list[float]]:
    """One app per database, never two at once (they would share the event loop and thread pool);
    the databases take turns in `rounds` rounds, so machine noise hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    per_round = max(1, runs // rounds)
    for r in range(rounds):
        names = list(paths)
        for name in (names if r % 2 == 0 else names[::-1]):
            viewer = Viewer(paths[name])
            async with viewer.app.run_test(size=(120, 50)) as pilot:
                await viewer.app._ctx_ready.wait()
                await viewer.open(pilot)  # warm-up: imports, first compose
                for _ in range(per_round):
                    times[name].append(await viewer.open(pilot))
                ui_rows[name] = viewer.listed
    return times


def fmt(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"median {statistics.median(xs) * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--keep", help="directory to keep (and reuse) the generated databases")
    args = ap.parse_args()
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bene-outbox-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(f"outbox viewer: {args.small:,} vs {args.big:,} messages ({directory})", flush=True)
    paths = {"small": ensure(directory, args.small), "small-wide": ensure(directory, args.small, 1),
             "big": ensure(directory, args.big)}
    labels = {"small": f"{args.small:,} messages, {PER_RECIPIENT} per recipient",
              "small-wide": f"{args.small:,} messages, 1 per recipient",
              "big": f"{args.big:,} messages, {PER_RECIPIENT} per recipient"}

    print("\nservice calls the viewer makes (same process):")
    svc = {name: service_times(p, args.runs) for name, p in paths.items()}
    for call in ("recipients_summary", "messages"):
        small, big = statistics.median(svc["small"][call]), statistics.median(svc["big"][call])
        print(f"  {call:<20} small {small * 1000:7.2f} ms   big {big * 1000:7.2f} ms   ratio {big / small:5.2f}")

    print("\nF2 -> both lists populated (Pilot, databases taking turns):")
    ui = asyncio.run(ui_times(paths, args.runs))
    for name in paths:
        print(f"  {labels[name]:<40} {fmt(ui[name])}   ({ui_rows[name]} conversations listed)")
    big = statistics.median(ui["big"])
    for name in ("small", "small-wide"):
        ratio = big / statistics.median(ui[name])
        print(f"  ratio big / {name:<10} (medians): {ratio:.2f}")
    ratio = big / statistics.median(ui["small-wide"])
    print(f"  target: big as fast as small with as many conversations listed, ratio <= 1.2: "
          f"{'met' if ratio <= 1.2 else 'NOT met'}")
    if not args.keep:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
