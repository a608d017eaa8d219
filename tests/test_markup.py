"""User data is never markup (docs/architecture.md): names, organisation names, login IDs and
message texts carrying Textual markup are drawn exactly as typed on every screen that shows them.

Each case builds its people through the services, opens the real screen, and reads the screen as
drawn (the compositor's strips): the text must be there with its brackets, and in one style
throughout (markup would have swallowed the tags and styled what they wrap)."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Button, OptionList

from bene_tui.core.errors import ValidationError
from bene_tui.core.i18n import t
from bene_tui.services import family, normalize, roster
from bene_tui.ui.screens.dialog import ConfirmDialog
from bene_tui.ui.screens.family import ApproveScreen, FamilySettingsScreen
from bene_tui.ui.screens.outbox import OutboxScreen
from bene_tui.ui.screens.registration import Step4Screen
from bene_tui.ui.screens.start import StartScreen
from helpers import type_into, wait_for, wait_screen
from support.services import FAMILY_PASSWORD, member, token_of
from support.screens import SIZE, settings_of, to_mypage, open_person, to_step4

ORG = "[u]ベネ[/u]共済会"
MEMBER = "[red]x"  # the inviting member: an unclosed tag
FAMILY = "[b]山田[/b] 一郎"  # invited, approved and registered (by SMS)
PENDING = "[link=https://x]y[/link]"  # invited, waiting for the member's approval
NEWCOMER = "[i]佐藤[/i] 花子"  # a member of the roster with no account yet (Step 4)
OPERATOR = "[b]鈴木[/b]"  # a helpdesk agent's name (BENE_TUI_OPERATOR), shown in the timeline's actor column
MEMBER_LOGIN, FAMILY_PHONE = "redx@example.jp", "+819011112222"

ROSTER = {"organisations": [{
    "group_id": "TS000009", "name": ORG, "services": ["benefit_station"],
    "auth_keys": {"key1_label": "会員番号", "key2_label": "生年月日(YYYYMMDD)"},
    "family": {"enabled": True, "max_degree": 2, "max_accounts": 10},
    "members": [
        {"auth_key_1": "9001", "auth_key_2": "19800101", "name": MEMBER, "kana": "テスト",
         "birth_date": "1980-01-01"},
        {"auth_key_1": "9002", "auth_key_2": "19900202", "name": NEWCOMER, "kana": "サトウ ハナコ",
         "birth_date": "1990-02-02"},
    ],
}]}


def drawn(app, within=None) -> list[list[tuple[str, object]]]:
    """The active screen as drawn (or the part of it where one widget is): each row's characters with their style."""
    strips = app.screen._compositor.render_strips()
    if within is not None:
        region = within.region
        strips = [strip.crop(region.x, region.right) for strip in strips[region.y:region.bottom]]
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


def literally_drawn(app, text: str, within=None) -> bool:
    """`text` is on the screen (in that widget) as typed, every character of it in one style."""
    for chars in drawn(app, within):
        line = "".join(ch for ch, _ in chars)
        at = line.find(text)
        if at >= 0 and len({style for _, style in chars[at:at + len(text)]}) == 1:
            return True
    return False


async def assert_literal(pilot, *texts: str, within=None) -> None:
    for text in texts:
        try:
            await wait_for(pilot, lambda: literally_drawn(pilot.app, text, within), timeout=10)
        except AssertionError:
            screen = "\n".join("".join(ch for ch, _ in chars).rstrip() for chars in drawn(pilot.app, within))
            raise AssertionError(f"{text!r} is not drawn as typed on {pilot.app.screen!r}:\n{screen}") from None


@pytest.fixture
def people(sctx, tmp_path):
    """ORG's member MEMBER has a family account FAMILY (by SMS) and an invitation PENDING to approve."""
    path = tmp_path / "markup-roster.json"
    path.write_text(json.dumps(ROSTER, ensure_ascii=False), encoding="utf-8")
    roster.import_file(sctx, path)
    acc = member(sctx, key1="9001", key2="19800101", gid="TS000009", login=MEMBER_LOGIN)
    sent = family.invite(sctx, acc, FAMILY, "ヤマダ イチロウ", "child", "2010-01-01", "090-1111-2222", "ja")
    invitation = family.approve(sctx, token_of(sent["message"]), acc)
    family.register(sctx, token_of(invitation), FAMILY, "2010-01-01", FAMILY_PASSWORD, True, "ja")
    pending = family.invite(sctx, acc, PENDING, "テスト", "spouse", "1981-01-01", "pending@example.jp", "ja")
    return {"account": acc, "approval_link": pending["message"]["link"]}


def test_markup_that_cannot_reach_a_screen():
    """Terminal escapes are refused in names; login IDs and kana cannot hold a bracket at all."""
    for bad in ("\x1b[31m山田", "山田\x1b[0m"):
        with pytest.raises(ValidationError):
            normalize.clean_name(bad, "name")
    for bad in ("[b]taro[/b]@example.jp", "[red]x@example.jp", "taro@[link=https://x]y", "[b]090-1234-5678"):
        with pytest.raises(ValidationError):
            normalize.login_id(bad)
    with pytest.raises(ValidationError):
        normalize.clean_kana("[b]ヤマダ[/b]", "kana")
    for name in (FAMILY, PENDING, MEMBER, NEWCOMER):  # while these are names, and shown below
        assert normalize.clean_name(name, "name") == name


async def test_family_settings_table_and_its_confirm_dialog(app_factory, people):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        settings = await settings_of(pilot, people["account"])
        await assert_literal(pilot, FAMILY, PENDING)
        # 「取消」 on the pending invitation: the question names them, as typed
        table = settings.query_one("#invitations")
        table.move_cursor(row=next(i for i, r in enumerate(settings.data["rows"]) if r["name"] == PENDING))
        await wait_for(pilot, lambda: not settings.query_one("#cancel", Button).disabled, what="cancel offered")
        settings.query_one("#cancel", Button).press()
        await wait_screen(pilot, ConfirmDialog)
        await assert_literal(pilot, f"{PENDING}様への招待")


async def test_approval_screen(app_factory, people):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.session.account_id = people["account"]  # logged in as the inviting member
        app.open_link(people["approval_link"])
        await wait_screen(pilot, ApproveScreen)
        await assert_literal(pilot, PENDING)


async def test_helpdesk_search_and_person(app_factory, people, sctx, monkeypatch):
    from bene_tui.core.errors import BeneError
    from bene_tui.services import helpdesk

    with pytest.raises(BeneError):  # an agent named in markup: refused (nothing to unlock), audited as theirs
        helpdesk.unlock_account(sctx, people["account"], OPERATOR)
    monkeypatch.setenv("BENE_TUI_OPERATOR", "suzuki")
    app = app_factory(mode="helpdesk")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        await pilot.press("f3")
        await type_into(pilot, "#query", "TS000009")
        await pilot.press("enter")
        await assert_literal(pilot, MEMBER, ORG, NEWCOMER)
        await pilot.press("escape")
        await pilot.press("escape")
        # the member: their details, their family's invitations, and the action on the pending one
        person = await open_person(pilot, app, MEMBER_LOGIN, MEMBER)
        await assert_literal(pilot, f"{MEMBER}(テスト)", ORG, f"{FAMILY}(ヤマダ イチロウ)",
                             f"{PENDING}(テスト)")
        assert any(a["label"] == PENDING for a in person.data["actions"])
        person.query_one("#hd-danger").scroll_visible(animate=False)  # after the timeline (cannot be undone)
        await pilot.pause()
        await assert_literal(pilot, t("ja", "hd.action.cancel_invitation", label=PENDING))  # its button
        person.query_one("#hd-summary").scroll_visible(animate=False)
        await pilot.pause()
        # the timeline's audit rows name their subject in words, drawn as they are
        timeline = person.query_one("#hd-timeline")
        await assert_literal(pilot, t("ja", "hd.audit_action.registration_complete"), within=timeline)
        await assert_literal(pilot, OPERATOR, within=timeline)  # the actor column: 担当者 and the name
        await pilot.press("escape")
        await pilot.press("escape")
        # the family account, found by its phone number
        await open_person(pilot, app, "09011112222", FAMILY)
        await assert_literal(pilot, FAMILY)


async def test_outbox_lists_and_bodies(app_factory, people):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        await pilot.press("f2")
        viewer = await wait_screen(pilot, OutboxScreen)
        view = viewer.query_one("#outbox-view")
        recipients = viewer.query_one("#ob-recipients", OptionList)

        def ids() -> list[str]:
            return [recipients.get_option_at_index(i).id for i in range(recipients.option_count)]

        await wait_for(pilot, lambda: {MEMBER_LOGIN, FAMILY_PHONE} <= set(ids()), what="recipients listed")

        async def show(recipient: str) -> None:
            recipients.highlighted = ids().index(recipient)
            await wait_for(pilot, lambda: view.recipient == recipient and view.message_id is not None,
                           what=f"messages to {recipient}")

        messages, detail = viewer.query_one("#ob-messages", OptionList), viewer.query_one("#ob-detail")
        await assert_literal(pilot, MEMBER_LOGIN, normalize.display_login_id(FAMILY_PHONE), within=recipients)
        # the invitation SMS has no subject: the list shows the start of its text, with the member's name
        await show(FAMILY_PHONE)
        await assert_literal(pilot, f"{MEMBER}様から", within=messages)
        await assert_literal(pilot, f"{MEMBER}様から家族アカウントへの招待", within=detail)
        # the member's mailbox: the approval request (the newest) and the notice that FAMILY registered
        await show(MEMBER_LOGIN)
        await assert_literal(pilot, f"{MEMBER} 様", f"{PENDING} 様", within=detail)
        messages.highlighted = 1
        await assert_literal(pilot, FAMILY, within=detail)


async def test_mypage(app_factory, people):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_mypage(pilot, MEMBER_LOGIN)
        await assert_literal(pilot, MEMBER, ORG)


async def test_step4_name_confirmation(app_factory, people, tmp_path):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await to_step4(pilot, tmp_path, "hanako.sato@example.jp", ("TS000009", "9002", "19900202"))
        await wait_screen(pilot, Step4Screen)
        await assert_literal(pilot, NEWCOMER, ORG)

