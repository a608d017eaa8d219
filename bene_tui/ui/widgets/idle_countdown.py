"""The kiosk's visible countdown: big digits before the idle wipe, one line on a finished flow."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Digits, Static


class IdleCountdown(Vertical):
    """Seconds left before the session is wiped. `big` shows them as large digits."""

    DEFAULT_CSS = """
    IdleCountdown { height: auto; width: 100%; align-horizontal: center; }
    IdleCountdown Digits { width: 100%; text-align: center; color: $warning; text-style: bold; }
    IdleCountdown .countdown-text { width: 100%; text-align: center; text-style: bold; }
    """

    def __init__(self, seconds: int, *, key: str = "kiosk.idle_seconds", big: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.seconds = max(0, int(seconds))
        self.key = key
        self.big = big

    def compose(self) -> ComposeResult:
        if self.big:
            yield Digits(str(self.seconds), id="countdown-digits")
        yield Static(self._text(), classes="countdown-text", id="countdown-text")

    def _text(self) -> str:
        return self.app.t(self.key, seconds=self.seconds)

    def set_remaining(self, seconds: float) -> None:
        value = max(0, int(seconds + 0.999))  # 14.2 s left reads "15": never show 0 before the end
        if value == self.seconds:
            return
        self.seconds = value
        if not self.is_mounted:
            return
        if self.big:
            self.query_one("#countdown-digits", Digits).update(str(value))
        self.query_one("#countdown-text", Static).update(self._text())
