"""「ログイン」 (SPEC §3.3): service, login ID, password; Case 1 and Case 2; マイページ on success.

`LoginScreen(service_id=None, then=None)`: with `then`, a successful login closes this screen
and calls `then(app, account_id)` instead of opening マイページ (e.g. an approval link that
asks the member to log in first).
"""

from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Select, Static

from .. import auth
from ..errors import BeneError
from ..widgets.button import Button, ButtonRow
from ..widgets.field import Field, FieldError
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.jtext import JText
from . import routes
from .base import BaseScreen
from .start import SERVICES

# Where the service's field names land on this screen.
FIELD_IDS = {"login_id": "login-id", "password": "login-password", "service": "service"}


class Case1Notice(Vertical):
    """The one generic Case 1 message and its two ways out (the forgotten-item procedures)."""

    def compose(self) -> ComposeResult:
        yield JText(self.app.t("login.case1"), id="case1-text", markup=False)
        with ButtonRow(classes="buttons"):
            yield Button(self.app.t("login.forgot_password"), id="case1-forgot-password")
            yield Button(self.app.t("login.forgot_id"), id="case1-forgot-id")

    @on(Button.Pressed, "#case1-forgot-password")
    def _forgot_password(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.push_screen(routes.FORGOT_PASSWORD())

    @on(Button.Pressed, "#case1-forgot-id")
    def _forgot_id(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.push_screen(routes.FORGOT_ID())


def staff_note(screen: BaseScreen, error: BeneError) -> None:
    """Helpdesk staff see the real reason under the generic message."""
    if screen.app.mode == "helpdesk" and error.staff:
        screen.query_one(".form-error", Static).update(screen.staff_reason(error.staff))


class LoginScreen(BaseScreen):
    GUIDE = ("login.case1", "login.case2")  # the official text for the helpdesk guide panel (F1)

    def __init__(self, service_id: str | None = None, then: Callable | None = None) -> None:
        super().__init__()
        self.service_id = service_id
        self.then = then
        self.case: str | None = None  # None | "case1" | "case2"
        self.usable: list[str] = []
        self.orgs: list[str] = []  # Case 2: the organisations of the account, for the contact screen

    @property
    def service(self) -> str:
        return self.service_id or self.app.session.service_id or SERVICES[0]

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="flow"):
            with Vertical(classes="box", id="login-box"):
                yield JText(self.t("login.heading"), classes="title", markup=False)
                yield JText(self.t("login.lead"), classes="lead", markup=False)
                yield JText(self.t("login.service"), classes="field-label", markup=False)
                yield Select([(self.t(f"service.{s}"), s) for s in SERVICES], value=self.service,
                             allow_blank=False, id="login-service")
                yield FieldError(id="service-error")
                yield Field("login-id", self.t("login.login_id"), placeholder=self.t("example.email"))
                yield Field("login-password", self.t("login.password"), password=True)
                yield Button(self.t("login.submit"), id="login-submit", variant="primary")
                yield JText("", classes="form-error", markup=False)
                yield Case1Notice(id="case1", classes="notice hidden")
                with Vertical(id="case2", classes="notice hidden"):
                    yield JText(self.t("login.case2"), id="case2-text", markup=False)
                    yield JText(self.t("login.usable"), classes="field-label", markup=False)
                    yield JText("", id="case2-services", markup=False)
                    yield Button(self.t("login.contact_link"), id="case2-contact", classes="link")
        yield app_footer(self.app)

    def on_mount(self) -> None:
        # The login ID, not the service (preset from the start screen): typing goes where it is read.
        self.query_one("#login-id", Input).focus()
        self.after_relabel()

    def after_relabel(self) -> None:
        self.query_one("#case1").set_class(self.case != "case1", "hidden")
        self.query_one("#case2").set_class(self.case != "case2", "hidden")
        names = [self.t(f"service.{s}") for s in self.usable]
        self.query_one("#case2-services", Static).update(
            "\n".join(f"・{n}" for n in names) if names else self.t("login.usable_none"))

    def show_case(self, case: str | None, usable: list[str] | None = None) -> None:
        self.case, self.usable = case, list(usable or [])
        self.after_relabel()
        if case:  # the message and its buttons in view, below the fold at 80×24
            self.bring_into_view(self.query_one(f"#{case}"))

    @on(Button.Pressed, "#case2-contact")
    def _contact(self) -> None:
        self.app.push_screen(routes.CONTACT(self.orgs))

    def show_error(self, error: BeneError) -> None:
        if error.field in FIELD_IDS:
            error.field = FIELD_IDS[error.field]
        super().show_error(error)

    @on(Select.Changed, "#login-service")
    def _service(self, event: Select.Changed) -> None:
        if event.value in SERVICES:
            self.service_id = event.value

    @on(Input.Submitted, "#login-id")
    def _id_entered(self) -> None:
        self.query_one("#login-password", Input).focus()

    @on(Input.Submitted, "#login-password")
    def _password_entered(self) -> None:
        self.query_one("#login-submit", Button).press()

    @on(Button.Pressed, "#login-submit")
    async def _submit(self, event: Button.Pressed) -> None:
        service = self.service
        login_id = self.query_one("#login-id", Input).value
        self.show_case(None)
        result = await self.run_service(auth.login, service, login_id, self.query_one("#login-password", Input).value,
                                        button=event.button, on_error={auth.CASE1: self._case1, auth.CASE2: self._case2})
        if result is None:
            return
        self.app.session.account_id = result["account_id"]
        self.app.grant_owner(result["login_id"])  # its password entered here
        if self.then is not None:
            self.app.pop_screen()
            self.then(self.app, result["account_id"])
        else:
            self.app.switch_screen(routes.MYPAGE(result["account_id"], service))

    def _case1(self, error: BeneError) -> None:
        """Case 1: the one generic answer; the password emptied for another try."""
        password = self.query_one("#login-password", Input)
        password.value = ""
        self.show_case("case1")
        staff_note(self, error)
        password.focus(scroll_visible=False)  # the message keeps the view (80×24)

    def _case2(self, error: BeneError) -> None:
        """Case 2: the account opens no service here; the ones it does open, and whom to ask."""
        self.orgs = list(error.params.get("orgs") or [])
        self.show_case("case2", error.params.get("services"))
        staff_note(self, error)
