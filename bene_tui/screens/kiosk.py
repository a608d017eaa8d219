"""Kiosk overlays: the idle countdown before the wipe, and the operator's PIN to leave."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from .. import pin
from ..widgets.button import Button, ButtonRow
from ..widgets.field import Field
from ..widgets.idle_countdown import IdleCountdown
from . import routes
from .base import BaseScreen
from .dialog import Dialog
from ..widgets.jtext import JText


class CountdownScreen(Dialog):
    """「ご利用を続けますか?」 with the seconds left. Any key or click keeps the session (the kiosk
    controller sees the input first and closes this screen)."""

    DEFAULT_CSS = """
    CountdownScreen { background: $background 85%; }
    CountdownScreen .title { text-style: bold; color: $warning; width: 100%; text-align: center; }
    CountdownScreen .lead { width: 100%; text-align: center; margin-bottom: 1; }
    CountdownScreen .hint { width: 100%; text-align: center; margin-top: 1; }
    """

    WIDTH = 64

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def compose(self) -> ComposeResult:
        t = self.app.t
        with self.box(id="countdown-box"):
            yield JText(t("kiosk.idle_title"), classes="title")
            yield JText(t("kiosk.idle_body"), classes="lead")
            yield IdleCountdown(int(self.seconds), id="idle-countdown")
            yield JText(t("kiosk.idle_keep"), classes="hint")

    def set_remaining(self, seconds: float) -> None:
        for widget in self.query(IdleCountdown):
            widget.set_remaining(seconds)


class OperatorExitScreen(BaseScreen, Dialog):
    """The operator's way out of a kiosk: the key (ctrl+o) and then the PIN."""

    BINDINGS = [Binding("escape", "back", "キャンセル/Cancel")]
    DEFAULT_CSS = "OperatorExitScreen { background: $background 85%; }"
    WIDTH, DANGER = 76, True

    def compose(self) -> ComposeResult:
        with self.box(id="operator-box"):
            yield JText(self.t("kiosk.operator_title"), classes="title")
            yield JText(self.t("kiosk.operator_lead"), classes="lead")
            yield Field("pin", self.t("kiosk.pin"), password=True, max_length=pin.PIN_MAX * 2)
            with ButtonRow(classes="buttons"):
                yield Button(self.t("kiosk.pin_exit"), id="pin-exit", variant="error")
                yield Button(self.t("kiosk.pin_outbox"), id="pin-outbox")
                yield Button(self.t("kiosk.pin_cancel"), id="pin-cancel")
            yield JText("", classes="form-error", markup=False)
            yield JText(self.t("kiosk.pin_keys"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#pin", Input).focus()

    def action_back(self) -> None:
        self.dismiss(False)

    @on(Input.Submitted, "#pin")
    def _enter(self) -> None:
        self.query_one("#pin-exit", Button).press()

    @on(Button.Pressed, "#pin-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#pin-exit")
    async def _exit(self, event: Button.Pressed) -> None:
        if await self._verified(event.button, "kiosk.operator_exit"):
            self.app.exit()

    @on(Button.Pressed, "#pin-outbox")
    async def _outbox(self, event: Button.Pressed) -> None:
        """Every message, for a rehearsal; Escape (or the idle wipe) closes it."""
        if await self._verified(event.button, "kiosk.operator_outbox"):
            self.dismiss(False)
            self.app.push_screen(routes.OUTBOX(full=True))

    async def _verified(self, button: Button, action: str) -> bool:
        field = self.query_one("#pin", Input)
        value, field.value = field.value, ""  # the PIN does not stay on screen or in the widget
        if await self.run_service(pin.verify, value, action, button=button):
            return True
        field.focus()
        return False
