"""New registration through the real screens (SPEC §3.1), then the database and the outbox.

Every test drives the app by keys where a person would, reads the verification code from the
outbox row (the person's phone or mailbox) and checks what was written.
"""

from __future__ import annotations

import re

import pytest

from textual.widgets import Button, Checkbox, Input, RadioButton, Static

from bene_tui.services import registration
from bene_tui.services.context import open_context
from bene_tui.services.outbox import SENDER_EMAIL
from bene_tui.services.secret_store import SecretStore
from bene_tui.ui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD, make_settings
from helpers import distinct_codes, messages_to, press_button, query, screen_text, type_into, wait_for, wait_screen
from support.screens import TARO, open_step1, do_step1, to_step2, fill_step2, type_code, to_step4, confirm_and_complete

SIZE = (120, 50)

# -- reading the database as an outsider ---------------------------------------------------------

def account(tmp_path, login_id: str) -> dict | None:
    rows = query(tmp_path, "select * from accounts where login_id = ? order by id desc", [login_id])  # the newest
    return rows[0] if rows else None


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# -- driving the screens ------------------------------------------------------------------------

async def register_through_screens(pilot, tmp_path, login_id: str, recipient: str, kind: str = "email",
                                   member=TARO) -> int:
    await to_step2(pilot, member)
    await fill_step2(pilot, login_id, kind)
    await wait_screen(pilot, Step3Screen)
    code = messages_to(tmp_path, recipient)[-1]["code"]
    await type_code(pilot, code)
    done = await confirm_and_complete(pilot)
    return done.account_id


def assert_registered(tmp_path, login_id: str, member_key1: str = "1001", group_id: str = "TS000001") -> dict:
    acct = account(tmp_path, login_id)
    assert acct is not None and acct["status"] == "active"
    assert acct["password_hash"].startswith("$argon2id$")
    links = query(tmp_path, "select m.group_id, m.auth_key_1 from account_members am "
                            "join members m on m.id = am.member_id where am.account_id = ?", [acct["id"]])
    assert links == [{"group_id": group_id, "auth_key_1": member_key1}]
    actions = {r["action"] for r in query(tmp_path, "select action from audit where outcome = 'ok'")}
    assert {"registration.step1", "registration.provisional", "code.sent", "code.checked",
            "registration.complete"} <= actions
    return acct


# -- the whole path ----------------------------------------------------------------------------

async def test_whole_path_japanese_email(app_factory, tmp_path):
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        step1 = await open_step1(pilot)
        assert "次へ" in screen_text(pilot)
        await do_step1(pilot, *TARO)
        # the organisation's own names for its keys appear once its 団体ID is known
        assert "社員番号" in str(step1.query_one("#key1-label").render())
        step2 = await wait_screen(pilot, Step2Screen)
        text = screen_text(pilot)
        for wording in ("ご登録済みのベネアカウントへ紐づけたい場合はこちら", "規約に同意する", "上記内容で送信する"):
            assert wording in text
        await fill_step2(pilot, "taro@example.jp")
        step3 = await wait_screen(pilot, Step3Screen)
        assert "taro@example.jp" in screen_text(pilot) and "送信する" in screen_text(pilot)
        assert step3.focused is step3.query_one("#code")

        sent = messages_to(tmp_path, "taro@example.jp")
        assert len(sent) == 1
        msg = sent[0]
        assert (msg["channel"], msg["sender"], msg["purpose"]) == ("email", SENDER_EMAIL, "verification")
        assert msg["subject"] == "【ベネアカウント】認証コードのお知らせ"
        assert re.fullmatch(r"\d{6}", msg["code"]) and msg["code"] in msg["body"]
        # provisional until the code is entered
        assert account(tmp_path, "taro@example.jp")["status"] == "provisional"

        await type_code(pilot, msg["code"])
        step4 = await wait_screen(pilot, Step4Screen)
        await wait_for(pilot, lambda: "山田 太郎" in screen_text(pilot), what="the 姓名")
        assert "ベネアカウントの登録を完了する" in screen_text(pilot)
        assert "テスト商事株式会社" in screen_text(pilot)
        assert account(tmp_path, "taro@example.jp")["status"] == "provisional"

        done = await confirm_and_complete(pilot)
        assert "ベネアカウントの新規登録が完了しました。" in screen_text(pilot)
        assert "初回特典" in screen_text(pilot)
        assert done.focused is done.query_one("#benefit")
        acct = assert_registered(tmp_path, "taro@example.jp")
        assert acct["lang"] == "ja"
        assert query(tmp_path, "select count(*) n from benefits")[0]["n"] == 0

        await pilot.press("enter")  # the 初回特典 banner
        await wait_for(pilot, lambda: "初回特典を受け取りました。" in screen_text(pilot), what="benefit granted")
        assert query(tmp_path, "select account_id from benefits") == [{"account_id": acct["id"]}]
        await press_button(pilot, done.query_one("#benefit", Button))  # once per account
        await wait_for(pilot, lambda: "すでに受け取り済み" in screen_text(pilot), what="benefit refused")
        assert query(tmp_path, "select count(*) n from benefits")[0]["n"] == 1


async def test_whole_path_english_sms(app_factory, tmp_path):
    app = app_factory(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await open_step1(pilot)
        text = screen_text(pilot)
        assert "Next" in text and "次へ" not in text
        await do_step1(pilot, "TS000002", "A-78", "M9002")
        await wait_screen(pilot, Step2Screen)
        await fill_step2(pilot, "080-1111-2222", kind="sms")
        step3 = await wait_screen(pilot, Step3Screen)
        assert "by SMS" in screen_text(pilot) and "080-1111-2222" in screen_text(pilot)

        sent = messages_to(tmp_path, "+818011112222")
        assert len(sent) == 1
        msg = sent[0]
        assert msg["channel"] == "sms" and msg["subject"] is None and msg["sender"] != SENDER_EMAIL
        assert msg["body"].startswith("[Bene Account]") and msg["code"] in msg["body"]
        await type_code(pilot, msg["code"])
        await wait_screen(pilot, Step4Screen)
        await wait_for(pilot, lambda: "高橋 美咲" in screen_text(pilot), what="the name")
        assert "Complete Bene Account registration" in screen_text(pilot)
        await confirm_and_complete(pilot)
        assert "Your Bene Account registration is complete." in screen_text(pilot)
        acct = assert_registered(tmp_path, "+818011112222", "A-78", "TS000002")
        assert acct["login_kind"] == "sms" and acct["lang"] == "en"
        assert step3.flow_id  # the same flow went through every step
        assert query(tmp_path, "select state from flows where id = ?", [step3.flow_id]) == [{"state": "completed"}]


async def test_whole_path_japanese_sms(app_factory, tmp_path):
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        account_id = await register_through_screens(pilot, tmp_path, "+81 90 1234 5678", "+819012345678", "sms")
        msg = messages_to(tmp_path, "+819012345678")[-1]
        assert msg["channel"] == "sms" and msg["body"].startswith("【ベネアカウント】")
        acct = assert_registered(tmp_path, "+819012345678")
        assert acct["id"] == account_id


async def test_whole_path_english_email(app_factory, tmp_path):
    app = app_factory(lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await register_through_screens(pilot, tmp_path, "Taro.Yamada@Example.JP", "Taro.Yamada@example.jp")
        msg = messages_to(tmp_path, "Taro.Yamada@example.jp")[-1]
        assert msg["subject"] == "[Bene Account] Your verification code"
        assert_registered(tmp_path, "Taro.Yamada@example.jp")


# -- step 2: the login ID already registered -----------------------------------------------------

async def test_login_id_already_registered_shows_linking_guidance(app_factory, tmp_path, clock):
    ctx, _ = open_context(make_settings(tmp_path), clock=clock,
                          secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    try:
        flow_id = registration.start(ctx, *TARO).flow_id
        message = registration.submit_credentials(ctx, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True)
        registration.verify_code(ctx, flow_id, message["code"])
        registration.complete(ctx, flow_id, True)
    finally:
        ctx.store.close()
    before = query(tmp_path, "select count(*) n from outbox")[0]["n"]

    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot, ("TS000001", "1004", "19950303"))
        screen = pilot.app.screen
        assert not screen.query("#already")
        await fill_step2(pilot, "TARO@example.jp")
        await wait_for(pilot, lambda: screen.query("#already"), what="the linking guidance")
        text = screen_text(pilot)
        assert ("入力されたログインIDはすでにベネアカウントとして登録済みです。\n"
                "ご登録済みのベネアカウントに紐づける場合は、「紐づけ設定する」を押下してください。") in text
        setup = screen.query_one("#link-setup", Button)
        assert str(setup.label) == "紐づけ設定する" and setup.display
        assert screen.focused is setup
        assert isinstance(pilot.app.screen, Step2Screen)
        await pilot.press("f4")  # the notice stays through a language switch, in the other language
        await wait_for(pilot, lambda: "Set up linking" in screen_text(pilot), what="the notice in English")
        assert len(screen.query("#already")) == 1
        await pilot.press("f4")
        await wait_for(pilot, lambda: "紐づけ設定する" in screen_text(pilot), what="the notice in Japanese")

        # nothing registered, nothing sent, the refusal audited
        assert len(query(tmp_path, "select * from accounts where login_key like 'taro@example.jp'")) == 1
        assert query(tmp_path, "select count(*) n from outbox")[0]["n"] == before
        refused = query(tmp_path, "select reason from audit where action = 'registration.step2' and outcome = 'refused'")
        assert refused == [{"reason": "login ID already registered"}]

        await pilot.press("enter")  # 「紐づけ設定する」 leads on towards linking
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, Step2Screen), what="the linking screen")
        assert not isinstance(pilot.app.screen, Step3Screen)


# -- step 3: codes -------------------------------------------------------------------------------

async def test_five_wrong_codes_void_the_code(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp")
        screen = await wait_screen(pilot, Step3Screen)
        code = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        error = screen.query_one("#code-error", Static)
        for n in range(1, 5):
            await type_code(pilot, other_code(code))
            await wait_for(pilot, lambda: "認証コードが正しくありません。" in str(error.render()), what=f"wrong code {n}")
            assert query(tmp_path, "select attempts from codes")[0]["attempts"] == n
        await type_code(pilot, other_code(code))
        await wait_for(pilot, lambda: "この認証コードは無効になりました" in str(error.render()), what="voided")
        assert "認証コードを再送信してください" in str(error.render())
        row = query(tmp_path, "select * from codes")[0]
        assert row["attempts"] == 5 and row["voided_at"] is not None and row["used_at"] is None

        # even the right code no longer works
        await type_code(pilot, code)
        await pilot.pause()
        await wait_for(pilot, lambda: "この認証コードは無効になりました" in str(error.render()), what="still void")
        assert isinstance(pilot.app.screen, Step3Screen)
        assert account(tmp_path, "taro@example.jp")["status"] == "provisional"
        assert query(tmp_path, "select state from flows where id = ?", [screen.flow_id]) == [{"state": "provisional"}]


async def test_expired_code_then_resend_then_success(app_factory, tmp_path, clock):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp")
        screen = await wait_screen(pilot, Step3Screen)
        first = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        clock.advance(601)
        await type_code(pilot, first)
        await wait_for(pilot, lambda: "認証コードの有効期限が切れました" in screen_text(pilot), what="expired")
        assert isinstance(pilot.app.screen, Step3Screen)

        resend = screen.query_one("#resend", Button)
        assert str(resend.label) == "認証コードを再送信する"
        await wait_for(pilot, lambda: screen.focused is resend, what="the focus on the resend button")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages_to(tmp_path, "taro@example.jp")) == 2, what="a second message")
        await wait_for(pilot, lambda: screen.query_one("#code", Input).value == "", what="the field cleared")
        second = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        codes = query(tmp_path, "select * from codes order by id")
        assert len(codes) == 2 and codes[0]["voided_at"] is not None and codes[1]["voided_at"] is None

        await type_code(pilot, second)
        await confirm_and_complete(pilot)
        assert_registered(tmp_path, "taro@example.jp")


async def test_resend_too_early(app_factory, tmp_path, clock):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp")
        screen = await wait_screen(pilot, Step3Screen)
        clock.advance(20)
        screen.query_one("#resend", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "認証コードの再送信は41秒後から可能です。" in screen_text(pilot), what="too early")
        assert screen.focused is screen.query_one("#resend")  # the focus stays on the button pressed
        assert len(messages_to(tmp_path, "taro@example.jp")) == 1
        assert len(query(tmp_path, "select * from codes")) == 1
        # the first code still works
        await type_code(pilot, messages_to(tmp_path, "taro@example.jp")[0]["code"])
        await wait_screen(pilot, Step4Screen)


# -- step 4 ------------------------------------------------------------------------------------

async def test_my_name_is_wrong_completes_nothing(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step4(pilot, tmp_path)
        screen = await wait_screen(pilot, Step4Screen)
        await wait_for(pilot, lambda: "山田 太郎" in screen_text(pilot), what="the name")
        wrong = screen.query_one("#name-wrong", Button)
        wrong.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query_one("#wrong-box").display, what="the note")
        assert "ご所属の企業・団体(テスト商事株式会社)の担当者へお問い合わせください" in screen_text(pilot)
        assert screen.query_one("#complete", Button).disabled
        assert screen.focused is screen.query_one("#top")  # the way out, ready
        # pressing the (disabled) button does nothing
        await pilot.click("#complete")
        await pilot.pause()
        assert isinstance(pilot.app.screen, Step4Screen)

        acct = account(tmp_path, "taro@example.jp")
        assert acct["status"] == "provisional"
        assert query(tmp_path, "select count(*) n from account_members")[0]["n"] == 0
        assert query(tmp_path, "select state from flows where id = ?", [screen.flow_id]) == [{"state": "name_disputed"}]
        assert query(tmp_path, "select outcome from audit where action = 'registration.name_disputed'") == [
            {"outcome": "stopped"}]


async def test_completing_without_the_tick_says_so_beside_the_checkbox(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step4(pilot, tmp_path)
        screen = await wait_screen(pilot, Step4Screen)
        screen.query_one("#complete", Button).focus()
        await pilot.press("enter")
        error = screen.query_one("#confirm-error", Static)
        await wait_for(pilot, lambda: "チェックボックスにチェックを入れてください" in str(error.render()), what="error")
        assert screen.focused is screen.query_one("#confirm")  # ready for Space
        assert account(tmp_path, "taro@example.jp")["status"] == "provisional"
        await pilot.press("space", "tab", "enter")
        await wait_screen(pilot, DoneScreen)
        assert_registered(tmp_path, "taro@example.jp")


async def test_markup_in_a_name_is_shown_literally(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step4(pilot, tmp_path, "markup@example.jp", ("TS000001", "1002", "19900512"))
        screen = await wait_screen(pilot, Step4Screen)
        name = screen.query_one("#name", Static)
        await wait_for(pilot, lambda: "太郎" in str(name.render()), what="the name")
        assert "[b]太郎[/b]" in str(name.render())
        # and on the real screen: the brackets are drawn, not bold text
        assert "[b]太郎[/b]" in pilot.app.export_screenshot()
        await confirm_and_complete(pilot)
        assert_registered(tmp_path, "markup@example.jp", "1002")


# -- normalisation -------------------------------------------------------------------------------

async def test_full_width_input_everywhere(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot, ("ＴＳ０００００１", "１００１", "１９８５０４０１"))
        await fill_step2(pilot, "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ")
        await wait_screen(pilot, Step3Screen)
        code = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        await type_code(pilot, full_width)
        await confirm_and_complete(pilot)
        assert_registered(tmp_path, "taro@example.jp")


async def test_full_width_mobile_number(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await register_through_screens(pilot, tmp_path, "０９０−１２３４−５６７８", "+819012345678", "sms")
        assert_registered(tmp_path, "+819012345678")


# -- errors beside their field --------------------------------------------------------------------

async def test_step1_mismatch_is_generic_and_beside_the_field(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step1(pilot)
        await do_step1(pilot, "TS000001", "1001", "19850402")
        error = screen.query_one("#group_id-error", Static)
        await wait_for(pilot, lambda: "団体IDまたは認証キーに誤りがあります" in str(error.render()), what="error")
        assert isinstance(pilot.app.screen, Step1Screen)
        assert query(tmp_path, "select count(*) n from flows")[0]["n"] == 0
        assert query(tmp_path, "select reason from audit where action = 'registration.step1'") == [
            {"reason": "wrong auth key 2"}]


async def test_step2_errors_beside_their_fields(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp", agree=False)
        await wait_for(pilot, lambda: "規約に同意する" in str(screen.query_one("#agree-error").render()), what="terms")
        assert screen.focused is screen.query_one("#agree")
        screen.query_one("#kind").focus()
        await pilot.pause()
        await fill_step2(pilot, "taro@example.jp", password2="something-else-entirely")
        await wait_for(pilot, lambda: "一致しません" in str(screen.query_one("#password2-error").render()), what="mismatch")
        assert str(screen.query_one("#agree-error").render()) == ""
        assert screen.focused is screen.query_one("#password2")
        screen.query_one("#kind").focus()
        await pilot.pause()
        await fill_step2(pilot, "taro@example.jp", password="password1234")
        await wait_for(pilot, lambda: "推測されやすい" in str(screen.query_one("#password-error").render()), what="weak")
        assert screen.focused is screen.query_one("#password")
        assert query(tmp_path, "select count(*) n from accounts")[0]["n"] == 0
        assert query(tmp_path, "select count(*) n from outbox")[0]["n"] == 0


# -- the outbox viewer ---------------------------------------------------------------------------

async def test_f2_outbox_viewer_shows_the_message_and_code(app_factory, tmp_path):
    from textual.widgets import Digits

    from bene_tui.ui.screens.outbox import OutboxScreen

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp")
        step3 = await wait_screen(pilot, Step3Screen)
        await type_into(pilot, "#code", "12")
        code = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        await pilot.press("f2")
        viewer = await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: viewer.query_one("#ob-code", Digits).value == code, what="the code, large")
        body = str(viewer.query_one("#ob-body", Static).render())
        assert f"認証コード: {code}" in body
        assert "taro@example.jp" in screen_text(pilot)
        assert "【ベネアカウント】認証コードのお知らせ" in screen_text(pilot)
        assert SENDER_EMAIL in screen_text(pilot)
        await wait_for(pilot, lambda: query(tmp_path, "select read from outbox")[0]["read"] == 1, what="marked read")
        await pilot.press("escape")
        await wait_screen(pilot, Step3Screen)
        assert pilot.app.screen is step3 and step3.query_one("#code", Input).value == "12"
        await type_code(pilot, code)
        await wait_screen(pilot, Step4Screen)


# -- secrets ---------------------------------------------------------------------------------------

@pytest.mark.sqlite_only  # reads the SQLite files
async def test_password_nowhere_in_the_files_and_code_only_in_the_outbox(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await register_through_screens(pilot, tmp_path, "taro@example.jp", "taro@example.jp")
        code = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        main, wal = tmp_path / "bene.db", tmp_path / "bene.db-wal"
        assert main.exists() and wal.exists()  # still open: the WAL holds the latest pages
        secret = GOOD_PASSWORD.encode()
        for path in (main, wal, tmp_path / "secrets.json"):
            assert secret not in path.read_bytes(), path.name
            assert GOOD_PASSWORD.encode("utf-16-le") not in path.read_bytes(), path.name

    # the code: a keyed hash in `codes`, in clear only in the outbox message
    codes = query(tmp_path, "select * from codes")
    assert codes and all(re.fullmatch(r"[0-9a-f]{64}", r["code_hash"]) for r in codes)
    token = re.compile(rf"(?<!\d){code}(?!\d)")
    roster = {"members", "organisations", "org_services", "services"}  # imported, never written by a flow
    tables = [r["name"] for r in query(tmp_path, "select name from sqlite_master where type = 'table'")]
    assert "outbox" in tables and "audit" in tables
    found = set()
    for table in tables:
        if table in roster:
            continue
        for row in query(tmp_path, f"select * from [{table}]"):
            if any(token.search(str(v)) for v in row.values() if v is not None):
                found.add(table)
    assert found == {"outbox"}


# -- language --------------------------------------------------------------------------------------

async def test_f4_switches_language_and_keeps_what_was_typed(app_factory, tmp_path):
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step1(pilot)
        await type_into(pilot, "#group_id", "TS000001")
        await type_into(pilot, "#key1", "1001")
        await pilot.press("f4")
        await wait_for(pilot, lambda: "Next" in screen_text(pilot), what="English")
        assert pilot.app.lang == "en"
        assert screen.query_one("#group_id", Input).value == "TS000001"
        assert screen.query_one("#key1", Input).value == "1001"
        assert screen.focused is screen.query_one("#key1")
        await wait_for(pilot, lambda: "Employee number" in str(screen.query_one("#key1-label").render()),
                       what="the organisation's English key label")
        await type_into(pilot, "#key2", "19850401")
        await pilot.press("enter")

        step2 = await wait_screen(pilot, Step2Screen)
        await pilot.press("down", "space")  # SMS
        await type_into(pilot, "#login_id", "090-1234-5678")
        await type_into(pilot, "#password", GOOD_PASSWORD)
        step2.query_one("#agree", Checkbox).focus()
        await pilot.press("space")
        await pilot.press("f4")
        await wait_for(pilot, lambda: "上記内容で送信する" in screen_text(pilot), what="Japanese")
        assert pilot.app.lang == "ja"
        assert step2.query_one("#login_id", Input).value == "090-1234-5678"
        assert step2.query_one("#password", Input).value == GOOD_PASSWORD
        assert step2.query_one("#kind-sms", RadioButton).value
        assert step2.query_one("#agree", Checkbox).value
        assert "ログインID(携帯電話番号)" in str(step2.query_one("#login_id-label").render())
        await type_into(pilot, "#password2", GOOD_PASSWORD)
        step2.query_one("#submit", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, Step3Screen)
        msg = messages_to(tmp_path, "+819012345678")[-1]
        assert msg["body"].startswith("【ベネアカウント】")  # the language at the time of sending


# -- keyboard and the end of a flow -----------------------------------------------------------------

async def test_start_screen_register_first_and_escape_goes_back(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        focusable = [w for w in start.focus_chain]
        assert focusable[0].id == "register" and start.focused is focusable[0]
        assert str(start.query_one("#register", Button).label) == "新規登録"
        await pilot.press("enter")
        await wait_screen(pilot, Step1Screen)
        await pilot.press("escape")
        assert await wait_screen(pilot, StartScreen) is start


async def test_a_finished_flow_cannot_be_reentered(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await register_through_screens(pilot, tmp_path, "taro@example.jp", "taro@example.jp")
        flow_screens = (Step1Screen, Step2Screen, Step3Screen, Step4Screen)
        assert not any(isinstance(s, flow_screens) for s in pilot.app.screen_stack)
        await pilot.press("escape")
        start = await wait_screen(pilot, StartScreen)
        await pilot.press("escape")  # nothing below the start screen
        await pilot.pause()
        assert pilot.app.screen is start
        # a new registration starts from a clean step 1
        await pilot.press("enter")
        step1 = await wait_screen(pilot, Step1Screen)
        assert step1.query_one("#group_id", Input).value == ""


async def test_outbox_viewer_shows_subjects_and_bodies_literally(app_factory, tmp_path, clock):
    from bene_tui.services import outbox
    from bene_tui.ui.screens.outbox import OutboxScreen

    ctx, _ = open_context(make_settings(tmp_path), clock=clock,
                          secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    try:
        with ctx.tx():
            outbox.send(ctx, "taro@example.jp", "notice", "ja", title="[b]重要[/b]", text="[red]本文[/red] [link=x]y")
    finally:
        ctx.store.close()
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f2")
        viewer = await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: "[red]本文[/red]" in str(viewer.query_one("#ob-body", Static).render()),
                       what="the body")
        from textual.widgets import OptionList

        listing = viewer.query_one("#ob-messages", OptionList)
        drawn = "\n".join(listing.render_line(y).text for y in range(listing.size.height))
        assert "【ベネアカウント】[b]重要[/b]" in drawn  # the subject in the message list, drawn as typed
        assert "[link=x]y" in pilot.app.export_screenshot()


# -- work done while the person is still typing -------------------------------------------------
# Step 2 is composed while step 1 is filled in (ui/screens/ahead.py) and the password is hashed as
# soon as both fields agree (Step2Screen._passwords_changed): bench/transitions.py.

async def wait_ahead(pilot, step1: Step1Screen, not_this=None) -> Step2Screen:
    return await wait_for(pilot, lambda: (s := step1.ahead.screen) is not None and s is not not_this
                          and s.is_mounted and s, what="Step 2 composed ahead")


async def test_step2_is_composed_while_step1_is_typed_and_is_the_one_shown(app_factory, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        step1 = await open_step1(pilot)
        ahead = await wait_ahead(pilot, step1)
        assert pilot.app.screen is step1 and ahead not in pilot.app.screen_stack
        assert ahead.flow_id == "" and ahead.query_one("#login_id", Input).value == ""
        await do_step1(pilot, *TARO)
        step2 = await wait_screen(pilot, Step2Screen)
        assert step2 is ahead
        flow_ids = [r["id"] for r in query(tmp_path, "select id from flows")]
        assert flow_ids == [step2.flow_id]
        assert step2.focused is step2.query_one("#kind")
        await fill_step2(pilot, "taro@example.jp")
        await wait_screen(pilot, Step3Screen)
        assert account(tmp_path, "taro@example.jp")["status"] == "provisional"


async def test_a_step2_composed_ahead_is_composed_again_on_a_language_switch_and_dropped_when_step1_closes(app_factory):
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        step1 = await open_step1(pilot)
        japanese = await wait_ahead(pilot, step1)
        await pilot.press("f4")
        await wait_for(pilot, lambda: "Next" in screen_text(pilot), what="English")
        await wait_for(pilot, lambda: not japanese.is_running and not japanese.is_attached,
                       what="the Japanese Step 2 removed")
        english = await wait_ahead(pilot, step1, not_this=japanese)
        await do_step1(pilot, *TARO)
        step2 = await wait_screen(pilot, Step2Screen)
        assert step2 is english
        assert str(step2.query_one("#submit", Button).label) == "Send the above"

        await pilot.press("escape")  # back to step 1: a new Step 2 is composed for it ...
        assert await wait_screen(pilot, Step1Screen) is step1
        again = await wait_ahead(pilot, step1, not_this=step2)
        await pilot.press("escape")  # ... and goes when step 1 closes, unused
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: not again.is_running and not again.is_attached, what="the unused Step 2 removed")
        assert not step2.is_attached


async def type_credentials(pilot, login_id: str = "taro@example.jp", password: str = GOOD_PASSWORD) -> None:
    """Step 2's login ID, password and confirmation: the fields agree, so the hash starts."""
    await type_into(pilot, "#login_id", login_id)
    await type_into(pilot, "#password", password)
    await type_into(pilot, "#password2", password)


async def tick_and_submit(pilot, step2: Step2Screen) -> None:
    step2.query_one("#agree", Checkbox).focus()
    await pilot.press("space")
    await press_button(pilot, step2.query_one("#submit", Button))


async def test_the_password_is_hashed_once_while_the_terms_are_read(app_factory, tmp_path, monkeypatch):
    from bene_tui.services import passwords

    made = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda password, rules: made.append(password) or real(password, rules))
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        step2 = await to_step2(pilot)
        await type_credentials(pilot)
        await wait_for(pilot, lambda: made == [GOOD_PASSWORD], what="the hash made ahead")
        assert account(tmp_path, "taro@example.jp") is None  # nothing stored before 「上記内容で送信する」
        await tick_and_submit(pilot, step2)
        await wait_screen(pilot, Step3Screen)
    assert made == [GOOD_PASSWORD]  # not hashed a second time at the press
    stored = account(tmp_path, "taro@example.jp")["password_hash"]
    rules = make_settings(tmp_path).rules
    assert passwords.verify_password(stored, GOOD_PASSWORD, rules)


async def test_a_password_changed_after_its_hash_was_made_is_stored_as_finally_typed(app_factory, tmp_path):
    from bene_tui.services import passwords

    final = GOOD_PASSWORD + "-z"
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        step2 = await to_step2(pilot)
        await type_credentials(pilot)
        first = step2._hash_ahead[1]
        await wait_for(pilot, lambda: first.is_finished, what="the first hash made ahead")
        await type_into(pilot, "#password", final)  # changed: the fields disagree until ...
        await pilot.press("enter")
        await type_into(pilot, "#password2", final)  # ... they agree again
        await tick_and_submit(pilot, step2)  # at once: waits for the new hash
        await wait_screen(pilot, Step3Screen)
    stored = account(tmp_path, "taro@example.jp")["password_hash"]
    rules = make_settings(tmp_path).rules
    assert passwords.verify_password(stored, final, rules)
    assert not passwords.verify_password(stored, GOOD_PASSWORD, rules)


async def test_every_step_is_shown_from_the_screen_composed_for_it(app_factory, tmp_path):
    """Start → Step 1 → … → Done: each screen pushed is the one its predecessor composed ahead,
    filled in with this person's data (login ID, 姓名) before its first frame."""
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)

        async def ahead_of(screen):
            return await wait_for(pilot, lambda: (s := screen.ahead.screen) is not None and s.is_mounted and s,
                                  what=f"the screen after {screen!r} composed ahead")

        expected = await ahead_of(start)
        await pilot.press("enter")  # 「新規登録」
        step1 = await wait_screen(pilot, Step1Screen)
        assert step1 is expected
        expected = await ahead_of(step1)
        await do_step1(pilot, *TARO)
        assert await wait_screen(pilot, Step2Screen) is expected
        expected = await ahead_of(expected)
        await fill_step2(pilot, "090-1234-5678", kind="sms")
        step3 = await wait_screen(pilot, Step3Screen)
        assert step3 is expected
        assert "090-1234-5678" in str(step3.query_one("#sent-to").render())
        assert not step3.query_one("#sender-note").display  # the e-mail sender's address: not for SMS
        expected = await ahead_of(step3)
        await type_code(pilot, messages_to(tmp_path, "+819012345678")[-1]["code"])
        step4 = await wait_screen(pilot, Step4Screen)
        assert step4 is expected
        assert "山田 太郎" in str(step4.query_one("#name").render())  # in place when it first showed
        expected = await ahead_of(step4)
        done = await confirm_and_complete(pilot)
        assert done is expected and done.account_id == account(tmp_path, "+819012345678")["id"]
        await press_button(pilot, done.query_one("#benefit", Button))
        await wait_for(pilot, lambda: "初回特典を受け取りました。" in screen_text(pilot), what="benefit granted")
        assert query(tmp_path, "select account_id from benefits") == [{"account_id": done.account_id}]


async def test_a_press_or_escape_while_the_next_screen_is_being_composed(app_factory):
    """In the very tick the screen ahead starts composing, a press takes it half-made (push_screen
    waits for it) and leaving drops it (once composed): neither breaks the app."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        start.ahead.discard()
        start.ahead._compose()  # as the timer would ...
        half_made = start.ahead.screen
        assert isinstance(half_made, Step1Screen) and not half_made.is_mounted
        pilot.app.push_screen(start.ahead.take())  # ... and 「新規登録」 at once (StartScreen._register)
        step1 = await wait_screen(pilot, Step1Screen)
        assert step1 is half_made
        await wait_for(pilot, lambda: step1.focused is step1.query_one("#group_id"), what="step 1 ready")

        step1.ahead.discard()
        step1.ahead._compose()
        dropped = step1.ahead.screen
        assert not dropped.is_mounted
        step1.ahead.discard()  # step 1 closing while its Step 2 is being composed
        await wait_for(pilot, lambda: not dropped.is_attached and not dropped.is_running, what="the half-made Step 2 removed")
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)
        assert pilot.app.is_running and pilot.app.return_code is None
        await pilot.press("enter")
        assert await wait_screen(pilot, Step1Screen)


async def test_closing_the_app_while_the_next_screen_is_being_composed(app_factory):
    """Ctrl+Q (or the kiosk shutting down) in the very tick a screen starts composing its successor:
    the app closes cleanly, with no error for a screen nobody saw."""
    for _ in range(3):
        app = app_factory()
        async with app.run_test(size=SIZE) as pilot:
            start = await wait_screen(pilot, StartScreen)
            start.ahead.discard()
            start.ahead._compose()
            assert not start.ahead.screen.is_mounted
            pilot.app.exit()
        assert app.return_code == 0


async def test_an_error_on_show_follows_a_language_switch(app_factory, tmp_path):
    """F4 rebuilds the screen in the other language: the error on show comes back in it, beside
    its field, and a later correct entry clears it as before."""
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp")
        step3 = await wait_screen(pilot, Step3Screen)
        await type_code(pilot, other_code(messages_to(tmp_path, "taro@example.jp")[-1]["code"]))
        error = lambda: str(step3.query_one("#code-error", Static).render())  # noqa: E731
        await wait_for(pilot, lambda: error() == "認証コードが正しくありません。", what="the error in Japanese")
        await pilot.press("f4")
        await wait_for(pilot, lambda: error() == "The verification code is incorrect.", what="the error in English")
        assert step3.focused is step3.query_one("#code")
        await pilot.press("f4")
        await wait_for(pilot, lambda: error() == "認証コードが正しくありません。", what="back in Japanese")
        await type_code(pilot, messages_to(tmp_path, "taro@example.jp")[-1]["code"])
        await wait_screen(pilot, Step4Screen)
        assert error() == ""


async def test_the_password_mismatch_follows_a_language_switch(app_factory, tmp_path):
    """Step 2's mismatch is checked on the screen, before any service: it too comes back after F4."""
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp", password2="something-else-entirely")
        error = lambda: str(screen.query_one("#password2-error", Static).render())  # noqa: E731
        await wait_for(pilot, lambda: error() == "パスワード(確認)が一致しません。", what="the mismatch in Japanese")
        await pilot.press("f4")
        await wait_for(pilot, lambda: error() == "The two passwords do not match.", what="the mismatch in English")
        assert screen.focused is screen.query_one("#password2")
        assert query(tmp_path, "select count(*) n from accounts")[0]["n"] == 0


async def test_step4_loads_the_name_again_when_step3_could_not(app_factory, tmp_path, monkeypatch):
    """The code is accepted but the 姓名 cannot be read (the database busy past its timeout):
    Step 4 reads it again as it shows, and never completes a registration whose name nobody saw."""
    from bene_tui.core.errors import BeneError

    failures = [2]  # step 3's read and Step 4's first one fail
    registered_name = registration.registered_name

    def flaky(ctx, flow_id):
        if failures[0]:
            failures[0] -= 1
            raise BeneError("error.busy", staff="SQLite busy (test)")
        return registered_name(ctx, flow_id)

    monkeypatch.setattr(registration, "registered_name", flaky)
    app = app_factory(lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        await to_step4(pilot, tmp_path)
        step4 = await wait_screen(pilot, Step4Screen)
        await wait_for(pilot, lambda: "混み合っています" in screen_text(pilot), what="the busy answer on Step 4")
        assert "山田 太郎" not in screen_text(pilot)
        step4.query_one("#confirm", Checkbox).value = True
        await press_button(pilot, step4.query_one("#complete", Button))  # the name first, not the registration
        await wait_for(pilot, lambda: "山田 太郎" in screen_text(pilot), what="the 姓名")
        assert pilot.app.screen is step4 and "混み合っています" not in screen_text(pilot)
        assert account(tmp_path, "taro@example.jp")["status"] == "provisional"
        await press_button(pilot, step4.query_one("#complete", Button))
        await wait_screen(pilot, DoneScreen)
        assert_registered(tmp_path, "taro@example.jp")


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(100, 30), (120, 40)])  # 100×30: the demo on a projector
async def test_the_arrows_choose_e_mail_or_sms_at_step_2(app_factory, lang, size):
    from bene_tui.core.i18n import t

    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=size) as pilot:
        step2 = await to_step2(pilot)
        assert step2.focused is step2.query_one("#kind")
        label = step2.query_one("#field-login_id").query_one(".field-label")
        await pilot.press("down")  # ↓ alone chooses SMS: no Enter needed
        await wait_for(pilot, lambda: step2.kind == "sms")
        assert step2.query_one("#kind-sms", RadioButton).value and not step2.query_one("#kind-email", RadioButton).value
        shown = lambda: str(label.render()).replace("\n", "")  # noqa: E731
        await wait_for(pilot, lambda: t(lang, "reg.login_id_sms") in shown(), what="the SMS label")
        await pilot.press("up")
        await wait_for(pilot, lambda: step2.kind == "email")
        await wait_for(pilot, lambda: t(lang, "reg.login_id_email") in shown(), what="the e-mail label")


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(100, 30), (120, 40)])  # 100×30: the demo on a projector
async def test_escape_to_step_1_and_forward_again_keeps_step_2_but_not_the_passwords(app_factory, lang, size):
    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=size) as pilot:
        step2 = await to_step2(pilot)
        await pilot.press("down")  # SMS
        await type_into(pilot, "#login_id", "090-1234-5678")
        await type_into(pilot, "#password", GOOD_PASSWORD)
        await type_into(pilot, "#password2", GOOD_PASSWORD)
        step2.query_one("#agree").focus()
        await pilot.press("space")
        await pilot.press("escape")
        step1 = await wait_screen(pilot, Step1Screen)
        assert step1.query_one("#key2", Input).value == TARO[2], "step 1 kept its own entries"
        step1.query_one("#next", Button).focus()
        await pilot.press("enter")
        again = await wait_screen(pilot, Step2Screen)
        await wait_for(pilot, lambda: again.query_one("#login_id", Input).value == "090-1234-5678")
        assert again is not step2 and again.kind == "sms" and again.query_one("#agree", Checkbox).value
        assert again.query_one("#password", Input).value == "" and again.query_one("#password2", Input).value == ""
        assert again.focused is again.query_one("#kind")


# -- step 2 is no oracle and no squatting tool -------------------------------------------------

def services_ctx(tmp_path, clock):
    """Another terminal on the same file."""
    from dataclasses import replace

    ctx, _ = open_context(replace(make_settings(tmp_path), terminal="other-terminal"), clock=clock,
                          secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    return ctx


def register_by_services(ctx, member, login_id: str) -> int:
    flow_id = registration.start(ctx, *member).flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", login_id, GOOD_PASSWORD, True)
    registration.verify_code(ctx, flow_id, message["code"])
    return registration.complete(ctx, flow_id, True)


async def test_five_already_registered_answers_then_step2_waits_as_step1_does(app_factory, tmp_path, clock):
    from bene_tui.core.i18n import t

    other = services_ctx(tmp_path, clock)
    try:
        register_by_services(other, TARO, "taro@example.jp")
    finally:
        other.store.close()
    refusals = "select count(*) n from audit where action = 'registration.step2' and outcome = 'refused'"
    async with app_factory(lang="ja").run_test(size=SIZE) as pilot:
        screen = await to_step2(pilot, ("TS000001", "1004", "19950303"))
        await fill_step2(pilot, "taro@example.jp")
        await wait_for(pilot, lambda: screen.query("#already"), what="the linking guidance")
        for n in range(2, 6):  # the same ID again and again (any registered ID counts alike)
            await press_button(pilot, screen.query_one("#submit", Button))
            await wait_for(pilot, lambda: query(tmp_path, refusals)[0]["n"] == n and screen.query("#already"),
                           what=f"refusal {n}")
        await type_into(pilot, "#login_id", "free@example.jp")  # the 6th attempt waits, whatever the ID
        await press_button(pilot, screen.query_one("#submit", Button))
        waits = t("ja", "error.throttled", seconds=61)
        await wait_for(pilot, lambda: waits in screen_text(pilot), what="the step-1 wait")
        assert not screen.query("#already")
        pilot.app.pop_screen()  # back at step 1, the same wait, in the same words
        step1 = await wait_screen(pilot, Step1Screen)
        step1.query_one("#key2", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: waits in screen_text(pilot), what="step 1 waits too")
    assert query(tmp_path, refusals)[0]["n"] == 5
    assert query(tmp_path, "select failures from throttle where key = 'step1:test-terminal'") == [{"failures": 5}]
    assert query(tmp_path, "select count(*) n from accounts where login_key = 'free@example.jp'")[0]["n"] == 0
    assert messages_to(tmp_path, "free@example.jp") == []


async def test_the_first_valid_code_wins_and_the_other_flow_is_offered_linking(app_factory, tmp_path, clock):
    from bene_tui.ui.screens.linking import LinkLoginScreen

    async with app_factory(lang="ja").run_test(size=SIZE) as pilot:
        await to_step2(pilot, ("TS000001", "1004", "19950303"))  # someone types the owner's free ID
        await fill_step2(pilot, "owner@example.jp")
        step3 = await wait_screen(pilot, Step3Screen)
        squatted = messages_to(tmp_path, "owner@example.jp")[-1]["code"]
        other = services_ctx(tmp_path, clock)  # meanwhile the owner registers it at another terminal
        try:
            owner = register_by_services(other, TARO, "owner@example.jp")
        finally:
            other.store.close()
        assert len(messages_to(tmp_path, "owner@example.jp")) == 2  # both got a code
        await type_code(pilot, squatted)  # a valid code, but the second one
        await wait_for(pilot, lambda: step3.query("#link-setup"), what="the linking offer")
        assert "別のお手続きで認証され、ベネアカウントとして登録されました" in screen_text(pilot)
        setup = step3.query_one("#link-setup", Button)
        assert str(setup.label) == "紐づけ設定する"
        await wait_for(pilot, lambda: step3.focused is setup, what="the focus on 紐づけ設定する")
        await pilot.press("enter")
        link = await wait_screen(pilot, LinkLoginScreen)
        assert link.query_one("#login_id", Input).value == "owner@example.jp"  # carried over from step 2
        assert link.focused is link.query_one("#password")
    rows = query(tmp_path, "select id, status from accounts where login_key = 'owner@example.jp'")
    assert rows == [{"id": owner, "status": "active"}]
    assert_registered(tmp_path, "owner@example.jp")
    flows = query(tmp_path, "select state, account_id from flows where kind = 'enrol' and member_id = "
                            "(select id from members where auth_key_1 = '1004' and group_id = 'TS000001')")
    assert flows == [{"state": "identified", "account_id": None}]


async def test_the_real_owner_is_not_blocked_by_a_squatters_provisional_registration(app_factory, tmp_path, clock):
    other = services_ctx(tmp_path, clock)
    try:
        squatter = registration.start(other, "TS000001", "1004", "19950303").flow_id
        registration.submit_credentials(other, squatter, "email", "taro@example.jp", GOOD_PASSWORD, True)
    finally:
        other.store.close()
    async with app_factory(lang="ja").run_test(size=SIZE) as pilot:
        account_id = await register_through_screens(pilot, tmp_path, "taro@example.jp", "taro@example.jp")
    assert assert_registered(tmp_path, "taro@example.jp")["id"] == account_id
    assert [m["purpose"] for m in messages_to(tmp_path, "taro@example.jp")] == ["verification"] * 2
    assert query(tmp_path, "select status from accounts where login_key = 'taro@example.jp' order by id") == [
        {"status": "provisional"}, {"status": "active"}]  # the squatter's holds nothing; it ends at its step 3


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_an_earlier_code_after_a_resend_says_it_was_replaced_and_counts(app_factory, tmp_path, clock, lang,
                                                                             monkeypatch):
    distinct_codes(monkeypatch)
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "taro@example.jp")
        screen = await wait_screen(pilot, Step3Screen)
        first = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        clock.advance(61)
        await press_button(pilot, screen.query_one("#resend", Button))
        await wait_for(pilot, lambda: len(messages_to(tmp_path, "taro@example.jp")) == 2, what="a second message")
        second = messages_to(tmp_path, "taro@example.jp")[-1]["code"]
        assert second != first
        error = screen.query_one("#code-error", Static)
        await type_code(pilot, first)
        await wait_for(pilot, lambda: app.t("error.code_replaced", left=4) in str(error.render()), what="replaced")
        await type_code(pilot, other_code(second))  # still counted on the same code: 3 left, the plain answer
        await wait_for(pilot, lambda: str(error.render()).startswith(app.t("error.code_wrong")), what="wrong")
        live = query(tmp_path, "select attempts, voided_at from codes order by id")[-1]
        assert live == {"attempts": 2, "voided_at": None}
        await type_code(pilot, second)
        await wait_screen(pilot, Step4Screen)


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_completed_registrations_spelling_of_the_login_id_wins(app_factory, tmp_path, lang):
    async with app_factory(lang=lang).run_test(size=SIZE) as pilot:
        await to_step2(pilot)
        await fill_step2(pilot, "Taro.Test@Example.JP")  # then abandoned at step 3
        await wait_screen(pilot, Step3Screen)
        for _ in range(3):
            await pilot.press("escape")
        await wait_screen(pilot, StartScreen)
        await register_through_screens(pilot, tmp_path, "taro.test@example.jp", "taro.test@example.jp")
    [acct] = query(tmp_path, "select login_id, status from accounts where login_key = 'taro.test@example.jp'")
    assert acct == {"login_id": "taro.test@example.jp", "status": "active"}


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_step1_offers_the_service_choice(app_factory, tmp_path, lang):
    app = app_factory(lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        step1 = await open_step1(pilot)
        assert app.t("reg.step1_services") in screen_text(pilot)
        if lang == "ja":
            assert "各サービスごとのべネアカウント登録画面は、こちらからご確認ください。" in screen_text(pilot)
        service = step1.query_one("#service", Button)
        assert app.t("service.benefit_station") in str(service.label)
        await press_button(pilot, service)
        await wait_for(pilot, lambda: app.screen.query("#service-menu"), what="the list of services")
        await pilot.press("down", "enter")
        await wait_screen(pilot, Step1Screen)
        await wait_for(pilot, lambda: app.t("service.bene_learning") in str(service.label), what="the new label")
        assert app.session.service_id == "bene_learning"
        step1.query_one("#group_id", Input).focus()
        await do_step1(pilot, *TARO)
        await wait_screen(pilot, Step2Screen)
        for _ in range(2):
            await pilot.press("escape")
        start = await wait_screen(pilot, StartScreen)
        assert app.t("service.bene_learning") in str(start.query_one("#service", Button).label)
    assert query(tmp_path, "select service_id from flows where kind = 'enrol'") == [{"service_id": "bene_learning"}]
