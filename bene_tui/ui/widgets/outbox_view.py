"""The simulated phone and mailbox: conversations by recipient, their messages, the code large.

Used full-screen (F2) and, in demo mode, as a live side panel. It polls the outbox's last id
once a second, so a new message appears as it is sent.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Digits, OptionList, Static
from textual.widgets.option_list import Option

from bene_tui.core.clock import fmt_time
from bene_tui.services import outbox, verification
from bene_tui.services.normalize import display_login_id
from .jtext import JText
from .literal import literal
from ..textual_compat import is_being_removed


class OutboxView(Vertical):
    DEFAULT_CSS = """
    OutboxView { height: 1fr; }
    OutboxView #ob-lists { height: 1fr; }
    OutboxView #ob-recipients { width: 2fr; }
    OutboxView #ob-messages { width: 3fr; }
    OutboxView #ob-detail { height: 2fr; border: round $primary; padding: 0 1; }
    OutboxView #ob-code { width: auto; }
    OutboxView .ob-link { color: $accent; text-style: bold; }
    OutboxView #ob-code.dead { color: $text-disabled; }
    OutboxView #ob-code-state { color: $error; text-style: bold; }
    """

    class LinkOpened(Message):
        def __init__(self, link: str) -> None:
            super().__init__()
            self.link = link

    def __init__(self, compact: bool = False, full: bool = False, **kw) -> None:
        super().__init__(**kw)
        self.compact = compact
        self.full = full  # the kiosk operator's view (after the PIN): every message, for rehearsals
        self.recipient: str | None = None
        self.message_id: int | None = None
        self._last_seen = -1

    TITLE_KEY = "outbox.title"

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t(self.TITLE_KEY), classes="title")
        if self.app.mode == "kiosk":  # the same words whatever was typed, and whether or not it exists
            yield JText(t("outbox.kiosk_full" if self.full else "outbox.kiosk_scope"), classes="hint",
                        id="ob-kiosk-note")
        with Horizontal(id="ob-lists"):
            yield self._list("ob-recipients")
            yield self._list("ob-messages")
        detail = VerticalScroll(id="ob-detail")
        detail.can_focus = not self.compact  # a side panel only shows: Tab stays in the form beside it
        with detail:
            yield Static("", id="ob-head", markup=False)
            yield Digits("", id="ob-code")
            if self.compact or self.app.mode == "demo":  # the presenter's: what became of the code (mark_code)
                yield Static("", id="ob-code-state", markup=False)
            yield Static("", id="ob-link", classes="ob-link", markup=False)
            yield Static("", id="ob-body", markup=False)

    def _list(self, id: str) -> OptionList:
        lst = OptionList(id=id)
        lst.can_focus = not self.compact
        return lst

    async def on_mount(self) -> None:
        await self.refresh_lists()
        self.set_interval(1.0, self._poll)

    async def _poll(self) -> None:
        if self.app.ctx is None:
            return
        last = await self.app.try_call(outbox.last_id)
        if last is not self.app.NOT_NOW and last != self._last_seen:
            await self.refresh_lists()

    def scope(self):
        """What this view may show (outbox.KioskScope in a kiosk, None for everything)."""
        return None if self.full else self.app.outbox_scope()

    async def refresh_lists(self) -> None:
        if self.app.ctx is None:
            return
        scope = self.scope()
        self._last_seen = await self.app.call(outbox.last_id)
        rows = await self.app.call(outbox.recipients_summary, scope=scope)
        if not self.is_attached or is_being_removed(self):  # the screen closed while the outbox was read
            return
        recipients = self.query_one("#ob-recipients", OptionList)
        recipients.clear_options()
        t = self.app.t
        for row in rows:
            icon = "✉" if row["channel"] == "email" else "📱"
            unread = f"  ({t('outbox.unread', n=row['unread'])})" if row["unread"] else ""
            label = literal(f"{icon} {display_login_id(row['recipient'])}{unread}")
            recipients.add_option(Option(label, id=row["recipient"]))
        if not rows:
            self.query_one("#ob-head", Static).update(t("outbox.empty"))
            return
        if self.recipient not in {r["recipient"] for r in rows}:
            self.recipient = rows[0]["recipient"]
        recipients.highlighted = [r["recipient"] for r in rows].index(self.recipient)
        await self.show_recipient(self.recipient, newest=True)

    async def show_recipient(self, recipient: str, newest: bool = False) -> None:
        self.recipient = recipient
        rows = await self.app.call(outbox.messages, recipient=recipient, limit=100, scope=self.scope())
        if not self.is_attached:
            return
        messages = self.query_one("#ob-messages", OptionList)
        messages.clear_options()
        t = self.app.t
        for row in rows:
            status = "" if row["status"] == "sent" else f" [{t('outbox.status_' + row['status'])}]"
            title = row["subject"] or (row["body"] or "")[:30].replace("\n", " ")
            mark = "●" if not row["read"] and row["status"] == "sent" else " "
            label = literal(f"{mark} {fmt_time(row['created_at'])} {title}{status}")
            messages.add_option(Option(label, id=str(row["id"])))
        if rows:
            messages.highlighted = 0
            await self.show_message(rows[0]["id"])

    async def mark_code(self, row: dict | None) -> None:
        """Demo mode (the live panel, and F2 where the panel gave way on a projector): a code that can
        no longer work (expired, used, void, replaced) is marked, and drawn dim."""
        if not self.query("#ob-code-state"):
            return
        state = None
        if row is not None and row["status"] == "sent":
            state = await self.app.call(verification.code_state, row["flow_id"], row["purpose"], row["code"])
        if not self.is_attached or is_being_removed(self):
            return
        dead = state not in (None, "live")
        self.query_one("#ob-code-state", Static).update(self.app.t("demo.code_" + state) if dead else "")
        self.query_one("#ob-code", Digits).set_class(dead, "dead")

    async def refresh_code_mark(self) -> None:
        """The demo clock moved: the message on show is read again for its code's state."""
        if self.message_id is not None and self.app.ctx is not None:
            await self.mark_code(await self.app.call(outbox.get, self.message_id, self.scope()))

    async def show_message(self, message_id: int) -> None:
        row = await self.app.call(outbox.get, message_id, self.scope())
        if row is None or not self.is_attached:
            return
        self.message_id = message_id
        t = self.app.t
        await self.mark_code(row)
        if row["status"] != "sent":
            head = t("outbox.not_delivered", status=t("outbox.status_" + row["status"]))
            self.query_one("#ob-head", Static).update(head)
            self.query_one("#ob-code", Digits).update("")
            self.query_one("#ob-link", Static).update("")
            self.query_one("#ob-body", Static).update("")
            return
        head = f"{t('outbox.from')}: {row['sender']}\n{t('outbox.to')}: {display_login_id(row['recipient'])}\n{fmt_time(row['created_at'])}"
        if row["subject"]:
            head += f"\n{row['subject']}"
        self.query_one("#ob-head", Static).update(head)
        self.query_one("#ob-code", Digits).update(row["code"] or "")
        self.query_one("#ob-link", Static).update(f"{t('outbox.open_link')}: {row['link']}" if row["link"] else "")
        self.query_one("#ob-body", Static).update(row["body"] or "")
        if not row["read"]:
            await self.app.call(outbox.mark_read, message_id)

    @on(OptionList.OptionHighlighted, "#ob-recipients")
    async def _recipient(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.recipient:
            await self.show_recipient(event.option.id)

    @on(OptionList.OptionHighlighted, "#ob-messages")
    async def _message(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and int(event.option.id) != self.message_id:
            await self.show_message(int(event.option.id))

    @on(OptionList.OptionSelected, "#ob-messages")
    async def _open(self, event: OptionList.OptionSelected) -> None:
        row = await self.app.call(outbox.get, int(event.option.id), self.scope())
        if row and row["link"] and row["status"] == "sent":
            self.post_message(self.LinkOpened(row["link"]))
