"""Demo mode's live outbox: `OutboxView(compact=True)` as a side panel, following the newest message.

Docked on the left: the right edge belongs to the F1 guide panel, and both can be open at once.
Mount it as the screen's first child, so the header and footer are drawn over its ends.

Display only (its lists take no focus, so Tab stays in the form); F2 opens the full viewer.
It polls only while its screen is the one on show.
"""

from __future__ import annotations

from textual.widgets import OptionList

from .outbox_view import OutboxView


class LiveOutbox(OutboxView):
    DEFAULT_CSS = """
    LiveOutbox { dock: left; width: 40; height: 100%; margin-top: 1; padding: 0 1 2 1; background: $surface;
                 border-right: heavy $accent; }
    LiveOutbox > .title { margin-bottom: 0; }
    LiveOutbox #ob-lists { layout: vertical; height: auto; }
    LiveOutbox #ob-recipients { width: 100%; height: auto; max-height: 5; }
    LiveOutbox #ob-messages { width: 100%; height: auto; max-height: 6; }
    LiveOutbox #ob-detail { height: 1fr; }
    LiveOutbox.fresh #ob-detail { border: heavy $warning; }
    """

    FRESH_SECONDS = 4.0
    WIDTH = 40

    def __init__(self, **kw) -> None:
        kw.setdefault("id", "demo-outbox")
        super().__init__(compact=True, **kw)

    async def on_mount(self) -> None:
        for lst in self.query(OptionList):
            lst.can_focus = False
        self.query_one(".title").update(self.app.t("demo.panel_title"))
        await super().on_mount()

    async def _poll(self) -> None:
        if self.screen.is_current:
            await super()._poll()

    async def refresh_lists(self) -> None:
        """A new message takes over the panel: its recipient, its code, its link."""
        if self.app.ctx is None:
            return
        from .. import outbox

        last = await self.app.call(outbox.last_id)
        if self._last_seen >= 0 and last > self._last_seen:
            self.recipient = None
            self.add_class("fresh")
            self.set_timer(self.FRESH_SECONDS, lambda: self.remove_class("fresh"))
        await super().refresh_lists()
        for lst in self.query(OptionList):
            lst.display = lst.option_count > 0  # no empty boxes before the first message
