"""Kiosk mode (issue 5, SPEC §1 and §4): the idle wipe, the return after a finished flow, the
outbox limited to this session's recipients, no quit keys, and the operator PIN.

Idleness is measured on a monotonic clock the tests replace (`app.modes.monotonic`), then the
tests call the kiosk's once-a-second `tick()` themselves: no test sleeps 90 seconds.
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref

import pytest
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Button, Input, Label, OptionList, Static

from bene_tui import cli, pin, registration
from bene_tui.context import open_context
from bene_tui.modes import SESSION_STATE
from bene_tui.screens.base import BaseScreen
from bene_tui.screens.kiosk import CountdownScreen, OperatorExitScreen
from bene_tui.screens.outbox import OutboxScreen
from bene_tui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.screens.start import StartScreen
from bene_tui.secret_store import SecretStore
from bene_tui.widgets.idle_countdown import IdleCountdown
from conftest import GOOD_PASSWORD, make_settings
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
    app = app_factory(mode="kiosk", **kw)
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


async def to_done(pilot, tmp_path) -> DoneScreen:
    await to_step3(pilot)
    code = query(tmp_path, "select code from outbox where recipient = ? order by id desc", [TARO_LOGIN])[0]["code"]
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
        elif depth < 3 and isinstance(value, dict):
            for k, v in value.items():
                collect(k, depth + 1)
                collect(v, depth + 1)

    for screen in app.screen_stack:
        for node in [screen, *screen.walk_children(with_self=False)]:
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
        app.account_id = 4242  # as the login screen sets it
        assert app.session_recipients == [TARO_LOGIN]
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
        assert app.session_recipients == [] and app.account_id is None
        assert app.service_id == "benefit_station"

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
        assert len(app.screen_stack) == 2 and app.session_recipients == []
        assert TARO_LOGIN not in everything_visible_or_held(app)
    assert query(tmp_path, "select status from accounts where login_id = ?", [TARO_LOGIN]) == [{"status": "active"}]


def test_session_state_covers_what_the_app_keeps(app_factory):
    """Every per-person attribute the app defines is reset by the wipe."""
    app = app_factory(mode="kiosk")
    for name in ("session_recipients", "account_id", "service_id"):
        assert name in SESSION_STATE and hasattr(app, name)


# -- the outbox of a kiosk session ----------------------------------------------------------------


async def test_kiosk_outbox_shows_only_this_sessions_recipients(app_factory, tmp_path, clock):
    ctx = world_ctx(tmp_path, clock)
    other = registration.start(ctx, "TS000001", "1003", "19781120").flow_id
    other_message = registration.submit_credentials(ctx, other, "email", "hanako.other@example.jp",
                                                    GOOD_PASSWORD, True, "ja")
    ctx.store.close()

    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f2")
        await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: "まだメッセージはありません" in screen_text(pilot))
        assert "hanako.other" not in everything_visible_or_held(app)
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)

        await to_step3(pilot)
        await pilot.press("f2")
        outbox_screen = await wait_screen(pilot, OutboxScreen)
        recipients = outbox_screen.query_one("#ob-recipients", OptionList)
        await wait_for(pilot, lambda: recipients.option_count == 1)
        assert recipients.get_option_at_index(0).id == TARO_LOGIN
        mine = query(tmp_path, "select code from outbox where recipient = ?", [TARO_LOGIN])[0]["code"]
        await wait_for(pilot, lambda: str(outbox_screen.query_one("#ob-code").value) == mine)
        held = everything_visible_or_held(app)
        assert "hanako.other" not in held and other_message["code"] not in held

    # The same outbox outside kiosk mode shows everyone: the filter is the kiosk's doing.
    demo = app_factory(mode="demo")
    async with demo.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f2")
        outbox_screen = await wait_screen(pilot, OutboxScreen)
        recipients = outbox_screen.query_one("#ob-recipients", OptionList)
        await wait_for(pilot, lambda: recipients.option_count == 2)


async def test_kiosk_outbox_hides_what_was_sent_to_an_id_before_this_session_entered_it(app_factory, tmp_path, clock):
    """A login ID typed now does not open the messages an earlier person received at it."""
    from bene_tui import outbox

    ctx = world_ctx(tmp_path, clock)
    with ctx.tx():
        earlier = outbox.send(ctx, TARO_LOGIN, "notice", "ja", title="以前のお知らせ", text="EARLIER-PRIVATE-NOTE")
    ctx.store.close()
    clock.advance(60)

    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await to_step3(pilot)
        await pilot.press("f2")
        outbox_screen = await wait_screen(pilot, OutboxScreen)
        messages = outbox_screen.query_one("#ob-messages", OptionList)
        await wait_for(pilot, lambda: messages.option_count == 1)
        assert messages.get_option_at_index(0).id != str(earlier["id"])
        assert "EARLIER-PRIVATE-NOTE" not in everything_visible_or_held(app)
        assert "EARLIER-PRIVATE-NOTE" not in screen_text(pilot)


class _TypedLoginScreen(BaseScreen):
    """A screen where a person types a contact and a password, then a service call succeeds."""

    def compose(self):
        yield Input(id="contact")
        yield Input(id="secret", password=True)
        yield Input(id="other")


async def test_a_successful_service_call_remembers_the_contacts_typed_on_its_screen(app_factory):
    app, _ = kiosk_app(app_factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await app._ctx_ready.wait()
        screen = _TypedLoginScreen()
        await app.push_screen(screen)
        screen.query_one("#contact", Input).value = "０９０－１１１１－２２２２"
        screen.query_one("#secret", Input).value = "someone.else@example.jp"
        screen.query_one("#other", Input).value = "1001"

        def refuse(ctx):
            raise registration.BeneError("error.unexpected")

        assert await screen.run_service(refuse) is None
        assert app.session_recipients == [], "a refused call remembers nothing"
        assert await screen.run_service(lambda ctx: True) is True
        assert app.session_recipients == ["+819011112222"], "the typed contact, never a password field"


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
    from bene_tui.modes import is_done_screen
    from bene_tui.screens import family, recovery

    for cls in (DoneScreen, recovery.ForgotIdDoneScreen, recovery.ResetDoneScreen, recovery.ForgotKeysDoneScreen,
                family.FamilyApprovedScreen, family.FamilyDoneScreen):
        assert is_done_screen(cls.__new__(cls)), cls.__name__
    for cls in (StartScreen, Step3Screen, family.FamilyInviteSentScreen, OutboxScreen):
        assert not is_done_screen(cls.__new__(cls)), cls.__name__


def test_mode_from_flag_or_environment_demo_by_default(monkeypatch):
    from bene_tui.app import BeneApp

    assert BeneApp().mode == "demo" and BeneApp().modes.demo is not None
    monkeypatch.setenv("BENE_TUI_MODE", "kiosk")
    app = BeneApp()
    assert app.mode == "kiosk" and app.modes.kiosk is not None and app.modes.demo is None
    assert "ctrl+q" not in app._bindings.key_to_bindings and not app.use_command_palette
    assert BeneApp(mode="helpdesk").modes.kiosk is None  # the flag wins over the environment
