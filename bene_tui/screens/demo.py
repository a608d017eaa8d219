"""Demo overlays: delivery trouble on demand, and the confirmation before the demo data is reset."""

from __future__ import annotations

import unicodedata

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, Input, Static

from .. import outbox
from ..widgets.button import Button, ButtonRow
from ..widgets.field import Field
from ..widgets.toggles import Tick
from .base import BaseScreen
from .dialog import Dialog
from ..widgets.jtext import JText

MAX_DELAY_MIN = 24 * 60


def trouble_summary(t, trouble: dict) -> str:
    parts = []
    if trouble.get("sms_delay_min"):
        parts.append(t("demo.trouble_delay", minutes=trouble["sms_delay_min"]))
    if trouble.get("fail_email"):
        parts.append(t("demo.trouble_fail_email"))
    if trouble.get("fail_sms"):
        parts.append(t("demo.trouble_fail_sms"))
    return ", ".join(parts) if parts else t("demo.trouble_none")


class DemoTroubleScreen(BaseScreen, Dialog):
    """SMS late by N minutes of demo time; e-mail or SMS failing (status `failed`)."""

    # Enter applies from any field, as the hint says: a checkbox would otherwise only tick itself.
    BINDINGS = [Binding("escape", "back", "閉じる/Close"), Binding("enter", "enter", show=False, priority=True)]
    WIDTH = 70

    def compose(self) -> ComposeResult:
        with self.box(id="trouble-box"):
            yield JText(self.t("demo.trouble_title"), classes="title")
            yield JText(self.t("demo.trouble_lead"), classes="lead")
            yield Field("sms_delay", self.t("demo.sms_delay"), value="0", max_length=5)
            yield Tick(self.t("demo.fail_email"), id="fail_email")
            yield Tick(self.t("demo.fail_sms"), id="fail_sms")
            with ButtonRow(classes="buttons"):
                yield Button(self.t("demo.trouble_save"), id="trouble-save", variant="warning")
                yield Button(self.t("demo.trouble_close"), id="trouble-close")
            yield JText("", classes="form-error", markup=False)
            yield JText(self.t("demo.trouble_keys"), classes="hint")

    async def on_mount(self) -> None:
        self.query_one("#sms_delay", Input).focus()
        current = await self.run_service(outbox.trouble)
        if current is None:
            return
        self.query_one("#sms_delay", Input).value = str(int(current.get("sms_delay_min") or 0))
        self.query_one("#fail_email", Checkbox).value = bool(current.get("fail_email"))
        self.query_one("#fail_sms", Checkbox).value = bool(current.get("fail_sms"))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_enter(self) -> None:
        button = self.focused if isinstance(self.focused, Button) else self.query_one("#trouble-save", Button)
        button.press()

    @on(Button.Pressed, "#trouble-close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#trouble-save")
    async def _save(self, event: Button.Pressed) -> None:
        self.clear_errors()
        raw = unicodedata.normalize("NFKC", self.query_one("#sms_delay", Input).value).strip() or "0"
        if not raw.isdigit() or int(raw) > MAX_DELAY_MIN:
            self.query_one("#sms_delay-error", Static).update(self.t("demo.delay_invalid"))
            return
        settings = {"sms_delay_min": int(raw), "fail_email": self.query_one("#fail_email", Checkbox).value,
                    "fail_sms": self.query_one("#fail_sms", Checkbox).value}
        await self.run_service(outbox.set_trouble, button=event.button, **settings)
        self.app.notify(self.t("demo.trouble_saved", summary=trouble_summary(self.t, settings)), markup=False)
        demo = self.app.modes.demo
        if demo is not None:
            demo.trouble = settings
            demo.show_trouble(self.app.screen_stack[-2])  # the screen this dialog returns to
        self.dismiss(settings)


class ConfirmResetScreen(Dialog[bool]):
    """「デモデータを初期化しますか?」 — Cancel has the focus, so a stray Enter keeps the data."""

    BINDINGS = [Binding("escape", "cancel", "キャンセル/Cancel")]
    WIDTH, DANGER = 70, True

    def __init__(self, keys: str = "demo.reset", **params: str) -> None:
        """`keys`: the catalogue prefix of its texts (demo.rewind for the snapshot rewind); `params` fill them."""
        super().__init__()
        self.keys, self.params = keys, params

    def compose(self) -> ComposeResult:
        def t(part: str) -> str:
            return self.app.t(f"{self.keys}_{part}", **self.params)

        with self.box(id="reset-box"):
            yield JText(t("title"), classes="title", markup=False)
            yield JText(t("body"), classes="lead", markup=False)
            with ButtonRow(classes="buttons"):
                yield Button(t("yes"), id="reset-yes", variant="error")
                yield Button(t("no"), id="reset-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#reset-no", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#reset-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#reset-no")
    def _no(self) -> None:
        self.dismiss(False)
