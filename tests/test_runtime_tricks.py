"""core/runtime_tricks.py: the benchmarks' `--without NAME` switches each trick off and back on
(bench/startup.py, bench/transitions.py); the quiet collector's timing is tested in
tests/test_chrome.py."""

from __future__ import annotations

from bene_tui.core import runtime_tricks


def test_every_trick_switches_off_and_back_on():
    assert set(runtime_tricks.OFF) == {"freeze_imports", "quiet_gc"}
    for name, (attribute, stand_in) in runtime_tricks.OFF.items():
        real = getattr(runtime_tricks, attribute)
        switch_back = runtime_tricks.without(name)
        assert getattr(runtime_tricks, attribute) is stand_in, name
        switch_back()
        assert getattr(runtime_tricks, attribute) is real, name
