"""The start screen: 「新規登録」 first and focused; login and the 'I forgot' procedures below.

It is the first thing every person sees and it comes back after every flow, so it stays light
(bench/startup.py): the service is one button that opens its list only when pressed.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical, VerticalScroll
from textual.widgets import OptionList

from ..widgets.button import Button
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.jtext import JText
from . import routes
from .base import BaseScreen
from .dialog import Dialog

SERVICES = ("benefit_station", "bene_learning", "bene_wellness")


def service_label(app) -> str:
    """The service being registered or logged in for, as the button that opens the list shows it."""
    return f"{app.t(f'service.{app.session.service_id}')}  ▾"


def pick_service(app, button: Button) -> None:
    """Open the list of services; the one chosen becomes the app's (`app.session.service_id`) and the button's."""
    def chosen(service: str | None) -> None:
        if service in SERVICES:
            app.session.service_id = service
            button.label = service_label(app)

    app.push_screen(ServiceMenu(app.session.service_id), chosen)


class StartScreen(BaseScreen):
    GUIDE = "intro"  # the official text for the helpdesk guide panel (F1)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="start-scroll", can_focus=False), Center():
            with Vertical(id="start-box", classes="box"):
                yield JText(self.t("start.heading"), classes="title")
                yield JText(self.t("start.lead"), classes="lead")
                # 「新規登録」 first: the first focusable widget and the focused one.
                yield Button(self.t("start.register"), id="register", variant="primary")
                for button_id, key, _ in routes.START:
                    yield Button(self.t(key), id=button_id)
                yield JText(self.t("start.service"), classes="field-label", id="service-label")
                yield Button(self._service_label(), id="service", classes="choice")
                yield JText(self.t("start.outbox_hint"), classes="hint")
        yield app_footer(self.app)

    def on_mount(self) -> None:
        self.query_one("#register", Button).focus()

    def _service_label(self) -> str:
        return service_label(self.app)

    def on_screen_resume(self) -> None:  # (BaseScreen's runs too: Textual calls each class's handler)
        self.query_one("#service", Button).label = self._service_label()  # perhaps chosen again at step 1

    @on(Button.Pressed, "#service")
    def _pick_service(self, event: Button.Pressed) -> None:
        pick_service(self.app, event.button)

    @on(Button.Pressed, "#register")
    def _register(self) -> None:
        self.app.push_screen(self.ahead.take())

    def build_ahead(self) -> BaseScreen:
        return routes.REGISTER()  # imported here, behind the start screen (bench/startup.py)

    @on(Button.Pressed)
    def _entry(self, event: Button.Pressed) -> None:
        for button_id, _, route in routes.START:
            if event.button.id == button_id:
                self.app.push_screen(route())

    def action_back(self) -> None:
        """Nothing below the start screen."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return False  # nothing to go back to: no 戻る in the footer
        return super().check_action(action, parameters)


class ServiceMenu(Dialog[str | None]):
    """The services to register or log in for: arrows and Enter choose, Escape keeps the current one."""

    DEFAULT_CSS = """
    ServiceMenu > OptionList { width: 50; height: auto; border: round $accent; }
    """
    BINDINGS = [("escape", "dismiss", "")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        yield OptionList(*(self.app.t(f"service.{s}") for s in SERVICES), id="service-menu")

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.highlighted = SERVICES.index(self.current) if self.current in SERVICES else 0
        menu.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(SERVICES[event.option_index])
