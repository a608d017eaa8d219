"""The process-wide garbage-collector tricks, each kept only while its benchmark shows it pays.

Each has a name (the keys of `OFF`), and each benchmark named below runs bene-tui with and without it, side by
side in the same run, and prints the ratio:

    python bench/startup.py --without NAME       # start-up
    python bench/transitions.py --without NAME   # screen changes: what keeps both

The code calls each through this module (`runtime_tricks.freeze_imports()`, ...), so a benchmark can
replace one with `OFF[NAME]` before the app starts. Plain Python (the app is duck-typed), so core:
the benchmarks import it without the UI. Figures: bench/README.md, "The tricks"
(dropped there: hiding numpy and pandas while sqlite-utils loads, which start-up no longer needs).
"""

from __future__ import annotations

import gc
import sys

_frozen = False


def freeze_imports() -> None:
    """`freeze_imports` — once per process, as the app is built: what has been imported by then
    (Textual, Rich, the app's modules) lives as long as the process, so the collector stops
    scanning it (`gc.freeze`), and each of QuietCollector's full collections walks the app's own
    objects only: 17–48 ms instead of 60–97 ms. bench/transitions.py --without freeze_imports:
    medians unchanged, every step's p95 1.16–1.34× (a slower collection reaches into the next
    press). Start-up gains nothing (bench/startup.py: 0.99–1.02)."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


class QuietCollector:
    """`quiet_gc` — full garbage collections at quiet moments, not in the middle of a screen change.

    Every screen that closes leaves its widgets as cyclic garbage (some 45,000 objects per
    registration) that only a full collection frees, at 1.5–2.5 µs an object. Left to Python, a
    full collection of 50–130 ms fell inside most registrations' screen changes, and young
    collections added a few ms to each (bench/transitions.py). While the app runs, Python's
    automatic collector is off and the app collects everything:

    - SETTLE seconds after a screen is shown (its first frame drawn, the next screen composed
      ahead), before anyone has read it, let alone typed: one screen's garbage, 20–40 ms;
    - every FULL seconds at the latest, for screens that change faster than that (a scenario
      playing) or one left open all day.

    The automatic collector comes back on when the app closes (the tests run many apps in one
    process). `timers` is the app: anything with Textual's `set_timer` and `set_interval`.
    bench/transitions.py --without quiet_gc (kiosk): every step slower, medians 1.12–2.90×
    (step 1 2.90×), p95 1.08–2.14×.
    """

    SETTLE = 0.15
    FULL = 30.0

    def __init__(self, timers) -> None:
        self.timers = timers
        self._settle_timer = None

    def start(self) -> None:
        gc.disable()
        self.timers.set_interval(self.FULL, self.collect)

    def stop(self) -> None:
        gc.enable()

    def settle(self) -> None:
        """A screen has just been shown: collect once it has settled (a later screen postpones it)."""
        if self._settle_timer is not None:
            self._settle_timer.stop()
        self._settle_timer = self.timers.set_timer(self.SETTLE, self.collect)

    def collect(self) -> None:
        self._settle_timer = None
        gc.collect()


def _unfrozen() -> None:
    """freeze_imports off: nothing frozen (an earlier app's freeze in this process undone)."""
    global _frozen
    gc.unfreeze()
    _frozen = False


class _LeftToPython(QuietCollector):
    """quiet_gc off: Python's own collector decides when to collect."""

    def start(self) -> None:
        pass

    def settle(self) -> None:
        pass


# What each trick's name is replaced by to measure without it: (attribute of this module, stand-in).
OFF = {
    "freeze_imports": ("freeze_imports", _unfrozen),
    "quiet_gc": ("QuietCollector", _LeftToPython),
}


def without(name: str):
    """Switch one trick off for this process (the benchmarks' `--without NAME`); returns what switches it back on."""
    attribute, stand_in = OFF[name]
    this = sys.modules[__name__]
    real = getattr(this, attribute)
    setattr(this, attribute, stand_in)
    return lambda: setattr(this, attribute, real)
