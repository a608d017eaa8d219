"""The demo clock every terminal on a store shares (SPEC §5: a clock the presenter fast-forwards).

How far the clock was pushed lives in the store (`settings` key `clock_offset`), not in one
process: two demo terminals, or a demo and a helpdesk terminal, on one store read the same time,
so an invitation a moved clock expired reads expired at the desk too, and nothing is written
"in the future" of another terminal. Each process adds it to its own Clock (`Clock.shared_offset`);
the app reads it again before every service call (`BeneApp.call`) and once a second.
"""

from __future__ import annotations

from . import audit

KEY = "clock_offset"


def load(ctx) -> float:
    """The store's offset, now also this process's clock's. A read of one row by its key."""
    row = ctx.db.execute("select value from settings where key = ?", [KEY]).fetchone()
    try:
        offset = float(row[0]) if row else 0.0
    except ValueError:  # a hand-edited row: time as it is
        offset = 0.0
    ctx.clock.shared_offset = offset
    return offset


def advance(ctx, seconds: float) -> float:
    """Push every terminal's clock forward by `seconds` (demo mode; audited)."""
    seconds = float(seconds)
    if not 0 < seconds <= 366 * 86400:
        raise ValueError(seconds)
    with ctx.tx() as db:
        row = db.execute("select value from settings where key = ?", [KEY]).fetchone()
        offset = (float(row[0]) if row else 0.0) + seconds
        db["settings"].upsert({"key": KEY, "value": repr(offset)}, pk="key")
        audit.record(ctx, "demo.clock_advance", f"terminal:{ctx.terminal}", "ok", seconds=seconds, offset=offset)
    ctx.clock.shared_offset = offset
    return offset


def reset(ctx) -> None:
    """Back to real time for every terminal (the demo reset)."""
    with ctx.tx() as db:
        db.execute("delete from settings where key = ?", [KEY])
    ctx.clock.shared_offset = 0.0
