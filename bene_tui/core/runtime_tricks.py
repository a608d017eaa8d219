"""The process-wide garbage-collector and import tricks, each kept only while its benchmark shows it pays.

Each has a name (the keys of `OFF`), and each benchmark named below runs bene-tui with and without it, side by
side in the same run, and prints the ratio:

    python bench/startup.py --without NAME       # start-up, for any of them
    python bench/transitions.py --without NAME   # screen changes (quiet_gc)

The code calls each through this module (`runtime_tricks.freeze_imports()`, ...), so a benchmark can
replace one with `OFF[NAME]` before the app starts. They live in core because the store uses one.
Figures: bench/README.md, "The tricks".
"""

from __future__ import annotations

import gc
import sys
from importlib import import_module
from types import ModuleType

_frozen = False


def freeze_imports() -> None:
    """`freeze_imports` — once per process, as the app is built: what has been imported by then
    (Textual, Rich, the app's modules) lives as long as the process, so the collector stops
    scanning it (`gc.freeze`). bench/startup.py: a full collection over those objects cost the
    first screen ≈ 15 ms."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


def import_hiding(module: str, hidden: tuple[str, ...]) -> ModuleType:
    """`hide_numpy` — import `module` with `hidden` made unimportable while it loads, unless something
    already imported them. sqlite-utils imports numpy and pandas, where installed, only to map their
    column types; we store neither. bench/startup.py: loading them cost start-up ≈ a third of a second
    (in the thread that opens the database, competing with the first screen)."""
    hide = [name for name in hidden if name not in sys.modules]
    for name in hide:
        sys.modules[name] = None  # makes `import name` fail fast inside `module`
    try:
        return import_module(module)
    finally:
        for name in hide:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


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


class _LeftToPython(QuietCollector):
    """quiet_gc off: Python's own collector decides when to collect."""

    def start(self) -> None:
        pass

    def settle(self) -> None:
        pass


# What each trick's name is replaced by to measure without it: (attribute of this module, stand-in).
OFF = {
    "freeze_imports": ("freeze_imports", lambda: None),
    "hide_numpy": ("import_hiding", lambda module, hidden: import_module(module)),
    "quiet_gc": ("QuietCollector", _LeftToPython),
}


def without(name: str):
    """Switch one trick off for this process (the benchmarks' `--without NAME`); returns what switches it back on."""
    attribute, stand_in = OFF[name]
    this = sys.modules[__name__]
    real = getattr(this, attribute)
    setattr(this, attribute, stand_in)
    return lambda: setattr(this, attribute, real)
