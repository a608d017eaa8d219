"""Guessing limits: after N free failures, wait `wait` seconds, growing with each further failure."""

from __future__ import annotations

from bene_tui.core.clock import fmt_time
from bene_tui.core.errors import Throttled


def check(ctx, key: str) -> None:
    """Raise Throttled while `key` must wait."""
    row = ctx.db.execute("select blocked_until, failures from throttle where key = ?", [key]).fetchone()
    if row and row[0] and row[0] > ctx.now():

        raise Throttled("error.throttled", seconds=int(row[0] - ctx.now()) + 1,
                        staff=f"{key} waits until {fmt_time(row[0])} JST after {row[1]} failures")


def fail(ctx, key: str, free: int, wait: int, max_wait: int = 3600, forget_after: int = 3600) -> int:
    """Count one failure (inside the caller's transaction); returns the failures so far.

    A quiet hour (`forget_after`) starts the count afresh.
    """
    row = ctx.db.execute("select failures, last_failure_at from throttle where key = ?", [key]).fetchone()
    recent = row and row[1] and ctx.now() - row[1] < forget_after
    failures = (row[0] if recent else 0) + 1
    blocked = None
    if failures >= free:
        blocked = ctx.now() + min(wait * (failures - free + 1), max_wait)
    ctx.db["throttle"].insert(
        {"key": key, "failures": failures, "last_failure_at": ctx.now(), "blocked_until": blocked},
        replace=True,
    )
    return failures


def clear(ctx, key: str) -> None:
    ctx.db.execute("delete from throttle where key = ?", [key])


def terminal_key(ctx, what: str) -> str:
    """Step-1-like guessing is counted per terminal (the kiosk session's place)."""
    return f"{what}:{ctx.terminal}"
