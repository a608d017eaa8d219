"""Kiosk mode (issue 5, SPEC §1 and §4): the idle wipe, the return after a finished flow, the
outbox limited to this session's recipients, no quit keys, and the operator PIN.

Idleness is measured on a monotonic clock the tests replace (`app.modes.monotonic`), then the
tests call the kiosk's once-a-second `tick()` themselves: no test sleeps 90 seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import weakref

import pytest
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Button, Input, Label, OptionList, Static

from bene_tui import cli
from bene_tui.services import pin, registration
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from bene_tui.ui.screens.base import BaseScreen
from bene_tui.ui.screens.kiosk import CountdownScreen, OperatorExitScreen
from bene_tui.ui.screens.outbox import OutboxScreen
from bene_tui.ui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from bene_tui.ui.session import Session
from bene_tui.ui.widgets.idle_countdown import IdleCountdown
from support.world import GOOD_PASSWORD, make_settings
from helpers import query, screen_text, type_into, wait_for, wait_screen

SIZE = (120, 50)
TARO = ("TS000001", "1001", "19850401")
TARO_LOGIN = "taro.kiosk@example.jp"
OPERATOR_PIN = "491-2738"


class FakeTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def kiosk_app(app_factory, **kw):
    """A kiosk on the real clock: the time a message is sent and the time it is read differ, as they do."""
    app = app_factory(mode="kiosk", real_clock=True, **kw)
    fake = FakeTime()
    app.modes.monotonic = fake
    app.modes.touch()
    return app, fake


def world_ctx(tmp_path, clock):
    ctx, _ = open_context(make_settings(tmp_path), clock=clock,
                          secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    return ctx


async def to_step3(pilot, login_id: str = TARO_LOGIN, member=TARO) -> Step3Screen:
    """Start → 「新規登録」 → step 1 → step 2 (e-mail, password, terms) → step 3, by keys."""
    await wait_screen(pilot, StartScreen)
    await pilot.press("enter")
    await wait_screen(pilot, Step1Screen)
    for selector, value in zip(("#group_id", "#key1", "#key2"), member):
        await type_into(pilot, selector, value)
    await pilot.press("enter")
    await wait_screen(pilot, Step2Screen)
    await type_into(pilot, "#login_id", login_id)
    await type_into(pilot, "#password", GOOD_PASSWORD)
    await type_into(pilot, "#password2", GOOD_PASSWORD)
    pilot.app.screen.query_one("#agree").focus()
    await pilot.press("space")
    pilot.app.screen.query_one("#submit", Button).focus()
    await pilot.press("enter")
    return await wait_screen(pilot, Step3Screen)


async def code_from_f2(pilot) -> str:
    """The code as the person at the kiosk reads it: F2, the big digits, Escape back."""
    await pilot.press("f2")
    outbox_screen = await wait_screen(pilot, OutboxScreen)
    digits = outbox_screen.query_one("#ob-code")
    await wait_for(pilot, lambda: len(str(digits.value)) == 6)
    code = str(digits.value)
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, OutboxScreen))
    return code


async def to_done(pilot, tmp_path) -> DoneScreen:
    await to_step3(pilot)
    code = await code_from_f2(pilot)
    await type_into(pilot, "#code", code)
    await pilot.press("enter")
    await wait_screen(pilot, Step4Screen)
    await wait_for(pilot, lambda: "山田" in str(pilot.app.screen.query_one("#name", Static).render()))
    pilot.app.screen.query_one("#confirm").focus()
    await pilot.press("space")
    pilot.app.screen.query_one("#complete", Button).focus()
    await pilot.press("enter")
    return await wait_screen(pilot, DoneScreen)


def everything_visible_or_held(app) -> str:
    """Every text a new session could reach: widget contents and attributes on every screen, the
    app's own attributes and its notifications."""
    parts: list[str] = []

    def collect(value, depth=0):
        if isinstance(value, str):
            parts.append(value)
        elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                collect(item, depth + 1)
        elif depth < 3 and dataclasses.is_dataclass(value) and not isinstance(value, type):
            collect(vars(value), depth + 1)
        elif depth < 3 and isinstance(value, dict):
            for k, v in value.items():
                collect(k, depth + 1)
                collect(v, depth + 1)

    for screen in app.screen_stack:
        for node in [screen, *screen.walk_children(with_self=False)]:
            if isinstance(node, Static) and node.id == "ob-kiosk-note":
                continue  # the kiosk outbox's fixed explanation
            for value in vars(node).values():
                collect(value)
            if isinstance(node, Input):
                parts.append(node.value)
            elif isinstance(node, (Static, Label, Button)):
                parts.append(str(node.render()))
            elif isinstance(node, OptionList):
                parts.extend(str(node.get_option_at_index(i).prompt) for i in range(node.option_count))
    for name, value in vars(app).items():
        if name not in ("ctx", "settings", "_secret_store"):
            collect(value)
    parts.extend(str(n.message) for n in app._notifications)
    parts.append(app.clipboard)
    return "\n".join(parts)


# -- the idle wipe --------------------------------------------------------------------------------


async def test_idle_countdown_then_wipe_leaves_nothing_of_the_session(app_factory, tmp_path):
    app, fake = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        flow_id = (await to_step3(pilot)).flow_id
        app.session.account_id = 4242  # as the login screen sets it
        assert app.session.outbox.flows == [flow_id]
        old_screens = [weakref.ref(s) for s in app.screen_stack[1:]]
        old_inputs = [weakref.ref(w) for s in app.screen_stack for w in s.query(Input)]
        assert any(r().value == GOOD_PASSWORD for r in old_inputs)
        start_screen_before = weakref.ref(app.screen_stack[1])

        fake.now += 89
        app.modes.kiosk.tick()
        await pilot.pause()
        assert isinstance(app.screen, Step3Screen), "no countdown before 90 s of idleness"

        fake.now += 1
        app.modes.kiosk.tick()
        await wait_screen(pilot, CountdownScreen)
        await pilot.pause()
        assert app.screen.query_one(IdleCountdown).seconds == 15
        assert "15" in screen_text(pilot)

        fake.now += 14
        app.modes.kiosk.tick()
        await pilot.pause()
        assert isinstance(app.screen, CountdownScreen)
        assert app.screen.query_one(IdleCountdown).seconds == 1

        fake.now += 1
        app.modes.kiosk.tick()
        # The wipe scrubs every field before it drops the screens: Textual may keep a removed
        # screen alive for a while (a context variable of its last render), holding nothing.
        assert [r().value for r in old_inputs] == [""] * len(old_inputs)
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: len(app.screen_stack) == 2 and all(r() is None or not r().is_attached
                                                                         for r in old_screens))
        assert app.screen is not start_screen_before(), "the start screen itself is rebuilt"
        assert type(app.screen_stack[0]) is Screen
        assert not app.session.outbox and app.session.account_id is None
        assert app.session.service_id == "benefit_station"

        held = everything_visible_or_held(app)
        for secret in (TARO_LOGIN, GOOD_PASSWORD, "19850401", "TS000001", flow_id, "山田"):
            assert secret not in held, f"{secret!r} survived the wipe"
        for old in (*old_screens, *old_inputs):
            if old() is not None:
                assert not old().is_attached
        await pilot.pause()
        gc.collect()
        assert all(r() is None or r().value == "" for r in old_inputs)
        assert app.screen.focused is app.screen.query_one("#register"), "a fresh start screen, focus on 新規登録"
        await wait_for(pilot, lambda: query(tmp_path, "select * from audit where action = 'kiosk.wipe'"))


async def test_any_key_during_the_countdown_keeps_the_session(app_factory):
    app, fake = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("enter")
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        fake.now += 90
        app.modes.kiosk.tick()
        await wait_screen(pilot, CountdownScreen)
        await pilot.press("x")
        step1 = await wait_screen(pilot, Step1Screen)
        assert step1.query_one("#group_id", Input).value == "TS000001", "the key only dismissed the countdown"
        assert app.modes.kiosk.countdown_until is None
        fake.now += 89  # idleness counts again from that key
        app.modes.kiosk.tick()
        await pilot.pause()
        assert isinstance(app.screen, Step1Screen)
        fake.now += 1
        app.modes.kiosk.tick()
        await wait_screen(pilot, CountdownScreen)


async def test_an_untouched_start_screen_is_never_counted_down(app_factory):
    app, fake = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        fake.now += 3600
        app.modes.kiosk.tick()
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)


async def test_a_finished_flow_returns_to_the_start_after_20_seconds(app_factory, tmp_path):
    app, fake = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        done = await to_done(pilot, tmp_path)
        await wait_for(pilot, lambda: done.query("#kiosk-done-countdown"))
        assert "20" in screen_text(pilot)
        fake.now += 5
        app.modes.kiosk.tick()
        await pilot.pause()
        assert done.query_one("#kiosk-done-countdown", IdleCountdown).seconds == 15
        await pilot.press("tab")  # a person still reading: the 20 s start again
        fake.now += 19
        app.modes.kiosk.tick()
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        fake.now += 1
        app.modes.kiosk.tick()
        await wait_screen(pilot, StartScreen)
        assert len(app.screen_stack) == 2 and not app.session.outbox
        assert TARO_LOGIN not in everything_visible_or_held(app)
    assert query(tmp_path, "select status from accounts where login_id = ?", [TARO_LOGIN]) == [{"status": "active"}]


async def test_the_wipe_replaces_the_whole_session(app_factory):
    """One person's use is one typed object (ui/session.py): the wipe puts a new one in its place, so no
    field of it can be forgotten by a reset list."""
    app, fake = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        old = app.session
        app.grant_owner(TARO_LOGIN)
        old.account_id, old.service_id = 4242, "bene_learning"
        app.modes.wipe_session()
        await wait_screen(pilot, StartScreen)
        assert app.session is not old and isinstance(app.session, Session)
        assert app.session == Session.new(app.session.outbox.since)


# -- the outbox of a kiosk session: only what this session owns (outbox.KioskScope) ----------------


async def open_kiosk_outbox(pilot) -> OutboxScreen:
    await pilot.press("f2")
    screen = await wait_screen(pilot, OutboxScreen)
    await wait_for(pilot, lambda: pilot.app.ctx is not None and screen.query("#ob-kiosk-note"))
    await pilot.pause(0.2)  # the lists are read in a worker
    return screen


def outbox_options(screen: OutboxScreen, list_id: str) -> list[str]:
    lst = screen.query_one(f"#{list_id}", OptionList)
    return [lst.get_option_at_index(i).id for i in range(lst.option_count)]


async def test_kiosk_shows_a_person_their_own_code_on_the_real_clock(app_factory, tmp_path):
    """F2 after step 2 shows this registration's code (the moment of sending and of reading differ on
    a real clock); the person reads it there, types it, and the registration completes."""
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        step3 = await to_step3(pilot)
        await pilot.pause(0.05)  # a real clock moves on between sending and reading
        code = await code_from_f2(pilot)
        [sent] = query(tmp_path, "select code, flow_id from outbox where recipient = ?", [TARO_LOGIN])
        assert code == sent["code"] and sent["flow_id"] == step3.flow_id
        await wait_screen(pilot, Step3Screen)
        await type_into(pilot, "#code", code)
        await pilot.press("enter")
        await wait_screen(pilot, Step4Screen)
        assert app.session.outbox.owners == [TARO_LOGIN], "its code entered here: the login ID is the session's"


async def test_kiosk_outbox_shows_only_this_sessions_own_messages(app_factory, tmp_path):
    """Another person's code, and another flow's code to the very login ID typed here, never show."""
    from bene_tui.core.clock import Clock
    from bene_tui.services import outbox

    ctx = world_ctx(tmp_path, Clock())
    other = registration.start(ctx, "TS000001", "1003", "19781120").flow_id
    other_message = registration.submit_credentials(ctx, other, "email", "hanako.other@example.jp",
                                                    GOOD_PASSWORD, True, "ja")
    ctx.store.close()

    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        screen = await open_kiosk_outbox(pilot)
        assert "まだメッセージはありません" in screen_text(pilot)
        assert "ご本人確認" in screen_text(pilot), "the kiosk says what it shows"
        assert "hanako.other" not in everything_visible_or_held(app)
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)

        step3 = await to_step3(pilot)
        ctx = world_ctx(tmp_path, Clock())  # meanwhile another terminal's flow sends a code to this very ID
        with ctx.tx():
            rival = outbox.send(ctx, TARO_LOGIN, "verification", "ja", code="918273", flow_id="another-terminal")
            notice = outbox.send(ctx, TARO_LOGIN, "notice", "ja", title="お知らせ", text="UNPROVEN-ID-NOTICE")
        ctx.store.close()
        screen = await open_kiosk_outbox(pilot)
        assert outbox_options(screen, "ob-recipients") == [TARO_LOGIN]
        [mine] = query(tmp_path, "select id, code from outbox where flow_id = ?", [step3.flow_id])
        assert outbox_options(screen, "ob-messages") == [str(mine["id"])]
        assert str(screen.query_one("#ob-code").value) == mine["code"]
        held = everything_visible_or_held(app)
        for secret in ("hanako.other", other_message["code"], rival["code"], "UNPROVEN-ID-NOTICE"):
            assert secret not in held
        assert str(notice["id"]) not in outbox_options(screen, "ob-messages")

    # The same outbox outside kiosk mode shows everyone: the filter is the kiosk's doing.
    demo = app_factory(mode="demo")
    async with demo.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f2")
        outbox_screen = await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: outbox_screen.query_one("#ob-recipients", OptionList).option_count == 2)
        assert not outbox_screen.query("#ob-kiosk-note")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_kiosk_never_shows_reset_codes_or_notices_whether_or_not_the_id_exists(app_factory, ctx, tmp_path,
                                                                                      clock, lang):
    """「パスワードが不明な場合」 with someone else's login ID, or an unknown one: the same screens, and F2
    shows neither the code nor that anything exists. 「ベネアカウントが不明な場合」's and 「認証キーが不明な場合」's
    notices stay off it too.
    The operator, with the PIN, opens the whole outbox for a rehearsal (audited)."""
    from support.services import register
    from support.screens import fill, from_start

    from bene_tui.ui.screens.recovery import (ForgotIdDoneScreen, ForgotIdScreen, ForgotKeysDoneScreen, ForgotKeysScreen,
                                              ForgotPasswordScreen, ResetCodeScreen)

    register(ctx, login="victim@example.jp")
    set_operator_pin(tmp_path, clock)
    seen: dict[str, tuple[str, str]] = {}
    for login_id in ("victim@example.jp", "nobody@example.jp"):
        app, _ = kiosk_app(app_factory, lang=lang)
        async with app.run_test(size=SIZE) as pilot:
            await from_start(pilot, "forgot-password", ForgotPasswordScreen)
            await fill(pilot, ("login_id", login_id))
            await wait_screen(pilot, ResetCodeScreen)
            await pilot.pause(0.2)
            code_screen = screen_text(pilot).replace(login_id, "LOGIN")
            outbox_screen = await open_kiosk_outbox(pilot)
            assert not outbox_options(outbox_screen, "ob-recipients")
            seen[login_id] = (code_screen, screen_text(pilot))
            assert "victim@example.jp" not in everything_visible_or_held(app).replace(login_id, "")
            await pilot.press("escape")
            await wait_screen(pilot, ResetCodeScreen)
            assert ("宛先のメールアドレス" if lang == "ja" else "not shown in this terminal") in screen_text(pilot)
    assert seen["victim@example.jp"] == seen["nobody@example.jp"]
    [reset] = query(tmp_path, "select id, code from outbox where purpose = 'password_reset'")

    app, _ = kiosk_app(app_factory, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        await from_start(pilot, "forgot-id", ForgotIdScreen)
        await fill(pilot, ("group_id", "TS000001"), ("key1", "1001"), ("key2", "19850401"))
        await wait_screen(pilot, ForgotIdDoneScreen)
        outbox_screen = await open_kiosk_outbox(pilot)
        assert not outbox_options(outbox_screen, "ob-recipients")
        assert reset["code"] not in everything_visible_or_held(app)
        await pilot.press("escape")
        await wait_screen(pilot, ForgotIdDoneScreen)

        # 「認証キーが不明な場合」: the keys go to the e-mail on file, never onto the kiosk
        app.go_home()
        await from_start(pilot, "forgot-keys", ForgotKeysScreen)
        await fill(pilot, ("group_id", "TS000001"), ("kana", "ヤマダ タロウ"), ("birth_date", "1985-04-01"))
        await wait_screen(pilot, ForgotKeysDoneScreen)
        outbox_screen = await open_kiosk_outbox(pilot)
        assert not outbox_options(outbox_screen, "ob-recipients")
        [keys] = query(tmp_path, "select body from outbox where purpose = 'auth_key_notice'")
        assert "1001" in keys["body"] and "taro@test-shoji.example.jp" not in everything_visible_or_held(app)
        await pilot.press("escape")
        await wait_screen(pilot, ForgotKeysDoneScreen)

        await pilot.press("ctrl+o")
        await wait_screen(pilot, OperatorExitScreen)
        await type_into(pilot, "#pin", OPERATOR_PIN)
        pilot.app.screen.query_one("#pin-outbox", Button).focus()
        await pilot.press("enter")
        full = await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: "victim@example.jp" in outbox_options(full, "ob-recipients"))
        assert app.is_running, "the outbox button does not close the app"
        await pilot.press("escape")
        await wait_screen(pilot, ForgotKeysDoneScreen)
        scoped = await open_kiosk_outbox(pilot)
        assert not outbox_options(scoped, "ob-recipients"), "closing the operator's view ends it"
    assert query(tmp_path, "select outcome from audit where action = 'kiosk.operator_outbox'") == [{"outcome": "ok"}]


async def test_kiosk_login_with_a_password_shows_what_that_id_is_sent_from_then_on(app_factory, ctx, tmp_path):
    """A password login proves the login ID: what it is sent in this session shows, not what it was
    sent before, and not what goes to anyone else (a family member's invitation link)."""
    from support.services import register
    from support.screens import open_login, submit

    from bene_tui.core.clock import Clock
    from bene_tui.services import outbox
    from bene_tui.ui.screens.mypage import MyPageScreen

    register(ctx)  # taro@example.jp: its registration code was sent long before this session
    [earlier] = query(tmp_path, "select id from outbox where recipient = 'taro@example.jp'")
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab")  # the session begins with a person at the terminal
        real = world_ctx(tmp_path, Clock())
        with real.tx():
            before = outbox.send(real, "taro@example.jp", "notice", "ja", title="t", text="BEFORE-LOGIN")
        await open_login(pilot)
        await submit(pilot, "taro@example.jp", GOOD_PASSWORD)
        await wait_screen(pilot, MyPageScreen)
        with real.tx():
            mine = outbox.send(real, "taro@example.jp", "notice", "ja", title="t", text="AFTER-LOGIN")
            theirs = outbox.send(real, "hanako.family@example.jp", "invitation", "ja", link="https://x/y",
                                 name="花子", member_name="太郎", days=7)
        real.store.close()
        screen = await open_kiosk_outbox(pilot)
        assert outbox_options(screen, "ob-recipients") == ["taro@example.jp"]
        shown = outbox_options(screen, "ob-messages")
        assert str(mine["id"]) in shown and str(before["id"]) in shown, "since the session began"
        assert str(earlier["id"]) not in shown and str(theirs["id"]) not in shown

# -- no way out but the operator's --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ctrl+q", "ctrl+c", "ctrl+p"])
async def test_quit_keys_and_the_command_palette_do_nothing_in_kiosk(app_factory, key):
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press(key)
        await pilot.pause()
        await pilot.pause()
        assert app.return_code is None and app.is_running
        assert not isinstance(app.screen, CommandPalette)
        assert isinstance(app.screen, StartScreen)
        assert not app.use_command_palette


async def test_ctrl_q_does_quit_outside_kiosk(app_factory):
    """The kiosk test above could not fail if ctrl+q never quit at all: it does, in demo mode."""
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app.return_code == 0)


def set_operator_pin(tmp_path, clock, value=OPERATOR_PIN):
    ctx = world_ctx(tmp_path, clock)
    try:
        pin.set_pin(ctx, value)
    finally:
        ctx.store.close()


async def test_operator_pin_wrong_keeps_running_right_exits(app_factory, tmp_path, clock):
    set_operator_pin(tmp_path, clock)
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+o")
        dialog = await wait_screen(pilot, OperatorExitScreen)
        assert dialog.focused is dialog.query_one("#pin")
        await type_into(pilot, "#pin", "000000")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "PINが正しくありません" in screen_text(pilot))
        assert app.return_code is None and app.is_running
        assert dialog.query_one("#pin", Input).value == "", "a typed PIN does not stay in the field"

        await type_into(pilot, "#pin", "４９１-２７３８")  # full-width digits from a Japanese IME count
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.return_code == 0)
    outcomes = [r["outcome"] for r in query(tmp_path, "select outcome from audit where action = 'kiosk.operator_exit' order by id")]
    assert outcomes == ["refused", "ok"]


async def test_escape_closes_the_pin_dialog_and_the_kiosk_goes_on(app_factory, tmp_path, clock):
    set_operator_pin(tmp_path, clock)
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+o")
        await wait_screen(pilot, OperatorExitScreen)
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)
        assert app.is_running and app.return_code is None


async def test_without_a_pin_nobody_leaves(app_factory):
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+o")
        await wait_screen(pilot, OperatorExitScreen)
        await type_into(pilot, "#pin", OPERATOR_PIN)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "bene-tui set-pin" in screen_text(pilot))
        assert app.return_code is None


@pytest.mark.sqlite_only  # dumps the SQLite file
def test_pin_is_an_argon2_hash_in_the_secret_store_never_in_sqlite(world, tmp_path):
    pin.set_pin(world, OPERATOR_PIN)
    stored = json.loads((tmp_path / "secrets.json").read_text())[pin.SECRET_NAME]
    assert stored.startswith("$argon2id$") and OPERATOR_PIN not in stored
    dump = "\n".join(world.db.conn.iterdump())
    assert stored not in dump and OPERATOR_PIN not in dump
    assert pin.verify(world, OPERATOR_PIN) is True


def test_wrong_pins_are_throttled(world, clock):
    pin.set_pin(world, OPERATOR_PIN)
    keys = []
    for _ in range(6):
        with pytest.raises(registration.BeneError) as refused:
            pin.verify(world, "999999")
        keys.append(refused.value.key)
    assert keys[:4] == ["kiosk.pin_wrong"] * 4 and keys[4:] == ["error.throttled"] * 2
    with pytest.raises(registration.BeneError) as waiting:
        pin.verify(world, OPERATOR_PIN)  # even the right PIN waits its turn
    assert waiting.value.key == "error.throttled"
    clock.advance(pin.WAIT * 3)
    assert pin.verify(world, OPERATOR_PIN) is True


@pytest.mark.parametrize("bad, key", [("", "kiosk.pin_required"), ("12345", "kiosk.pin_too_short"),
                                      ("1" * 65, "kiosk.pin_too_long")])
def test_pin_rules(world, bad, key):
    with pytest.raises(registration.BeneError) as refused:
        pin.set_pin(world, bad)
    assert refused.value.key == key
    assert not pin.is_set(world)


def test_set_pin_command_asks_twice(monkeypatch, tmp_path, capsys):
    answers = iter(["24681357", "24681358"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["set-pin"]) == 1
    assert "differ" in capsys.readouterr().err
    assert not (tmp_path / "secrets.json").exists() or pin.SECRET_NAME not in (tmp_path / "secrets.json").read_text()

    answers = iter(["123", "123"])
    assert cli.main(["set-pin"]) == 1
    assert "at least 6" in capsys.readouterr().err

    answers = iter(["24681357", "24681357"])
    assert cli.main(["set-pin"]) == 0
    assert json.loads((tmp_path / "secrets.json").read_text())[pin.SECRET_NAME].startswith("$argon2id$")
    assert cli._kiosk_pin_ready()


def test_kiosk_will_not_start_without_a_pin(capsys):
    assert cli.main(["--mode", "kiosk"]) == 2
    assert "set-pin" in capsys.readouterr().err


def test_the_ends_of_every_flow_count_as_done():
    from bene_tui.ui.modes import is_done_screen
    from bene_tui.ui.screens import family, recovery

    for cls in (DoneScreen, recovery.ForgotIdDoneScreen, recovery.ResetDoneScreen, recovery.ForgotKeysDoneScreen,
                family.FamilyApprovedScreen, family.FamilyDoneScreen):
        assert is_done_screen(cls.__new__(cls)), cls.__name__
    for cls in (StartScreen, Step3Screen, family.FamilyInviteSentScreen, OutboxScreen):
        assert not is_done_screen(cls.__new__(cls)), cls.__name__


def test_mode_from_flag_or_environment_demo_by_default(monkeypatch):
    from bene_tui.ui.app import BeneApp

    assert BeneApp().mode == "demo" and BeneApp().modes.demo is not None
    monkeypatch.setenv("BENE_TUI_MODE", "kiosk")
    app = BeneApp()
    assert app.mode == "kiosk" and app.modes.kiosk is not None and app.modes.demo is None
    assert "ctrl+q" not in app._bindings.key_to_bindings and not app.use_command_palette
    assert BeneApp(mode="helpdesk").modes.kiosk is None  # the flag wins over the environment
