"""Snapshots of the key screen of every flow, in Japanese and English, 120×40 (issue 14).

Stable by construction: the test clock is frozen (conftest.START), the data is made here through
the services, and the codes are fixed (codes.new_code monkeypatched), so a picture changes only
when a screen does. Helpdesk mode where the mode does not matter (no live panel, no countdown);
the kiosk's and the demo's start screens in their own modes. tests/test_snapshots.py keeps the
five registration steps in Japanese. Regenerate after a deliberate change of the screens with
`python -m pytest tests/test_flow_snapshots.py --snapshot-update` and look at the pictures
(snapshot_report.html) before committing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

import pytest
from textual.widgets import Digits, Input, Select, Static

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, codes, family, recovery, registration
from bene_tui.ui.screens.family import FamilyInviteScreen
from bene_tui.ui.screens.helpdesk import PersonScreen
from bene_tui.ui.screens.linking import LinkLoginScreen
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.recovery import ForgotIdScreen, ForgotKeysScreen, ForgotPasswordScreen
from bene_tui.ui.screens.registration import Step1Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD
from helpers import type_into, wait_for, wait_screen

pytestmark = pytest.mark.sqlite_only  # the screens are the same on both stores: one set of pictures

SIZE = (120, 40)
CODE = "246813"
TARO = ("TS000001", "1001", "19850401")
TARO_LOGIN = "taro@example.jp"
HANAKO = ("TS000001", "1003", "19781120")  # benefit_station only: Case 2 for bene_learning
CITY_TARO = ("TS000002", "A-77", "M9001")  # 山田 太郎 at a second employer: a link to his account


def code_sent(ctx, member=TARO, login=TARO_LOGIN) -> str:
    """Registration up to step 3: the code sent (the demo's live panel shows it)."""
    flow_id = registration.start(ctx, *member).flow_id
    registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD, True, "ja")
    return flow_id


def code_confirmed(ctx, member=TARO, login=TARO_LOGIN) -> str:
    flow_id = code_sent(ctx, member, login)
    registration.verify_code(ctx, flow_id, CODE)
    return flow_id


def registered(ctx, member=TARO, login=TARO_LOGIN) -> int:
    return registration.complete(ctx, code_confirmed(ctx, member, login), True)


def for_the_helpdesk(ctx) -> int:
    """Taro with a family invitation, a failed login and a password reset under way: every action row."""
    account_id = registered(ctx)
    family.invite(ctx, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15", "hanako@example.jp", "ja")
    with pytest.raises(BeneError):
        auth.login(ctx, "benefit_station", TARO_LOGIN, "not-the-password")
    recovery.start_reset(ctx, TARO_LOGIN)
    return account_id


async def step1(pilot, _data) -> None:
    screen = await push(pilot, Step1Screen())
    await type_into(pilot, "#group_id", TARO[0])
    label = {"ja": "社員番号", "en": "Employee number"}[pilot.app.lang]
    await wait_for(pilot, lambda: label in str(screen.query_one("#key1-label").render()), what="the labels")
    await type_into(pilot, "#key1", TARO[1])


async def step4(pilot, flow_id) -> None:
    screen = await push(pilot, Step4Screen(flow_id))
    await wait_for(pilot, lambda: "山田 太郎" in str(screen.query_one("#name", Static).render()), what="the name")


async def linking(pilot, flow_id) -> None:
    screen = await push(pilot, LinkLoginScreen(flow_id, TARO_LOGIN))
    await wait_for(pilot, lambda: str(screen.query_one("#link-org", Static).render()), what="the organisation")


async def login_case(pilot, login, service, case) -> None:
    screen = await push(pilot, LoginScreen())
    screen.query_one("#login-service", Select).value = service
    await type_into(pilot, "#login-id", login)
    await type_into(pilot, "#login-password", GOOD_PASSWORD if case == "case2" else "not-the-password-9")
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.case == case, what=case)


async def case1(pilot, _data) -> None:
    await login_case(pilot, TARO_LOGIN, "benefit_station", "case1")


async def case2(pilot, _data) -> None:
    await login_case(pilot, "hanako@example.jp", "bene_learning", "case2")


def opened(screen_cls) -> Callable:
    async def show(pilot, _data) -> None:
        await push(pilot, screen_cls())
    return show


async def invitation(pilot, account_id) -> None:
    screen = await push(pilot, FamilyInviteScreen(account_id))
    select = screen.query_one("#relationship", Select)
    await wait_for(pilot, lambda: len(select._options) > 2, what="the relationships")


async def person(pilot, account_id) -> None:
    pilot.app.operator = "佐々木"
    screen = await push(pilot, PersonScreen(f"account:{account_id}"))
    await wait_for(pilot, lambda: screen.data is not None and screen.query("#privacy-erase"), what="the person")


async def start(pilot, _data) -> None:
    await wait_screen(pilot, StartScreen)


async def start_with_the_live_panel(pilot, _data) -> None:
    screen = await wait_screen(pilot, StartScreen)
    await wait_for(pilot, lambda: pilot.app.ctx is not None, what="the database")
    await pilot.press("f3")  # 120 columns start without the panel (modes.DemoMode.ROOM_FOR_PANEL): F3 shows it
    await wait_for(pilot, lambda: screen.query_one("#ob-code", Digits).value == CODE, what="the code in the panel")


async def push(pilot, screen):
    await wait_for(pilot, lambda: pilot.app.ctx is not None, what="the database")
    pilot.app.push_screen(screen)
    return await wait_screen(pilot, type(screen))


@dataclass(frozen=True)
class Shot:
    show: Callable[..., Awaitable[None]]
    prepare: Callable | None = None  # service calls before the app starts; what they return goes to show
    mode: str = "helpdesk"


SHOTS = {
    "registration-step1": Shot(step1),
    "registration-step4": Shot(step4, code_confirmed),
    "linking": Shot(linking, lambda ctx: (registered(ctx), registration.start(ctx, *CITY_TARO).flow_id)[1]),
    "login-case1": Shot(case1, registered),
    "login-case2": Shot(case2, lambda ctx: registered(ctx, HANAKO, "hanako@example.jp")),
    "forgot-id": Shot(opened(ForgotIdScreen)),
    "forgot-password": Shot(opened(ForgotPasswordScreen)),
    "forgot-keys": Shot(opened(ForgotKeysScreen)),
    "family-invitation": Shot(invitation, registered),
    "helpdesk-person": Shot(person, for_the_helpdesk),
    "kiosk-start": Shot(start, mode="kiosk"),
    "demo-start": Shot(start_with_the_live_panel, code_sent, mode="demo"),
}


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    for field in pilot.app.screen.query(Input):  # the cursor shown steadily: the picture must not
        field.cursor_blink = False  # depend on how long the machine took to get here
    await pilot.pause()


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("flow", list(SHOTS))
def test_the_key_screen_of_each_flow(app_factory, ctx, snap_compare, monkeypatch, flow, lang):
    monkeypatch.setattr(codes, "new_code", lambda: CODE)
    shot = SHOTS[flow]
    app = app_factory(lang=lang, mode=shot.mode)
    data = shot.prepare(ctx) if shot.prepare else None

    async def run_before(pilot):
        await shot.show(pilot, data)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
