"""Small terminals (issue 15): every error in view when it appears, buttons never clipped, the key
bar fitting every key, at 80×24 and 120×40 in both languages."""

from __future__ import annotations

import html
import re

import pytest
from rich.cells import cell_len
from textual.widgets import Button

from bene_tui.ui.screens.login import LoginScreen
from helpers import type_into, wait_for, wait_screen
from support.services import register

SIZES = [(80, 24), (120, 40)]
GRID = [(lang, size) for lang in ("ja", "en") for size in SIZES]
GRID_IDS = [f"{lang}-{w}x{h}" for lang, (w, h) in GRID]


def in_view(widget) -> bool:
    """The widget wholly inside its scroll container's visible area and the screen."""
    container = widget.parent
    while container is not None and not getattr(container, "is_scrollable", False):
        container = container.parent
    visible = widget.screen.region
    if container is not None:
        visible = visible.intersection(container.content_region)
    return widget.region.width > 0 and visible.contains_region(widget.region)


def label_whole(button: Button) -> bool:
    """The button's label fits inside it (not cut at the edge of the button or of the screen)."""
    return cell_len(str(button.label)) <= button.content_region.width


@pytest.mark.parametrize("lang,size", GRID, ids=GRID_IDS)
async def test_case1_and_both_its_buttons_in_view_after_a_wrong_password(app_factory, ctx, lang, size):
    register(ctx)
    app = app_factory(lang=lang, mode="helpdesk")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="the database")
        app.push_screen(LoginScreen())
        login = await wait_screen(pilot, LoginScreen)
        await type_into(pilot, "#login-id", "taro@example.jp")
        await type_into(pilot, "#login-password", "not-the-password-9")
        await pilot.press("enter")
        await wait_for(pilot, lambda: login.case == "case1", what="Case 1")
        text = login.query_one("#case1-text")
        buttons = list(login.query_one("#case1").query(Button))
        assert len(buttons) == 2
        flow = login.query_one(".flow")
        await wait_for(pilot, lambda: in_view(text) and all(in_view(b) for b in buttons), timeout=5,
                       what=f"Case 1 in view: {text.region} {[b.region for b in buttons]} in {login.region}"
                            f" {flow.region} {flow.scroll_y}/{flow.max_scroll_y} {flow.virtual_size}")
        assert all(label_whole(b) for b in buttons), [(str(b.label), b.content_region) for b in buttons]


# -- the key bar -------------------------------------------------------------------------------

def bar_lines(bar) -> list[str]:
    from textual.geometry import Region

    width, height = bar.outer_size
    return [strip.text for strip in bar.render_lines(Region(0, 0, width, height))]


@pytest.mark.parametrize("mode", ["demo", "helpdesk", "kiosk"])
@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_key_bar_shows_every_key_whole_at_any_width_from_80(app_factory, lang, mode):
    from bene_tui.ui.screens.registration import Step1Screen
    from bene_tui.ui.widgets.chrome import KeyBar

    app = app_factory(lang=lang, mode=mode)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="the database")
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        for width in (80, 100, 120):
            await pilot.resize_terminal(width, 30)
            bar = app.screen.query_one(KeyBar)
            await wait_for(pilot, lambda: bar.size.width == width, timeout=5, what=f"the bar at {width}")
            await pilot.pause()
            lines = bar_lines(bar)
            assert all(cell_len(line.rstrip()) <= width for line in lines), lines
            keys = bar.keys()
            assert len(keys) >= 3
            for _key, shown, description, _enabled in keys:
                words = f"{shown} {description}".split()
                assert any(" ".join(words) in " ".join(line.split()) for line in lines), (shown, description, lines)
            assert app.screen.query_one(KeyBar).region.bottom == app.screen.region.bottom


# -- Textual's own strings in the Japanese UI --------------------------------------------------

async def test_an_open_select_and_ctrl_keys_show_no_english_in_japanese(app_factory):
    import re

    from textual.command import CommandPalette
    from textual.widgets import Select

    from bene_tui.ui.widgets.chrome import KeyBar

    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="the database")
        app.push_screen(LoginScreen())
        login = await wait_screen(pilot, LoginScreen)
        select = login.query_one("#login-service", Select)
        select.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: select.expanded, what="the menu open")
        bar = login.query_one(KeyBar)
        await wait_for(pilot, lambda: any(k == "escape" for k, *_ in bar.keys()), what="the menu's key")
        labels = [description for _k, _shown, description, _on in bar.keys()]
        assert "メニューを閉じる" in labels
        assert not [d for d in labels if re.search(r"[A-Za-z]{3}", d) and d != "English"], labels
        await pilot.press("escape")
        await pilot.press("ctrl+p")  # Textual's palette: its commands are English only
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app._notifications, what="the quit hint")
        shown = [(n.title, n.message) for n in app._notifications]
        assert all(not re.search(r"[A-Za-z]{4}", f"{t} {m}".replace("ctrl", "")) for t, m in shown), shown


# -- helpdesk at 200×50 and 120×40: panels side by side, dialogs centred, messages by their buttons --

WIDE = [(200, 50), (120, 40)]


def centre(region):
    return region.x + region.width / 2, region.y + region.height / 2


async def family_settings(pilot, sctx):
    from support.services import invite, member
    from support.screens import settings_of

    account_id = member(sctx)
    invite(sctx, account_id)
    return await settings_of(pilot, account_id)


@pytest.mark.parametrize("size", WIDE, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_helpdesk_panels_side_by_side_and_the_scroll_bar_beside_its_box(app_factory, sctx, size):
    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=size) as pilot:
        settings = await family_settings(pilot, sctx)
        flow, box = settings.query_one(".flow"), settings.query_one(".box")
        await pilot.pause()
        # The main panel's scroll bar (its last two columns) right beside the box, not at the far edge.
        assert flow.region.right - box.region.right <= 4, (flow.region, box.region)
        await pilot.press("f1")
        panel = await wait_for(pilot, lambda: settings.query("#guide-panel") and settings.query_one("#guide-panel"),
                               what="the guide panel")
        await wait_for(pilot, lambda: panel.region.width > 0, what="the guide panel laid out")
        await pilot.pause()
        assert 0 <= panel.region.x - box.region.right <= 4, (box.region, panel.region)
        assert flow.region.right <= panel.region.x
        assert abs((flow.region.x - 0) - (size[0] - panel.region.right)) <= 2  # the pair centred


@pytest.mark.parametrize("size", WIDE, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_helpdesk_dialogs_are_centred(app_factory, sctx, size):
    from textual.containers import Vertical

    from bene_tui.ui.screens import helpdesk as hd
    from bene_tui.ui.screens.dialog import ConfirmDialog

    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=size) as pilot:
        settings = await family_settings(pilot, sctx)
        settings.query_one("#cancel", Button).press()
        dialog = await wait_screen(pilot, ConfirmDialog)
        for screen in (dialog, None):
            if screen is None:
                app.pop_screen()
                app.push_screen(hd.OperatorScreen())
                screen = await wait_screen(pilot, hd.OperatorScreen)
            await pilot.pause()
            box = screen.query_one(Vertical)
            (x, y), (cx, cy) = centre(box.region), centre(screen.region)
            assert abs(x - cx) <= 1 and abs(y - cy) <= 1, (type(screen).__name__, box.region, screen.region)


@pytest.mark.parametrize("size", WIDE, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_resend_refusal_shows_beside_the_button_pressed(app_factory, sctx, size):
    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=size) as pilot:
        settings = await family_settings(pilot, sctx)
        resend = settings.query_one("#resend", Button)
        resend.press()  # a minute has not passed since the invitation was sent
        error = await wait_for(pilot, lambda: next((w for w in settings.query(".field-error, .form-error")
                                                    if str(w.content)), None), what="the refusal")
        await pilot.pause()
        assert "再送信" in str(error.content) or "秒" in str(error.content), str(error.content)
        assert 0 <= error.region.y - resend.region.bottom <= 1, (resend.region, error.region)
        assert in_view(error)


async def test_the_relationship_list_shows_every_label_whole_at_80_columns(app_factory, sctx):
    """Textual draws a double-width character that straddles the edge of a widget underneath as
    a blank: 「配偶者」 showed as 「配偶」 over a label as wide as its text."""
    import html
    import re

    from textual.widgets import Select
    from textual.widgets._select import SelectOverlay

    from bene_tui.ui.screens.family import FamilyInviteScreen
    from support.services import member

    account_id = member(sctx)
    app = app_factory(lang="ja", mode="helpdesk")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="the database")
        app.push_screen(FamilyInviteScreen(account_id))
        form = await wait_screen(pilot, FamilyInviteScreen)
        select = form.query_one("#relationship", Select)
        await wait_for(pilot, lambda: len(select._options) > 2, what="the relationships")
        select.focus()
        await pilot.press("enter")
        overlay = await wait_for(pilot, lambda: app.screen.query(SelectOverlay).first(), what="the list")
        await wait_for(pilot, lambda: overlay.region.height > 2, what="the list open")
        await pilot.pause()
        shown = {html.unescape(text).strip("\xa0 ") for text in re.findall(r">([^<]*)</text>", app.export_screenshot())}
        labels = [str(o.prompt) for o in overlay.options][: overlay.region.height - 2]
        assert all(label in shown for label in labels), [label for label in labels if label not in shown]


# -- the helpdesk's action rows at 80 columns --------------------------------------------------

def whole_on_screen(widget) -> bool:
    """Inside the screen's width, its label not cut."""
    return widget.region.width > 0 and widget.region.right <= widget.screen.region.right and label_whole(widget)


@pytest.mark.parametrize("lang,size", GRID, ids=GRID_IDS)
async def test_the_helpdesk_person_views_action_buttons_stack_rather_than_clip(app_factory, sctx, lang, size):
    from bene_tui.core.errors import BeneError
    from bene_tui.services import auth, recovery
    from support.screens import person_page
    from support.services import invite, member

    account_id = member(sctx)
    invite(sctx, account_id)
    with pytest.raises(BeneError):  # a failure to clear: 「ロック解除」 offered too
        auth.login(sctx, "benefit_station", "taro@example.jp", "not-the-password")
    recovery.start_reset(sctx, "taro@example.jp")  # and 「コードを再送信」: three harmless actions in a row
    app = app_factory(lang=lang, mode="helpdesk")
    app.operator = "佐々木"
    async with app.run_test(size=size) as pilot:
        person = await person_page(pilot, app, account_id, "#privacy-erase")
        rows = [person.query_one(f"#{row}") for row in ("hd-actions", "hd-privacy", "hd-danger")]

        def buttons():
            return [b for row in rows for b in row.query(Button)]

        assert {b.id for b in buttons()} >= {"act-0", "act-1", "act-2", "act-3", "privacy-export", "privacy-erase"}
        for step in ("shown", "after F4"):  # the other language's labels are as long or longer
            if step == "after F4":
                before = str(person.query_one("#act-0", Button).label)
                await pilot.press("f4")
                await wait_for(pilot, lambda: person.query("#act-0") and str(
                    person.query_one("#act-0", Button).label) != before, what="the other language's labels")
            await pilot.pause()
            await wait_for(pilot, lambda: all(whole_on_screen(b) for b in buttons()), timeout=5,
                           what=f"every button whole {step}: {[(str(b.label), b.region) for b in buttons()]}")
            assert all(row.region.right <= person.region.right for row in rows)


# -- the kiosk's start screen ------------------------------------------------------------------

@pytest.mark.parametrize("lang,size", GRID, ids=GRID_IDS)
async def test_the_kiosk_start_screen_fits_the_terminals_width(app_factory, lang, size):
    from bene_tui.ui.screens.start import StartScreen

    app = app_factory(lang=lang, mode="kiosk")
    async with app.run_test(size=size) as pilot:
        start = await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.ctx is not None, what="the database")
        await pilot.pause()
        box = start.query_one("#start-box")
        outside = [(w, w.region) for w in box.query("*").results() if w.display and w.region.right > size[0]]
        assert box.region.right <= size[0] and not outside, (box.region, outside)
        assert all(label_whole(b) for b in box.query(Button)), [(str(b.label), b.content_region) for b in box.query(Button)]
        assert in_view(box.query_one(".title")) and in_view(box.query_one("#register"))
        # all of it in view without scrolling: every way in, and the service choice
        assert all(in_view(b) for b in box.query(Button)), [(str(b.label), b.region) for b in box.query(Button)]
        assert box.scroll_y == 0 and in_view(box.query_one("#service"))
        if size == (120, 40):  # big and calm where there is room: no narrower than before
            assert box.region.width == 90


# -- 運用状況 at 80 columns -----------------------------------------------------------------------

@pytest.mark.parametrize("lang,size", GRID, ids=GRID_IDS)
async def test_the_operations_screen_fits_its_filters_and_charts_at_any_width_from_80(app_factory, lang, size):
    """The four filters and 「表示」 stay on screen (two rows below 110 columns), the button level with
    the fields, and each chart keeps room to draw its bars (it stands above its numbers when narrow)."""
    from textual_plotext import PlotextPlot

    from bene_tui.ui.screens.operations import OperationsScreen
    from bene_tui.ui.screens.start import StartScreen

    app = app_factory(lang=lang, mode="helpdesk")
    async with app.run_test(size=size) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+t")
        screen = await wait_screen(pilot, OperationsScreen)
        await wait_for(pilot, lambda: screen.data is not None, what="report loaded")
        await pilot.pause()
        fields = [screen.query_one(f"#{name}") for name in ("since", "until", "org", "terminal")]
        show = screen.query_one("#ops-show", Button)
        assert all(f.region.width > 0 and f.region.right <= size[0] for f in fields), [f.region for f in fields]
        assert whole_on_screen(show), show.region
        assert show.region.y == fields[-1].region.y  # level with the field beside it
        for chart in screen.query(PlotextPlot):
            chart.scroll_visible(animate=False)
            await pilot.pause()
            assert chart.region.height >= 8 and chart.region.width >= 40 and chart.region.right <= size[0], chart.region


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("size", [(120, 40), (160, 45)])
async def test_a_provisional_persons_resend_names_the_whole_login_id(app_factory, sctx, lang, size):
    """「認証コードを再送信する(login ID)」 with a login ID of everyday length: the label is never cut, and
    not when the button has the focus either (Textual 8.2 trims the outline's cell off the label by
    characters, not cells: a Japanese label filling its button lost its last quarter)."""
    from bene_tui.services import registration
    from support.screens import person_page
    from support.world import GOOD_PASSWORD

    flow_id = registration.start(sctx, "TS000001", "1001", "19850401").flow_id
    registration.submit_credentials(sctx, flow_id, "email", "taro.walk@example.jp", GOOD_PASSWORD, True, "ja")
    account_id = sctx.db.execute("select account_id from flows where id = ?", [flow_id]).fetchone()[0]
    app = app_factory(lang=lang, mode="helpdesk")
    app.operator = "佐々木"
    async with app.run_test(size=size) as pilot:
        person = await person_page(pilot, app, account_id, "#act-0")
        resend = person.query_one("#act-0", Button)
        assert "taro.walk@example.jp" in str(resend.label)
        await pilot.pause()
        await wait_for(pilot, lambda: whole_on_screen(resend), timeout=5,
                       what=f"the label whole: {str(resend.label)!r} in {resend.content_region}")
        resend.focus()
        await pilot.pause()
        assert app.focused is resend and resend.styles.outline_left[0] == "tall"
        drawn = {html.unescape(text).replace("\xa0", " ").strip()
                 for text in re.findall(r">([^<]*)</text>", app.export_screenshot())}
        assert str(resend.label) in drawn, "focused (bars at both ends), the label still whole"
