"""Snapshots of the start screen and registration steps 1–5 in Japanese, 120×40, fixed clock.

Helpdesk mode: the same screens as every mode, without the demo's live panel and clock (whose
"new message" highlight depends on wall time) or the kiosk's idle countdown. Regenerate after
a deliberate change of the screens with `python -m pytest tests/test_snapshots.py --snapshot-update`
and look at the pictures (snapshot_report.html) before committing them.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from bene_tui.ui.screens.registration import DoneScreen, Step2Screen, Step3Screen, Step4Screen
from bene_tui.ui.screens.start import StartScreen
from helpers import type_into, wait_for, wait_screen, messages_to
from support.screens import TARO, confirm_and_complete, do_step1, fill_step2, open_step1, type_code

pytestmark = pytest.mark.sqlite_only  # the screens are the same on both stores: one set of pictures

SIZE = (120, 40)
LOGIN = "taro@example.jp"


def make(app_factory):
    return app_factory(lang="ja", mode="helpdesk")


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    for field in pilot.app.screen.query(Input):  # the cursor shown steadily: the picture must not
        field.cursor_blink = False  # depend on how long the machine took to get here
    await pilot.pause()


def test_start_screen(app_factory, snap_compare):
    async def run_before(pilot):
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: pilot.app.ctx is not None, what="the database")
        await _settle(pilot)

    assert snap_compare(make(app_factory), terminal_size=SIZE, run_before=run_before)


def test_step1_with_the_organisations_labels(app_factory, snap_compare):
    async def run_before(pilot):
        screen = await open_step1(pilot)
        await type_into(pilot, "#group_id", TARO[0])
        await wait_for(pilot, lambda: "社員番号" in str(screen.query_one("#key1-label").render()), what="labels")
        await type_into(pilot, "#key1", TARO[1])
        await _settle(pilot)

    assert snap_compare(make(app_factory), terminal_size=SIZE, run_before=run_before)


def test_step2_login_id_and_password(app_factory, snap_compare):
    async def run_before(pilot):
        await open_step1(pilot)
        await do_step1(pilot, *TARO)
        await wait_screen(pilot, Step2Screen)
        await _settle(pilot)

    assert snap_compare(make(app_factory), terminal_size=SIZE, run_before=run_before)


def test_step3_verification_code(app_factory, snap_compare, tmp_path):
    async def run_before(pilot):
        await open_step1(pilot)
        await do_step1(pilot, *TARO)
        await wait_screen(pilot, Step2Screen)
        await fill_step2(pilot, LOGIN)
        await wait_screen(pilot, Step3Screen)
        await _settle(pilot)

    assert snap_compare(make(app_factory), terminal_size=SIZE, run_before=run_before)


def test_step4_name_confirmation(app_factory, snap_compare, tmp_path):
    async def run_before(pilot):
        await open_step1(pilot)
        await do_step1(pilot, *TARO)
        await wait_screen(pilot, Step2Screen)
        await fill_step2(pilot, LOGIN)
        await wait_screen(pilot, Step3Screen)
        await type_code(pilot, messages_to(tmp_path, LOGIN)[-1]["code"])
        screen = await wait_screen(pilot, Step4Screen)
        await wait_for(pilot, lambda: "山田 太郎" in str(screen.query_one("#name", Static).render()), what="name")
        await _settle(pilot)

    assert snap_compare(make(app_factory), terminal_size=SIZE, run_before=run_before)


def test_step5_done_and_first_time_benefit(app_factory, snap_compare, tmp_path):
    async def run_before(pilot):
        await open_step1(pilot)
        await do_step1(pilot, *TARO)
        await wait_screen(pilot, Step2Screen)
        await fill_step2(pilot, LOGIN)
        await wait_screen(pilot, Step3Screen)
        await type_code(pilot, messages_to(tmp_path, LOGIN)[-1]["code"])
        await confirm_and_complete(pilot)
        await wait_screen(pilot, DoneScreen)
        await _settle(pilot)

    assert snap_compare(make(app_factory), terminal_size=SIZE, run_before=run_before)
