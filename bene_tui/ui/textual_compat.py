"""Every use of a private part of Textual, in one place (Textual 8.2).

Each is here because Textual has no public way to do it; tests/test_textual_compat.py fails
loudly, naming the part, when a Textual release changes one under us. Nothing else in the app
reaches into Textual's private names.
"""

from __future__ import annotations

from typing import Any

try:
    from textual import _styles_cache
    from textual._styles_cache import StylesCache
except ImportError:  # a Textual without the module has no such cache
    _styles_cache = StylesCache = None


def register_screen(app, screen) -> None:
    """What `push_screen` does first (App._get_screen → App._register): a screen composed ahead of
    its push (ui/screens/ahead.py) must be registered with the app to be composed at all."""
    app._register(app, screen)


def app_key_bindings(app) -> dict[str, list]:
    """The app's own key → bindings map, which the modes rewrite in place (ui/modes.py): kiosk mode
    removes the quit keys, the modes add theirs with labels in the current language. Textual's
    public `bind()` adds but cannot remove or relabel."""
    return app._bindings.key_to_bindings


def clear_render_caches() -> None:
    """Textual 8.2 keeps the render caches of up to 1,024 closed widgets alive: StylesCache's
    `get_inner_outer` is an lru_cache on an instance method (textual#6665). Emptied whenever a
    screen closes (BeneApp.pop_screen; bench/transitions.py shows the heap and stalls without it)."""
    if StylesCache is None:
        return
    clear = getattr(getattr(StylesCache, "get_inner_outer", None), "cache_clear", None)
    if clear is not None:
        clear()


def _line_trim_by_cells(segments: list, start: bool, end: bool) -> list:
    """Textual's `_segment_tools.line_trim` (remove a cell at the start and/or end of a line), with the
    end measured in cells as the start is."""
    segments = segments.copy()
    if segments and start:
        _, first = segments[0].split_cells(1)
        if first.text:
            segments[0] = first
        else:
            segments.pop(0)
    if segments and end:
        last, _ = segments[-1].split_cells(segments[-1].cell_length - 1)
        if last.text:
            segments[-1] = last
        else:
            segments.pop()
    return segments


def trim_outlines_by_cells() -> None:
    """A side outline (our focused buttons' bars, ui/widgets/button.py) is drawn over a line Textual
    first trims by one cell at each end (StylesCache.render_line → line_trim); Textual 8.2 trims the end
    by characters (`split_cells(len(text) - 1)`), so a label of wide characters filling its button lost
    its last quarter while focused: 「認証コードを再送信する(taro.walk@」. The styles cache's name for
    line_trim is pointed at a cell-correct one. Once per process (BeneApp.__init__); idempotent."""
    if _styles_cache is not None and hasattr(_styles_cache, "line_trim"):
        _styles_cache.line_trim = _line_trim_by_cells


def forget_pressed_radio(radio_set) -> None:
    """A RadioSet rebuilt by a language switch (BaseScreen.relabel) gets its choice back by setting a
    button's value; the set must first forget the button it thinks is pressed, or it turns it off."""
    radio_set._pressed_button = None


def is_being_removed(widget) -> bool:
    """True while Textual is taking the widget's screen apart: a worker that finishes then must not
    update it (OutboxView, ScenarioBar)."""
    return bool(widget._pruning)


def app_running(app) -> bool:
    """False once the app has begun to close (BeneApp._handle_exception: a screen composed ahead is
    torn down halfway then, and its NoMatches is no error)."""
    return bool(app._running)


def notifications(app) -> list[Any]:
    """The notifications on show (the scenario player reads them as part of the visible text)."""
    return list(app._notifications)
