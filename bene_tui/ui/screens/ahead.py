"""The next screen of a flow, composed ahead while the person is still on this one.

Textual composes, styles and mounts a screen when it is pushed: for Step 2 (about 30 widgets)
that was some 40 ms of the press of 「次へ」 (bench/transitions.py). A screen that can be built
before its data is known is composed in the background a moment after the current one shows,
while the person reads and types; the press fills it in and Textual only lays it out and draws
it. BaseScreen wires this up: a screen names its successor in `build_ahead()`, then fills in and
pushes `self.ahead.take()`.

A screen composed ahead holds nothing of anybody (its data is set when it is taken), and it is
thrown away when its owner closes, or taken only if the language and mode are still those it
was composed in.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from textual.screen import Screen
from textual.widgets import Input

from ..textual_compat import register_screen

DELAY = 0.05  # seconds after the owner's first frame: before anyone has typed a key, never inside it


class Ahead:
    def __init__(self, owner: Screen, build: Callable[[], Screen | None]) -> None:
        self.owner, self.build = owner, build
        self.screen: Screen | None = None
        self._made_for: tuple[str, str] | None = None

    def schedule(self) -> None:
        """Compose the next screen soon (the owner calls this whenever it becomes current)."""
        self.owner.call_after_refresh(self.owner.set_timer, DELAY, self._compose)

    def _compose(self) -> None:
        app = self.owner.app
        if self.screen is not None or not self.owner.is_current:
            return
        self.screen, self._made_for = self.build(), (app.lang, app.mode)
        if self.screen is None:
            return
        register_screen(app, self.screen)  # what push_screen does first (ui/textual_compat.py)

    def take(self) -> Screen | None:
        """The next screen: the one composed ahead if it still fits, else a new one. The caller
        fills it in and pushes it."""
        screen, self.screen = self.screen, None
        if screen is not None and self._made_for == (self.owner.app.lang, self.owner.app.mode):
            # A text field is focused again as it is shown: its cursor blinks (and an input method's
            # window sits) from now, not from when it was composed. Other widgets have no cursor,
            # and each change of focus restyles them (1 ms for step 2's choice of login ID).
            # (A half-composed screen is fine: push_screen waits for its mount.)
            focused = screen.focused
            if isinstance(focused, Input):
                screen.set_focus(None)
                screen.set_focus(focused, scroll_visible=False)
            return screen
        if screen is not None:
            self._drop(screen)
        return self.build()

    def discard(self) -> None:
        """The owner is closing: the screen composed for it goes too."""
        screen, self.screen = self.screen, None
        if screen is not None:
            self._drop(screen)

    def _drop(self, screen: Screen) -> None:
        """Remove a screen composed ahead once it has finished composing: removed halfway, its
        on_mount would run without its widgets (a press or Escape can come at any moment)."""
        async def drop() -> None:
            while not screen.is_mounted and screen.is_attached:
                await asyncio.sleep(0.01)
            await screen.remove()

        self.owner.app.run_worker(drop, group="ahead", exit_on_error=False)
