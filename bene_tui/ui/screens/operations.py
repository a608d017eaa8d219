"""運用状況 / Operations (helpdesk mode, ctrl+t): where registrations stop, per day, organisation and
terminal — a funnel and per-day bars (textual-plotext) with the numbers beside them.

Imported only when the screen opens: plotext is not part of start-up (bench/startup.py). It reads
`report.summary` (the daily_stats aggregates), never the audit trail itself.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static
from textual_plotext import PlotextPlot

from bene_tui.services import report
from .base import BaseScreen
from ..widgets.button import Button
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.field import FieldError

DAYS_CHARTED = 31  # the per-day bars show the last days of the period; the table has them all
NARROW = 110  # columns below which the filters take two rows and each chart stands above its numbers
FILTERS = ("since", "until", "org", "terminal")


def open_operations(app) -> None:
    if app.mode == "helpdesk" and not isinstance(app.screen, OperationsScreen):
        app.push_screen(OperationsScreen())


def duration(t, seconds: int | None) -> str:
    if seconds is None:
        return t("ops.median_none")
    return t("ops.median", value=t("ops.minutes", m=seconds // 60, s=seconds % 60))


class OperationsScreen(BaseScreen):
    GUIDE_PANEL = False  # the helpdesk's own screen: no step of the help page

    DEFAULT_CSS = """
    OperationsScreen .ops { padding: 0 1; height: 1fr; }
    OperationsScreen #ops-filters { height: 3; }
    OperationsScreen .ops-pair { width: auto; height: 3; }
    OperationsScreen #ops-filters Label { padding: 1 1 0 1; }
    OperationsScreen #ops-filters Input { width: 16; }
    OperationsScreen .ops-row { height: 1fr; }
    OperationsScreen .ops-chart { width: 1fr; }
    OperationsScreen .ops-table { width: 50; }
    OperationsScreen.-narrow .ops { overflow-y: auto; }
    OperationsScreen.-narrow #ops-filters { layout: vertical; height: 6; }
    OperationsScreen.-narrow .ops-row { layout: vertical; height: auto; }
    OperationsScreen.-narrow .ops-chart { height: 12; }
    OperationsScreen.-narrow .ops-table { width: 1fr; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.data: dict | None = None
        self.filters = dict.fromkeys(FILTERS, "")

    def compose(self) -> ComposeResult:
        t = self.t
        yield AppHeader()
        with Vertical(classes="ops"):
            yield Static(t("ops.title"), classes="title")
            yield Static(t("ops.lead"), classes="lead")
            with Horizontal(id="ops-filters"):  # two pairs: side by side, or one above the other (-narrow)
                for pair in (FILTERS[:2], FILTERS[2:]):
                    with Horizontal(classes="ops-pair"):
                        for name in pair:
                            yield Label(t(f"ops.{name}"), markup=False)
                            yield Input(value=self.filters[name], id=name, placeholder=t("ops.all"))
                        if name == FILTERS[-1]:
                            yield Button(t("ops.show"), id="ops-show", variant="primary")
            for name in FILTERS:
                yield FieldError(id=f"{name}-error")
            yield Static("", classes="form-error", markup=False)
            yield Static("", id="ops-median", markup=False)
            with Horizontal(classes="ops-row"):
                with Vertical(classes="ops-chart"):
                    yield Static(t("ops.funnel_title"), markup=False)
                    yield PlotextPlot(id="ops-funnel")
                yield DataTable(id="ops-totals", classes="ops-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="ops-row"):
                with Vertical(classes="ops-chart"):
                    yield Static(t("ops.days_title"), markup=False)
                    yield PlotextPlot(id="ops-days")
                yield DataTable(id="ops-days-table", classes="ops-table", cursor_type="row", zebra_stripes=True)
            yield Static(t("ops.legend"), classes="hint", markup=False)
        yield app_footer(self.app)

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")

    async def on_mount(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")
        self.query_one("#since", Input).focus()
        await self.load()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ops-show")
    async def load(self) -> None:
        self.filters = {name: self.query_one(f"#{name}", Input).value for name in FILTERS}
        data = await self.run_service(report.summary, *self.filters.values(), rows=False)
        if data is not None:
            self.data = data
            self._show()

    def _show(self) -> None:
        data, t = self.data, self.t
        if data is None:
            return
        totals = data["totals"]
        self.query_one("#ops-median", Static).update(
            duration(t, totals["median_seconds"]) if data["days"] else t("ops.no_data"))
        table = self.query_one("#ops-totals", DataTable)
        table.clear(columns=True)
        table.add_columns(t("ops.col_metric"), t("ops.col_value"))
        for metric in report.SHOWN:
            table.add_row(Text(t(f"ops.metric.{metric}")), Text(str(totals[metric]), justify="right"), key=metric)
        days = self.query_one("#ops-days-table", DataTable)
        days.clear(columns=True)
        days.add_columns(t("ops.col_day"), *(t(f"ops.bar.{m}") for m in report.FUNNEL))
        for day in reversed(data["days"]):  # newest first
            days.add_row(Text(day["day"]), *(Text(str(day[m]), justify="right") for m in report.FUNNEL), key=day["day"])
        self._chart(totals, data["days"][-DAYS_CHARTED:])

    def _chart(self, totals: dict, days: list[dict]) -> None:
        t = self.t
        funnel = self.query_one("#ops-funnel", PlotextPlot)
        plt = funnel.plt
        plt.clear_figure()
        plt.bar([t(f"ops.bar.{m}") for m in reversed(report.FUNNEL)], [totals[m] for m in reversed(report.FUNNEL)],
                orientation="horizontal")
        funnel.refresh()
        per_day = self.query_one("#ops-days", PlotextPlot)
        plt = per_day.plt
        plt.clear_figure()
        if days:
            plt.multiple_bar([d["day"][5:] for d in days], [[d["started"] for d in days], [d["completed"] for d in days]],
                             labels=[t("ops.bar.started"), t("ops.bar.completed")])
        per_day.refresh()

    def after_relabel(self) -> None:
        self._show()

    def action_back(self) -> None:
        self.app.pop_screen()
