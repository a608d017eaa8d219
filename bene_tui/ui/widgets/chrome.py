"""The title bar and the key bar every full screen has, built with the screen in the mode's shape.

Both are cheap on purpose: every screen change and every focus move pays for them
(bench/startup.py, bench/transitions.py). Textual's Header is four widgets and its Footer one
widget per key, rebuilt whenever the focus moves; here the title bar is a title and (demo mode) the
demo clock, composed with the screen rather than mounted into it afterwards, and the key bar is
one line re-rendered in place. A key on the bar can still be clicked.
"""

from __future__ import annotations

import re

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from .demo_clock import DemoClock


class AppHeader(Horizontal):
    DEFAULT_CSS = """
    AppHeader { dock: top; height: 1; background: $panel; color: $foreground; }
    AppHeader > #app-title { width: 1fr; content-align: center middle; text-style: bold; }
    AppHeader > #trouble-badge { width: auto; padding: 0 1; background: $error; color: $background;
                                 text-style: bold; display: none; }
    AppHeader > #trouble-badge.on { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield Static(self.app.title, id="app-title", markup=False)
        if self.app.mode == "demo":  # on while F9's delivery trouble is (modes.DemoMode.show_trouble)
            yield Static("", id="trouble-badge", markup=False)
        # Every mode: a desk or a kiosk on a store whose demo clock was moved shows that time too.
        yield DemoClock(markup=False, id="demo-clock")

    def show_title(self, title: str) -> None:
        """Called by the app when its title changes (BeneApp.watch_title). Not `self.watch(app, ...)`:
        Textual keeps such a watcher, and with it this bar and its screen's render caches, until the
        title next changes, so every screen ever shown stayed in memory."""
        self.query_one("#app-title", Static).update(title)


FUNCTION_KEY = re.compile(r"f\d{1,2}")  # shown as F1 … F12, as printed on the keyboard


class KeyBar(Static):
    """The screen's shown key bindings: key, then what it does; disabled ones dimmed. Several keys
    for one action show once. Compact (demo mode: eleven keys on 120 columns) drops the padding
    around each key; a bar too wide for the terminal drops it too, then takes a second line, so
    every key shows whole at any width from 80."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground; }
    KeyBar > .keybar--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
    KeyBar > .keybar--description { color: $footer-description-foreground;
                                    background: $footer-description-background; }
    """
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}

    def __init__(self, compact: bool = False, **kw) -> None:
        super().__init__("", markup=False, **kw)
        self.compact = compact
        self.spans: list[tuple[int, int, int, str, bool]] = []  # (line, first cell, end cell, key, enabled)
        self._shown: tuple | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.show_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        self.show_keys()

    def _bindings_changed(self, screen) -> None:
        if self.is_attached and screen is self.screen:
            self.show_keys()

    def keys(self) -> list[tuple[str, str, str, bool]]:
        """(key, as displayed, description, enabled) for each action shown, in binding order."""
        seen: set[str] = set()
        out = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                shown = self.app.get_key_display(binding)
                out.append((binding.key, shown.upper() if FUNCTION_KEY.fullmatch(shown) else shown,
                            binding.description, enabled))
        return out

    def _parts(self, keys, pad: str) -> list[tuple[Content, str, bool]]:
        key_style = self.get_visual_style("keybar--key")
        text_style = self.get_visual_style("keybar--description")
        parts = []
        for key, shown, description, enabled in keys:
            part = Content.assemble((f"{pad}{shown}{pad}", key_style),
                                    (f" {description}{pad} " if description else " ", text_style))
            parts.append((part.stylize("dim") if not enabled else part, key, enabled))
        return parts

    def show_keys(self) -> None:
        keys = self.keys()
        width = self.size.width or self.app.size.width
        if (keys, width) == self._shown:  # the bindings signal fires several times while a screen mounts
            return
        self._shown = (keys, width)
        parts = self._parts(keys, "" if self.compact else " ")
        if sum(part.cell_length for part, _, _ in parts) > width:
            parts = self._parts(keys, "")  # the padding goes first ...
        lines: list[list[Content]] = [[]]
        spans, x = [], 0
        for part, key, enabled in parts:
            if x and x + part.cell_length > width:  # ... then the bar takes another line
                lines.append([])
                x = 0
            spans.append((len(lines) - 1, x, x + part.cell_length, key, enabled))
            lines[-1].append(part)
            x += part.cell_length
        self.spans = spans
        height_changed = self.styles.height is None or self.styles.height.value != len(lines)
        if height_changed:
            self.styles.height = len(lines)
        self.update(Content("\n").join(Content("").join(line) for line in lines), layout=height_changed)

    def on_click(self, event: events.Click) -> None:
        for line, start, end, key, enabled in self.spans:
            if line == event.y and start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return


def app_footer(app) -> KeyBar:
    return KeyBar(compact=app.mode == "demo")
