"""The three "I forgot ..." procedures through the real screens (SPEC §3.4)."""

from __future__ import annotations


import pytest
from textual.widgets import Button, Input, Static

from bene_tui.core.config import Rules
from bene_tui.core.errors import BeneError
from bene_tui.services import auth
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.mypage import MyPageScreen
from bene_tui.ui.screens.recovery import (ForgotIdDoneScreen, ForgotIdScreen, ForgotKeysDoneScreen, ForgotKeysScreen,
                                       ForgotPasswordScreen, NewPasswordScreen, ResetCodeScreen, ResetDoneScreen)
from support.world import GOOD_PASSWORD
from helpers import distinct_codes, query, screen_text, type_into, wait_for, wait_screen
from support.services import WRONG, register
from support.screens import form_text, from_start, fill

SIZE = (120, 50)
NEW_PASSWORD = "hoshi-zora-no-shita-de-utau-kaeru-7"


def messages(tmp_path, purpose: str | None = None) -> list[dict]:
    if purpose:
        return query(tmp_path, "select * from outbox where purpose = ? order by id", [purpose])
    return query(tmp_path, "select * from outbox order by id")


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def error_text(pilot, field: str) -> str:
    return str(pilot.app.screen.query_one(f"#{field}-error", Static).render())


# -- ベネアカウントが不明 --------------------------------------------------------------------------

async def test_forgot_login_id(app_factory, ctx, tmp_path):
    account_id = register(ctx, login="taro.yamada@example.jp")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await from_start(pilot, "forgot-id", ForgotIdScreen)
        assert "ベネアカウントが不明の場合は、以下よりご確認手続きが可能です。" in screen_text(pilot)
        await fill(pilot, ("group_id", "TS000001"), ("key1", "1001"), ("key2", "19850402"))
        await wait_for(pilot, lambda: "誤りがあります" in error_text(pilot, "group_id"), what="step-1 mismatch")
        assert "社員番号" in str(screen.query_one("#key1-label").render())
        screen.query_one("#key2", Input).focus()
        await pilot.pause()
        await fill(pilot, ("key2", "19850401"))
        done = await wait_screen(pilot, ForgotIdDoneScreen)
        assert str(done.query_one("#masked-login-id", Static).render()) == "ta*********@ex*****.jp"
        assert "taro.yamada@example.jp" not in form_text(pilot)
        assert "メール" in screen_text(pilot)
        assert done.focused is done.query_one("#to-login")
        await pilot.press("enter")
        await wait_screen(pilot, LoginScreen)
        assert [type(s).__name__ for s in app.screen_stack[1:]] == ["StartScreen", "LoginScreen"]
    [notice] = messages(tmp_path, "login_id_notice")
    assert notice["recipient"] == "taro.yamada@example.jp" and "ログインID: taro.yamada@example.jp" in notice["body"]
    rows = query(tmp_path, "select subject, outcome, reason from audit where action = 'recovery.forgot_id' order by id")
    assert rows == [{"subject": "terminal:test-terminal", "outcome": "refused", "reason": "wrong auth key 2"},
                    {"subject": f"account:{account_id}", "outcome": "ok", "reason": None}]


# -- パスワードが不明 ---------------------------------------------------------------------------

async def test_forgot_password_end_to_end(app_factory, ctx, tmp_path, clock):
    account_id = register(ctx)
    for _ in range(5):  # locked: the reset clears it
        with pytest.raises(BeneError):
            auth.login(ctx, "benefit_station", "taro@example.jp", WRONG)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await from_start(pilot, "forgot-password", ForgotPasswordScreen)
        await fill(pilot, ("login_id", "taro@example.jp"))
        code_screen = await wait_screen(pilot, ResetCodeScreen)
        [sent] = messages(tmp_path, "password_reset")
        assert sent["recipient"] == "taro@example.jp" and sent["code"] in sent["body"]
        assert code_screen.focused is code_screen.query_one("#code")

        await fill(pilot, ("code", other_code(sent["code"])))  # one wrong entry
        await wait_for(pilot, lambda: "正しくありません" in error_text(pilot, "code"), what="wrong code")
        code_screen.query_one("#reset-resend", Button).focus()
        await pilot.press("enter")  # too early to resend
        await wait_for(pilot, lambda: "秒後から可能です" in screen_text(pilot), what="resend interval")

        code_screen.query_one("#code", Input).focus()
        await pilot.pause()
        await fill(pilot, ("code", sent["code"]))
        new_screen = await wait_screen(pilot, NewPasswordScreen)
        await pilot.pause()
        await fill(pilot, ("password", "password1234"), ("password2", "password1234"))
        await wait_for(pilot, lambda: "推測されやすい" in error_text(pilot, "password"), what="policy")
        new_screen.query_one("#password", Input).focus()
        await pilot.pause()
        await fill(pilot, ("password", NEW_PASSWORD), ("password2", NEW_PASSWORD + "x"))
        await wait_for(pilot, lambda: "一致しません" in error_text(pilot, "password2"), what="mismatch")
        new_screen.query_one("#password2", Input).focus()
        await pilot.pause()
        await fill(pilot, ("password2", NEW_PASSWORD))
        done = await wait_screen(pilot, ResetDoneScreen)
        assert "パスワードの再設定が完了しました。" in screen_text(pilot)
        done.query_one("#to-login", Button).focus()
        await pilot.press("enter")
        login = await wait_screen(pilot, LoginScreen)
        await pilot.pause()
        await type_into(pilot, "#login-id", "taro@example.jp")
        await type_into(pilot, "#login-password", GOOD_PASSWORD)  # the old password stops working
        await pilot.press("enter")
        await wait_for(pilot, lambda: login.query_one("#case1").display, what="Case 1 for the old password")
        await type_into(pilot, "#login-password", NEW_PASSWORD)
        await pilot.press("enter")
        await wait_screen(pilot, MyPageScreen)

    acct = query(tmp_path, "select * from accounts where id = ?", [account_id])[0]
    assert acct["failed_logins"] == 0 and acct["locked_until"] is None
    [notice] = messages(tmp_path, "notice")
    assert notice["recipient"] == "taro@example.jp" and "パスワード再設定完了のお知らせ" in notice["subject"]
    actions = [(r["action"], r["outcome"]) for r in query(
        tmp_path, "select action, outcome from audit where action like 'recovery.%' order by id")]
    assert actions == [("recovery.reset_requested", "ok"), ("recovery.reset_code_ok", "ok"),
                       ("recovery.password_reset", "ok")]
    flow = query(tmp_path, "select state from flows where kind = 'password_reset'")
    assert flow == [{"state": "completed"}]


async def test_forgot_password_same_screens_whether_or_not_the_id_exists(app_factory, ctx, tmp_path):
    register(ctx)
    texts = {}
    for login_id in ("taro@example.jp", "nobody@example.jp"):
        app = app_factory()
        async with app.run_test(size=SIZE) as pilot:
            await from_start(pilot, "forgot-password", ForgotPasswordScreen)
            await fill(pilot, ("login_id", login_id))
            await wait_screen(pilot, ResetCodeScreen)
            shown = form_text(pilot).replace(login_id, "<ID>")
            await fill(pilot, ("code", "000000"))
            await wait_for(pilot, lambda: "正しくありません" in error_text(pilot, "code"))
            texts[login_id] = (shown, form_text(pilot).replace(login_id, "<ID>"))
    assert texts["taro@example.jp"] == texts["nobody@example.jp"]
    assert "(<ID>)がベネアカウントとしてご登録済みの場合" in texts["nobody@example.jp"][0]
    flows = query(tmp_path, "select login_id, state, account_id from flows where kind = 'password_reset' order by login_id")
    assert [(f["login_id"], f["state"], f["account_id"] is None) for f in flows] == [
        ("nobody@example.jp", "code_sent", True), ("taro@example.jp", "code_sent", False)]
    assert [m["recipient"] for m in messages(tmp_path, "password_reset")] == ["taro@example.jp"]
    reasons = [r["reason"] for r in query(tmp_path, "select reason from audit where action = 'recovery.reset_requested'")]
    assert reasons == [None, "unknown login ID: no code sent"]


async def test_reset_code_expires_on_the_clock(app_factory, ctx, tmp_path, clock):
    register(ctx)
    app = app_factory(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        screen = await from_start(pilot, "forgot-password", ForgotPasswordScreen)
        assert "If you have forgotten your password" in screen_text(pilot)
        await fill(pilot, ("login_id", "taro@example.jp"))
        code_screen = await wait_screen(pilot, ResetCodeScreen)
        old = messages(tmp_path, "password_reset")[-1]["code"]
        clock.advance(10 * 60 + 1)
        await fill(pilot, ("code", old))
        await wait_for(pilot, lambda: "has expired" in error_text(pilot, "code"), what="expired")
        code_screen.query_one("#reset-resend", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages(tmp_path, "password_reset")) == 2, what="a new code")
        new = messages(tmp_path, "password_reset")[-1]["code"]
        code_screen.query_one("#code", Input).focus()
        await pilot.pause()
        await fill(pilot, ("code", new))
        await wait_screen(pilot, NewPasswordScreen)
    rows = [(r["outcome"], r["reason"]) for r in query(
        tmp_path, "select outcome, reason from audit where action = 'code.checked' and subject in "
                  "(select 'flow:' || id from flows where kind = 'password_reset') order by id")]
    assert rows == [("refused", "code expired"), ("ok", None)]
    assert "Password reset" in messages(tmp_path, "password_reset")[-1]["subject"]


# -- 認証キーが不明 ----------------------------------------------------------------------------

async def test_forgot_keys_sends_them_and_never_shows_them(app_factory, tmp_path):
    texts = []
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        for kana, birth in (("ヤマダ タロウ", "1985-04-01"), ("ヤマダ タロウ", "1985-04-02")):
            await from_start(pilot, "forgot-keys", ForgotKeysScreen)
            assert "認証キーが不明の場合は、以下よりご確認手続きが可能です。" in screen_text(pilot)
            await fill(pilot, ("group_id", "TS000001"), ("kana", kana), ("birth_date", birth))
            done = await wait_screen(pilot, ForgotKeysDoneScreen)
            texts.append(form_text(pilot))
            assert done.focused is done.query_one("#top")
            await pilot.press("enter")
        # an input error stands beside its field
        await from_start(pilot, "forgot-keys", ForgotKeysScreen)
        await fill(pilot, ("group_id", "TS000001"), ("kana", "Yamada"), ("birth_date", "1985-04-01"))
        await wait_for(pilot, lambda: "カタカナ" in error_text(pilot, "kana"), what="kana error")
    assert texts[0] == texts[1]  # the same answer whether or not a member matched
    assert "メールアドレス宛に認証キーをお送りしました" in texts[0]
    assert "1001" not in texts[0] and "19850401" not in texts[0]
    [sent] = messages(tmp_path)
    assert sent["recipient"] == "taro@test-shoji.example.jp" and sent["purpose"] == "auth_key_notice"
    assert "社員番号: 1001" in sent["body"]
    rows = [(r["outcome"], r["reason"]) for r in query(
        tmp_path, "select outcome, reason from audit where action = 'recovery.forgot_keys' order by id")]
    assert rows == [("ok", "keys sent to the e-mail on file"), ("refused", "no member matched")]


async def test_forgot_id_in_english_keeps_its_brackets(app_factory, tmp_path):
    app = app_factory(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await from_start(pilot, "forgot-id", ForgotIdScreen)
        assert "Enter your [Group ID] and [Auth key 1 and 2]" in form_text(pilot)  # text, not markup
        await fill(pilot, ("group_id", "TS000001"), ("key1", "1004"), ("key2", "19950303"))
        await wait_for(pilot, lambda: "No Bene Account holds this membership" in form_text(pilot), what="no account")
        assert isinstance(app.screen, ForgotIdScreen)
    assert messages(tmp_path) == []
    assert query(tmp_path, "select reason from audit where action = 'recovery.forgot_id'") == [
        {"reason": "member record has no account"}]


# -- the same screens at every count (no account oracle) ----------------------------------------

QUIET = 2 * 3600  # longer than every window: the next run starts afresh
CAP = Rules().code_sends_per_hour  # codes and notices sent to one recipient in an hour
ROUNDS = CAP + 2  # every count up to the cap and two beyond it (where the codes become void)


def wait_out(tmp_path, clock) -> None:
    """A person told to wait, waits: past the terminal's throttle."""
    until = query(tmp_path, "select max(blocked_until) as until from throttle")[0]["until"]
    if until and until > clock.now():
        clock.advance(until - clock.now() + 1)


def checks(tmp_path) -> int:
    return query(tmp_path, "select count(*) as n from audit where action = 'code.checked'")[0]["n"]


async def reset_screens(app_factory, tmp_path, clock, login: str) -> str:
    """ROUNDS requests through the screens, each followed by a wrong code: what the screens said."""
    clock.advance(QUIET)
    texts = []
    async with app_factory().run_test(size=SIZE) as pilot:
        for _ in range(ROUNDS):
            pilot.app.go_home()
            wait_out(tmp_path, clock)
            await from_start(pilot, "forgot-password", ForgotPasswordScreen)
            await fill(pilot, ("login_id", login))
            await wait_screen(pilot, ResetCodeScreen)
            texts.append(form_text(pilot))
            sent = [m for m in messages(tmp_path, "password_reset") if m["recipient"] == login]
            wait_out(tmp_path, clock)
            before = checks(tmp_path)
            await fill(pilot, ("code", other_code(sent[-1]["code"] if sent else "000000")))
            await wait_for(pilot, lambda: checks(tmp_path) > before and error_text(pilot, "code"), what="answer")
            texts.append(form_text(pilot, inputs=False))  # (the wrong code typed differs, of course)
            clock.advance(61)
    return "\n".join(texts).replace(login, "<ID>")


async def test_forgot_password_same_screens_at_every_count(app_factory, ctx, tmp_path, clock):
    register(ctx)
    known = await reset_screens(app_factory, tmp_path, clock, "taro@example.jp")
    unknown = await reset_screens(app_factory, tmp_path, clock, "nobody@example.jp")
    assert known == unknown
    assert "無効" in known  # the hourly cap was reached: its codes are void, for both alike
    assert messages(tmp_path, "password_reset") and all(
        m["recipient"] == "taro@example.jp" for m in messages(tmp_path, "password_reset"))


async def answers_on_screen(app_factory, tmp_path, clock, entry: str, screen_cls, done_cls, values) -> list[str]:
    """ROUNDS requests of one procedure through the screens: what each answer screen said."""
    clock.advance(QUIET)
    texts = []
    async with app_factory().run_test(size=SIZE) as pilot:
        for _ in range(ROUNDS):
            pilot.app.go_home()
            wait_out(tmp_path, clock)
            await from_start(pilot, entry, screen_cls)
            await fill(pilot, *zip(screen_cls.FIELDS, values))
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, done_cls) or any(
                str(w.render()) for w in pilot.app.screen.query(".field-error, .form-error")), what="an answer")
            await pilot.pause()
            texts.append(form_text(pilot, inputs=False))
    return texts


async def test_forgot_login_id_same_screens_at_every_count(app_factory, ctx, tmp_path, clock):
    register(ctx, login="taro.yamada@example.jp")
    held = await answers_on_screen(app_factory, tmp_path, clock, "forgot-id", ForgotIdScreen, ForgotIdDoneScreen,
                                   ("TS000001", "1001", "19850401"))
    assert held == [held[0]] * ROUNDS and "ta*********@ex*****.jp" in held[0]  # the notice cap is not on screen
    assert len(messages(tmp_path, "login_id_notice")) == CAP
    wrong_key, unknown = [await answers_on_screen(app_factory, tmp_path, clock, "forgot-id", ForgotIdScreen,
                                                  ForgotIdDoneScreen, keys)
                          for keys in (("TS000001", "1001", "19990101"), ("TS000001", "9999", "19850401"))]
    assert wrong_key == unknown == [wrong_key[0]] * ROUNDS and "誤りがあります" in wrong_key[0]


async def test_forgot_keys_same_screens_at_every_count(app_factory, tmp_path, clock):
    matched, unmatched = [await answers_on_screen(app_factory, tmp_path, clock, "forgot-keys", ForgotKeysScreen,
                                                  ForgotKeysDoneScreen, ("TS000001", "ヤマダ タロウ", birth))
                          for birth in ("1985-04-01", "1985-04-02")]
    assert matched == unmatched == [matched[0]] * ROUNDS and "認証キーをお送りしました" in matched[0]
    assert len(messages(tmp_path, "auth_key_notice")) == CAP  # the hourly cap, silently


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_the_helpdesk_is_told_what_the_caller_cannot_see(app_factory, ctx, tmp_path, lang, size):
    """The caller's screen says the same whatever matched; the agent's says whether a record matched
    and where the notice went (in the agent's language), and nobody else's does. The form's own text:
    at 160 columns the demo's live panel shows the message beside it, as it should."""
    from bene_tui.core.i18n import t

    register(ctx)
    for mode in ("helpdesk", "demo"):
        app = app_factory(mode=mode, lang=lang)
        async with app.run_test(size=size) as pilot:
            await from_start(pilot, "forgot-keys", ForgotKeysScreen)
            await fill(pilot, ("group_id", "TS000001"), ("kana", "ヤマダ タロウ"), ("birth_date", "1985-04-01"))
            await wait_screen(pilot, ForgotKeysDoneScreen)
            matched = form_text(pilot)
            await pilot.press("escape")
            await from_start(pilot, "forgot-keys", ForgotKeysScreen)
            await fill(pilot, ("group_id", "TS000001"), ("kana", "ヤマダ ジロウ"), ("birth_date", "1985-04-01"))
            await wait_screen(pilot, ForgotKeysDoneScreen)
            unmatched = form_text(pilot)
            await pilot.press("escape")
            await from_start(pilot, "forgot-id", ForgotIdScreen)
            await fill(pilot, ("group_id", "TS000001"), ("key1", "1001"), ("key2", "19850401"))
            await wait_screen(pilot, ForgotIdDoneScreen)
            notice = form_text(pilot)
            await pilot.press("escape")
            no_account = t(lang, "helpdesk.staff_reason", reason=t(lang, "staff.member_has_no_account"))
            wrong_key = t(lang, "helpdesk.staff_reason", reason=t(lang, "staff.wrong_auth_key_2"))
            refusals = []
            for keys, told in ((("TS000001", "1004", "19950303"), "recovery.no_account"),  # a record, no account
                               (("TS000001", "1001", "19850402"), "error.step1_mismatch")):  # no record matched
                await from_start(pilot, "forgot-id", ForgotIdScreen)
                await fill(pilot, ("group_id", keys[0]), ("key1", keys[1]), ("key2", keys[2]))
                await wait_for(pilot, lambda: t(lang, told) in form_text(pilot).replace("\n", ""), what=told)
                await pilot.pause()
                refusals.append(form_text(pilot))
                await pilot.press("escape")
        sent = t(lang, "hd.note.sent_sent", to="taro@test-shoji.example.jp", channel="email")
        if mode == "helpdesk":
            assert sent in matched and t(lang, "hd.note.no_member") in unmatched
            assert t(lang, "hd.note.sent_sent", to="taro@example.jp", channel="email") in notice
            assert no_account in refusals[0] and wrong_key in refusals[1]
        else:
            assert not any(no_account in r or wrong_key in r for r in refusals)
            assert matched == unmatched, "the caller's answer says nothing of a match"
            assert "taro@test-shoji" not in matched and "taro@example.jp" not in notice


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("login_id, email", [("someone@example.jp", True), ("080-2345-6789", False)])
async def test_reset_code_screen_names_the_mail_sender_only_for_email(app_factory, lang, login_id, email):
    """The channel is the one typed (no account needed): an SMS login ID gets no e-mail sender's address."""
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await from_start(pilot, "forgot-password", ForgotPasswordScreen)
        await fill(pilot, ("login_id", login_id))
        screen = await wait_screen(pilot, ResetCodeScreen)
        await pilot.pause()
        assert (app.t("recovery.sender_note") in screen_text(pilot)) is email
        # the code field's example is the one registration shows, not digits that look typed in
        assert screen.query_one("#code", Input).placeholder == app.t("reg.code_placeholder")


async def test_an_earlier_reset_code_after_a_resend_says_it_was_replaced(app_factory, ctx, tmp_path, clock, monkeypatch):
    distinct_codes(monkeypatch)
    register(ctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await from_start(pilot, "forgot-password", ForgotPasswordScreen)
        await fill(pilot, ("login_id", "taro@example.jp"))
        screen = await wait_screen(pilot, ResetCodeScreen)
        first = messages(tmp_path, "password_reset")[-1]["code"]
        clock.advance(61)
        screen.query_one("#reset-resend", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages(tmp_path, "password_reset")) == 2, what="a second code")
        assert messages(tmp_path, "password_reset")[-1]["code"] != first
        screen.query_one("#code", Input).focus()
        await pilot.pause()
        await fill(pilot, ("code", first))
        await wait_for(pilot, lambda: app.t("error.code_replaced", left=4) in error_text(pilot, "code"), what="replaced")
    assert query(tmp_path, "select attempts from codes order by id")[-1] == {"attempts": 1}
