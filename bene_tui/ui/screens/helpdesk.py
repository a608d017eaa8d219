"""Helpdesk screens (F3 in helpdesk mode): find a person, see their timeline, act for them.

- `OperatorScreen` asks the operator's name once per helpdesk session, typed by the agent (never
  taken from the OS user, which is a shared account at a desk; BENE_TUI_OPERATOR names a terminal's
  agent and skips it); every action is audited as `operator:<name>`.
- `SearchScreen`: login ID, name (kanji/kana) or 団体ID → the people found.
- `PersonScreen`: details, the actions that apply now (each behind a `ConfirmDialog`), and the
  timeline — flows, audit rows and outbox messages, newest first.

Personal data is shown here, to staff only: never in kiosk mode (F3 does nothing there).
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from bene_tui.core.clock import JST, fmt_time
from bene_tui.core.errors import BeneError
from bene_tui.core.i18n import find
from bene_tui.services import helpdesk
from bene_tui.services.normalize import display_login_id
from bene_tui.ui import staff_text
from . import privacy as privacy_requests
from .base import BaseScreen
from .dialog import ConfirmDialog, Dialog
from ..widgets.button import Button, ButtonRow
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.field import Field
from ..widgets.jtext import JText
from ..widgets.literal import literal


def _stamp(ts: float | None) -> str:
    """Timeline times to the second (JST): events of one minute stay apart."""
    return datetime.fromtimestamp(ts, JST).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


class Timeline:
    """A timeline entry in the agent's words, from the catalogue (helpdesk._timeline gives facts only):
    what happened, its outcome, who did it, and the detail in sentences: the staff reason, how a
    message's delivery went (which one failed and how), the rest of the audit detail."""

    def __init__(self, t, lang: str) -> None:
        self.t, self.lang = t, lang

    def word(self, key: str, value, **params) -> str:
        """The catalogue's word for a value (`key` with {} for it); the value itself if there is none."""
        full = key.format(value)
        return self.t(full, **params) if find(self.lang, full) is not None else str(value)

    def row(self, e: dict) -> tuple[str, ...]:
        t = self.t
        return (_stamp(e["at"]), t(f"hd.source.{e['source']}"), getattr(self, f"_what_{e['source']}")(e),
                self.word("hd.outcome.{}", e["outcome"]), self.actor(e["actor"]),
                t("hd.tl.sep").join(x for x in getattr(self, f"_detail_{e['source']}")(e) if x))

    def actor(self, actor: str) -> str:
        if actor.startswith("operator:"):
            return self.t("hd.actor.operator", name=actor.partition(":")[2])
        return self.word("hd.actor.{}", actor)

    def subject(self, subject: str | None) -> str:
        kind, _, ident = (subject or "").partition(":")
        if kind == "login":
            ident = display_login_id(ident)
        return self.word("hd.subject.{}", kind, id=ident) if kind else ""

    def _what_flow(self, e: dict) -> str:
        return self.t("hd.tl.flow", kind=self.word("staff.kind.{}", e["kind"]),
                      state=self.word("staff.state.{}", e["state"]))

    def _what_audit(self, e: dict) -> str:
        action = self.word("hd.audit_action.{}", e["action"].replace(".", "_"))
        return self.t("hd.tl.audit", action=action, subject=self.subject(e["subject"])) if e["subject"] else action

    def _what_outbox(self, e: dict) -> str:
        return self.t("hd.tl.outbox", channel=self.word("hd.channel.{}", e["channel"]),
                      purpose=self.word("hd.purpose.{}", e["purpose"]), to=e["recipient"])

    def delivery(self, m: dict) -> str:
        """Which message, to whom, and how its delivery went: reached, delayed until when, or failed."""
        return self.word("hd.delivery.{}", m["status"], purpose=self.word("hd.purpose.{}", m["purpose"]),
                         channel=self.word("hd.channel.{}", m["channel"]), to=m["recipient"],
                         at=fmt_time(m["deliver_at"]))

    def _detail_flow(self, e: dict) -> list[str]:
        t = self.t
        return [t("hd.tl.flow_detail", updated=fmt_time(e["updated_at"]), expires=fmt_time(e["expires_at"])),
                e["login_id"] and t("hd.tl.login_id", login_id=e["login_id"]),
                e["terminal"] and t("hd.tl.terminal", terminal=e["terminal"])]

    def _detail_audit(self, e: dict) -> list[str]:
        out = [staff_text.say(self.lang, e["reason"])]
        if e["message"]:
            out.append(self.delivery(e["message"]))
        elif e["detail"].get("delivery") and e["detail"].get("channel"):  # the message is gone: as it was then
            out.append(self.word("hd.outcome.{}", e["detail"]["delivery"]))
        said = _SAID_ELSEWHERE + (("purpose",) if e["message"] else ())
        out += [self.detail(k, v) for k, v in e["detail"].items() if k not in said and v is not None]
        return out + [e["terminal"] and self.t("hd.tl.terminal", terminal=e["terminal"])]

    def _detail_outbox(self, e: dict) -> list[str]:
        return [self.delivery(e)]

    def detail(self, key: str, value) -> str:
        """One fact of an audit row's detail, in words."""
        if isinstance(value, bool):
            value = self.t("hd.tl.yes" if value else "hd.tl.no")
        elif isinstance(value, list):
            value = ", ".join(self.word("service.{}", v) for v in value)
        elif key in _DETAIL_WORDS:
            value = self.word(_DETAIL_WORDS[key], value)
        return self.t(f"hd.detail.{key}", value=value) if find(self.lang, f"hd.detail.{key}") is not None \
            else f"{key}: {value}"


# Detail facts said by the delivery sentence, or ids that mean nothing to the agent.
_SAID_ELSEWHERE = ("message_id", "channel", "delivery", "flow")
_DETAIL_WORDS = {"purpose": "hd.purpose.{}", "relationship": "family.rel.{}", "was": "staff.inv_state.{}",
                 "stage": "staff.inv_state.{}", "service": "service.{}"}


# The timeline's columns: time, source, what, outcome and actor fixed (source and outcome as wide as
# their words in the language shown, outcome wrapping beyond OUTCOME_MAX); the detail takes the rest
# (the screen's padding, two scroll bars and each cell's padding aside), never below DETAIL_MIN.
TIME_WIDTH, WHAT_WIDTH, ACTOR_WIDTH, OUTCOME_MAX, DETAIL_MIN = 19, 24, 12, 11, 24
SOURCES = ("flow", "audit", "outbox")
OUTCOMES = ("ok", "refused", "stopped", "live", "ended", "sent", "queued", "failed")


def timeline_widths(t, screen_width: int) -> tuple[int, ...]:
    source = max(cell_len(t(k)) for k in ("hd.col_source", *(f"hd.source.{s}" for s in SOURCES)))
    outcome = min(OUTCOME_MAX, max(cell_len(t(k)) for k in ("hd.col_outcome", *(f"hd.outcome.{o}" for o in OUTCOMES))))
    fixed = (TIME_WIDTH, source, WHAT_WIDTH, outcome, ACTOR_WIDTH)
    return (*fixed, max(DETAIL_MIN, screen_width - 8 - 2 * (len(fixed) + 1) - sum(fixed)))


def open_search(app) -> None:
    """F3: the search screen, after asking who the operator is (once per session)."""
    if app.mode != "helpdesk" or isinstance(app.screen, (SearchScreen, OperatorScreen)):
        return
    with_operator(app, lambda: app.push_screen(SearchScreen()))


def with_operator(app, then) -> None:
    """Run `then()` once the agent is named: BENE_TUI_OPERATOR, the name typed earlier in this
    session, or asked now (an empty field: the agent types it)."""
    if not app.operator and helpdesk.configured_operator():
        try:
            app.operator = helpdesk.operator_name(helpdesk.configured_operator())
        except BeneError:
            pass  # an unusable name in the environment: ask instead
    if app.operator:
        then()
        return

    def chosen(name: str | None) -> None:
        if name:
            app.operator = name
            then()

    app.push_screen(OperatorScreen(), chosen)


class OperatorScreen(Dialog[str | None]):
    """Who is at the helpdesk: asked once, kept for the session."""

    WIDTH = 64
    BINDINGS = [Binding("escape", "cancel", "戻る/Back")]

    def compose(self) -> ComposeResult:
        t = self.app.t
        with self.box():
            yield JText(t("hd.operator_title"), classes="title")
            yield JText(t("hd.operator_lead"), classes="lead")
            yield Field("operator", t("hd.operator_label"))
            yield Button(t("hd.ok"), id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#operator", Input).focus()

    @on(Input.Submitted, "#operator")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        try:
            name = helpdesk.operator_name(self.query_one("#operator", Input).value)
        except BeneError as error:
            self.query_one("#operator-error", Static).update(self.app.t(error.key, **error.params))
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SearchScreen(BaseScreen):
    """Login ID, name in kanji or kana, or 団体ID → people (accounts, members, invitations)."""

    GUIDE_PANEL = False  # the helpdesk's own screen: no step of the help page
    BINDINGS = [Binding("down", "to_results", show=False)]  # from the query field to the results

    DEFAULT_CSS = """
    SearchScreen .hd { padding: 0 2; height: 1fr; }
    SearchScreen #hd-results { height: 1fr; min-height: 6; border: round $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows = helpdesk.SearchResult()
        self.query_text = ""  # as typed in the field (kept through a language switch)
        self.searched = ""  # the query whose results are listed; "" when none is

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(classes="hd"):
            yield JText(self.t("hd.title"), classes="title")
            yield JText(self.t("hd.operator", name=self.app.operator or ""), id="hd-operator",
                         markup=False)
            yield Field("query", self.t("hd.query"), placeholder=self.t("example.hd_query"),
                        value=self.query_text, hint=self.t("hd.query_hint"))
            yield Static("", id="hd-count", markup=False)
            yield OptionList(id="hd-results")
            yield JText("", classes="form-error", markup=False)
        yield app_footer(self.app)

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()

    @on(Input.Submitted, "#query")
    async def _search(self) -> None:
        self.query_text = self.query_one("#query", Input).value
        rows = await self.run_service(helpdesk.search, self.query_text)
        # A refused query shows why, and no people: the list must not go on showing the last query's.
        self.searched = self.query_text if rows is not None else ""
        self.rows = rows if rows is not None else helpdesk.SearchResult()
        self._fill()
        self._ready_for_the_next_query()

    def _ready_for_the_next_query(self) -> None:
        """The caller's next answer is typed straight away: the focus stays in the query (what is there
        selected, so typing replaces it); ↓ goes to the results."""
        field = self.query_one("#query", Input)
        field.focus()
        field.select_all()

    def action_to_results(self) -> None:
        results = self.query_one("#hd-results", OptionList)
        if results.option_count:
            results.focus()

    def _fill(self) -> None:
        results = self.query_one("#hd-results", OptionList)
        results.clear_options()
        for row in self.rows:
            results.add_option(Option(literal(self._line(row)), id=row["ref"]))
        count = self.t("hd.results", n=len(self.rows)) if self.rows else (
            self.t("hd.no_results") if self.searched else "")
        if self.rows.cut_short:  # a fragment scan ran out of time (helpdesk.SCAN_SECONDS)
            count += " " + self.t("hd.cut_short")
        self.query_one("#hd-count", Static).update(count)
        if self.rows:
            results.highlighted = 0

    def _line(self, row: dict) -> str:
        t = self.t
        parts = [f"[{t('hd.kind.' + row['kind'])}]", row["name"] or t("hd.no_name")]
        if row["kana"]:
            parts.append(f"({row['kana']})")
        if row["login_id"]:
            parts.append(display_login_id(row["login_id"]))
        parts.append(t("hd.status." + row["status"]))
        if row["account_kind"] == "family" and row["kind"] == "account":
            parts.append(t("hd.account_kind.family"))
        parts += [f"{o} {g}" for o, g in zip(row["orgs"], row["groups"])]
        return "  ".join(parts)

    @on(OptionList.OptionSelected, "#hd-results")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.push_screen(PersonScreen(event.option.id))

    async def on_screen_resume(self) -> None:
        # Back from a person: their state may have changed (unlocked, ended, ...).
        if self.searched and self.app.ctx is not None:
            rows = await self.run_service(helpdesk.search, self.searched)
            if rows is not None:
                self.rows = rows
                self._fill()
        self._ready_for_the_next_query()

    def after_relabel(self) -> None:
        self._fill()

    def action_back(self) -> None:
        self.app.pop_screen()


class PersonScreen(BaseScreen):
    """One person: details, actions (each confirmed, audited with the operator) and the timeline."""

    GUIDE_PANEL = False  # the helpdesk's own screen: no step of the help page

    DEFAULT_CSS = """
    PersonScreen .hd { padding: 0 2; }
    PersonScreen ButtonRow Button { margin-right: 1; }
    PersonScreen #hd-timeline { height: auto; max-height: 45vh; }
    """

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self.data: dict | None = None
        self.actions: list[dict] = []

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="hd"):
            yield JText(self.t("hd.person_title"), classes="title")
            yield Static("", id="hd-summary", markup=False)
            yield JText(self.t("hd.actions"), classes="field-label")
            yield ButtonRow(id="hd-actions")  # stacked where 80 columns cannot hold them side by side
            yield JText("", id="hd-no-actions", classes="hint", markup=False)
            yield ButtonRow(id="hd-privacy")  # 開示 / 削除 (ui/screens/privacy.py)
            yield JText("", id="hd-privacy-result", markup=False)
            yield JText("", classes="form-error", markup=False)
            yield JText(self.t("hd.timeline"), classes="field-label")
            yield DataTable(id="hd-timeline", cursor_type="row", zebra_stripes=True)
            # What cannot be undone comes after the timeline: Tab from a harmless action never lands on it.
            yield JText(self.t("hd.danger"), classes="field-label", id="hd-danger-label")
            yield ButtonRow(id="hd-danger")
        yield app_footer(self.app)

    async def on_mount(self) -> None:
        await self.load()

    async def load(self) -> None:
        data = await self.run_service(helpdesk.person, self.ref)
        if data is None:
            return
        self.data = data
        await self._render_data()

    async def _render_data(self) -> None:
        data, t = self.data, self.t
        if data is None:
            return
        self.query_one("#hd-summary", Static).update(self._summary(data))
        self.actions = data["actions"]
        for box_id, destructive in (("#hd-actions", False), ("#hd-danger", True)):
            box = self.query_one(box_id, ButtonRow)
            await box.remove_children()
            await box.mount_all([Button(literal(t(f"hd.action.{a['action']}", label=a["label"])), id=f"act-{n}",
                                        variant="error" if destructive else "warning")
                                 for n, a in enumerate(self.actions)
                                 if (a["action"] in helpdesk.DESTRUCTIVE) is destructive])
        danger = any(a["action"] in helpdesk.DESTRUCTIVE for a in self.actions)
        self.query_one("#hd-danger-label").display = self.query_one("#hd-danger").display = danger
        self.query_one("#hd-no-actions", Static).update("" if self.actions else t("hd.no_actions"))
        # 開示 with the harmless actions; 削除 in the danger row after the timeline, with the others.
        requests = privacy_requests.buttons(self)
        box = self.query_one("#hd-privacy", ButtonRow)
        await box.remove_children()
        await box.mount_all([b for b in requests if b.id != "privacy-erase"])
        await self.query_one("#hd-danger", ButtonRow).mount_all([b for b in requests if b.id == "privacy-erase"])
        danger = danger or any(b.id == "privacy-erase" for b in requests)
        self.query_one("#hd-danger-label").display = self.query_one("#hd-danger").display = danger
        table = self._fill_timeline()
        harmless = self.query_one("#hd-actions").query(Button)
        (harmless.first() if harmless else table).focus()

    def _fill_timeline(self) -> DataTable:
        """The timeline in words; each cell wraps within its column (a row as tall as its longest
        cell), the detail taking what the terminal's width leaves: nothing is cut."""
        t, table = self.t, self.query_one("#hd-timeline", DataTable)
        table.clear(columns=True)
        labels = (t("hd.col_at"), t("hd.col_source"), t("hd.col_what"), t("hd.col_outcome"), t("hd.col_actor"),
                  t("hd.col_detail"))
        for label, width in zip(labels, timeline_widths(t, self.app.size.width)):
            table.add_column(label, width=width)
        words = Timeline(t, self.app.lang)
        for e in (self.data or {}).get("timeline", []):
            table.add_row(*map(literal, words.row(e)), height=None)
        return table

    def on_resize(self) -> None:
        if self.data is not None:
            self._fill_timeline()

    def _summary(self, data: dict) -> str:
        t, lines, words = self.t, [], Timeline(self.t, self.app.lang)
        acct = data["account"]
        if acct:
            lines.append(t("hd.account_line", id=acct["id"], login_id=display_login_id(acct["login_id"]),
                           kind=t(f"hd.account_kind.{acct['kind']}"), status=t(f"hd.status.{acct['status']}")))
            lines.append(t("hd.account_dates", created=fmt_time(acct["created_at"]),
                           activated=fmt_time(acct["activated_at"]), expires=fmt_time(acct["expires_at"])))
            if acct["failed_logins"]:
                lines.append(t("hd.failures", n=acct["failed_logins"], at=fmt_time(acct["last_failed_at"])))
            if acct["locked_until"]:
                lines.append(t("hd.locked_until", at=fmt_time(acct["locked_until"]) + " JST"))
        for m in data["members"]:
            lines.append(t("hd.member_line", id=m["id"], name=m["name"], kana=m["kana"], org=m["org_name"],
                           group_id=m["group_id"], birth=m["birth_date"] or "-", email=m["email_on_file"] or "-"))
        for i in data["invitations"]:
            lines.append(t("hd.invitation_line", id=i["id"], name=i["name"], kana=i["kana"],
                           relationship=t(f"family.rel.{i['relationship']}"), contact=display_login_id(i["contact"]),
                           state=t(f"hd.status.invitation_{i['state']}"), attempts=i["attempts"]))
            lines.append(t("hd.invitation_more", inviter=display_login_id(i["inviter_login_id"] or "-"),
                           created=fmt_time(i["created_at"]), expires=fmt_time(i["expires_at"])))
            for link in i["links"]:  # its history: every link sent, and what became of it
                lines.append(t("hd.invitation_link", what=t(f"hd.link.{link['purpose']}"), sent=fmt_time(link["sent_at"]),
                               expires=fmt_time(link["expires_at"]), state=t(f"hd.link.{link['state']}")))
        for f in data["flows"]:
            if f["live"]:
                lines.append(t("hd.flow_line", kind=words.word("staff.kind.{}", f["kind"]),
                               state=words.word("staff.state.{}", f["state"]),
                               login_id=display_login_id(f["login_id"]) if f["login_id"] else "-",
                               expires=fmt_time(f["expires_at"])))
        return "\n".join(lines)

    def after_relabel(self) -> None:
        self.run_worker(self._render_data(), exclusive=True, group="hd-render")

    @on(Button.Pressed)
    def _action(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        if not button_id.startswith("act-") or int(button_id[4:]) >= len(self.actions):
            return
        n = int(button_id[4:])
        action = self.actions[n]
        question = self.t(f"hd.confirm.{action['action']}", label=action["label"])

        async def answered(yes: bool | None) -> None:
            if not yes:
                self.notify(self.t("hd.done.cancelled"))
                return
            await self._run(action)

        with_operator(self.app, lambda: self.app.push_screen(ConfirmDialog(question, title=self.t("hd.confirm_title"), yes="hd.yes",
                                                                  no="hd.no", danger=False), answered))

    @on(Button.Pressed, "#privacy-export, #privacy-erase")
    def _privacy_request(self, event: Button.Pressed) -> None:
        privacy_requests.ask(self, event.button.id.removeprefix("privacy-"))

    async def _run(self, action: dict) -> None:
        fn = helpdesk.ACTIONS[action["action"]]
        result = await self.run_service(fn, action["target"], self.app.operator)
        if result is None:
            await self._reload_after_refusal()
            return
        self.notify(self.t(f"hd.done.{action['action']}"))
        if action["action"] == "end_provisional":
            member_id = result.get("member_id")
            if member_id is None:
                self.app.pop_screen()
                return
            self.ref = f"member:{member_id}"
        await self.load()

    async def _reload_after_refusal(self) -> None:
        """A refused action shows its error; the details are read again (the refusal is on the timeline)."""
        errors = [str(w.render()) for w in self.query(".form-error")]
        await self.load()
        for w, text in zip(self.query(".form-error"), errors):
            w.update(text)
