"""The route table: where every way into a screen leads, in one place.

- `START`: the entries below 「新規登録」 on the start screen (button id, label key, route).
- `LINKS`: the path of a link in a message (services/links.py) → the function that opens it.
- the named routes below: a screen that leads to another flow's screen asks for it here
  (`routes.LOGIN(service_id=...)`), never by importing that flow's module.
- `SCREENS`: every screen a scenario file (data/scenarios/*.toml) waits for, by a route name such
  as "registration.step3": scenarios never name a class.
- what a screen *is* stays on its class: `GUIDE` (its step of the official help page, read by
  guide.guide_ids) and `FLOW_DONE = True` (a flow's last screen, read by modes.is_done_screen).

A route holds its target's import path inside `bene_tui.ui.screens` and imports it on first use:
the start path stays light (bench/startup.py) and no flow's module imports another's (no import
circles). tests/test_routes.py resolves every route, so a wrong path fails there, not on a press.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from bene_tui.services import links


@dataclass(frozen=True)
class Route:
    path: str  # "module:name" inside bene_tui.ui.screens

    def target(self) -> Any:
        """The screen class (or opener function) this route leads to, imported now if need be."""
        module, _, name = self.path.partition(":")
        return getattr(import_module(f"{__package__}.{module}"), name)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return self.target()(*args, **kw)


# -- screens ---------------------------------------------------------------------------------
REGISTER = Route("registration:Step1Screen")
LOGIN = Route("login:LoginScreen")
FORGOT_ID = Route("recovery:ForgotIdScreen")
FORGOT_PASSWORD = Route("recovery:ForgotPasswordScreen")
FORGOT_KEYS = Route("recovery:ForgotKeysScreen")
LINK_LOGIN = Route("linking:LinkLoginScreen")  # linking's step 3, from registration's step 2 or 3
MYPAGE = Route("mypage:MyPageScreen")
CONTACT = Route("contact:ContactScreen")
OUTBOX = Route("outbox:OutboxScreen")
# -- openers: functions (app, ...) that decide what to show ---------------------------------
FAMILY_SETTINGS = Route("family:open_family_settings")  # log in first if need be
HELPDESK_SEARCH = Route("helpdesk:open_search")  # asks the operator's name once
OPERATIONS = Route("operations:open_operations")  # loads plotext when first opened

# The start screen's entries below 「新規登録」, in order.
START: tuple[tuple[str, str, Route], ...] = (
    ("login", "login.start", LOGIN),
    ("forgot-id", "recovery.forgot_id", FORGOT_ID),
    ("forgot-password", "recovery.forgot_password", FORGOT_PASSWORD),
    ("forgot-keys", "recovery.forgot_keys", FORGOT_KEYS),
)

# Links in messages: path → opener(app, params).
LINKS: dict[str, Route] = {
    links.FAMILY_APPROVE: Route("family:open_approve_link"),
    links.FAMILY_INVITE: Route("family:open_invite_link"),
}

# Screens by name, for the scenarios' `wait_screen` (ui/scenario.py checks each name as it loads a file).
SCREENS: dict[str, Route] = {
    "start": Route("start:StartScreen"),
    "registration.step1": REGISTER,
    "registration.step2": Route("registration:Step2Screen"),
    "registration.step3": Route("registration:Step3Screen"),
    "registration.step4": Route("registration:Step4Screen"),
    "registration.done": Route("registration:DoneScreen"),
    "linking.login": LINK_LOGIN,
    "login": LOGIN,
    "mypage": MYPAGE,
    "recovery.forgot_password": FORGOT_PASSWORD,
    "recovery.reset_code": Route("recovery:ResetCodeScreen"),
    "recovery.new_password": Route("recovery:NewPasswordScreen"),
    "recovery.reset_done": Route("recovery:ResetDoneScreen"),
    "family.settings": Route("family:FamilySettingsScreen"),
    "family.add": Route("family:FamilyAddScreen"),
    "family.invite": Route("family:FamilyInviteScreen"),
    "family.invite_sent": Route("family:FamilyInviteSentScreen"),
    "family.approve": Route("family:ApproveScreen"),
    "family.approved": Route("family:FamilyApprovedScreen"),
    "family.register": Route("family:FamilyRegisterScreen"),
    "family.done": Route("family:FamilyDoneScreen"),
}


def is_screen(screen: Any, name: str) -> bool:
    """Whether `screen` is the screen named `name` in SCREENS (that very class, not a subclass)."""
    return type(screen) is SCREENS[name].target()


def name_of(screen: Any) -> str:
    """The SCREENS name of a screen, for a message; its class name if it has none."""
    return next((name for name, route in SCREENS.items() if type(screen) is route.target()), type(screen).__name__)


ALL: tuple[Route, ...] = (REGISTER, LOGIN, FORGOT_ID, FORGOT_PASSWORD, FORGOT_KEYS, LINK_LOGIN, MYPAGE, CONTACT,
                          OUTBOX, FAMILY_SETTINGS, HELPDESK_SEARCH, OPERATIONS, *LINKS.values(), *SCREENS.values())


def open_link(app, url: str) -> None:
    """A link from a message (outbox viewer, `bene-tui open URL`, BeneApp(open_link=URL)) opens its step."""
    path, params = links.parse(url)
    if path not in LINKS:
        app.notify(app.t("links.unknown"), severity="error")
        return
    LINKS[path](app, params)
