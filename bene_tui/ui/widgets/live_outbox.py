"""Demo mode's live outbox: `OutboxView(compact=True)` as a side panel, following the newest message.

Docked on the left: the right edge belongs to the F1 guide panel, and both can be open at once.
Mount it as the screen's first child, so the header and footer are drawn over its ends.

Display only (its lists take no focus, so Tab stays in the form); F2 opens the full viewer.
It polls only while its screen is the one on show, and it leaves messages unread: the unread
marks belong to the person's phone and mailbox (F2), not to the presenter's panel.
"""

from __future__ import annotations

import time

from textual.widgets import Digits, OptionList, Static

from bene_tui.core.clock import fmt_time
from bene_tui.services import outbox
from bene_tui.services.normalize import display_login_id
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

    TITLE_KEY = "demo.panel_title"
    FRESH_SECONDS = 4.0
    WIDTH = 40

    def __init__(self, **kw) -> None:
        kw.setdefault("id", "demo-outbox")
        super().__init__(compact=True, **kw)

    async def _poll(self) -> None:
        if self.screen.is_current:
            await super()._poll()

    async def refresh_lists(self) -> None:
        """A new message takes over the panel: its recipient, its code, its link."""
        if self.app.ctx is None:
            return
        last = await self.app.call(outbox.last_id)
        demo = getattr(self.app.modes, "demo", None)  # shared by the panels of every screen
        if demo is not None:
            if demo.panel_seen_id is not None and last > demo.panel_seen_id:
                self.recipient = None  # follow the newest message
                demo.panel_fresh_until = time.monotonic() + self.FRESH_SECONDS
            demo.panel_seen_id = last
            left = demo.panel_fresh_until - time.monotonic()
            if left > 0:  # also on the next screen's panel, when the message came with the step change
                self.add_class("fresh")
                self.set_timer(left, lambda: self.remove_class("fresh"))
        await super().refresh_lists()
        for lst in self.query(OptionList):
            lst.display = lst.option_count > 0  # no empty boxes before the first message

    async def show_message(self, message_id: int) -> None:
        """As the full viewer shows it (code large, link highlighted), without marking it read."""
        row = await self.app.call(outbox.get, message_id)
        if row is None:
            return
        self.message_id = message_id
        t = self.app.t
        delivered = row["status"] == "sent"
        if delivered:
            head = f"{t('outbox.to')}: {display_login_id(row['recipient'])}\n{fmt_time(row['created_at'])}"
            if row["subject"]:
                head += f"\n{row['subject']}"
        else:
            head = t("outbox.not_delivered", status=t("outbox.status_" + row["status"]))
        self.query_one("#ob-head", Static).update(head)
        await self.mark_code(row)  # the presenter sees at once a code that can no longer work
        if not self.is_attached:
            return
        self.query_one("#ob-code", Digits).update((row["code"] or "") if delivered else "")
        link = row["link"] if delivered and row["link"] else ""  # no "Enter opens it": the panel takes no keys
        self.query_one("#ob-link", Static).update(link)
        self.query_one("#ob-body", Static).update((row["body"] or "") if delivered else "")
