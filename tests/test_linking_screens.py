"""Linking through the real screens (SPEC §3.2), both entries, then the database and the audit."""

from __future__ import annotations


import pytest
from textual.widgets import Button, Checkbox, Input, Static

from bene_tui.services import registration
from bene_tui.ui.screens.linking import LinkLoginScreen
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.mypage import MyPageScreen
from bene_tui.ui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD
from helpers import press_button, query, screen_text, type_into, wait_for, wait_screen
from support.services import WRONG, register

SIZE = (120, 50)
CITY = ("TS000002", "A-77", "M9001")  # 山田 太郎 again, at his new employer (only it has bene_wellness)


def links_of(tmp_path, account_id: int) -> list[tuple[str, str]]:
    return [(r["group_id"], r["auth_key_1"]) for r in query(
        tmp_path, "select m.group_id, m.auth_key_1 from account_members am join members m on m.id = am.member_id "
                  "where am.account_id = ? order by m.group_id", [account_id])]


def steps_text(pilot) -> str:
    return str(pilot.app.screen.query_one(".steps").render())


async def step1(pilot, member=CITY) -> Step2Screen:
    start = await wait_screen(pilot, StartScreen)
    start.query_one("#register", Button).focus()
    await pilot.press("enter")
    await wait_screen(pilot, Step1Screen)
    for field, value in zip(("#group_id", "#key1", "#key2"), member):
        await type_into(pilot, field, value)
        await pilot.press("enter")
    return await wait_screen(pilot, Step2Screen)


async def link_login(pilot, login_id: str, password: str) -> None:
    screen = pilot.app.screen
    assert screen.focused is screen.query_one("#login_id"), "focus starts on the first field"
    await type_into(pilot, "#login_id", login_id)
    await pilot.press("enter")
    assert screen.focused.id == "password"
    await type_into(pilot, "#password", password)
    await pilot.press("enter")


async def login_to(pilot, service: str, login_id: str, password: str) -> None:
    from textual.widgets import Select

    start = await wait_screen(pilot, StartScreen)
    start.query_one("#login", Button).focus()
    await pilot.press("enter")
    screen = await wait_screen(pilot, LoginScreen)
    screen.query_one("#login-service", Select).value = service
    await type_into(pilot, "#login-id", login_id)
    await type_into(pilot, "#login-password", password)
    await pilot.press("enter")


async def test_link_a_second_organisation_then_log_in_to_its_service(app_factory, ctx, tmp_path):
    account_id = register(ctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        # before linking: bene_wellness is not this person's service (Case 2)
        await login_to(pilot, "bene_wellness", "taro@example.jp", GOOD_PASSWORD)
        await wait_for(pilot, lambda: app.screen.query_one("#case2").display, what="Case 2")
        assert "ベネ・ウェルネス" not in str(app.screen.query_one("#case2-services", Static).render())
        await pilot.press("escape")

        step2 = await step1(pilot)
        step2.query_one("#link-instead", Button).focus()
        await pilot.press("enter")
        screen = await wait_screen(pilot, LinkLoginScreen)
        await wait_for(pilot, lambda: "テスト市役所" in screen_text(pilot), what="the organisation")
        text = screen_text(pilot)
        assert "既に作成済みのベネアカウントを入力し「ログイン」ボタンを押下します。" in text
        assert "ベネアカウントでログイン" in steps_text(pilot) and "Step.3" in steps_text(pilot)

        await link_login(pilot, "taro@example.jp", WRONG)  # Case 1 here too
        await wait_for(pilot, lambda: screen.query_one("#case1").display, what="Case 1")
        assert "べネアカウント情報間違いによるものです。" in screen_text(pilot)
        assert screen.query_one("#password", Input).value == ""
        assert query(tmp_path, "select failed_logins from accounts")[0]["failed_logins"] == 1

        screen.query_one("#login_id", Input).focus()
        await pilot.pause()
        await link_login(pilot, "taro@example.jp", GOOD_PASSWORD)
        step4 = await wait_screen(pilot, Step4Screen)
        await wait_for(pilot, lambda: "山田 太郎" in screen_text(pilot), what="the 姓名")
        text = screen_text(pilot)
        assert "「ベネアカウントの紐づけを完了する」を押下します。" in text and "テスト市役所" in text
        assert "紐づけの選択" in steps_text(pilot)
        assert links_of(tmp_path, account_id) == [("TS000001", "1001")]  # nothing linked before the tick

        step4.query_one("#complete", Button).focus()
        await pilot.press("enter")  # without the tick: refused beside the checkbox
        await wait_for(pilot, lambda: "チェックを入れてください" in str(step4.query_one("#confirm-error", Static).render()))
        step4.query_one("#confirm", Checkbox).focus()
        await pilot.press("space")
        await press_button(pilot, step4.query_one("#complete", Button))
        done = await wait_screen(pilot, DoneScreen)
        assert "初回特典" in screen_text(pilot) and "Step.5" in steps_text(pilot) and "紐づけ" in steps_text(pilot)
        assert done.focused is done.query_one("#benefit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "初回特典を受け取りました。" in screen_text(pilot), what="benefit")
        await press_button(pilot, done.query_one("#benefit", Button))
        await wait_for(pilot, lambda: "すでに受け取り済み" in screen_text(pilot), what="benefit once")
        done.query_one("#top", Button).focus()
        await pilot.press("enter")

        # after linking: the same account logs in to bene_wellness
        await login_to(pilot, "bene_wellness", "taro@example.jp", GOOD_PASSWORD)
        await wait_screen(pilot, MyPageScreen)
        await wait_for(pilot, lambda: "テスト市役所" in screen_text(pilot), what="both organisations")
        text = screen_text(pilot)
        assert "テスト商事株式会社" in text and "ベネ・ウェルネス" in text
        assert app.session.account_id == account_id

    assert links_of(tmp_path, account_id) == [("TS000001", "1001"), ("TS000002", "A-77")]
    assert query(tmp_path, "select count(*) n from accounts")[0]["n"] == 1
    assert query(tmp_path, "select account_id from benefits") == [{"account_id": account_id}]
    audit = [(r["action"], r["outcome"]) for r in query(
        tmp_path, "select action, outcome from audit where subject = ? order by id", [f"account:{account_id}"])]
    assert ("link.login", "refused") in audit and ("link.login", "ok") in audit and ("link.complete", "ok") in audit
    assert [a for a in audit if a[0] == "auth.login"] == [("auth.login", "refused"), ("auth.login", "ok")]
    # linking sends nothing; the only message is registration's code
    assert [r["purpose"] for r in query(tmp_path, "select purpose from outbox")] == ["verification"]


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_link_from_the_already_registered_guidance(app_factory, ctx, tmp_path, lang):
    account_id = register(ctx)
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        step2 = await step1(pilot)
        await type_into(pilot, "#login_id", "taro@example.jp")
        await type_into(pilot, "#password", GOOD_PASSWORD)
        await type_into(pilot, "#password2", GOOD_PASSWORD)
        step2.query_one("#agree", Checkbox).value = True
        step2.query_one("#submit", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: step2.focused is step2.query_one("#link-setup"), what="「紐づけ設定する」")
        await pilot.press("enter")
        screen = await wait_screen(pilot, LinkLoginScreen)
        # the login ID just typed is carried over: only the password is left to type
        assert screen.query_one("#login_id", Input).value == "taro@example.jp"
        assert screen.focused is screen.query_one("#password")
        await type_into(pilot, "#password", GOOD_PASSWORD)
        await pilot.press("enter")
        step4 = await wait_screen(pilot, Step4Screen)
        step4.query_one("#confirm", Checkbox).focus()
        await pilot.press("space")
        step4.query_one("#complete", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, DoneScreen)
    assert links_of(tmp_path, account_id) == [("TS000001", "1001"), ("TS000002", "A-77")]
    assert query(tmp_path, "select reason from audit where action = 'registration.step2'") == [
        {"reason": "login ID already registered"}]


async def test_provisional_account_is_told_to_verify_first(app_factory, ctx, tmp_path):
    flow_id = registration.start(ctx, "TS000001", "1001", "19850401").flow_id
    registration.submit_credentials(ctx, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        step2 = await step1(pilot)
        step2.query_one("#link-instead", Button).focus()
        await pilot.press("enter")
        screen = await wait_screen(pilot, LinkLoginScreen)
        await link_login(pilot, "taro@example.jp", GOOD_PASSWORD)
        await wait_for(pilot, lambda: "仮登録中" in str(screen.query_one("#login_id-error", Static).render()),
                       what="the provisional message")
        assert not screen.query_one("#case1").display
    assert query(tmp_path, "select count(*) n from account_members")[0]["n"] == 0
    assert query(tmp_path, "select reason from audit where action = 'link.login'") == [
        {"reason": "account provisional: not verified yet"}]


async def test_a_linked_record_says_so_at_step1(app_factory, ctx, tmp_path):
    register(ctx)
    app = app_factory(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        start.query_one("#register", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, Step1Screen)
        for field, value in zip(("#group_id", "#key1", "#key2"), ("TS000001", "1001", "19850401")):
            await type_into(pilot, field, value)
            await pilot.press("enter")
        await wait_for(pilot, lambda: "already linked to a Bene Account" in screen_text(pilot), what="the message")
        assert isinstance(app.screen, Step1Screen)
    assert query(tmp_path, "select count(*) n from account_members")[0]["n"] == 1
    assert query(tmp_path, "select reason from audit where action = 'registration.step1' and outcome = 'refused'") == [
        {"reason": "member already linked"}]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_the_helpdesk_is_told_when_the_linked_record_bears_another_name(app_factory, ctx, lang, size):
    """Linking 高橋 美咲's record to 山田 太郎's account: the agent is told (the caller's screen is unchanged);
    the same person's record at a new employer says nothing."""
    from bene_tui.core.i18n import t

    register(ctx)  # 山田 太郎 (TS000001)
    for mode, member, told in (("helpdesk", ("TS000002", "A-78", "M9002"), True), ("demo", ("TS000002", "A-78", "M9002"), False),
                               ("helpdesk", CITY, False)):
        app = app_factory(mode=mode, lang=lang)
        async with app.run_test(size=size) as pilot:
            step2 = await step1(pilot, member)
            step2.query_one("#link-instead", Button).focus()
            await pilot.press("enter")
            await wait_screen(pilot, LinkLoginScreen)
            await link_login(pilot, "taro@example.jp", GOOD_PASSWORD)
            step4 = await wait_screen(pilot, Step4Screen)
            await wait_for(pilot, lambda: step4.person is not None)
            await pilot.pause()
            note = str(step4.query_one("#staff-name-note", Static).render())
            if told:
                assert t(lang, "link.staff_other_names", name="高橋 美咲", others="山田 太郎") in note
                shown = step4.query_one("#staff-name-note", Static)
                assert shown.region.height > 0 and shown.region.width > 0, "in view beside the name"
            else:
                assert note == "", (mode, member)
