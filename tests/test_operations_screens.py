"""運用状況 / Operations through the real screens (helpdesk mode, ctrl+t), at 120×40."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from bene_tui.core.i18n import t
from bene_tui.ui.screens.operations import OperationsScreen
from bene_tui.ui.screens.start import StartScreen
from helpers import type_into, wait_for, wait_screen
from support.stuck_world import _stuck_world


async def _open(pilot, app) -> OperationsScreen:
    await wait_screen(pilot, StartScreen)
    await pilot.press("ctrl+t")
    screen = await wait_screen(pilot, OperationsScreen)
    await wait_for(pilot, lambda: screen.data is not None, what="report loaded")
    return screen


def _cell(table: DataTable, row: str, column: int = 1) -> str:
    return str(table.get_row(row)[column])


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_operations_screen_shows_the_counts_and_charts(app_factory, ctx, clock, lang):
    app = app_factory(mode="helpdesk", lang=lang)
    _stuck_world(ctx, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot, app)
        totals = screen.query_one("#ops-totals", DataTable)
        expected = {"started": "4", "step2": "2", "code_entered": "1", "completed": "1", "dropped_step1": "2",
                    "code_sent": "3", "codes_not_entered": "2", "step1_refused": "2", "lockouts": "1",
                    "resets": "1", "linked": "1", "family_invited": "1", "family_approved": "1", "family_registered": "0"}
        for metric, value in expected.items():
            assert _cell(totals, metric) == value, metric
            assert _cell(totals, metric, 0) == t(lang, f"ops.metric.{metric}")
        days = screen.query_one("#ops-days-table", DataTable)
        assert [_cell(days, d, 1) for d in ("2026-04-02", "2026-04-01")] == ["1", "3"]
        median = str(screen.query_one("#ops-median", Static).render())
        assert median.startswith(t(lang, "ops.median", value="")[:8])
        plots = list(screen.query(PlotextPlot))
        assert [p.id for p in plots] == ["ops-funnel", "ops-days"]
        assert all(p.size.width > 20 and p.size.height > 5 for p in plots)
        # One organisation only: the numbers follow the filter.
        await type_into(pilot, "#org", "TS000002")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.data["org"] == "TS000002", what="filtered")
        assert _cell(totals, "started") == "1" and _cell(totals, "completed") == "0"
        # F4: the same numbers in the other language, the filter kept.
        other = "en" if lang == "ja" else "ja"
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.lang == other and _cell(app.screen.query_one("#ops-totals", DataTable),
                                                                    "started", 0) == t(other, "ops.metric.started"),
                       what="relabelled")
        assert _cell(app.screen.query_one("#ops-totals", DataTable), "started") == "1"
        assert len(app.screen.query(PlotextPlot)) == 2


async def test_a_bad_date_is_named_beside_its_field(app_factory):
    app = app_factory(mode="helpdesk", lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot, app)
        for bad in ("2026-13-40", "[b]"):
            await type_into(pilot, "#since", bad)
            await pilot.press("enter")
            error = screen.query_one("#since-error", Static)
            await wait_for(pilot, lambda: str(error.render()), what="date error")
            assert str(error.render()) == t("en", "ops.error.date")


async def test_ctrl_t_opens_nothing_outside_helpdesk(app_factory):
    app = app_factory(mode="demo")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not isinstance(app.screen, OperationsScreen)
