"""Helpdesk mode through the real screens: staff-only reasons, search (F3), the timeline, and
actions that ask for confirmation and are audited with the operator."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable, Input, OptionList, Static

from bene_tui.core.errors import BeneError
from bene_tui.core.i18n import t
from bene_tui.services import auth, family, helpdesk, registration
from bene_tui.ui.screens.dialog import ConfirmDialog as ConfirmScreen
from bene_tui.ui.screens.helpdesk import OperatorScreen, PersonScreen, SearchScreen
from bene_tui.ui.screens.registration import Step1Screen, Step3Screen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD
from helpers import type_into, wait_for, wait_screen
from support.screens import open_search, open_person

STAFF_JA = "〔スタッフ向け〕"


def error_text(app, field: str) -> str:
    return str(app.screen.query_one(f"#{field}-error", Static).render())


@pytest.mark.parametrize("mode", ["helpdesk", "demo", "kiosk"])
async def test_staff_reason_only_in_helpdesk_mode(app_factory, mode):
    app = app_factory(mode=mode)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        await type_into(pilot, "#key1", "1001")
        await type_into(pilot, "#key2", "19850402")  # one digit wrong
        await pilot.press("enter")
        generic = t("ja", "error.step1_mismatch")
        text = await wait_for(pilot, lambda: error_text(app, "group_id"), what="step-1 error")
        assert text.startswith(generic)
        if mode == "helpdesk":
            assert text == f"{generic}\n{STAFF_JA}認証キー2が会員記録と一致しません"
        else:
            assert text == generic and STAFF_JA not in text and "auth key" not in text


@pytest.mark.parametrize("mode", ["helpdesk", "demo"])
async def test_wrong_code_attempts_left_for_staff_only(app_factory, ctx, mode):
    flow_id = registration.start(ctx, "TS000001", "1001", "19850401").flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True, "ja")
    wrong = "000000" if message["code"] != "000000" else "111111"
    app = app_factory(mode=mode)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(Step3Screen(flow_id, "taro@example.jp"))
        await wait_screen(pilot, Step3Screen)
        await type_into(pilot, "#code", wrong)
        await pilot.press("enter")
        text = await wait_for(pilot, lambda: error_text(app, "code"), what="code error")
        assert text.startswith(t("ja", "error.code_wrong"))
        assert (f"{STAFF_JA}認証コードの誤りです。あと4回入力できます" in text) == (mode == "helpdesk")


async def test_f3_asks_the_operator_once_then_searches(app_factory, ctx):
    flow_id = registration.start(ctx, "TS000002", "A-78", "M9002").flow_id
    registration.submit_credentials(ctx, flow_id, "sms", "080-1111-2222", GOOD_PASSWORD, True, "ja")
    app = app_factory(mode="helpdesk")
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f3")
        await wait_screen(pilot, OperatorScreen)
        await type_into(pilot, "#operator", "佐々木")
        await pilot.press("enter")
        await wait_screen(pilot, SearchScreen)
        assert app.operator == "佐々木"
        for query, expected in [("ｔｓ０００００２", ["高橋 美咲", "山田 太郎"]), ("たかはし", ["高橋 美咲"]),
                                ("080-1111-2222", ["高橋 美咲"]), ("+818011112222", ["高橋 美咲"])]:
            await type_into(pilot, "#query", query)
            await pilot.press("enter")
            results = app.screen.query_one("#hd-results", OptionList)
            await wait_for(pilot, lambda: app.screen.rows and app.screen.query_text == query, what=query)
            lines = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
            for name in expected:
                assert any(name in line for line in lines), (query, lines)
            prov = next(line for line in lines if "高橋 美咲" in line)
            assert "080-1111-2222" in prov and "仮登録" in prov
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)
        await pilot.press("f3")  # asked once per session: straight to the search now
        await wait_screen(pilot, SearchScreen)


async def test_a_search_cut_short_says_so_and_how_to_narrow_it(app_factory, ctx, monkeypatch):
    monkeypatch.setattr(helpdesk, "SCAN_SECONDS", 0.0)  # as a fragment search over ten million members
    app = app_factory(mode="helpdesk", lang="ja")
    app.operator = "佐々木"
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_search(pilot)
        await type_into(pilot, "#query", "田太")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "確認しきれませんでした" in str(screen.query_one("#hd-count").render()),
                       what="the cut-short hint")
        assert "姓の先頭から" in str(screen.query_one("#hd-count").render())
        monkeypatch.setattr(helpdesk, "SCAN_SECONDS", 5.0)  # time enough: every record read, no hint
        await type_into(pilot, "#query", "山田")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query_text == "山田" and screen.rows, what="山田")
        assert "確認しきれ" not in str(screen.query_one("#hd-count").render())


async def test_a_renamed_member_is_found_by_a_fragment_of_the_new_name_only(app_factory, ctx, tmp_path):
    """A roster re-import renames 高橋 美咲 to 高橋 美紀: F3 finds her by three characters across the
    space of the new name (橋美紀, looked for among the roster's distinct names), her page shows
    it, the old name's fragment finds nobody, and the old name is no longer kept in the store."""
    import json

    from bene_tui.services import roster
    from support.world import TEST_WORLD

    doc = json.loads(json.dumps(TEST_WORLD))
    (misaki,) = [m for m in doc["organisations"][1]["members"] if m["auth_key_1"] == "A-78"]
    misaki.update(name="高橋 美紀", kana="タカハシ ミキ")
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    app = app_factory(mode="helpdesk", lang="ja")
    roster.import_file(ctx, path)
    app.operator = "佐々木"
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_search(pilot)
        results = screen.query_one("#hd-results", OptionList)
        await type_into(pilot, "#query", "橋美咲")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.searched == "橋美咲", what="the old name searched")
        assert results.option_count == 0
        await type_into(pilot, "#query", "橋美紀")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.searched == "橋美紀" and results.option_count > 0, what="the new name")
        lines = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
        assert len(lines) == 1 and "高橋 美紀" in lines[0], lines
        await pilot.press("down", "enter")
        person = await wait_screen(pilot, PersonScreen)
        await wait_for(pilot, lambda: "高橋 美紀" in " ".join(str(w.render()) for w in person.query(Static)),
                       what="her page with the new name")
    names = {r[0] for r in ctx.db.execute("select value from member_names")}
    assert "高橋 美紀" in names and "タカハシ ミキ" in names
    assert "高橋 美咲" not in names and "タカハシ ミサキ" not in names


async def test_a_refused_query_leaves_no_earlier_results_on_show(app_factory, ctx):
    app = app_factory(mode="helpdesk", lang="ja")
    app.operator = "佐々木"
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_search(pilot)
        results = screen.query_one("#hd-results", OptionList)
        await type_into(pilot, "#query", "山田")
        await pilot.press("enter")
        await wait_for(pilot, lambda: results.option_count > 0, what="山田's results")
        screen.query_one("#query", Input).value = "山" * 101  # one character over the limit
        screen.query_one("#query", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "100" in error_text(app, "query"), what="the length refused")
        assert results.option_count == 0 and str(screen.query_one("#hd-count").render()) == ""
        await pilot.press("f4")  # the screen rebuilt in English: still the refusal, still no list
        await wait_for(pilot, lambda: "100" in error_text(app, "query") and "characters" in error_text(app, "query"),
                       what="the refusal in English")
        assert app.screen.query_one("#hd-results", OptionList).option_count == 0
        assert str(app.screen.query_one("#hd-count").render()) == ""


async def test_f3_does_nothing_outside_helpdesk(app_factory):
    app = app_factory(mode="demo")
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)


async def test_person_timeline_newest_first(app_factory, ctx, clock, monkeypatch):
    monkeypatch.setenv("BENE_TUI_OPERATOR", "suzuki")
    flow_id = registration.start(ctx, "TS000001", "1001", "19850401").flow_id
    first = registration.submit_credentials(ctx, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True, "ja")
    clock.advance(120)
    registration.resend_code(ctx, flow_id)
    app = app_factory(mode="helpdesk")
    async with app.run_test(size=(140, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        screen = await open_person(pilot, app, "taro@example.jp", "山田 太郎")
        table = screen.query_one("#hd-timeline", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        times = [r[0] for r in rows]
        assert times == sorted(times, reverse=True)
        kinds = {r[1] for r in rows}
        assert kinds == {t("ja", "hd.source.flow"), t("ja", "hd.source.audit"), t("ja", "hd.source.outbox")}
        assert rows[0][1] == t("ja", "hd.source.outbox")  # the resent code is the newest event
        assert rows[-1][2] == "新規登録・紐づけのお手続き(仮登録)"
        assert rows[-2][2].startswith(t("ja", "hd.audit_action.registration_step1"))
        assert first["code"] not in "\n".join(" ".join(r) for r in rows)
        summary = str(screen.query_one("#hd-summary", Static).render())
        assert "taro@example.jp" in summary and "仮登録" in summary and "TS000001" in summary


def _active_account(ctx):
    flow_id = registration.start(ctx, "TS000001", "1001", "19850401").flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True, "ja")
    registration.verify_code(ctx, flow_id, message["code"])
    return registration.complete(ctx, flow_id, True)


def _locked_account(ctx):
    account_id = _active_account(ctx)
    for _ in range(5):
        with pytest.raises(BeneError):
            auth.login(ctx, "benefit_station", "taro@example.jp", "not-the-password")
    return account_id


def _setup(action, ctx, clock):
    """A person for whom `action` applies; returns (query, name shown, check(ctx) -> done?)."""
    if action == "unlock":
        account_id = _locked_account(ctx)
        return "taro@example.jp", "山田 太郎", lambda c: c.db["accounts"].get(account_id)["locked_until"] is None
    if action == "resend_code":
        flow_id = registration.start(ctx, "TS000001", "1004", "19950303").flow_id
        registration.submit_credentials(ctx, flow_id, "sms", "090-5555-6666", GOOD_PASSWORD, True, "ja")
        clock.advance(61)
        return "09055556666", "鈴木 一郎", lambda c: c.db.execute(
            "select count(*) from codes where flow_id = ?", [flow_id]).fetchone()[0] == 2
    if action == "cancel_invitation":
        account_id = _active_account(ctx)
        inv = family.invite(ctx, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1986-02-03", "hanako@example.jp")
        return "hanako@example.jp", "山田 花子", lambda c: c.db["invitations"].get(inv["invitation_id"])["state"] == "cancelled"
    if action == "end_provisional":
        flow_id = registration.start(ctx, "TS000001", "1003", "19781120").flow_id
        registration.submit_credentials(ctx, flow_id, "email", "hanako.sato@example.jp", GOOD_PASSWORD, True, "ja")
        return "hanako.sato@example.jp", "佐藤 花子", lambda c: c.db.execute(
            "select count(*) from accounts where login_key = 'hanako.sato@example.jp'").fetchone()[0] == 0
    raise AssertionError(action)


@pytest.mark.parametrize("action", ["unlock", "resend_code", "cancel_invitation", "end_provisional"])
async def test_action_asks_then_changes_db_and_audits_operator(app_factory, ctx, clock, monkeypatch, action):
    monkeypatch.setenv("BENE_TUI_OPERATOR", "suzuki")
    query, name, done = _setup(action, ctx, clock)
    audit_action = {"unlock": "helpdesk.unlock"}.get(action, f"helpdesk.{action}")

    def audit_rows():
        return list(ctx.db.query("select * from audit where action = ?", [audit_action]))

    app = app_factory(mode="helpdesk")
    async with app.run_test(size=(140, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        screen = await open_person(pilot, app, query, name)
        index = next(i for i, a in enumerate(screen.actions) if a["action"] == action)
        button = screen.query_one(f"#act-{index}", Button)
        # No: nothing changes and nothing is written.
        button.focus()
        await pilot.press("enter")
        modal = await wait_screen(pilot, ConfirmScreen)
        assert app.focused is modal.query_one("#no", Button)
        await pilot.press("n")
        await wait_screen(pilot, PersonScreen)
        await pilot.pause()
        assert not done(ctx) and audit_rows() == []
        # Yes: the change, and its audit row with the operator.
        screen.query_one(f"#act-{index}", Button).focus()
        await pilot.press("enter")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: done(ctx), what=f"{action} done")
        rows = await wait_for(pilot, audit_rows, what="audit row")
        assert {(r["outcome"], r["actor"]) for r in rows} == {("ok", "operator:suzuki")}
        # The person is read again: the action is on their timeline.
        person = await wait_screen(pilot, PersonScreen)

        def on_timeline():
            table = person.query_one("#hd-timeline", DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            label = t("ja", "hd.audit_action." + audit_action.replace(".", "_"))
            return any(r[2].startswith(label) and r[4] == "担当者 suzuki" for r in rows)

        await wait_for(pilot, on_timeline, what="action on the timeline")
        if action != "resend_code":  # done once: no longer offered
            assert action not in [a["action"] for a in person.data["actions"]]


@pytest.mark.parametrize("mode", ["helpdesk", "demo"])
async def test_login_reasons_for_staff_only(app_factory, ctx, mode):
    """Case 1 looks the same to the caller; in helpdesk mode the real reason is under it."""
    from bene_tui.ui.screens.login import LoginScreen

    _active_account(ctx)  # taro@example.jp, TS000001/1001
    flow_id = registration.start(ctx, "TS000001", "1003", "19781120").flow_id  # 佐藤 花子: benefit_station only
    message = registration.submit_credentials(ctx, flow_id, "email", "hanako@example.jp", GOOD_PASSWORD, True, "ja")
    registration.verify_code(ctx, flow_id, message["code"])
    registration.complete(ctx, flow_id, True)
    for _ in range(3):
        with pytest.raises(BeneError):
            auth.login(ctx, "benefit_station", "taro@example.jp", "not-the-password")

    def refusals():
        return ctx.db.execute("select count(*) from audit where action = 'auth.login' and outcome = 'refused'").fetchone()[0]

    app = app_factory(mode=mode)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        shown = []
        for service, login, password in [("benefit_station", "nobody@example.jp", GOOD_PASSWORD),
                                         ("benefit_station", "taro@example.jp", "still-not-the-password"),
                                         ("benefit_station", "taro@example.jp", "still-not-the-password"),
                                         ("benefit_station", "taro@example.jp", GOOD_PASSWORD),
                                         ("bene_learning", "hanako@example.jp", GOOD_PASSWORD)]:
            before = refusals()
            app.push_screen(LoginScreen(service_id=service))
            screen = await wait_screen(pilot, LoginScreen)
            await type_into(pilot, "#login-id", login)
            await type_into(pilot, "#login-password", password)
            await pilot.press("enter")
            await wait_for(pilot, lambda: refusals() > before and screen.case is not None, what=f"refusal of {login}")
            await pilot.pause()
            shown.append((screen.case, str(screen.query_one(".form-error", Static).render())))
            app.pop_screen()
            await pilot.pause()
        assert [case for case, _ in shown] == ["case1", "case1", "case1", "case1", "case2"]
        notes = [note for _, note in shown]
        if mode == "helpdesk":
            assert notes[0] == f"{STAFF_JA}このログインIDのアカウントはありません"
            assert notes[1] == f"{STAFF_JA}パスワードの誤りです(連続4回目)"
            assert notes[2].startswith(f"{STAFF_JA}パスワードの誤りです(連続5回目)。2026-04-01 ")
            assert notes[2].endswith("までロックしました")
            assert notes[3].startswith(f"{STAFF_JA}アカウントは2026-04-01 ") and notes[3].endswith(
                "までロック中です(連続5回のログイン失敗)")
            assert notes[4] == (f"{STAFF_JA}このアカウントではベネ・ラーニングを利用できません。"
                                "利用できるサービス: ベネフィット・ステーション")
        else:
            assert notes == [""] * 5


@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_search_keeps_up_focus_returns_to_the_query_and_invitees_by_a_fragment(app_factory, ctx, size):
    """After a search, and after Esc from a person, the next query is typed straight in (Enter no
    longer reopens the last person); an invitee is found by part of their login ID, as members are."""
    from support.services import register

    from bene_tui.services import family

    account = register(ctx, login="taro.desk@example.jp")
    family.invite(ctx, account, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15", "hanako.desk@example.jp", "ja")
    app = app_factory(mode="helpdesk")
    app.operator = "佐々木"
    async with app.run_test(size=size) as pilot:
        search = await open_search(pilot)
        query_field = search.query_one("#query", Input)
        await type_into(pilot, "#query", "hanako.de")
        await pilot.press("enter")
        results = search.query_one("#hd-results", OptionList)
        await wait_for(pilot, lambda: results.option_count > 0, what="the invitee found by a fragment")
        lines = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
        assert any("hanako.desk@example.jp" in line and "山田 花子" in line for line in lines), lines
        assert app.focused is query_field
        await pilot.press(*"taro.desk")  # typing replaces the last query
        assert query_field.value == "taro.desk"
        await pilot.press("enter")
        await wait_for(pilot, lambda: search.searched == "taro.desk" and search.rows)
        assert app.focused is query_field, "after each search, not only the first"
        await pilot.press("down", "enter")
        await wait_screen(pilot, PersonScreen)
        await pilot.press("escape")
        await wait_screen(pilot, SearchScreen)
        await wait_for(pilot, lambda: app.focused is query_field, what="focus back in the query")
        await pilot.press("enter")  # searches again: it does not reopen the person
        await pilot.pause(0.3)
        assert isinstance(app.screen, SearchScreen)


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_safer_confirmations_focus_shown_no_destructive_next_stop_agent_types_their_name(
        app_factory, ctx, clock, monkeypatch, lang, size):
    """The agent types their name (never the OS user's); Tab from 「再送信」 goes to the timeline,
    not to 「仮登録を終了する」 (kept apart, after it); the dialog's focused 「いいえ」 is marked."""
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    flow_id = registration.start(ctx, "TS000001", "1004", "19950303").flow_id
    registration.submit_credentials(ctx, flow_id, "sms", "090-5555-7777", GOOD_PASSWORD, True, "ja")
    clock.advance(61)
    app = app_factory(mode="helpdesk", lang=lang)
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f3")
        prompt = await wait_screen(pilot, OperatorScreen)
        assert prompt.query_one("#operator", Input).value == "", "typed by the agent, not taken from the OS"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OperatorScreen), "no name, no search"
        await type_into(pilot, "#operator", "佐々木")
        await pilot.press("enter")
        await wait_screen(pilot, SearchScreen)
        await pilot.press("escape")
        screen = await open_person(pilot, app, "09055557777", "鈴木 一郎")
        kinds = [a["action"] for a in screen.actions]
        assert kinds == ["resend_code", "end_provisional"]
        resend = screen.query_one("#act-0", Button)
        end = screen.query_one("#act-1", Button)
        assert app.focused is resend and end.parent.id == "hd-danger" and end.variant == "error"
        await pilot.pause()
        assert resend.styles.outline_left[0] == "tall" and resend.styles.outline_right[0] == "tall", \
            "the focused action is seen at a glance"
        assert end.styles.outline_left[0] == "", "and only the focused one"
        assert end.size.height > 0 and end.size.width > 0, "kept apart, not hidden"
        danger = screen.query_one("#hd-danger")
        for _ in range(3):  # the stops after 「再送信」 (開示, the timeline): none of them destructive
            await pilot.press("tab")
            assert danger not in app.focused.ancestors_with_self, "never a destructive next stop"
            if app.focused is screen.query_one("#hd-timeline", DataTable):
                break
        else:
            raise AssertionError(f"Tab from 「再送信」 never reached the timeline: {app.focused!r}")
        end.focus()
        await pilot.press("enter")
        modal = await wait_screen(pilot, ConfirmScreen)
        no, yes = modal.query_one("#no", Button), modal.query_one("#yes", Button)
        await pilot.pause()
        assert app.focused is no
        assert no.styles.outline_left[0] == "tall" and yes.styles.outline_left[0] == "", "focus seen at a glance"
        await pilot.press("escape")
        await wait_screen(pilot, PersonScreen)
    assert query_db(ctx, flow_id) == "provisional"


def query_db(ctx, flow_id):
    return ctx.db.execute("select a.status from accounts a join flows f on f.account_id = a.id where f.id = ?",
                          [flow_id]).fetchone()[0]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_an_invitation_seen_as_staff_whole_state_history_and_resend(app_factory, ctx, clock, lang, size):
    """Inviter, dates, every link sent and what became of it (replaced, live, expired); resend beside
    cancel: a new link, the old one void, audited with the agent's name."""
    from bene_tui.core.i18n import t
    from bene_tui.services import family

    account_id = _active_account(ctx)
    inv = family.invite(ctx, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1986-02-03", "hanako@example.jp")
    clock.advance(61)
    family.resend(ctx, account_id, inv["invitation_id"])  # the member resent it: the first link is replaced
    clock.advance(61)
    app = app_factory(mode="helpdesk", lang=lang)
    app.operator = "佐々木"
    async with app.run_test(size=size) as pilot:
        screen = await open_person(pilot, app, "hanako@example.jp", "山田 花子")
        summary = str(screen.query_one("#hd-summary", Static).render())
        assert "taro@example.jp" in summary, "the inviter"
        assert summary.count(t(lang, "hd.link.approve")) == 2
        assert t(lang, "hd.link.replaced") in summary and t(lang, "hd.link.live") in summary
        kinds = [a["action"] for a in screen.actions]
        assert kinds[:2] == ["resend_invitation", "cancel_invitation"]
        resend = screen.query_one("#act-0", Button)
        assert resend.parent.id == "hd-actions" and screen.query_one("#act-1", Button).parent.id == "hd-danger"
        before = ctx.db.execute("select count(*) from tokens where invitation_id = ?", [inv["invitation_id"]]).fetchone()[0]
        resend.focus()
        await pilot.press("enter")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: ctx.db.execute("select count(*) from tokens where invitation_id = ?",
                                                     [inv["invitation_id"]]).fetchone()[0] == before + 1)
        await wait_for(pilot, lambda: str(screen.query_one("#hd-summary", Static).render()).count(
            t(lang, "hd.link.replaced")) == 2, what="the old link void")
        clock.advance(8 * 86400)  # past the approval link's life
        await screen.load()
        summary = str(screen.query_one("#hd-summary", Static).render())
        assert t(lang, "hd.link.expired") in summary
        assert t(lang, "hd.status.invitation_expired") in summary, "the invitation itself reads expired"
        assert t(lang, "hd.status.invitation_approval_pending") not in summary
    live = ctx.db.execute("select count(*) from tokens where invitation_id = ? and voided_at is null and used_at is null",
                          [inv["invitation_id"]]).fetchone()[0]
    assert live == 1
    [row] = ctx.db.execute("select actor, outcome from audit where action = 'helpdesk.resend_invitation'").fetchall()
    assert tuple(row) == ("operator:佐々木", "ok")


# -- staff reasons and the timeline in the agent's language (issue 17) ---------------------------

@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_a_wrong_passwords_staff_note_in_the_agents_language(app_factory, ctx, lang, size):
    from bene_tui.ui.screens.login import LoginScreen

    _active_account(ctx)
    app = app_factory(mode="helpdesk", lang=lang)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(LoginScreen(service_id="benefit_station"))
        screen = await wait_screen(pilot, LoginScreen)
        await type_into(pilot, "#login-id", "taro@example.jp")
        await type_into(pilot, "#login-password", "not-the-password")
        await pilot.press("enter")
        note = await wait_for(pilot, lambda: str(screen.query_one(".form-error", Static).render()), what="the note")
        assert note == t(lang, "helpdesk.staff_reason", reason=t(lang, "staff.wrong_password", n=1))
        if lang == "ja":
            assert note == "〔スタッフ向け〕パスワードの誤りです(連続1回目)"  # no English left on a ja screen


def _drawn_cell(table: DataTable, row: int, left: int, width: int) -> list[str]:
    """What the table draws of one cell, line by line (cells counted as the screen does: 全角 = 2)."""
    top = sum(r.height for r in table.ordered_rows[:row]) + 1  # below the header
    return [table.render_line(y).crop(left, left + width).text.strip()
            for y in range(top, top + table.ordered_rows[row].height)]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_the_timeline_says_in_words_which_delivery_failed_and_wraps(app_factory, ctx, lang, size):
    from bene_tui.services import outbox
    from bene_tui.ui.screens.helpdesk import timeline_widths

    outbox.set_trouble(ctx, fail_email=True)
    flow_id = registration.start(ctx, "TS000001", "1001", "19850401").flow_id
    registration.submit_credentials(ctx, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True, "ja")
    app = app_factory(mode="helpdesk", lang=lang)
    app.operator = "佐々木"
    async with app.run_test(size=size) as pilot:
        screen = await open_person(pilot, app, "taro@example.jp", "山田 太郎")
        table = screen.query_one("#hd-timeline", DataTable)
        await wait_for(pilot, lambda: table.row_count and all(r.height for r in table.ordered_rows), what="rows")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        failed = t(lang, "hd.delivery.failed", purpose=t(lang, "hd.purpose.verification"),
                   channel=t(lang, "hd.channel.email"), to="taro@example.jp")
        sent = next(i for i, r in enumerate(rows) if r[2].startswith(t(lang, "hd.audit_action.code_sent")))
        assert failed in rows[sent][5], "which delivery failed, and how"
        assert rows[sent][2] == t(lang, "hd.tl.audit", action=t(lang, "hd.audit_action.code_sent"),
                                  subject=t(lang, "hd.subject.flow"))
        assert rows[0][1:4] == [t(lang, "hd.source.outbox"), t(lang, "hd.tl.outbox", channel=t(lang, "hd.channel.email"),
                                purpose=t(lang, "hd.purpose.verification"), to="taro@example.jp"),
                                t(lang, "hd.outcome.failed")]
        assert rows[-1][2] == t(lang, "hd.tl.flow", kind=t(lang, "staff.kind.enrol"), state=t(lang, "staff.state.provisional"))
        text = "\n".join("\t".join(r) for r in rows)
        for internal in ("[flow:", "flow:", "{", "}", "enrol", "code.sent", "registration.", '"delivery"'):
            assert internal not in text
        # The long detail wraps within its column: every character of it is drawn, on more lines than one.
        columns = table.ordered_columns
        assert [c.width for c in columns] == list(timeline_widths(app.t, size[0]))
        left = sum(c.get_render_width(table) for c in columns[:5]) + table.cell_padding
        lines = _drawn_cell(table, sent, left, columns[5].width)
        assert len(lines) > 1
        assert "".join(lines).replace(" ", "") == rows[sent][5].replace(" ", "")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_a_bad_links_staff_note_in_the_agents_language(app_factory, ctx, clock, lang):
    from bene_tui.ui.screens.family import LinkProblemScreen

    account_id = _active_account(ctx)
    first = family.invite(ctx, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1986-02-03", "hanako@example.jp")
    clock.advance(61)
    family.resend(ctx, account_id, first["invitation_id"])  # the first link is void now
    app = app_factory(mode="helpdesk", lang=lang)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.account_id = account_id  # the inviting member, logged in
        app.open_link(first["message"]["link"])
        screen = await wait_screen(pilot, LinkProblemScreen)
        text = str(screen.query_one("#problem", Static).render())
        assert text.endswith("\n" + t(lang, "helpdesk.staff_reason", reason=t(lang, "staff.token_replaced")))


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_a_used_and_a_locked_invitation_read_so_at_the_desk(app_factory, ctx, lang, size):
    """The other ends of an invitation's life, as the inviter's view shows them: registered (both links
    used) and locked by five wrong birth dates (its link void for that reason)."""
    from support.services import FAMILY_PASSWORD, invited

    account_id = _active_account(ctx)
    _, used = invited(ctx, account_id, contact="hanako.used@example.jp")
    family.register(ctx, used, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    _, locked = invited(ctx, account_id, contact="ichiro.locked@example.jp", relationship="child",
                        birth_date="2015-05-05", name="山田 一郎", kana="ヤマダ イチロウ")
    for _ in range(5):
        with pytest.raises(BeneError):
            family.register(ctx, locked, "山田 一郎", "2016-06-06", FAMILY_PASSWORD, True)
    cancelled, _ = invited(ctx, account_id, contact="jiro.cancelled@example.jp", relationship="child",
                           birth_date="2017-07-07", name="山田 次郎", kana="ヤマダ ジロウ")
    family.cancel(ctx, account_id, cancelled)
    app = app_factory(mode="helpdesk", lang=lang)
    app.operator = "佐々木"
    async with app.run_test(size=size) as pilot:
        screen = await open_person(pilot, app, "taro@example.jp", "山田 太郎")
        lines = str(screen.query_one("#hd-summary", Static).render()).split("\n")
        starts = sorted(next(i for i, line in enumerate(lines) if contact in line)
                        for contact in ("hanako.used@", "ichiro.locked@", "jiro.cancelled@"))
        blocks = {next(c for c in ("hanako", "ichiro", "jiro") if f"{c}." in lines[a]): lines[a:b]
                  for a, b in zip(starts, starts[1:] + [len(lines)])}
        done, stuck, off = blocks["hanako"], blocks["ichiro"], blocks["jiro"]
        assert f"[{t(lang, 'hd.status.invitation_registered')}]" in done[0]
        assert sum(f"[{t(lang, 'hd.link.used')}]" in line for line in done) == 2, done  # approval and invitation
        assert f"[{t(lang, 'hd.status.invitation_locked')}]" in stuck[0]
        assert sum(f"[{t(lang, 'hd.link.locked')}]" in line for line in stuck) == 1, stuck
        assert f"[{t(lang, 'hd.status.invitation_cancelled')}]" in off[0]
        assert sum(f"[{t(lang, 'hd.link.cancelled')}]" in line for line in off) == 1, off
        assert not any(t(lang, "hd.link.replaced") in line for line in stuck + off), "nothing newer replaced them"
