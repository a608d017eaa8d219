"""Placeholders are neutral examples: never a demo member's data (anyone may be shown it, kiosks too),
never digits that look typed in."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input

from bene_tui.core.paths import DATA_DIR
from bene_tui.ui.screens.family import FamilyInviteScreen, FamilyRegisterScreen
from bene_tui.ui.screens.helpdesk import SearchScreen
from bene_tui.ui.screens.linking import LinkLoginScreen
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.recovery import ForgotIdScreen, ForgotKeysScreen, ForgotPasswordScreen, ResetCodeScreen
from bene_tui.ui.screens.registration import Step1Screen, Step2Screen, Step3Screen
from helpers import wait_screen

SIZE = (120, 50)


def demo_values() -> set[str]:
    """Every value of a demo organisation or member, and each part of a name, kana or e-mail address."""
    world = json.loads((DATA_DIR / "demo.json").read_text(encoding="utf-8"))
    values: set[str] = set()
    for org in world["organisations"]:
        values.add(org["group_id"])
        for m in org["members"]:
            values |= {m["auth_key_1"], m["auth_key_2"], m["name"], m["kana"], m["birth_date"] or ""}
            values |= set(m["name"].split()) | set(m["kana"].split())
            local, _, _ = (m.get("email_on_file") or "").partition("@")
            values |= {local, *local.split(".")}
    return {v for v in values if len(v) >= 2}


SCREENS = {
    "kiosk": [Step1Screen, Step2Screen, Step3Screen, LoginScreen, lambda: LinkLoginScreen("nope"), ForgotIdScreen,
              ForgotPasswordScreen, lambda: ResetCodeScreen("nope", "name@example.jp"), ForgotKeysScreen,
              lambda: FamilyInviteScreen(0), lambda: FamilyRegisterScreen("nope", {"name": "", "member_name": "-", "contact": "name@example.jp"})],
    "helpdesk": [SearchScreen],
}


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("mode", ["kiosk", "helpdesk"])
async def test_no_placeholder_shows_a_demo_members_data(app_factory, lang, mode):
    demo = demo_values()
    seen: dict[str, str] = {}
    app = app_factory(lang=lang, mode=mode)
    async with app.run_test(size=SIZE) as pilot:
        for make in SCREENS[mode]:
            screen = make()
            app.push_screen(screen)
            await wait_screen(pilot, type(screen))
            await pilot.pause()
            for field in screen.query(Input):
                seen[f"{type(screen).__name__}#{field.id}"] = field.placeholder
            if isinstance(screen, Step2Screen):  # the SMS example too
                screen.query_one("#kind-sms").value = True
                await pilot.pause()
                seen["Step2Screen#login_id(sms)"] = screen.query_one("#login_id", Input).placeholder
            app.pop_screen()
    assert len(seen) >= (20 if mode == "kiosk" else 1)
    leaks = {where: text for where, text in seen.items() if any(v in text for v in demo)}
    assert leaks == {}
    assert not [where for where, text in seen.items() if text.strip().isdigit()], "digits look typed in"
