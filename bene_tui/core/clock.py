"""Time for every service comes from a Clock, so tests and the demo can move it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


class Clock:
    """Wall-clock time plus how far it was pushed forward: `shared_offset`, the demo clock every
    terminal on the store shares (services/shared_clock.py), and `offset`, this process's own (tests)."""

    def __init__(self, start: float | None = None) -> None:
        # A fixed start freezes time (tests); None follows the real clock.
        self._fixed = start
        self.offset = 0.0
        self.shared_offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the simulated world sees them."""
        base = self._fixed if self._fixed is not None else time.time()
        return base + self.offset + self.shared_offset

    @property
    def pushed(self) -> float:
        """How far the simulated world is ahead of the real clock (shown in the header)."""
        return self.offset + self.shared_offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0

    def local(self, ts: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.now() if ts is None else ts, JST)


def fmt_time(ts: float | None, with_date: bool = True) -> str:
    if ts is None:
        return "-"
    dt = datetime.fromtimestamp(ts, JST)
    return dt.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")
