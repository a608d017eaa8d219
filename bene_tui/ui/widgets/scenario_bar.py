"""The small overlay of a playing scenario: its caption, where it is, and the presenter's keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..textual_compat import is_being_removed


class ScenarioBar(Vertical):
    DEFAULT_CSS = """
    ScenarioBar { dock: bottom; height: auto; max-height: 7; margin-bottom: 1; padding: 0 1;
                  background: $boost; border-top: heavy $accent; }
    ScenarioBar #scenario-caption { text-style: bold; color: $text; }
    ScenarioBar #scenario-status { color: $accent; }
    ScenarioBar #scenario-keys { color: $text-muted; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        # Held, not queried: the player may call show_state while the screen is being removed.
        self.caption_line = Static("", id="scenario-caption", markup=False)
        self.status_line = Static("", id="scenario-status", markup=False)
        self.keys_line = Static("", id="scenario-keys", markup=False)

    def compose(self) -> ComposeResult:
        yield self.caption_line
        yield self.status_line
        yield self.keys_line

    def on_mount(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        player = getattr(self.app.modes, "player", None)
        if player is None or not self.is_attached or is_being_removed(self):
            return
        caption, status, keys = player.bar_text()
        self.caption_line.update(caption)
        self.caption_line.display = bool(caption)
        self.status_line.update(status)
        self.keys_line.update(keys)
        self.keys_line.display = bool(keys)
