"""F2: the outbox viewer, full screen. Escape returns to the step you were on."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult

from .base import BaseScreen
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.jtext import JText
from ..widgets.outbox_view import OutboxView


class OutboxScreen(BaseScreen):
    def __init__(self, full: bool = False) -> None:
        super().__init__()
        self.full = full  # a kiosk operator's view of every message (ui/screens/kiosk.py, after the PIN)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield OutboxView(full=self.full, id="outbox-view")
        yield JText(self.t("outbox.keys"), classes="hint")
        yield app_footer(self.app)

    def on_mount(self) -> None:
        self.query_one("#ob-recipients").focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(OutboxView.LinkOpened)
    def _link(self, event: OutboxView.LinkOpened) -> None:
        self.app.pop_screen()
        self.app.open_link(event.link)
