"""マイページ: who is logged in, their organisations and services, 「家族設定」 and logout."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from .. import auth
from ..normalize import display_login_id
from ..widgets.button import Button, ButtonRow
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.jtext import JText
from . import routes
from .base import BaseScreen, call_service


class MyPageScreen(BaseScreen):
    GUIDE = "family.step1"  # the official text for the helpdesk guide panel (F1)

    def __init__(self, account_id: int, service_id: str | None = None) -> None:
        super().__init__()
        self.account_id, self.service_id = account_id, service_id
        self.profile: dict | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="flow"):
            with Vertical(classes="box", id="mypage-box"):
                yield JText(self.t("mypage.heading"), classes="title", markup=False)
                yield Static("", id="mypage-name", classes="big-name", markup=False)
                yield Static("", id="mypage-login", markup=False)
                yield JText("", id="mypage-service", markup=False)
                yield JText(self.t("mypage.organisations"), classes="field-label", markup=False)
                yield JText("", id="mypage-orgs", markup=False)
                yield JText(self.t("mypage.services"), classes="field-label", markup=False)
                yield JText("", id="mypage-services", markup=False)
                with ButtonRow(classes="buttons"):
                    yield Button(self.t("mypage.family_settings"), id="family-settings", variant="primary")
                    yield Button(self.t("mypage.logout"), id="logout")
                yield JText("", classes="form-error", markup=False)
        yield app_footer(self.app)

    async def on_mount(self) -> None:
        self.query_one("#family-settings", Button).focus()
        self.profile = await self.run_service(auth.profile, self.account_id)
        self.after_relabel()

    def after_relabel(self) -> None:
        p = self.profile
        if not p:
            return
        name = self.t("mypage.welcome", name=p["name"]) if p["name"] else ""
        if p["kind"] == "family":
            name = f"{name}  ({self.t('mypage.family_badge')})" if name else self.t("mypage.family_badge")
        self.query_one("#mypage-name", Static).update(name)
        self.query_one("#mypage-login", Static).update(self.t("mypage.login_as", login_id=display_login_id(p["login_id"])))
        if self.service_id:
            self.query_one("#mypage-service", Static).update(
                self.t("mypage.service", service=self.t(f"service.{self.service_id}")))
        orgs = [f"・{o['name']} ({o['group_id']})" for o in p["organisations"]]
        self.query_one("#mypage-orgs", Static).update("\n".join(orgs) or self.t("mypage.no_organisations"))
        self.query_one("#mypage-services", Static).update(
            "\n".join(f"・{self.t(f'service.{s}')}" for s in p["services"]))

    @on(Button.Pressed, "#family-settings")
    def _family(self) -> None:
        routes.FAMILY_SETTINGS(self.app)

    @on(Button.Pressed, "#logout")
    async def _logout(self) -> None:
        await self.logout()

    async def logout(self) -> None:
        """Back to the start screen; the app forgets who was logged in."""
        self.profile = None
        self.app.session.account_id = None
        await call_service(self.app, auth.logout, self.account_id)  # its audit row failing keeps no one logged in
        self.app.go_home()
        self.app.notify(self.app.t("mypage.logged_out"))

    async def action_back(self) -> None:
        await self.logout()
