"""The start screen: 「新規登録」 first and focused; login and the 'I forgot' procedures below."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Select, Static

from .base import BaseScreen

SERVICES = ("benefit_station", "bene_learning", "bene_wellness")


def _later(module: str, name: str):
    """A screen factory that imports its module only when pressed: the start path stays light."""

    def factory(*args, **kw):
        from importlib import import_module

        return getattr(import_module(f"{__package__}.{module}"), name)(*args, **kw)

    return factory


class StartScreen(BaseScreen):
    # The entries below 「新規登録」: (button id, label key, screen factory). Screens may add more on import;
    # these are listed here, imported on first use (screens/login.py and recovery.py skip ids already present).
    ENTRIES: list[tuple[str, str, object]] = [
        ("login", "login.start", _later("login", "LoginScreen")),
        ("forgot-id", "recovery.forgot_id", _later("recovery", "ForgotIdScreen")),
        ("forgot-password", "recovery.forgot_password", _later("recovery", "ForgotPasswordScreen")),
        ("forgot-keys", "recovery.forgot_keys", _later("recovery", "ForgotKeysScreen")),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with VerticalScroll(id="start-scroll", can_focus=False), Center():
            with Vertical(id="start-box", classes="box"):
                yield Static(self.t("start.heading"), classes="title")
                yield Static(self.t("start.lead"), classes="lead")
                # 「新規登録」 first: the first focusable widget and the focused one.
                yield Button(self.t("start.register"), id="register", variant="primary")
                for button_id, key, _ in self.ENTRIES:
                    yield Button(self.t(key), id=button_id)
                yield Static(self.t("start.service"), classes="field-label", id="service-label")
                yield Select([(self.t(f"service.{s}"), s) for s in SERVICES], value=self.app.service_id,
                             allow_blank=False, id="service")
                yield Static(self.t("start.outbox_hint"), classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#register", Button).focus()

    @on(Select.Changed, "#service")
    def _service(self, event: Select.Changed) -> None:
        if event.value in SERVICES:
            self.app.service_id = event.value

    @on(Button.Pressed, "#register")
    def _register(self) -> None:
        from .registration import Step1Screen

        self.app.push_screen(Step1Screen())

    @on(Button.Pressed)
    def _entry(self, event: Button.Pressed) -> None:
        for button_id, _, factory in self.ENTRIES:
            if event.button.id == button_id:
                self.app.push_screen(factory())

    def action_back(self) -> None:
        """Nothing below the start screen."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return False  # nothing to go back to: no 戻る in the footer
        return super().check_action(action, parameters)

