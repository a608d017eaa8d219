"""What the screens share — the title bar, the key bar, the terms box, the buttons — and the start
screen's service choice, through the real screens."""

from __future__ import annotations

import asyncio
import gc
import weakref

from rich.cells import cell_len
from textual.widgets import Button as TextualButton

from bene_tui.ui.screens.outbox import OutboxScreen
from bene_tui.ui.screens.registration import Step1Screen
from bene_tui.ui.screens.start import ServiceMenu, StartScreen
from bene_tui.ui.widgets.button import Button
from bene_tui.ui.widgets.chrome import AppHeader, KeyBar
from bene_tui.ui.widgets.demo_clock import DemoClock
from helpers import press_button, query, wait_for, wait_screen
from support.screens import TARO, do_step1, to_step2

SIZE = (120, 40)


def bar_text(app) -> str:
    return " ".join(str(app.screen.query_one(KeyBar).render()).split())


async def test_key_bar_shows_the_keys_in_the_language_and_a_click_presses_one(app_factory):
    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: "F2 受信箱" in bar_text(app) and "F3 検索" in bar_text(app), what="the keys")
        assert "戻る" not in bar_text(app)  # nothing to go back to from the start screen
        bar = start.query_one(KeyBar)
        x = next(first for _line, first, _end, key, _on in bar.spans if key == "f2")
        await pilot.click(KeyBar, offset=(x + 1, 0))
        await wait_screen(pilot, OutboxScreen)
        await wait_for(pilot, lambda: "esc 戻る" in bar_text(app), what="戻る on the outbox")
        await pilot.press("f4")
        await wait_for(pilot, lambda: "F2 Inbox" in bar_text(app), what="English keys")
        assert app.screen.query_one("#app-title").render().plain == "Bene Account"


async def test_demo_clock_shows_in_the_title_bar_in_demo_mode_or_once_the_store_clock_moved(app_factory):
    for mode, clock in (("demo", True), ("helpdesk", False), ("kiosk", False)):
        app = app_factory(lang="ja", mode=mode)
        async with app.run_test(size=SIZE) as pilot:
            start = await wait_screen(pilot, StartScreen)
            header = start.query_one(AppHeader)
            await pilot.pause(0.1)
            assert header.query_one(DemoClock).display is clock, mode
            assert header.query_one("#app-title").render().plain == "ベネアカウント"
            # demo mode: the compact bar (eleven keys on 120 columns) holds the demo's reset key
            assert ("デモ初期化" in bar_text(app)) is (mode == "demo"), mode


async def test_service_chosen_on_the_start_screen_is_the_one_registered_for(app_factory, tmp_path):
    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        button = start.query_one("#service")
        assert "ベネフィット・ステーション" in str(button.label)
        button.focus()
        await pilot.press("enter")
        menu = await wait_screen(pilot, ServiceMenu)
        await pilot.press("escape")  # changed nothing
        await wait_screen(pilot, StartScreen)
        assert app.session.service_id == "benefit_station"

        await press_button(pilot, button)
        menu = await wait_screen(pilot, ServiceMenu)
        assert menu.query_one("#service-menu").highlighted == 0  # the current one
        await pilot.press("down", "enter")
        await wait_screen(pilot, StartScreen)
        assert app.session.service_id == "bene_learning"
        assert "ベネ・ラーニング" in str(start.query_one("#service").label)

        start.query_one("#register").focus()
        await pilot.press("enter")
        await do_step1(pilot, *TARO)
        await wait_for(pilot, lambda: query(tmp_path, "select service_id from flows where kind = 'enrol'"),
                       what="the registration flow")
        assert query(tmp_path, "select service_id from flows where kind = 'enrol'") == [{"service_id": "bene_learning"}]


async def test_terms_box_shows_every_character_and_scrolls_by_keys(app_factory):
    for lang in ("ja", "en"):
        app = app_factory(lang=lang, mode="helpdesk")
        async with app.run_test(size=SIZE) as pilot:
            step2 = await to_step2(pilot)
            box = step2.query_one("#terms")
            await wait_for(pilot, lambda: box.lines, what="the terms wrapped")
            width = box.scrollable_content_region.width
            assert all(cell_len(line) <= width for line in box.lines)
            assert "".join("".join(box.lines).split()) == "".join(box.text.split())  # nothing lost at a wrap

            box.focus()
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: box.scroll_offset.y > 0, what="scrolled")
            top = box.scroll_offset.y
            assert box.render_line(0).text.rstrip() == box.lines[top].rstrip()
            await pilot.press("enter")  # on to 「規約に同意する」
            await wait_for(pilot, lambda: step2.focused is step2.query_one("#agree"), what="the agree box focused")


async def test_buttons_are_the_apps_own_and_kiosk_styles_come_only_with_kiosk_mode(app_factory, tmp_path):
    """Every button is bene_tui's Button (Textual's, with only the CSS the app uses), and ui/kiosk.tcss
    is loaded in kiosk mode alone: its framed buttons there, Textual's look elsewhere."""
    frames = {}
    for mode in ("kiosk", "demo"):
        app = app_factory(mode=mode)
        async with app.run_test(size=SIZE) as pilot:
            start = await wait_screen(pilot, StartScreen)
            buttons = list(start.query(TextualButton))
            assert buttons and all(type(b) is Button for b in buttons)
            assert not any("_button.py" in str(path) for path, _ in app.stylesheet.source)  # Textual's 7 KB not parsed
            assert any("kiosk.tcss" in str(path) for path, _ in app.stylesheet.source) == (mode == "kiosk")
            frames[mode] = start.query_one("#login", Button).styles.border_left[0]
            await pilot.press("enter")  # and the flow's buttons too
            step1 = await wait_screen(pilot, Step1Screen)
            assert all(type(b) is Button for b in step1.query(TextualButton))
    assert frames == {"kiosk": "tall", "demo": ""}


async def test_a_screen_left_behind_takes_its_title_bar_with_it(app_factory, people_settle):
    """Screens come and go all day on a kiosk: nothing may keep the title bar of a closed screen
    (it once stayed registered as a watcher of the app's title) or its widgets' render caches
    alive, or every full garbage collection walks them all."""
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        left: list[weakref.ref] = []
        for _ in range(3):
            start.query_one("#register", Button).press()
            step1 = await wait_screen(pilot, Step1Screen)
            left += [weakref.ref(step1.query_one(AppHeader)), weakref.ref(step1.query_one(DemoClock))]
            # and the render cache of every widget of the screen (Textual kept up to 1,024 of them)
            left += [weakref.ref(w._styles_cache) for w in step1.query("*")]
            del step1
            await pilot.press("escape")
            await wait_screen(pilot, StartScreen)
        # asyncio drops a stopped timer's handle (the clock ticks each second) only when it falls due
        await asyncio.sleep(1.1)
        gc.collect()
        assert [r for r in left if r() is not None] == []
        await app.set_lang("en")  # the title still reaches the bars on show
        assert "Bene Account" in str(app.screen.query_one("#app-title").render())


async def test_full_collections_come_between_screen_changes_not_during_them(app_factory, monkeypatch, people_settle):
    """core/runtime_tricks.py's QuietCollector: while the app runs Python's automatic collector is off; the app collects
    everything once a screen has settled (SETTLE after it was shown, never between the press and
    then), and switches the collector back on when it closes. Timed on the clock, not by polling:
    a busy machine may take longer than SETTLE to report the screen."""
    import time

    from bene_tui.core import runtime_tricks as quiet_gc

    events: list[tuple[str, float]] = []
    real_collect = gc.collect
    monkeypatch.setattr(quiet_gc.gc, "collect",
                        lambda generation=2: events.append(("collect", time.monotonic())) or real_collect(generation))
    assert gc.isenabled()
    app = app_factory()
    real_settle = app.quiet_gc.settle
    monkeypatch.setattr(app.quiet_gc, "settle", lambda: events.append(("settle", time.monotonic())) or real_settle())
    async with app.run_test(size=SIZE) as pilot:
        start = await wait_screen(pilot, StartScreen)
        assert not gc.isenabled()
        await asyncio.sleep(quiet_gc.QuietCollector.SETTLE + 0.2)
        for press in (lambda: start.query_one("#register", Button).press(), lambda: app.pop_screen()):
            events.clear()
            pressed = time.monotonic()
            press()
            await wait_for(pilot, lambda: [e for e in events if e[0] == "collect"], timeout=quiet_gc.QuietCollector.SETTLE + 5,
                           what="a full collection")
            settled = [at for kind, at in events if kind == "settle"]
            first_collect = next(at for kind, at in events if kind == "collect")
            assert settled and pressed <= settled[0] <= first_collect, events  # the screen shown, then collected
            last_shown = max(at for at in settled if at <= first_collect)
            assert first_collect - last_shown >= quiet_gc.QuietCollector.SETTLE * 0.9, "collected only once it had settled"
    assert gc.isenabled()
