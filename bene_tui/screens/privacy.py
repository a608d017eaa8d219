"""「開示」 and 「削除」 in the helpdesk's person view (services: privacy.py).

Each is confirmed in `NamedConfirmScreen`, which also asks who performs it (prefilled with the
session's operator): a data request is answered by a named person, recorded in the audit trail.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from .. import helpdesk, privacy
from ..errors import BeneError
from ..widgets.button import Button
from ..widgets.field import Field
from .dialog import Dialog

REQUESTS = ("export", "erase")


class NamedConfirmScreen(Dialog[str | None]):
    """Yes (with the operator's name) or no. Focus starts on "no"; Escape says no."""

    DEFAULT_CSS = "NamedConfirmScreen .buttons { height: auto; }"
    WIDTH = 80
    BINDINGS = [Binding("escape", "no", "いいえ/No")]

    def __init__(self, question: str, operator: str) -> None:
        super().__init__()
        self.question, self.operator = question, operator

    def compose(self) -> ComposeResult:
        t = self.app.t
        with self.box():
            yield Static(t("hd.confirm_title"), classes="title")
            yield Static(self.question, id="question", markup=False)
            yield Field("operator", t("privacy.operator_label"), value=self.operator)
            with Horizontal(classes="buttons"):
                yield Button(t("hd.yes"), id="yes", variant="warning")
                yield Button(t("hd.no"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    @on(Input.Submitted, "#operator")
    def _yes(self) -> None:
        try:
            name = helpdesk.operator_name(self.query_one("#operator", Input).value)
        except BeneError as error:
            self.query_one("#operator-error", Static).update(self.app.t(error.key, **error.params))
            self.query_one("#operator", Input).focus()
            return
        self.dismiss(name)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(None)


def buttons(screen) -> list[Button]:
    """The request buttons for the person on show: an account not erased yet."""
    acct = (screen.data or {}).get("account")
    if not acct or acct["login_id"] == privacy.ERASED:
        return []
    return [Button(screen.t(f"privacy.{what}"), id=f"privacy-{what}", variant="error" if what == "erase" else "default")
            for what in REQUESTS]


def ask(screen, what: str) -> None:
    """Confirm, then run the request as the operator named and show what it did."""
    t, account_id = screen.t, screen.data["account"]["id"]
    operator = screen.app.operator or ""  # the agent typed it this shift (never the OS user)

    async def answered(name: str | None) -> None:
        if not name:
            screen.notify(t("hd.done.cancelled"))
            return
        if what == "export":
            result = await screen.run_service(privacy.export, account_id, name)
            text = t("privacy.exported", path=result["path"], **result["counts"]) if result else ""
        else:
            result = await screen.run_service(privacy.erase, account_id, name)
            text = t("privacy.erased", **result) if result else ""
        if result is None:
            await screen._reload_after_refusal()
            return
        await screen.load()
        screen.query_one("#hd-privacy-result", Static).update(text)
        screen.notify(text, markup=False)

    screen.app.push_screen(NamedConfirmScreen(t(f"privacy.confirm_{what}"), operator), answered)
