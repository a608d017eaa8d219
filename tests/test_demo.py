"""Demo mode (issue 5): the live outbox panel, the demo clock and its keys, delivery trouble on
demand (late SMS, failing channels, the resend), and the reset key — through the real screens."""

from __future__ import annotations

import json

import pytest

from textual.widgets import Button, Checkbox, Input, RadioButton, Static

from bene_tui.services import registration
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from bene_tui.ui.screens.demo import ConfirmResetScreen, DemoTroubleScreen
from bene_tui.ui.screens.registration import Step1Screen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from bene_tui.ui.widgets.demo_clock import DemoClock
from bene_tui.ui.widgets.live_outbox import LiveOutbox
from support.world import GOOD_PASSWORD, START, make_settings
from helpers import messages_to, query, screen_text, type_into, wait_for, wait_screen

SIZE = (160, 50)  # room for the outbox panel beside the flow
TARO = ("TS000001", "1001", "19850401")


def notifications(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def to_step3(pilot, login_id: str, kind: str = "email", member=TARO) -> Step3Screen:
    await wait_screen(pilot, StartScreen)
    await pilot.press("enter")
    await wait_screen(pilot, Step1Screen)
    for selector, value in zip(("#group_id", "#key1", "#key2"), member):
        await type_into(pilot, selector, value)
    await pilot.press("enter")
    step2 = await wait_screen(pilot, Step2Screen)
    if kind == "sms":
        step2.query_one("#kind-sms", RadioButton).value = True
        await pilot.pause()
    await type_into(pilot, "#login_id", login_id)
    await type_into(pilot, "#password", GOOD_PASSWORD)
    await type_into(pilot, "#password2", GOOD_PASSWORD)
    step2.query_one("#agree").focus()
    await pilot.press("space")
    step2.query_one("#submit", Button).focus()
    await pilot.press("enter")
    return await wait_screen(pilot, Step3Screen)


async def set_trouble(pilot, delay: str = "0", fail_email: bool = False, fail_sms: bool = False) -> None:
    """F9, as a presenter would: the minutes, the two boxes, Enter."""
    await pilot.press("f9")
    dialog = await wait_screen(pilot, DemoTroubleScreen)
    await wait_for(pilot, lambda: dialog.query_one("#sms_delay", Input).value != "")
    for box, wanted in (("#fail_email", fail_email), ("#fail_sms", fail_sms)):
        if dialog.query_one(box, Checkbox).value != wanted:
            dialog.query_one(box).focus()
            await pilot.press("space")
    await type_into(pilot, "#sms_delay", delay)
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, DemoTroubleScreen), what="dialog closed")


# -- the demo clock ---------------------------------------------------------------------------------


async def test_clock_keys_move_the_app_clock_and_the_header_shows_it(app_factory, clock):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        shown = await wait_for(pilot, lambda: start.query_one(DemoClock))
        assert "2026-04-01 08:00" in str(shown.render())
        for key, total in (("f5", 60), ("f6", 660), ("f7", 4260), ("f8", 90660)):
            await pilot.press(key)
            await wait_for(pilot, lambda: clock.pushed == total, what=f"{key} moved the clock")
        assert app.clock.now() == START + 90660
        await wait_for(pilot, lambda: "2026-04-02 09:11" in str(start.query_one(DemoClock).render()))
        assert "+1日1時間11分" in str(start.query_one(DemoClock).render())
        await pilot.press("f4")
        await wait_for(pilot, lambda: "Demo time 2026-04-02 09:11" in str(app.screen.query_one(DemoClock).render()))


async def test_a_code_expires_live_when_the_clock_moves(app_factory, tmp_path):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await to_step3(pilot, "taro.demo@example.jp")
        code = messages_to(tmp_path, "taro.demo@example.jp")[-1]["code"]
        await pilot.press("f6")  # +10 minutes: the code's whole life
        await pilot.press("f5")
        await type_into(pilot, "#code", code)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "有効期限が切れました" in screen_text(pilot))
        assert isinstance(app.screen, Step3Screen)
    assert query(tmp_path, "select status from accounts where login_id = 'taro.demo@example.jp'") == [
        {"status": "provisional"}]


async def test_clock_keys_exist_only_in_demo_mode(app_factory):
    app = app_factory(mode="helpdesk")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f8")
        await pilot.pause()
        assert app.clock.pushed == 0
        assert not any(c.display for c in app.screen.query(DemoClock)) and not app.screen.query(LiveOutbox)


def test_every_terminal_on_a_store_reads_the_demo_clock_it_shares(app_factory, tmp_path):
    """One presenter moves the clock; a second terminal (its own process, its own Clock) reads the same
    time, and an invitation that time expired reads expired at the helpdesk too."""
    from support.services import register

    from bene_tui.core.clock import Clock
    from bene_tui.services import family, helpdesk, shared_clock

    def terminal():
        ctx, _ = open_context(make_settings(tmp_path), clock=Clock(start=START),
                              secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
        return ctx

    presenter, desk = terminal(), terminal()
    account = register(presenter, login="taro.clock@example.jp")
    family.invite(presenter, account, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15", "hanako.clock@example.jp", "ja")
    [row] = [r for r in helpdesk.search(desk, "hanako.clock@example.jp") if r["kind"] == "invitation"]
    assert row["status"] == "invitation_approval_pending"

    shared_clock.advance(presenter, 8 * 86400)
    assert presenter.now() == START + 8 * 86400 and desk.now() == START, "not read yet"
    desk.sync_clock()
    assert desk.now() == presenter.now()
    [row] = [r for r in helpdesk.search(desk, "hanako.clock@example.jp") if r["kind"] == "invitation"]
    assert row["status"] == "invitation_expired"
    late = terminal()  # a terminal started afterwards starts at the store's time
    assert late.now() == presenter.now()
    shared_clock.reset(presenter)
    for ctx in (presenter, desk, late):
        ctx.sync_clock()
        assert ctx.now() == START
        ctx.store.close()


@pytest.mark.parametrize("lang, shown", [("ja", "+8日"), ("en", "+8 d")])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_a_helpdesk_on_the_store_shows_the_moved_demo_clock_in_its_header(app_factory, sctx, lang, shown, size):
    """The presenter (100×30) moves the clock eight days; a helpdesk on the same store (its own clock)
    reads that time, shows it in its header, and the invitation that time expired reads expired, not 招待中."""
    from support.services import invited, member

    from bene_tui.core.i18n import t
    from support.screens import open_person

    account = member(sctx, login="taro.clock@example.jp")
    invited(sctx, account, contact="hanako.clock@example.jp")
    demo = app_factory(mode="demo")
    async with demo.run_test(size=(100, 30)) as pilot:
        await wait_screen(pilot, StartScreen)
        await demo._ctx_ready.wait()
        for _ in range(8):
            await pilot.press("f8")
        await wait_for(pilot, lambda: demo.clock.pushed == 8 * 86400)
        moved = demo.clock.local().strftime("%Y-%m-%d %H:%M")
    desk = app_factory(mode="helpdesk", lang=lang)
    desk.clock = type(desk.clock)(start=START)  # another process: its own clock, not the presenter's
    desk.operator = "佐々木"
    async with desk.run_test(size=size) as pilot:
        start = await wait_screen(pilot, StartScreen)
        header_clock = start.query_one(DemoClock)
        await wait_for(pilot, lambda: header_clock.display and shown in str(header_clock.render()))
        assert moved in str(header_clock.render()), "the same time as the presenter's"
        assert desk.clock.now() == START + 8 * 86400
        person = await open_person(pilot, desk, "hanako.clock", "山田 花子")
        summary = str(person.query_one("#hd-summary", Static).render())
        assert t(lang, "hd.status.invitation_expired") in summary
        assert t(lang, "hd.status.invitation_invited") not in summary
        assert moved in str(person.query_one(DemoClock).render()), "the header on every screen"


# -- the live outbox panel ------------------------------------------------------------------------


async def test_the_outbox_panel_shows_a_new_code_as_it_is_sent_and_f3_toggles_it(app_factory, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setattr(LiveOutbox, "FRESH_SECONDS", 600)  # the highlight outlasts a slow machine
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.screen.query(LiveOutbox))
        step3 = await to_step3(pilot, "taro.panel@example.jp")
        code = messages_to(tmp_path, "taro.panel@example.jp")[-1]["code"]
        panel = await wait_for(pilot, lambda: step3.query_one(LiveOutbox))
        await wait_for(pilot, lambda: str(panel.query_one("#ob-code").value) == code, timeout=15,
                       what="the code in the panel")
        assert panel.has_class("fresh"), "a new message is highlighted"
        assert step3.focused is step3.query_one("#code", Input), "the panel takes no focus"
        assert [m["read"] for m in messages_to(tmp_path, "taro.panel@example.jp")] == [0], \
            "the panel leaves the person's message unread"

        await pilot.press("f3")
        await wait_for(pilot, lambda: not panel.display)
        await pilot.press("f3")
        await wait_for(pilot, lambda: panel.display)


@pytest.mark.parametrize("lang, expired, used", [("ja", "有効期限切れ", "使用済み"), ("en", "expired", "used")])
async def test_the_outbox_panel_marks_an_expired_and_a_used_code(app_factory, tmp_path, lang, expired, used):
    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        step3 = await to_step3(pilot, "taro.mark@example.jp")
        panel = await wait_for(pilot, lambda: step3.query_one(LiveOutbox))
        state = panel.query_one("#ob-code-state", Static)
        code = messages_to(tmp_path, "taro.mark@example.jp")[-1]["code"]
        await wait_for(pilot, lambda: str(panel.query_one("#ob-code").value) == code)
        assert str(state.render()) == "" and not panel.query_one("#ob-code").has_class("dead"), "a live code"
        await pilot.press("f6")  # +10 minutes: the code's whole life
        await wait_for(pilot, lambda: expired in str(state.render()), what="marked expired")
        assert panel.query_one("#ob-code").has_class("dead")

        step3.query_one("#resend").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages_to(tmp_path, "taro.mark@example.jp")) == 2)
        fresh = messages_to(tmp_path, "taro.mark@example.jp")[-1]["code"]
        await wait_for(pilot, lambda: str(panel.query_one("#ob-code").value) == fresh and not str(state.render()))
        await type_into(pilot, "#code", fresh)
        await pilot.press("enter")
        step4 = await wait_screen(pilot, Step4Screen)
        panel = await wait_for(pilot, lambda: step4.query_one(LiveOutbox))
        await wait_for(pilot, lambda: used in str(panel.query_one("#ob-code-state", Static).render()),
                       what="marked used")


@pytest.mark.parametrize("lang, expired, used", [("ja", "有効期限切れ", "使用済み"), ("en", "expired", "used")])
async def test_on_a_projector_f2_marks_an_expired_and_a_used_code_as_the_panel_does(app_factory, tmp_path, lang,
                                                                                   expired, used):
    """100×30: the panel gave way, so the presenter reads the code in F2, which marks it as the panel does."""
    from bene_tui.ui.screens.outbox import OutboxScreen

    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=(100, 30)) as pilot:
        step3 = await to_step3(pilot, "taro.f2@example.jp")
        code = messages_to(tmp_path, "taro.f2@example.jp")[-1]["code"]
        await pilot.press("f2")
        viewer = await wait_screen(pilot, OutboxScreen)
        state = viewer.query_one("#ob-code-state", Static)
        await wait_for(pilot, lambda: str(viewer.query_one("#ob-code").value) == code, what="the code in F2")
        assert str(state.render()) == "" and not viewer.query_one("#ob-code").has_class("dead"), "a live code"
        await pilot.press("f6")  # +10 minutes: the code's whole life
        await wait_for(pilot, lambda: expired in str(state.render()), what="marked expired")
        assert viewer.query_one("#ob-code").has_class("dead")
        await pilot.press("escape")
        await wait_screen(pilot, Step3Screen)
        step3.query_one("#resend").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages_to(tmp_path, "taro.f2@example.jp")) == 2)
        fresh = messages_to(tmp_path, "taro.f2@example.jp")[-1]["code"]
        await type_into(pilot, "#code", fresh)
        await pilot.press("enter")
        await wait_screen(pilot, Step4Screen)
        await pilot.press("f2")
        viewer = await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: str(viewer.query_one("#ob-code").value) == fresh, what="the newest code")
        await wait_for(pilot, lambda: used in str(viewer.query_one("#ob-code-state", Static).render()), what="marked used")
    app = app_factory(mode="kiosk", lang=lang)  # the kiosk's F2 has no presenter's marks
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_screen(pilot, StartScreen)
        app.push_screen(OutboxScreen())
        viewer = await wait_screen(pilot, OutboxScreen)
        assert not viewer.query("#ob-code-state")


# -- delivery trouble -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, on_text", [("ja", "配信トラブル中"), ("en", "Delivery trouble")])
@pytest.mark.parametrize("size", [(100, 30), SIZE])
async def test_delivery_trouble_keeps_a_badge_in_the_header_and_enter_on_a_checkbox_applies(app_factory, lang,
                                                                                             on_text, size):
    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=size) as pilot:
        start = await wait_screen(pilot, StartScreen)
        badge = start.query_one("#trouble-badge", Static)
        assert not badge.has_class("on")
        await pilot.press("f9")
        dialog = await wait_screen(pilot, DemoTroubleScreen)
        await wait_for(pilot, lambda: dialog.query_one("#sms_delay", Input).value != "")
        dialog.query_one("#fail_sms").focus()
        await pilot.press("space")
        await pilot.press("enter")  # on the checkbox, as the hint says: applies and closes
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: badge.has_class("on") and badge.display)
        assert on_text in str(badge.render())
        assert badge.region.width > 0 and badge.region.y == 0, "in the header, in view"
        clock = start.query_one(DemoClock)
        assert not badge.region.overlaps(clock.region), "beside the demo clock, not under it"
        await pilot.press("enter")  # on to step 1: the badge comes with every screen
        step1 = await wait_screen(pilot, Step1Screen)
        await wait_for(pilot, lambda: step1.query_one("#trouble-badge").has_class("on"))
        await set_trouble(pilot, fail_sms=False)
        await wait_for(pilot, lambda: not step1.query_one("#trouble-badge").has_class("on"))


async def test_failing_email_is_announced_and_the_code_screen_offers_the_resend(app_factory, tmp_path):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await set_trouble(pilot, fail_email=True)
        stored = query(tmp_path, "select value from settings where key = 'delivery'")
        assert json.loads(stored[0]["value"]) == {"sms_delay_min": 0, "fail_email": True, "fail_sms": False}

        step3 = await to_step3(pilot, "taro.fail@example.jp")
        assert [m["status"] for m in messages_to(tmp_path, "taro.fail@example.jp")] == ["failed"]
        await wait_for(pilot, lambda: "配信に失敗しました" in notifications(app), timeout=15)
        await wait_for(pilot, lambda: step3.focused is step3.query_one("#resend"), what="the resend focused")
        panel = step3.query_one(LiveOutbox)
        await wait_for(pilot, lambda: "配信されていません" in str(panel.query_one("#ob-head", Static).render()))

        await set_trouble(pilot, fail_email=False)
        await pilot.press("f5")  # a resend waits 60 s
        step3.query_one("#resend").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(messages_to(tmp_path, "taro.fail@example.jp")) == 2)
        fresh = messages_to(tmp_path, "taro.fail@example.jp")[-1]
        assert fresh["status"] == "sent"
        await type_into(pilot, "#code", fresh["code"])
        await pilot.press("enter")
        await wait_screen(pilot, Step4Screen)


async def test_a_late_sms_arrives_when_the_demo_clock_reaches_it(app_factory, tmp_path):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await set_trouble(pilot, delay="５")  # full width, as typed with a Japanese IME
        await to_step3(pilot, "090-3333-4444", kind="sms")
        assert [m["status"] for m in messages_to(tmp_path, "+819033334444")] == ["queued"]
        await wait_for(pilot, lambda: "5分遅れて届きます" in notifications(app), timeout=15)
        await pilot.press("f5")
        await pilot.press("f5")
        await pilot.pause()
        assert [m["status"] for m in messages_to(tmp_path, "+819033334444")] == ["queued"]
        await pilot.press("f6")
        await wait_for(pilot, lambda: [m["status"] for m in messages_to(tmp_path, "+819033334444")] == ["sent"])


async def test_a_bad_delay_is_refused_beside_its_field(app_factory, tmp_path):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f9")
        dialog = await wait_screen(pilot, DemoTroubleScreen)
        await type_into(pilot, "#sms_delay", "soon")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "0〜1440" in str(dialog.query_one("#sms_delay-error").render()))
        assert isinstance(app.screen, DemoTroubleScreen)
        assert query(tmp_path, "select value from settings where key = 'delivery'") == []
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)


# -- the reset key ------------------------------------------------------------------------------------


async def test_reset_asks_first_then_restores_the_demo_world(app_factory, tmp_path, clock):
    ctx, _ = open_context(make_settings(tmp_path), clock=clock,
                          secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    flow = registration.start(ctx, *TARO).flow_id
    registration.submit_credentials(ctx, flow, "email", "taro.reset@example.jp", GOOD_PASSWORD, True, "ja")
    ctx.store.close()

    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f7")
        await pilot.press("ctrl+r")
        dialog = await wait_screen(pilot, ConfirmResetScreen)
        assert dialog.focused is dialog.query_one("#reset-no"), "Cancel first: a stray Enter keeps the data"
        await pilot.press("enter")
        await wait_screen(pilot, StartScreen)
        assert query(tmp_path, "select count(*) as n from accounts") == [{"n": 1}]

        await pilot.press("enter")  # into registration, to see the session go too
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        app.grant_owner("taro.reset@example.jp")
        await pilot.press("ctrl+r")
        dialog = await wait_screen(pilot, ConfirmResetScreen)
        await pilot.press("shift+tab")
        assert dialog.focused is dialog.query_one("#reset-yes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "デモデータを初期化しました" in notifications(app), timeout=20)
        await wait_screen(pilot, StartScreen)
        assert len(app.screen_stack) == 2 and not app.session.outbox
        assert clock.pushed == 0
    assert query(tmp_path, "select count(*) as n from accounts") == [{"n": 0}]
    assert query(tmp_path, "select count(*) as n from outbox") == [{"n": 0}]
    groups = {r["group_id"] for r in query(tmp_path, "select group_id from organisations")}
    assert "BO100001" in groups and "TS000001" not in groups
    actions = [r["action"] for r in query(tmp_path, "select action from audit")]
    assert "demo.reset" in actions and not [a for a in actions if a.startswith("registration.")]


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_on_a_projector_the_panel_gives_way_to_the_screens(app_factory, lang):
    """100×30: a scenario (which shows the panel whatever the width) or F3 leaves the screens their width."""
    app = app_factory(mode="demo", lang=lang)
    async with app.run_test(size=(100, 30)) as pilot:
        start = await wait_screen(pilot, StartScreen)
        app.modes.demo.panel_choice = True  # as a scenario sets it
        await pilot.press("f3")
        await wait_for(pilot, lambda: app._notifications)
        assert ("F2" in str(list(app._notifications)[-1].message))
        await pilot.pause()
        assert not [p for p in start.query(LiveOutbox) if p.display]
        assert start.query_one(".box").size.width >= 60, "the flow keeps its width (52 beside the panel)"
        await pilot.resize_terminal(160, 45)  # a wider screen: the chosen panel comes back
        await wait_for(pilot, lambda: [p for p in app.screen.query(LiveOutbox) if p.display])
        await pilot.resize_terminal(100, 30)
        await wait_for(pilot, lambda: not [p for p in app.screen.query(LiveOutbox) if p.display])


async def test_on_a_narrow_terminal_the_panel_waits_for_f3(app_factory):
    app = app_factory(mode="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        start = await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: start.query(DemoClock))
        assert not [p for p in start.query(LiveOutbox) if p.display], "120 columns: the flow keeps its width"
        await pilot.press("f3")
        await wait_for(pilot, lambda: [p for p in start.query(LiveOutbox) if p.display])
        await pilot.press("enter")
        step1 = await wait_screen(pilot, Step1Screen)
        await wait_for(pilot, lambda: [p for p in step1.query(LiveOutbox) if p.display], what="F3's choice sticks")
