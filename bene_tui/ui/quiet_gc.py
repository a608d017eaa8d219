"""Full garbage collections at quiet moments, not in the middle of a screen change.

Every screen that closes leaves its widgets as cyclic garbage (some 45,000 objects per
registration) that only a full collection frees, at 1.5–2.5 µs an object. Left to Python, a full
collection of 50–130 ms fell inside most registrations' screen changes, and young collections
added a few ms to each (bench/transitions.py). While the app runs, Python's automatic collector
is off and the app collects everything:

- SETTLE seconds after a screen is shown (its first frame drawn, the next screen composed
  ahead), before anyone has read it, let alone typed: one screen's garbage, 20–40 ms;
- every FULL seconds at the latest, for screens that change faster than that (a scenario
  playing) or one left open all day.

The automatic collector comes back on when the app closes (the tests run many apps in one process).
"""

from __future__ import annotations

import gc

SETTLE = 0.15
FULL = 30.0


class QuietCollector:
    def __init__(self, app) -> None:
        self.app = app
        self._settle_timer = None

    def start(self) -> None:
        gc.disable()
        self.app.set_interval(FULL, self.collect)

    def stop(self) -> None:
        gc.enable()

    def settle(self) -> None:
        """A screen has just been shown: collect once it has settled (a later screen postpones it)."""
        if self._settle_timer is not None:
            self._settle_timer.stop()
        self._settle_timer = self.app.set_timer(SETTLE, self.collect)

    def collect(self) -> None:
        self._settle_timer = None
        gc.collect()
