"""「お問い合わせ」: where Case 2's 「こちらよりお問い合わせください」 leads (SPEC §3.3)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ..widgets.button import Button
from ..widgets.chrome import AppHeader, app_footer
from .base import BaseScreen


class ContactScreen(BaseScreen):
    """Who to ask: the person's own organisations (known once the password was right), then the centre."""

    def __init__(self, orgs: list[str] | None = None) -> None:
        super().__init__()
        self.orgs = list(orgs or [])

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="flow", can_focus=False), Vertical(classes="box"):
            yield Static(self.t("login.contact_heading"), classes="title", markup=False)
            for org in self.orgs:
                yield Static(self.t("login.contact_org", org=org), classes="contact-org", markup=False)
            yield Static(self.t("login.contact_text"), id="contact-text", classes="lead", markup=False)
            yield Button(self.t("login.back"), id="contact-back")
        yield app_footer(self.app)

    def on_mount(self) -> None:
        self.query_one("#contact-back", Button).focus()

    @on(Button.Pressed, "#contact-back")
    def _back(self) -> None:
        self.app.pop_screen()
