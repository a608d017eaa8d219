"""Every use of a private part of Textual, in one place (Textual 8.2).

Each is here because Textual has no public way to do it; tests/test_textual_compat.py fails
loudly, naming the part, when a Textual release changes one under us. Nothing else in the app
reaches into Textual's private names.
"""

from __future__ import annotations

from typing import Any

try:
    from textual._styles_cache import StylesCache
except ImportError:  # a Textual without the module has no such cache
    StylesCache = None


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
