"""Linking to an existing Bene Account (SPEC §3.2), step 3: 「ログイン」 with the existing account.

Steps 1–2 are registration's screens (step 1, then the step-2 link or 「紐づけ設定する」);
step 4 and 5 are registration's Step4Screen/DoneScreen with the linking steps and wording.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Static

from .. import auth, linking, registration
from ..errors import BeneError
from ..widgets.button import Button
from ..widgets.field import Field
from ..widgets.jtext import JText
from .flow import FlowScreen
from .login import Case1Notice, staff_note
from .registration import Step4Screen

LINK_STEPS = ("link.step1", "link.step2", "link.step3", "link.step4", "link.step5")


class LinkLoginScreen(FlowScreen):
    """既に作成済みのベネアカウントを入力し「ログイン」."""

    STEPS, STEP = LINK_STEPS, 3
    STEP_LINES = 2  # longer names than registration's: every one shown, on two lines

    def __init__(self, flow_id: str, login_id: str = "") -> None:
        super().__init__()
        self.flow_id = flow_id
        self.login_id = login_id  # typed at registration's step 2 (or 3) before 「紐づけ設定する」
        self.org_name = ""
        self.case1 = False

    def form(self) -> ComposeResult:
        yield JText(self.t("link.heading"), classes="title", markup=False)
        yield JText(self.t("link.login_lead"), classes="lead", markup=False)
        yield Static("", id="link-org", markup=False)
        yield Field("login_id", self.t("link.login_id"), placeholder=self.t("example.email"), value=self.login_id)
        yield Field("password", self.t("link.password"), password=True)
        yield Button(self.t("link.login"), id="link-login", variant="primary")
        yield Case1Notice(id="case1", classes="notice hidden")

    async def on_mount(self) -> None:
        self.query_one("#password" if self.login_id else "#login_id", Input).focus()
        summary = await self.run_service(registration.flow_summary, self.flow_id)
        if summary:
            self.org_name = summary["org"]["name"]
        self.after_relabel()

    def after_relabel(self) -> None:
        if self.org_name:
            self.query_one("#link-org", Static).update(self.t("link.org", org=self.org_name))
        self.query_one("#case1").set_class(not self.case1, "hidden")

    def _case1(self, error: BeneError) -> None:
        """The one generic answer, its two ways out, and the password field emptied for another try."""
        password = self.query_one("#password", Input)
        password.value = ""
        self.case1 = True
        self.after_relabel()
        staff_note(self, error)
        password.focus()

    @on(Input.Submitted, "#login_id")
    def _id_entered(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def _password_entered(self) -> None:
        self.query_one("#link-login", Button).press()

    @on(Button.Pressed, "#link-login")
    async def _login(self, event: Button.Pressed) -> None:
        self.case1 = False
        self.after_relabel()
        account = await self.run_service(linking.authenticate, self.flow_id, self.query_one("#login_id", Input).value,
                                         self.query_one("#password", Input).value, button=event.button,
                                         on_error={auth.CASE1: self._case1})
        if account is None:
            return
        self.app.grant_owner(account["login_id"])  # its password entered here
        self.app.push_screen(Step4Screen(self.flow_id, purpose="link", steps=LINK_STEPS))
