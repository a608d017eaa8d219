"""Garbage collection at quiet moments, not in the middle of a screen change.

Textual allocates heavily while it lays out and draws a screen, so Python's automatic collector
ran inside most screen changes: a full collection of the app's heap takes 25-45 ms, and without
the collector the median step-1 transition fell from 73 to 50 ms (bench/transitions.py). While
the app runs, the automatic collector is off and the app collects by itself:

- everything, SETTLE seconds after a screen has been shown (its frame drawn, the next screen
  composed ahead): the person is reading, nobody notices 30 ms;
- the young generations every YOUNG seconds, which takes a few ms;
- everything every FULL seconds at the latest, for a screen left open all day.

The collector is switched back on when the app closes (the tests run many apps in one process).
"""

from __future__ import annotations

import gc

SETTLE = 0.4
YOUNG = 1.0
FULL = 30.0


class QuietCollector:
    def __init__(self, app) -> None:
        self.app = app
        self._settle_timer = None
        self._since_full = 0.0

    def start(self) -> None:
        gc.disable()
        self.app.set_interval(YOUNG, self._young)

    def stop(self) -> None:
        gc.enable()

    def settle(self) -> None:
        """A screen has just been shown: collect once it has settled (a later screen postpones it)."""
        if self._settle_timer is not None:
            self._settle_timer.stop()
        self._settle_timer = self.app.set_timer(SETTLE, self.collect)

    def collect(self) -> None:
        self._settle_timer = None
        self._since_full = 0.0
        gc.collect()

    def _young(self) -> None:
        self._since_full += YOUNG
        if self._since_full >= FULL:
            self.collect()
        else:
            gc.collect(1)
