"""Login through the real screens (SPEC §3.3): Case 1, Case 2, lockout, マイページ, logout."""

from __future__ import annotations


import pytest
from textual.widgets import Button, Input, Select, Static

from bene_tui.core.errors import BeneError
from bene_tui.services import auth
from bene_tui.ui.screens import family as family_screens
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.mypage import MyPageScreen
from bene_tui.ui.screens.recovery import ForgotIdScreen, ForgotPasswordScreen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD
from helpers import query, screen_text, wait_for, wait_screen
from support.services import WRONG, register
from support.screens import form_text, open_login, submit

SIZE = (120, 50)
CASE1_JA = ("べネアカウント情報間違いによるものです。正しいログインIDまたはパスワードを入力して再度ログインしてください。"
            "それでも解決しない場合には「パスワードが不明な場合」「ベネアカウントが不明な場合」をご確認ください。")
CASE2_JA = ("該当サービスの有効会員でない可能性があります。ご利用可能サービスをご確認ください。"
            "それでも解決しない場合は、こちらよりお問い合わせください。")


def audit_for(tmp_path, subject: str) -> list[dict]:
    return query(tmp_path, "select * from audit where subject = ? order by id", [subject])


def fixed_text(pilot) -> str:
    """Everything the form says except what the person typed (inputs)."""
    return form_text(pilot, inputs=False)


def visible(pilot, selector: str) -> bool:
    return pilot.app.screen.query_one(selector).display


async def case1_shown(pilot) -> str:
    await wait_for(pilot, lambda: visible(pilot, "#case1"), what="Case 1")
    await wait_for(pilot, lambda: not pilot.app.screen.query_one("#login-submit", Button).disabled)
    return fixed_text(pilot)


async def test_login_opens_mypage_and_logout_forgets_the_session(app_factory, ctx, tmp_path, monkeypatch):
    account_id = register(ctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        text = screen_text(pilot)
        for wording in ("ログイン", "ベネフィット・ステーション", "ログインID", "パスワード"):
            assert wording in text
        assert screen.query_one("#login-service", Select).value == "benefit_station"
        await submit(pilot, "taro@example.jp", GOOD_PASSWORD)
        page = await wait_screen(pilot, MyPageScreen)
        await wait_for(pilot, lambda: "山田 太郎" in screen_text(pilot), what="the name")
        text = screen_text(pilot)
        assert "テスト商事株式会社" in text and "ベネ・ラーニング" in text and "家族設定" in text
        assert app.session.account_id == account_id
        assert page.focused is page.query_one("#family-settings")
        # the start screen is right below マイページ: the login screen was replaced
        assert [type(s).__name__ for s in app.screen_stack[1:]] == ["StartScreen", "MyPageScreen"]

        called = []
        monkeypatch.setattr(family_screens, "open_family_settings", lambda app: called.append(app.session.account_id))
        await pilot.press("enter")
        assert called == [account_id]

        page.query_one("#logout", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: audit_for(tmp_path, f"account:{account_id}")[-1]["action"] == "auth.logout")
        assert app.session.account_id is None
    rows = [(r["action"], r["outcome"]) for r in audit_for(tmp_path, f"account:{account_id}")]
    assert rows[-2:] == [("auth.login", "ok"), ("auth.logout", "ok")]
    assert query(tmp_path, "select detail from audit where action = 'auth.login'")[0]["detail"] == '{"service": "benefit_station"}'


async def test_case1_is_the_same_screen_for_unknown_id_wrong_password_and_locked(app_factory, ctx, tmp_path, clock):
    account_id = register(ctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        await submit(pilot, "nobody@example.jp", GOOD_PASSWORD)
        unknown = await case1_shown(pilot)
        assert CASE1_JA in unknown
        assert screen.query_one("#login-password", Input).value == ""
        assert screen.focused is screen.query_one("#login-password")

        await submit(pilot, "taro@example.jp", WRONG)
        await wait_for(pilot, lambda: len(audit_for(tmp_path, f"account:{account_id}")) > 2)
        wrong = await case1_shown(pilot)

        for _ in range(4):  # four more wrong passwords elsewhere: the account is now locked
            with pytest.raises(BeneError):
                auth.login(ctx, "benefit_station", "taro@example.jp", WRONG)
        await submit(pilot, "taro@example.jp", GOOD_PASSWORD)  # the right password, but locked
        await wait_for(pilot, lambda: "locked" in audit_for(tmp_path, f"account:{account_id}")[-1]["reason"])
        locked = await case1_shown(pilot)

        assert unknown == wrong == locked  # byte for byte
        assert not visible(pilot, "#case2") and not isinstance(app.screen, MyPageScreen)
        assert app.session.account_id is None

        clock.advance(61)  # the wait is over
        await submit(pilot, "taro@example.jp", GOOD_PASSWORD)
        await wait_screen(pilot, MyPageScreen)
    acct = query(tmp_path, "select * from accounts where id = ?", [account_id])[0]
    assert (acct["failed_logins"], acct["locked_until"]) == (0, None)
    assert audit_for(tmp_path, "login:nobody@example.jp")[-1]["reason"] == "unknown login ID"
    reasons = [r["reason"] for r in audit_for(tmp_path, f"account:{account_id}") if r["action"] == "auth.login"]
    assert reasons[0] == "wrong password (1 consecutive)"
    assert reasons[4].startswith("wrong password (5 consecutive); locked until")
    assert reasons[5].startswith("account locked until") and reasons[6] is None


async def test_helpdesk_sees_the_real_reason(app_factory, ctx, tmp_path):
    register(ctx)
    for _ in range(5):
        with pytest.raises(BeneError):
            auth.login(ctx, "benefit_station", "taro@example.jp", WRONG)
    locked_until = query(tmp_path, "select locked_until from accounts")[0]["locked_until"]
    app = app_factory(mode="helpdesk")
    async with app.run_test(size=SIZE) as pilot:
        await open_login(pilot)
        await submit(pilot, "taro@example.jp", GOOD_PASSWORD)
        text = await case1_shown(pilot)
        await wait_for(pilot, lambda: "ロック中です" in screen_text(pilot), what="the staff reason")
        assert CASE1_JA in text
        until = auth.stamp(locked_until).removesuffix(" JST")
        assert f"〔スタッフ向け〕アカウントは{until}までロック中です(連続5回のログイン失敗)" in screen_text(pilot)


async def test_case2_lists_the_services_this_person_can_use(app_factory, ctx, tmp_path):
    account_id = register(ctx, login="hanako@example.jp", key1="1003", key2="19781120")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        await submit(pilot, "hanako@example.jp", GOOD_PASSWORD, service="bene_learning")
        await wait_for(pilot, lambda: visible(pilot, "#case2"), what="Case 2")
        text = screen_text(pilot)
        assert CASE2_JA in text and "ご利用可能サービス" in text
        services = str(screen.query_one("#case2-services", Static).render())
        assert services == "・ベネフィット・ステーション"
        assert not visible(pilot, "#case1") and app.session.account_id is None
        # choosing a service they can use logs them in
        await submit(pilot, "hanako@example.jp", GOOD_PASSWORD, service="benefit_station")
        await wait_screen(pilot, MyPageScreen)
    rows = [(r["outcome"], r["reason"]) for r in audit_for(tmp_path, f"account:{account_id}") if r["action"] == "auth.login"]
    assert rows == [("refused", "inactive for service bene_learning"), ("ok", None)]


async def test_case1_leads_to_the_forgotten_item_procedures(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        await submit(pilot, "nobody@example.jp", WRONG)
        await case1_shown(pilot)
        screen.query_one("#case1-forgot-password", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, ForgotPasswordScreen)
        await pilot.press("escape")
        await wait_screen(pilot, LoginScreen)
        screen.query_one("#case1-forgot-id", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, ForgotIdScreen)
    assert query(tmp_path, "select reason from audit where action = 'auth.login'") == [{"reason": "unknown login ID"}]


async def test_then_callback_replaces_mypage(app_factory, ctx, tmp_path):
    account_id = register(ctx)
    seen = []
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        app.push_screen(LoginScreen(service_id="benefit_station", then=lambda a, aid: seen.append((a, aid))))
        await wait_screen(pilot, LoginScreen)
        await submit(pilot, "taro@example.jp", GOOD_PASSWORD)
        await wait_for(pilot, lambda: seen, what="the callback")
        await wait_screen(pilot, StartScreen)
        assert seen == [(app, account_id)] and app.session.account_id == account_id
    assert audit_for(tmp_path, f"account:{account_id}")[-1]["action"] == "auth.login"


async def test_english_and_language_switch_keep_the_form(app_factory, ctx, tmp_path):
    register(ctx)
    app = app_factory(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        screen.query_one("#login-service", Select).value = "bene_learning"
        await submit(pilot, "taro@example.jp", WRONG)
        text = await case1_shown(pilot)
        assert "incorrect Bene Account details" in text and "べネアカウント" not in text
        await pilot.press("f4")
        await wait_for(pilot, lambda: CASE1_JA in screen_text(pilot), what="Japanese")
        screen = app.screen
        assert screen.query_one("#login-service", Select).value == "bene_learning"
        assert screen.query_one("#login-id", Input).value == "taro@example.jp"
        assert visible(pilot, "#case1")
    assert query(tmp_path, "select count(*) n from audit where action = 'auth.login' and outcome = 'refused'")[0]["n"] == 1


async def test_markup_in_a_name_is_shown_as_typed(app_factory, ctx):
    register(ctx, login="markup@example.jp", key1="1002", key2="19900512")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await open_login(pilot)
        await submit(pilot, "markup@example.jp", GOOD_PASSWORD)
        page = await wait_screen(pilot, MyPageScreen)
        await wait_for(pilot, lambda: "[b]太郎[/b]" in str(page.query_one("#mypage-name", Static).render()),
                       what="the name, as typed")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_typing_goes_into_the_login_id_and_tab_reaches_the_password(app_factory, lang):
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        await pilot.press(*"taro@example.jp")
        assert screen.query_one("#login-id", Input).value == "taro@example.jp"
        await pilot.press("tab")
        assert screen.focused is screen.query_one("#login-password", Input)
        await pilot.press(*"secret")
        assert screen.query_one("#login-password", Input).value == "secret"
        assert screen.query_one("#login-id", Input).value == "taro@example.jp"


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_case1_names_the_buttons_beside_it(app_factory, lang):
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        await submit(pilot, "nobody@example.jp", WRONG)
        await case1_shown(pilot)
        text = str(screen.query_one("#case1-text", Static).render())
        for button in ("#case1-forgot-password", "#case1-forgot-id"):
            label = str(screen.query_one(button, Button).label)
            assert (f"「{label}」" if lang == "ja" else f'"{label}"') in text, label


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_case2_contact_leads_to_who_to_ask(app_factory, ctx, lang):
    from bene_tui.ui.screens.contact import ContactScreen

    register(ctx, login="hanako@example.jp", key1="1003", key2="19781120")
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_login(pilot)
        await submit(pilot, "hanako@example.jp", GOOD_PASSWORD, service="bene_learning")
        await wait_for(pilot, lambda: visible(pilot, "#case2"), what="Case 2")
        contact = screen.query_one("#case2-contact", Button)
        assert str(contact.label) == app.t("login.contact_link")
        contact.focus()
        await pilot.press("enter")
        page = await wait_screen(pilot, ContactScreen)
        text = screen_text(pilot)
        assert app.t("login.contact_org", org="テスト商事株式会社") in text
        assert app.t("login.contact_text") in text
        assert page.focused is page.query_one("#contact-back", Button)
        await pilot.press("enter")
        await wait_screen(pilot, LoginScreen)
        assert visible(pilot, "#case2"), "back where Case 2 was shown"
