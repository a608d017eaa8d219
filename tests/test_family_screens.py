"""Family invitations through the real screens (SPEC §3.5): login → マイページ → 「家族設定」 →
「家族アカウントを追加する」 → 「招待」 → the form → 「招待」 → the approval link from the outbox →
「承認」 → the invitation link → 「設定」 → the family account logs in. The database and the
outbox are checked after each step."""

from __future__ import annotations


import pytest
from textual.widgets import Button, DataTable, Input, Select

from bene_tui.services import family, links
from bene_tui.ui.screens.family import (
    ApproveScreen, FamilyAddScreen, FamilyApprovedScreen, FamilyDoneScreen, FamilyInviteScreen,
    FamilyInviteSentScreen, FamilyRegisterScreen, FamilySettingsScreen,
)
from bene_tui.ui.screens.login import LoginScreen
from bene_tui.ui.screens.mypage import MyPageScreen
from bene_tui.ui.screens.outbox import OutboxScreen
from bene_tui.ui.screens.start import StartScreen
from bene_tui.ui.screens import routes
from bene_tui.ui.screens.dialog import ConfirmDialog
from helpers import messages_to, query, screen_text, type_into, wait_for, wait_screen
from support.services import FAMILY_PASSWORD, invite, invited, member, token_of
from support.screens import SIZE, problem_text, login, to_mypage, settings_of


async def wait_confirm(pilot) -> ConfirmDialog:
    """The はい/いいえ dialog, with the focus on いいえ (a stray Enter removes nothing)."""
    def ready():
        screen = pilot.app.screen
        if isinstance(screen, ConfirmDialog) and screen.query("#no") and pilot.app.focused is screen.query_one("#no"):
            return screen
        return None

    return await wait_for(pilot, ready, what="confirm dialog")


async def wait_focus(pilot, selector: str) -> None:
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.query(selector) and pilot.app.focused is screen.query_one(selector),
                   what=f"focus on {selector}")


def table_text(screen) -> str:
    """The family settings table, row by row (a DataTable is not a Static)."""
    table = screen.query_one("#invitations", DataTable)
    return "\n".join(" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))


def invitations(tmp_path) -> list[dict]:
    return query(tmp_path, "select * from invitations order by id")


# -- driving the screens ------------------------------------------------------------------------


async def to_settings(pilot, login_id: str = "taro@example.jp") -> FamilySettingsScreen:
    await to_mypage(pilot, login_id)
    await wait_focus(pilot, "#family-settings")
    await pilot.press("enter")  # 「家族設定」
    settings = await wait_screen(pilot, FamilySettingsScreen)
    await wait_for(pilot, lambda: settings.data is not None, what="family overview")
    return settings


async def open_newest_link(pilot, recipient_display: str) -> None:
    """F2, the newest conversation (the recipient's), Tab to its messages, Enter on the newest."""
    await pilot.press("f2")
    screen = await wait_screen(pilot, OutboxScreen)
    view = screen.query_one("#outbox-view")
    await wait_for(pilot, lambda: view.recipient is not None and view.message_id is not None, what="outbox loaded")
    await wait_for(pilot, lambda: recipient_display in screen_text(pilot), what=f"message to {recipient_display}")
    await pilot.press("tab")
    assert pilot.app.focused.id == "ob-messages"
    await pilot.press("enter")


async def choose_relationship(pilot, label: str) -> None:
    """Open the select with Enter, move down to the label, Enter."""
    select = pilot.app.screen.query_one("#relationship", Select)
    assert pilot.app.focused is select
    await pilot.press("enter")
    overlay = await wait_for(pilot, lambda: pilot.app.focused if pilot.app.focused is not select else None,
                             what="relationship list open")
    for _ in range(len(select._options) + 1):
        index = overlay.highlighted
        if index is not None and str(overlay.get_option_at_index(index).prompt) == label:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(pilot, lambda: select.value != Select.NULL, what="relationship chosen")


async def fill_invitation(pilot, name="山田 花子", kana="ヤマダ ハナコ", relationship="配偶者",
                          birth_date="1987-06-15", contact="hanako@example.jp") -> None:
    """The invitation form by keyboard: focus starts on the name, Enter moves on, Enter on the last field invites."""
    assert pilot.app.focused.id == "name"
    await type_into(pilot, "#name", name)
    await pilot.press("enter")
    assert pilot.app.focused.id == "kana"
    await type_into(pilot, "#kana", kana)
    await pilot.press("enter")
    if relationship:
        await choose_relationship(pilot, relationship)
    await pilot.press("tab")
    assert pilot.app.focused.id == "birth_date"
    await type_into(pilot, "#birth_date", birth_date)
    await pilot.press("enter")
    assert pilot.app.focused.id == "contact"
    await type_into(pilot, "#contact", contact)
    await pilot.press("enter")  # 「招待」


async def fill_register(pilot, birth_date: str, password: str = FAMILY_PASSWORD, agree: bool = True) -> None:
    screen = pilot.app.screen
    await type_into(pilot, "#birth_date", birth_date)
    for field in ("#password", "#password2"):
        if screen.query_one(field, Input).value != password:
            await type_into(pilot, field, password)
    agree_box = screen.query_one("#agree")
    if agree and not agree_box.value:
        agree_box.focus()
        await pilot.press("space")
    screen.query_one("#set", Button).focus()
    await pilot.press("enter")  # 「設定」


# -- the nine steps ------------------------------------------------------------------------------


async def test_nine_steps_through_the_screens(app_factory, sctx, tmp_path):
    acc = member(sctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        # Step 1: log in to ベネフィット・ステーション, マイページ, 「家族設定」
        settings = await to_settings(pilot)
        assert app.session.account_id == acc
        text = screen_text(pilot)
        assert "家族設定" in text and "家族アカウントを追加する" in text and "0 / 10" in text
        await wait_focus(pilot, "#add")
        # Step 2: 「家族アカウントを追加する」 then 「招待」
        await pilot.press("enter")
        add = await wait_screen(pilot, FamilyAddScreen)
        await wait_for(pilot, lambda: add.policy is not None, what="policy")
        assert "配偶者" in screen_text(pilot) and "家族アカウントはベネフィット・ステーションのみ" in screen_text(pilot)
        await wait_focus(pilot, "#invite")
        await pilot.press("enter")
        form = await wait_screen(pilot, FamilyInviteScreen)
        await wait_for(pilot, lambda: form.allowed, what="relationships")
        assert invitations(tmp_path) == []
        # Step 3: the family member's details, 「招待」
        await fill_invitation(pilot)
        await wait_screen(pilot, FamilyInviteSentScreen)
        rows = invitations(tmp_path)
        assert len(rows) == 1
        inv = rows[0]
        assert (inv["state"], inv["name"], inv["kana"], inv["relationship"], inv["birth_date"], inv["contact"],
                inv["account_id"]) == ("approval_pending", "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15",
                                       "hanako@example.jp", acc)
        # Step 4: the approval request at the member's own login ID
        sent = messages_to(tmp_path, "taro@example.jp")[-1]
        assert sent["purpose"] == "approval_request" and sent["link"].startswith(
            "https://bene-account.local/family/approve?token=")
        assert messages_to(tmp_path, "hanako@example.jp") == []
        await wait_for(pilot, lambda: "taro@example.jp" in screen_text(pilot), what="sent screen")
        # Step 5: open the URL from the mailbox
        await open_newest_link(pilot, "taro@example.jp")
        approve = await wait_screen(pilot, ApproveScreen)
        await wait_for(pilot, lambda: approve.view is not None, what="invitation shown")
        text = screen_text(pilot)
        assert "山田 花子" in text and "1987-06-15" in text and "配偶者" in text and "hanako@example.jp" in text
        # Step 6: 「承認」
        await wait_focus(pilot, "#approve")
        await pilot.press("enter")
        await wait_screen(pilot, FamilyApprovedScreen)
        assert invitations(tmp_path)[0]["state"] == "invited"
        used = query(tmp_path, "select purpose, used_at, voided_at from tokens order by id")
        assert used[0]["purpose"] == family.APPROVE and used[0]["used_at"] is not None
        # Step 7: the invitation at the family member's e-mail; open its URL
        invitation = messages_to(tmp_path, "hanako@example.jp")
        assert len(invitation) == 1 and invitation[0]["purpose"] == "invitation"
        assert invitation[0]["link"].startswith("https://bene-account.local/family/invite?token=")
        await open_newest_link(pilot, "hanako@example.jp")
        register = await wait_screen(pilot, FamilyRegisterScreen)
        await wait_for(pilot, lambda: register.view is not None, what="invitation loaded")
        assert "山田 太郎様から" in screen_text(pilot)
        assert "1987-06-15" not in screen_text(pilot)  # the birth date is the check: never shown
        assert app.focused.id == "name" and register.query_one("#name", Input).value == "山田 花子"
        # Step 8: a birth date different from the member's entry is an error …
        await fill_register(pilot, "1987-06-16")
        await wait_for(pilot, lambda: "異なるため" in str(register.query_one("#birth_date-error").render()),
                       what="birth date error")
        await wait_focus(pilot, "#birth_date")
        assert invitations(tmp_path)[0]["attempts"] == 1
        assert query(tmp_path, "select count(*) as n from accounts where kind = 'family'")[0]["n"] == 0
        # … the right one registers (「設定」)
        await fill_register(pilot, "19870615")
        await wait_screen(pilot, FamilyDoneScreen)
        # Step 9: the family account
        await wait_for(pilot, lambda: "ご家族アカウントの本登録が完了しました。" in screen_text(pilot), what="done")
        fam = query(tmp_path, "select * from accounts where kind = 'family'")
        assert len(fam) == 1
        assert (fam[0]["login_id"], fam[0]["status"], fam[0]["family_of"]) == ("hanako@example.jp", "active", acc)
        assert invitations(tmp_path)[0]["state"] == "registered"
        assert invitations(tmp_path)[0]["family_account_id"] == fam[0]["id"]
        # … and it can log in to ベネフィット・ステーション
        await wait_focus(pilot, "#login")
        await pilot.press("enter")
        await login(pilot, "hanako@example.jp", FAMILY_PASSWORD, service="benefit_station")
        await wait_screen(pilot, MyPageScreen)
        assert app.session.account_id == fam[0]["id"]
        await wait_for(pilot, lambda: "家族アカウント" in screen_text(pilot), what="family badge")
        actions = [r["action"] for r in query(tmp_path, "select action from audit where outcome = 'ok' order by id")]
        for a in ("family.invite", "family.approve", "family.register", "auth.login"):
            assert a in actions


async def test_family_account_logging_in_to_another_service_gets_case2(app_factory, sctx):
    acc = member(sctx)
    _, token = invited(sctx, acc)
    family.register(sctx, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        start.query_one("#login", Button).press()
        await login(pilot, "hanako@example.jp", FAMILY_PASSWORD, service="bene_learning")
        screen = app.screen
        await wait_for(pilot, lambda: not screen.query_one("#case2").has_class("hidden"), what="Case 2")
        assert isinstance(app.screen, LoginScreen) and app.session.account_id is None
        text = screen_text(pilot)
        assert "該当サービスの有効会員でない可能性があります" in text and "ベネフィット・ステーション" in text
        assert "ベネ・ラーニング" not in str(screen.query_one("#case2-services").render())


async def test_removed_family_account_cannot_log_in(app_factory, sctx, tmp_path):
    acc = member(sctx)
    inv_id, token = invited(sctx, acc)
    family.register(sctx, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        settings = await to_settings(pilot)
        table = settings.query_one("#invitations", DataTable)
        assert table.row_count == 1 and "登録済み" in table_text(settings) and "配偶者" in table_text(settings)
        table.focus()
        await pilot.pause()
        assert settings.query_one("#resend").disabled and settings.query_one("#cancel").disabled
        remove = settings.query_one("#remove", Button)
        assert not remove.disabled
        remove.focus()
        await pilot.press("enter")
        await wait_confirm(pilot)
        await pilot.press("tab", "enter")
        await wait_screen(pilot, FamilySettingsScreen)
        await wait_for(pilot, lambda: "削除済み" in table_text(settings), what="removed state")
        fam = query(tmp_path, "select * from accounts where kind = 'family'")[0]
        assert fam["status"] == "removed"
        assert [r["action"] for r in query(tmp_path, "select action from audit where subject = ? order by id",
                                           [f"account:{fam['id']}"])][-1] == "family.remove"
        # log out, try the family account
        app.go_home()
        app.session.account_id = None
        start = await wait_screen(pilot, StartScreen)
        start.query_one("#login", Button).press()
        await login(pilot, "hanako@example.jp", FAMILY_PASSWORD, service="benefit_station")
        screen = app.screen
        await wait_for(pilot, lambda: not screen.query_one("#case1").has_class("hidden"), what="Case 1")
        assert app.session.account_id is None


async def test_resend_and_cancel_from_the_settings(app_factory, sctx, tmp_path, clock):
    acc = member(sctx)
    first = invite(sctx, acc)
    clock.advance(61)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        settings = await settings_of(pilot, acc)
        assert "承認待ち" in table_text(settings) and "1 / 10" in screen_text(pilot)
        resend = settings.query_one("#resend", Button)
        assert not resend.disabled
        resend.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages_to(tmp_path, "taro@example.jp")) == 3, what="resent")
        # (registration code, first request, resent request)
        new = messages_to(tmp_path, "taro@example.jp")[-1]
        assert new["purpose"] == "approval_request" and new["link"] != first["message"]["link"]
        # the old link says it was replaced
        await wait_screen(pilot, FamilySettingsScreen)
        app.open_link(first["message"]["link"])
        assert "新しいURLが送信されたため" in await problem_text(pilot)
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)
        # cancel from the settings
        routes.FAMILY_SETTINGS(app)
        settings = await wait_screen(pilot, FamilySettingsScreen)
        await wait_for(pilot, lambda: settings.data is not None)
        settings.query_one("#cancel", Button).focus()
        await pilot.press("enter")
        await wait_confirm(pilot)
        await pilot.press("escape")  # いいえ
        await wait_screen(pilot, FamilySettingsScreen)
        assert invitations(tmp_path)[0]["state"] == "approval_pending"
        settings.query_one("#cancel", Button).focus()
        await pilot.press("enter")
        await wait_confirm(pilot)
        await pilot.press("tab", "enter")  # はい
        await wait_for(pilot, lambda: invitations(tmp_path)[0]["state"] == "cancelled", what="cancelled")
        await wait_for(pilot, lambda: "取消" in table_text(settings), what="cancelled state")
        app.open_link(new["link"])
        assert "この招待は取り消されました。" in await problem_text(pilot)


# -- links that cannot be used --------------------------------------------------------------------


async def _problem_for(app_factory, url: str, lang: str = "ja") -> str:
    app = app_factory(lang=lang, open_link=url)
    async with app.run_test(size=SIZE) as pilot:
        text = await problem_text(pilot)
        await wait_focus(pilot, "#top")
        await pilot.press("enter")
        await wait_screen(pilot, StartScreen)
    return text


async def test_expired_links(app_factory, sctx, clock):
    acc = member(sctx)
    first = invite(sctx, acc)
    second = invite(sctx, acc, contact="ichiro@example.jp", relationship="child")
    invitation = family.approve(sctx, token_of(second["message"]), acc)
    clock.advance(7 * 86400 + 1)
    assert "有効期限(72時間)が切れています" in await _problem_for(app_factory, first["message"]["link"])
    assert "有効期限(7日)が切れています" in await _problem_for(app_factory, invitation["link"])
    assert "expired (it was valid for 7 days)" in await _problem_for(app_factory, invitation["link"], lang="en")


async def test_reused_links(app_factory, sctx):
    acc = member(sctx)
    result = invite(sctx, acc)
    invitation = family.approve(sctx, token_of(result["message"]), acc)
    family.register(sctx, token_of(invitation), "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    assert "すでに使用されています(招待は承認済みです)" in await _problem_for(app_factory, result["message"]["link"])
    assert "すでに使用されています(家族アカウントは本登録済みです)" in await _problem_for(app_factory, invitation["link"])


async def test_replaced_link(app_factory, sctx, clock):
    acc = member(sctx)
    inv_id, token = invited(sctx, acc)
    clock.advance(61)
    family.resend(sctx, acc, inv_id)
    assert "新しいURLが送信されたため" in await _problem_for(app_factory, links.make("/family/invite", token))


@pytest.mark.parametrize("url", [
    "https://bene-account.local/family/invite?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "https://bene-account.local/family/approve?token=",
    "https://bene-account.local/family/approve",
    "https://bene-account.local/family/invite?token=%5Bb%5Dx%5B%2Fb%5D",
])
async def test_tampered_links(app_factory, sctx, url):
    acc = member(sctx)
    invite(sctx, acc)
    assert "このURLは無効です" in await _problem_for(app_factory, url)


async def test_tampered_real_link(app_factory, sctx):
    acc = member(sctx)
    _, token = invited(sctx, acc)
    bad = token[:-2] + ("xy" if token[-2:] != "xy" else "zz")
    assert "このURLは無効です" in await _problem_for(app_factory, links.make("/family/invite", bad))


async def test_locked_invitation_on_screen(app_factory, sctx, tmp_path):
    acc = member(sctx)
    _, token = invited(sctx, acc)
    app = app_factory(open_link=links.make("/family/invite", token))
    async with app.run_test(size=SIZE) as pilot:
        register = await wait_screen(pilot, FamilyRegisterScreen)
        await wait_for(pilot, lambda: register.view is not None)
        for n in range(1, 5):
            await fill_register(pilot, "2000-01-01")
            await wait_for(pilot, lambda: invitations(tmp_path)[0]["attempts"] == n, what=f"attempt {n}")
            await wait_for(pilot, lambda: f"あと{5 - n}回" in str(register.query_one("#birth_date-error").render()))
        await fill_register(pilot, "2000-01-01")
        assert "この招待は無効になりました" in await problem_text(pilot)
        assert invitations(tmp_path)[0]["state"] == "locked"
    assert "この招待は無効になりました" in await _problem_for(app_factory, links.make("/family/invite", token))


# -- approval asks for a login, and only the inviting member may approve ----------------------------


async def test_approval_link_asks_to_log_in_first(app_factory, sctx, tmp_path):
    acc = member(sctx)
    result = invite(sctx, acc)
    app = app_factory(open_link=result["message"]["link"])
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "taro@example.jp")
        approve = await wait_screen(pilot, ApproveScreen)
        await wait_for(pilot, lambda: approve.view is not None, what="invitation shown")
        assert app.session.account_id == acc
        await pilot.press("enter")
        await wait_screen(pilot, FamilyApprovedScreen)
        assert invitations(tmp_path)[0]["state"] == "invited"
        await wait_focus(pilot, "#settings")
        await pilot.press("enter")  # 「家族設定へ戻る」: the settings open for the logged-in member
        settings = await wait_screen(pilot, FamilySettingsScreen)
        await wait_for(pilot, lambda: settings.data is not None)
        assert "招待中" in table_text(settings)


async def test_approval_by_someone_else(app_factory, sctx, tmp_path):
    acc = member(sctx)
    member(sctx, key1="1004", key2="19950303", login="ichiro@example.jp")
    result = invite(sctx, acc)
    app = app_factory(open_link=result["message"]["link"])
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "ichiro@example.jp")
        text = await problem_text(pilot)
        assert "招待を行った会員ご本人様のベネアカウントでのみ承認できます" in text
        assert not any(isinstance(s, ApproveScreen) for s in app.screen_stack)  # the details were never shown
        assert invitations(tmp_path)[0]["state"] == "approval_pending"
        assert messages_to(tmp_path, "hanako@example.jp") == []
        refused = query(tmp_path, "select * from audit where action = 'family.approval_view' and outcome = 'refused'")
        assert refused and refused[0]["subject"] == f"invitation:{result['invitation_id']}"


async def test_expired_approval_link_says_so_before_asking_to_log_in(app_factory, sctx, clock):
    acc = member(sctx)
    result = invite(sctx, acc)
    clock.advance(72 * 3600 + 1)
    app = app_factory(open_link=result["message"]["link"])
    async with app.run_test(size=SIZE) as pilot:
        assert "有効期限(72時間)が切れています" in await problem_text(pilot)


# -- organisation policy on the screens -------------------------------------------------------------


async def test_organisation_without_family_use(app_factory, sctx, tmp_path):
    member(sctx, key1="A-77", key2="M9001", gid="TS000002", login="yamada@city.example.jp")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        settings = await to_settings(pilot, "yamada@city.example.jp")
        assert "ご所属の団体では、家族でのご利用はできません。" in screen_text(pilot)
        assert not settings.query_one("#add").display
        await wait_focus(pilot, "#back")
        await pilot.press("f4")
        await wait_for(pilot, lambda: "Family use is not available" in screen_text(pilot), what="English")
        assert invitations(tmp_path) == []


async def test_relationships_offered_follow_the_policy(app_factory, sctx):
    acc = member(sctx)
    with sctx.tx() as db:
        db["organisations"].update("TS000001", {"family_max_degree": 1})
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.session.account_id = acc
        app.push_screen(FamilyInviteScreen(acc))
        form = await wait_screen(pilot, FamilyInviteScreen)
        await wait_for(pilot, lambda: form.allowed, what="relationships")
        select = form.query_one("#relationship", Select)
        offered = [value for _, value in select._options if value != Select.NULL]
        assert "child" in offered and "spouse_mother" in offered
        assert "sibling" not in offered and "grandchild" not in offered
        # the form refuses an invitation without a relationship, beside the select
        await type_into(pilot, "#name", "山田 次郎")
        await type_into(pilot, "#kana", "ヤマダ ジロウ")
        await type_into(pilot, "#birth_date", "2012-02-02")
        await type_into(pilot, "#contact", "jiro@example.jp")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "続柄を選択してください" in str(form.query_one("#relationship-error").render()))
        await wait_focus(pilot, "#relationship")


async def test_max_accounts_reached(app_factory, sctx):
    acc = member(sctx)
    with sctx.tx() as db:
        db["organisations"].update("TS000001", {"family_max_accounts": 1})
    invite(sctx, acc)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        settings = await settings_of(pilot, acc)
        assert settings.query_one("#add", Button).disabled
        assert "上限(1件)に達している" in screen_text(pilot) and "1 / 1" in screen_text(pilot)


async def test_invite_errors_beside_their_fields(app_factory, sctx, tmp_path):
    acc = member(sctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.session.account_id = acc
        app.push_screen(FamilyInviteScreen(acc))
        form = await wait_screen(pilot, FamilyInviteScreen)
        await wait_for(pilot, lambda: form.allowed)
        await fill_invitation(pilot, kana="やまだ はなこ", contact="taro@example.jp")  # hiragana is fine
        await wait_for(pilot, lambda: "すでにベネアカウントのログインID" in str(form.query_one("#contact-error").render()))
        await wait_focus(pilot, "#contact")
        await type_into(pilot, "#birth_date", "2099-01-01")
        await type_into(pilot, "#contact", "hanako@example.jp")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "未来の日付" in str(form.query_one("#birth_date-error").render()))
        assert invitations(tmp_path) == []


async def test_language_switch_keeps_the_form(app_factory, sctx, tmp_path):
    acc = member(sctx)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        app.session.account_id = acc
        app.push_screen(FamilyInviteScreen(acc))
        form = await wait_screen(pilot, FamilyInviteScreen)
        await wait_for(pilot, lambda: form.allowed)
        await type_into(pilot, "#name", "山田 花子")
        form.query_one("#relationship", Select).value = "mother"
        await pilot.pause()
        await pilot.press("f4")
        await wait_for(pilot, lambda: "Invite a family member" in screen_text(pilot), what="English")
        form = app.screen
        assert form.query_one("#name", Input).value == "山田 花子"
        assert form.query_one("#relationship", Select).value == "mother"
        assert "Mother" in screen_text(pilot)
        await type_into(pilot, "#kana", "ヤマダ ハナコ")
        await type_into(pilot, "#birth_date", "1960-01-01")
        await type_into(pilot, "#contact", "090-1234-5678")
        await pilot.press("enter")
        await wait_screen(pilot, FamilyInviteSentScreen)
        assert "[Bene Account]" in messages_to(tmp_path, "taro@example.jp")[-1]["subject"]
        assert invitations(tmp_path)[0]["contact"] == "+819012345678"


async def test_names_are_never_markup(app_factory, sctx):
    acc = member(sctx, key1="1002", key2="19900512", login="markup@example.jp")  # 「[b]太郎[/b]」
    result = family.invite(sctx, acc, "[link=x]y", "テスト", "child", "2010-01-01", "kid@example.jp", "ja")
    invitation = family.approve(sctx, token_of(result["message"]), acc)
    app = app_factory(open_link=invitation["link"])
    async with app.run_test(size=SIZE) as pilot:
        register = await wait_screen(pilot, FamilyRegisterScreen)
        await wait_for(pilot, lambda: register.view is not None)
        assert "[b]太郎[/b]様から" in screen_text(pilot)
        assert register.query_one("#name", Input).value == "[link=x]y"


async def test_kiosk_masks_contacts_and_scopes_the_outbox(app_factory, sctx, tmp_path):
    """On the real clock, logged in through the screens: the contacts masked, and F2 shows the approval
    request this session caused, not the invitation link to the family member, nor what the member
    was sent before the session began."""
    from textual.widgets import OptionList

    acc = member(sctx)
    invite(sctx, acc, contact="hanako.yamada@example.jp")  # its approval request: before this session
    app = app_factory(mode="kiosk", real_clock=True)
    async with app.run_test(size=SIZE) as pilot:
        await to_mypage(pilot)  # a password login proves taro@example.jp
        routes.FAMILY_SETTINGS(app)  # as マイページ's 家族設定 does
        settings = await wait_screen(pilot, FamilySettingsScreen)
        await wait_for(pilot, lambda: settings.data is not None, what="family overview")
        text = table_text(settings)
        assert "hanako.yamada@example.jp" not in text and "ha***********@ex*****.jp" in text
        settings.query_one("#add", Button).press()
        add = await wait_screen(pilot, FamilyAddScreen)
        await wait_for(pilot, lambda: add.policy is not None)
        add.query_one("#invite", Button).press()
        form = await wait_screen(pilot, FamilyInviteScreen)
        await wait_for(pilot, lambda: form.allowed)
        await fill_invitation(pilot, name="山田 一郎", kana="ヤマダ イチロウ", relationship="子",
                              birth_date="2015-05-05", contact="ichiro@example.jp")
        await wait_screen(pilot, FamilyInviteSentScreen)
        # the kiosk's outbox shows what goes to the logged-in member (the approval request), never
        # the invitation's link to the family member
        await pilot.press("f2")
        viewer = await wait_screen(pilot, OutboxScreen)
        recipients, listed = viewer.query_one("#ob-recipients", OptionList), viewer.query_one("#ob-messages", OptionList)
        await wait_for(pilot, lambda: listed.option_count > 0, what="the kiosk's messages")
        assert [recipients.get_option_at_index(i).id for i in range(recipients.option_count)] == ["taro@example.jp"]
        approvals = [m["id"] for m in messages_to(tmp_path, "taro@example.jp") if m["purpose"] == "approval_request"]
        assert len(approvals) == 2
        assert [listed.get_option_at_index(i).id for i in range(listed.option_count)] == [str(approvals[-1])]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(100, 30), (120, 40), (160, 45)])  # 100×30: the demo on a projector
async def test_the_family_step_bar_names_every_step(app_factory, sctx, lang, size):
    """Nine steps, each with its name (on two lines where one is too short), as registration's bar does."""
    from bene_tui.core.i18n import t
    from bene_tui.ui.screens.family import STEPS
    from rich.cells import cell_len

    from bene_tui.ui.widgets.steps import StepIndicator

    acc = member(sctx)
    app = app_factory(lang=lang)
    async with app.run_test(size=size) as pilot:
        settings = await settings_of(pilot, acc)
        bar = settings.query_one(StepIndicator)
        await pilot.pause()
        shown = bar.render().plain
        for key in STEPS:
            assert t(lang, key) in shown.replace("\n", " "), (key, shown)
        assert len(shown.split("\n")) <= 2 and bar.size.height == len(shown.split("\n"))
        assert all(cell_len(line) <= bar.content_region.width for line in shown.split("\n"))
