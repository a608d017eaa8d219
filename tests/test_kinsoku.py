"""Japanese line breaking (ui/widgets/jtext.py): between phrases, and kinsoku shori on every screen.

The screen walk renders every text widget of the main screens of each flow, at 80×24 and 120×40
in Japanese with the guide panel open, and checks each line the wrapping made (not a line the
text itself starts, such as a 「・」 bullet): none starts with a line-start-prohibited character
(JIS X 4051: 、。」』）！？・ー, small kana …) and none ends with an opening bracket.
"""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets import Button, Static

from bene_tui.ui.screens.family import FamilyAddScreen, FamilyInviteScreen, FamilySettingsScreen
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.mypage import MyPageScreen
from bene_tui.ui.screens.recovery import ForgotIdScreen, ForgotPasswordScreen
from bene_tui.ui.screens.registration import Step1Screen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from bene_tui.ui.widgets.jtext import NO_END, NO_START, break_offsets, wrap_lines
from bene_tui.ui.widgets.terms import TermsBox
from support.world import GOOD_PASSWORD
from helpers import type_into, wait_for, wait_screen, messages_to
from support.screens import TARO, confirm_and_complete, do_step1, fill_step2, type_code

SIZES = [(80, 24), (120, 40)]
LEAD = ("ベネアカウント規約に同意の上、パスワード再設定用の認証コードを入力した後、「次へ」を押してください。"
        "ご登録いただけるのは、会員様の「二親等」のご親族様です。")


@pytest.mark.parametrize("width", range(8, 60))
def test_lines_fit_and_obey_kinsoku(width):
    lines = wrap_lines(LEAD, width)
    assert "".join(lines) == LEAD
    for n, line in enumerate(lines):
        assert sum(2 for _ in line) <= width, line
        assert not (n and line[0] in NO_START), lines
        assert line[-1] not in NO_END or n == len(lines) - 1, lines


def test_lines_break_between_phrases_not_inside_words():
    assert wrap_lines(LEAD, 36)[:3] == ["ベネアカウント規約に同意の上、", "パスワード再設定用の認証コードを",
                                         "入力した後、「次へ」を"]
    assert "パスワード" in wrap_lines("パスワード再設定用の認証コード", 12)[0]  # never 「パスワ」⏎「ード」
    assert wrap_lines("Please enter the code we sent", 14) == ["Please enter", "the code we", "sent"]
    assert break_offsets("短い文。", 80) == []


# -- the rendered screens --------------------------------------------------------------------

def shown_lines(widget) -> list[str]:
    """The widget's lines as drawn: its content area, cropped from what it renders."""
    gutter = widget.styles.gutter
    width, height = widget.outer_size
    strips = widget.render_lines(Region(0, 0, width, height))
    return [s.crop(gutter.left, width - gutter.right).text.rstrip()
            for s in strips[gutter.top:height - gutter.bottom]]


def wrap_faults(screen) -> list[str]:
    """Each line break the wrapping made on this screen that breaks a kinsoku rule."""
    faults = []
    for w in screen.query(Static):
        if isinstance(w, Button) or not w.display or not w.region.width or not w.is_on_screen and not w.region:
            continue
        visual = w.visual
        plain = getattr(visual, "plain", None)
        if not plain or not any(ord(ch) > 0x3000 for ch in plain):
            continue
        position = 0
        for line in shown_lines(w):
            text = line.strip()
            if not text:
                continue
            at = plain.find(text, position)
            if at < 0:
                continue  # not this text's own line (a toggle's glyph, a cropped region)
            if at > 0 and plain[at - 1] != "\n":  # a break the wrapping made
                if plain[at] in NO_START or plain[at - 1].strip() and plain[at - 1] in NO_END:
                    faults.append(f"{type(screen).__name__} {w.id or w.classes}: "
                                  f"…{plain[max(0, at - 8):at]}⏎{plain[at:at + 8]}…")
            position = at + len(text)
    for box in screen.query(TermsBox):  # the terms draw their own lines
        lines = [line for line in box.lines if line.strip()]
        faults.extend(f"terms: {a}⏎{b}" for a, b in zip(lines, lines[1:])
                      if b.lstrip()[0] in NO_START or a.rstrip()[-1] in NO_END)
    return faults


async def settle(pilot):
    await pilot.pause()
    await pilot.pause()


async def walk(pilot, tmp_path) -> list[str]:
    """Registration's five steps, the login's Case 1, both recoveries, マイページ and the family
    flow's member screens, the guide panel open."""
    app = pilot.app
    faults = []

    async def look():
        await settle(pilot)
        faults.extend(wrap_faults(app.screen))

    await wait_screen(pilot, StartScreen)
    await wait_for(pilot, lambda: app.ctx is not None, what="the database")
    await pilot.press("f1")
    await look()
    await pilot.press("enter")
    await wait_screen(pilot, Step1Screen)
    await look()
    await do_step1(pilot, *TARO)
    await wait_screen(pilot, Step2Screen)
    await look()
    await fill_step2(pilot, "taro@example.jp")
    await wait_screen(pilot, Step3Screen)
    await look()
    await type_code(pilot, messages_to(tmp_path, "taro@example.jp")[-1]["code"])
    await wait_screen(pilot, Step4Screen)
    await look()
    await confirm_and_complete(pilot)
    await look()
    app.switch_screen(LoginScreen())
    login = await wait_screen(pilot, LoginScreen)
    await type_into(pilot, "#login-id", "taro@example.jp")
    await type_into(pilot, "#login-password", "wrong-password-1")
    await pilot.press("enter")
    await wait_for(pilot, lambda: login.case == "case1", what="Case 1")
    await look()
    for screen_cls in (ForgotPasswordScreen, ForgotIdScreen):
        app.push_screen(screen_cls())
        await wait_screen(pilot, screen_cls)
        await look()
        app.pop_screen()
    await type_into(pilot, "#login-password", GOOD_PASSWORD)
    await pilot.press("enter")
    mypage = await wait_screen(pilot, MyPageScreen)
    await look()
    settings = FamilySettingsScreen(mypage.account_id)  # the family flow's member screens
    app.push_screen(settings)
    await wait_for(pilot, lambda: settings.data is not None, what="family overview")
    await look()
    for screen_cls in (FamilyAddScreen, FamilyInviteScreen):
        app.push_screen(screen_cls(mypage.account_id))
        await wait_screen(pilot, screen_cls)
        await look()
    return faults


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_no_wrapped_line_breaks_kinsoku_on_any_screen(app_factory, tmp_path, size):
    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=size) as pilot:
        faults = await walk(pilot, tmp_path)
    assert not faults, "\n".join(faults)
