"""The demo clock in the header: the simulated time (the app's Clock), and how far it was pushed.

Always there in demo mode; in the other modes it shows once the store's shared clock was moved
(services/shared_clock.py), so a desk rehearsing an expiry knows it is not reading today's time."""

from __future__ import annotations

from textual.widgets import Static


def offset_text(t, seconds: float) -> str:
    """+1日 2時間 5分: how far the presenter moved the clock."""
    total = int(seconds // 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(t("demo.offset_days", n=days))
    if hours:
        parts.append(t("demo.offset_hours", n=hours))
    if minutes or not parts:
        parts.append(t("demo.offset_minutes", n=minutes))
    return "".join(parts).strip()


class DemoClock(Static):
    DEFAULT_CSS = """
    DemoClock { dock: right; width: auto; min-width: 24; height: 1; padding: 0 1;
                background: $warning; color: $background; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.refresh_time()
        self.set_interval(1.0, self.refresh_time)

    def text(self) -> str:
        app = self.app
        now = app.clock.local().strftime("%Y-%m-%d %H:%M")
        if app.clock.pushed >= 60:
            return app.t("demo.clock_offset", time=now, offset=offset_text(app.t, app.clock.pushed))
        return app.t("demo.clock", time=now)

    def refresh_time(self) -> None:
        self.display = self.app.mode == "demo" or self.app.clock.pushed >= 60
        if self.display:
            self.update(self.text())
