"""The small overlay of a playing scenario: its caption, where it is, and the presenter's keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class ScenarioBar(Vertical):
    DEFAULT_CSS = """
    ScenarioBar { dock: bottom; height: auto; max-height: 7; margin-bottom: 1; padding: 0 1;
                  background: $boost; border-top: heavy $accent; }
    ScenarioBar #scenario-caption { text-style: bold; color: $text; }
    ScenarioBar #scenario-status { color: $accent; }
    ScenarioBar #scenario-keys { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="scenario-caption", markup=False)
        yield Static("", id="scenario-status", markup=False)
        yield Static("", id="scenario-keys", markup=False)

    def on_mount(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        player = getattr(self.app.modes, "player", None)
        if player is None or not self.is_attached:
            return
        caption, status, keys = player.bar_text()
        self.query_one("#scenario-caption", Static).update(caption)
        self.query_one("#scenario-caption", Static).display = bool(caption)
        self.query_one("#scenario-status", Static).update(status)
        self.query_one("#scenario-keys", Static).update(keys)
        self.query_one("#scenario-keys", Static).display = bool(keys)
