"""Family invitations, the nine steps (SPEC §3.5). Thin screens over `services/family.py`.

Member side: マイページ 「家族設定」 (FamilySettingsScreen) → 「家族アカウントを追加する」
(FamilyAddScreen) → 「招待」 (FamilyInviteScreen) → the approval request (FamilyInviteSentScreen)
→ its link opens ApproveScreen → 「承認」 (FamilyApprovedScreen).
Family side: the invitation link opens FamilyRegisterScreen → 「設定」 → FamilyDoneScreen.

The two links (approval, invitation) open through `open_approve_link` / `open_invite_link`
(ui/screens/routes.py LINKS).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from bene_tui.core.clock import fmt_time
from bene_tui.core.errors import BeneError
from bene_tui.services import family, relationships
from bene_tui.services.normalize import display_login_id, mask
from . import routes
from .base import BaseScreen, call_service, succeeded
from .dialog import ConfirmDialog
from .flow import FlowScreen
from ..widgets.button import Button, ButtonRow
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.field import Field, FieldError
from ..widgets.jtext import JText
from ..widgets.literal import literal
from ..widgets.terms import TermsBox
from ..widgets.toggles import Tick

STEPS = tuple(f"family.step.s{i}" for i in range(1, 10))


class FamilyScreen(FlowScreen):
    """A step of the family flow. The indicator shows the whole journey, 本人 ⇒ 本人 ⇒ 家族:
    Step.1–6 the member's, Step.7–9 the family member's."""

    STEPS = STEPS
    STEP_LINES = 2  # nine steps: every name shown, as registration's five are, on two lines
    FOCUS_ERRORS = BeneError  # a wrong birth date names its field: the focus goes there

    def show_problem(self, error: BeneError) -> None:
        """A link or page that cannot be used: say why on a page of its own, never a traceback."""
        self.app.switch_screen(LinkProblemScreen(error.key, dict(error.params), error.staff))


def _account_id(app) -> int | None:
    return app.session.account_id


def open_family_settings(app) -> None:
    """マイページ 「家族設定」: the logged-in member's family settings (log in first if needed)."""
    account_id = _account_id(app)
    if account_id is None:
        app.push_screen(routes.LOGIN(service_id="benefit_station", then=lambda a, _acc: open_family_settings(a)))
        return
    app.push_screen(FamilySettingsScreen(account_id))


def back_to_settings(app, account_id: int | None) -> None:
    """Pop back to the family settings below, or open them when the flow started from a link."""
    stack = app.screen_stack
    if any(isinstance(s, FamilySettingsScreen) for s in stack):
        while not isinstance(app.screen, FamilySettingsScreen):
            app.pop_screen()
        return
    if account_id is not None and _account_id(app) == account_id:
        app.switch_screen(FamilySettingsScreen(account_id))
    else:
        app.go_home()


def _rel_label(t, code: str | None) -> str:
    rel = relationships.get(code)
    return t(rel.label_key) if rel else (code or "")


# ---------------------------------------------------------------------------------------------
# Step 1: 家族設定 — the list, with resend / cancel / remove.


class FamilySettingsScreen(FamilyScreen):
    STEP = 1
    GUIDE = ("family.step1", "family.step2")  # the official text for the helpdesk guide panel (F1)

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.data: dict | None = None

    def form(self) -> ComposeResult:
        yield JText(self.t("family.settings_title"), classes="title")
        yield JText(self.t("family.settings_lead"), classes="lead", id="settings-lead")
        yield JText("", id="policy-note", classes="notice hidden", markup=False)
        yield Static("", id="count", markup=False)
        yield Button(self.t("family.add"), id="add", variant="primary")
        yield DataTable(id="invitations", cursor_type="row", zebra_stripes=True)
        yield JText(self.t("family.empty"), id="empty", classes="hint hidden")
        with ButtonRow(classes="buttons", id="row-actions"):
            yield Button(self.t("family.resend"), id="resend", disabled=True)
            yield Button(self.t("family.cancel"), id="cancel", disabled=True)
            yield Button(self.t("family.remove"), id="remove", variant="error", disabled=True)
        yield FieldError(id="row-actions-error")  # a refusal beside the button pressed
        yield JText(self.t("family.actions_hint"), classes="hint", id="actions-hint")
        yield Button(self.t("family.back"), id="back")

    async def on_mount(self) -> None:
        self.query_one("#add", Button).focus()
        await self.reload()

    def show_error(self, error: BeneError) -> None:
        """Once the list is shown, a refusal (of 再送信・取消・削除) under those buttons, not under 「戻る」."""
        if error.field is None and self.data is not None:
            error.field = "row-actions"
        super().show_error(error)

    async def on_screen_resume(self) -> None:
        if self.data is not None:
            await self.reload()

    async def reload(self) -> None:
        data = await self.run_service(family.overview, self.account_id, keep_shown=True)  # (a refusal stays)
        if data is None:
            return
        self.data = data
        self.after_relabel()

    @property
    def selected(self) -> dict | None:
        if not self.data or not self.data["rows"]:
            return None
        table = self.query_one("#invitations", DataTable)
        index = table.cursor_row
        rows = self.data["rows"]
        return rows[index] if 0 <= index < len(rows) else None

    def after_relabel(self) -> None:
        data = self.data
        if data is None:
            return
        pol = data["policy"]
        note = self.query_one("#policy-note", Static)
        add = self.query_one("#add", Button)
        table = self.query_one("#invitations", DataTable)
        if not pol.enabled:
            note.update(self.t("family.not_available"))
            note.remove_class("hidden")
            for wid in ("#add", "#row-actions", "#actions-hint", "#count"):
                self.query_one(wid).display = False
            table.display = bool(data["rows"])
            if self.focused is None or self.focused.id == "add":
                self.query_one("#back", Button).focus()
        else:
            if not data["can_invite"]:
                note.update(self.t("family.limit_reached", max=pol.max_accounts))
                note.remove_class("hidden")
            else:
                note.add_class("hidden")
            add.disabled = not data["can_invite"]
            self.query_one("#count", Static).update(self.t("family.count", used=data["used"], max=pol.max_accounts))
            if add.disabled and self.focused is add:
                table.focus()
        cursor = table.cursor_row if table.row_count else 0
        # Rows only: a table refilled from scratch measures its columns after drawing them, and
        # redraws only if its total width changed, so a reload would show names cut to the
        # headings' width. A language switch recomposes the screen, so the headings come anew.
        table.clear()
        if not table.columns:
            table.add_columns(self.t("family.col_name"), self.t("family.col_relationship"),
                              self.t("family.col_contact"), self.t("family.col_state"), self.t("family.col_expires"))
        kiosk = self.app.mode == "kiosk"
        for row in data["rows"]:
            contact = mask(row["contact"]) if kiosk else display_login_id(row["contact"])
            live = row["state"] in ("approval_pending", "invited")
            cells = (row["name"], _rel_label(self.t, row["relationship"]), contact,
                     self.t(f"family.state.{row['state']}"), fmt_time(row["expires_at"]) if live else "-")
            table.add_row(*map(literal, cells), key=str(row["id"]))
        self.query_one("#empty", Static).set_class(bool(data["rows"]), "hidden")
        if data["rows"]:
            table.move_cursor(row=min(cursor, len(data["rows"]) - 1))
        self._update_actions()

    def _update_actions(self) -> None:
        row = self.selected
        for action in ("resend", "cancel", "remove"):
            self.query_one(f"#{action}", Button).disabled = not (row and row[action])

    @on(DataTable.RowHighlighted, "#invitations")
    def _highlighted(self) -> None:
        self._update_actions()

    @on(Button.Pressed, "#add")
    def _add(self) -> None:
        self.app.push_screen(FamilyAddScreen(self.account_id))

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#resend")
    async def _resend(self, event: Button.Pressed) -> None:
        row = self.selected
        if row is None:
            return
        message = await self.run_service(family.resend, self.account_id, row["id"], self.app.lang, button=event.button)
        if message is not None:
            self.notify(self.t("family.resent"))
            await self.reload()

    @on(Button.Pressed, "#cancel, #remove")
    def _confirm(self, event: Button.Pressed) -> None:
        row = self.selected
        if row is None:
            return
        action = event.button.id
        fn = family.cancel if action == "cancel" else family.remove

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if await self.run_service(succeeded(fn), self.account_id, row["id"]):
                self.notify(self.t("family.cancelled" if action == "cancel" else "family.removed"))
            await self.reload()

        text = self.t(f"family.confirm_{action}", name=row["name"])
        self.app.push_screen(ConfirmDialog(text), confirmed)


# ---------------------------------------------------------------------------------------------
# Step 2: 「家族アカウントを追加する」 — who may be invited, then 「招待」.


class FamilyAddScreen(FamilyScreen):
    STEP = 2
    GUIDE = ("family.about", "family.step2")  # the official text for the helpdesk guide panel (F1)

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.policy: family.Policy | None = None

    def form(self) -> ComposeResult:
        yield JText(self.t("family.about_title"), classes="title")
        yield JText(self.t("family.about"), classes="lead")
        yield JText(self.t("family.how"), classes="lead")
        yield JText("", id="allowed", classes="lead", markup=False)
        yield JText(self.t("family.add_lead"), classes="lead")
        with ButtonRow(classes="buttons"):
            yield Button(self.t("family.invite"), id="invite", variant="primary")
            yield Button(self.t("family.back"), id="back")

    async def on_mount(self) -> None:
        self.query_one("#invite", Button).focus()
        self.policy = await self.run_service(family.policy, self.account_id)
        self.after_relabel()

    def after_relabel(self) -> None:
        if self.policy is None:
            return
        allowed = self.query_one("#allowed", Static)
        if self.policy.enabled:
            names = "、".join(_rel_label(self.t, c) for c in self.policy.relationships)
            allowed.update(self.t("family.allowed", list=names if self.app.lang == "ja" else names.replace("、", ", ")))
        else:
            allowed.update(self.t("family.not_available"))
            self.query_one("#invite", Button).disabled = True
            self.query_one("#back", Button).focus()

    @on(Button.Pressed, "#invite")
    def _invite(self) -> None:
        self.app.push_screen(FamilyInviteScreen(self.account_id))

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()


# ---------------------------------------------------------------------------------------------
# Step 3: the family member's details → 「招待」.


class FamilyInviteScreen(FamilyScreen):
    STEP = 3
    GUIDE = "family.step3"  # the official text for the helpdesk guide panel (F1)
    FIELDS = ("name", "kana", "relationship", "birth_date", "contact")

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.allowed: list[str] = []
        self.relationship: str | None = None

    def form(self) -> ComposeResult:
        yield JText(self.t("family.form_title"), classes="title")
        yield JText(self.t("family.form_lead"), classes="lead")
        yield Field("name", self.t("family.name"), placeholder=self.t("example.name"))
        yield Field("kana", self.t("family.kana"), placeholder=self.t("example.kana"))
        yield JText(self.t("family.relationship"), classes="field-label")
        yield Select(self._options(), prompt=self.t("family.relationship_prompt"), id="relationship",
                     value=self.relationship if self.relationship in self.allowed else Select.NULL)
        yield FieldError(id="relationship-error")
        yield Field("birth_date", self.t("family.birth_date"), placeholder=self.t("example.birth_date"), hint=self.t("family.birth_date_hint"))
        yield Field("contact", self.t("family.contact"), placeholder=self.t("example.contact"),
                    hint=self.t("family.contact_hint"))
        with ButtonRow(classes="buttons"):
            yield Button(self.t("family.invite"), id="invite", variant="primary")
            yield Button(self.t("family.back"), id="back")

    def _options(self) -> list[tuple[str, str]]:
        return [(_rel_label(self.t, code), code) for code in self.allowed]

    async def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        pol = await self.run_service(family.policy, self.account_id)
        if pol is None:
            return
        self.allowed = pol.relationships
        self.query_one("#relationship", Select).set_options(self._options())
        if not pol.enabled:
            self.show_error(BeneError("family.error.not_available"))
            self.query_one("#invite", Button).disabled = True

    @on(Select.Changed, "#relationship")
    def _relationship(self, event: Select.Changed) -> None:
        self.relationship = event.value if isinstance(event.value, str) else None

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "contact":
            self.query_one("#invite", Button).press()
        else:
            self.focus_next()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#invite")
    async def _invite(self, event: Button.Pressed) -> None:
        v = {k: self.query_one(f"#{k}", Input).value for k in ("name", "kana", "birth_date", "contact")}
        result = await self.run_service(family.invite, self.account_id, v["name"], v["kana"], self.relationship,
                                        v["birth_date"], v["contact"], self.app.lang, button=event.button)
        if result is None:
            return
        message = result["message"]
        self.app.switch_screen(FamilyInviteSentScreen(self.account_id, message["recipient"]))


# ---------------------------------------------------------------------------------------------
# Steps 4–5: the approval request is on its way to the member's own login ID.


class FamilyInviteSentScreen(FamilyScreen):
    STEP = 4
    GUIDE = ("family.step4", "family.step5")  # the official text for the helpdesk guide panel (F1)

    def __init__(self, account_id: int, recipient: str) -> None:
        super().__init__()
        self.account_id, self.recipient = account_id, recipient

    def form(self) -> ComposeResult:
        yield JText(self.t("family.sent_title"), classes="title")
        yield JText(self.t("family.sent_lead", login_id=display_login_id(self.recipient),
                            hours=self.app.ctx.rules.approval_ttl // 3600 if self.app.ctx else 72),
                     classes="lead", markup=False)
        yield JText(self.t("family.outbox_hint"), classes="hint")
        yield Button(self.t("family.back_to_settings"), id="settings", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#settings", Button).focus()

    @on(Button.Pressed, "#settings")
    def _settings(self) -> None:
        back_to_settings(self.app, self.account_id)

    def action_back(self) -> None:
        back_to_settings(self.app, self.account_id)


# ---------------------------------------------------------------------------------------------
# Steps 5–6: the approval link → the invitation → 「承認」.


class ApproveScreen(FamilyScreen):
    """The invitation as the member entered it, and 「承認」. Opened by `open_approve_link`, which
    has already checked the link and that the logged-in member is the one who invited."""

    STEP = 6
    GUIDE = ("family.step5", "family.step6")  # the official text for the helpdesk guide panel (F1)

    def __init__(self, token: str, view: dict | None = None) -> None:
        super().__init__()
        self.token = token
        self.view = view

    def form(self) -> ComposeResult:
        yield JText(self.t("family.approve_title"), classes="title")
        yield JText(self.t("family.approve_lead"), classes="lead")
        yield JText("", id="details", markup=False)
        yield Button(self.t("family.approve"), id="approve", variant="primary", disabled=True)

    async def on_mount(self) -> None:
        if self.view is None:
            self.view = await self.run_service(family.approval_view, self.token, _account_id(self.app),
                                               on_error={"*": self.show_problem})
            if self.view is None:
                return
        button = self.query_one("#approve", Button)
        button.disabled = False
        button.focus()
        self.after_relabel()

    def after_relabel(self) -> None:
        v = self.view
        if not v:
            return
        lines = [
            f"{self.t('family.name')}: {v['name']}",
            f"{self.t('family.kana')}: {v['kana']}",
            f"{self.t('family.relationship')}: {_rel_label(self.t, v['relationship'])}",
            f"{self.t('family.birth_date')}: {v['birth_date']}",
            f"{self.t('family.contact')}: {display_login_id(v['contact'])}",
        ]
        self.query_one("#details", Static).update("\n".join(lines))
        if self.view:
            self.query_one("#approve", Button).disabled = False

    @on(Button.Pressed, "#approve")
    async def _approve(self, event: Button.Pressed) -> None:
        message = await self.run_service(family.approve, self.token, _account_id(self.app), button=event.button)
        if message is None:
            return
        self.app.switch_screen(FamilyApprovedScreen(self.view["invitation_id"], message["recipient"]))


class FamilyApprovedScreen(FamilyScreen):
    STEP = 6
    FLOW_DONE = True  # the member's part ends here: the kiosk returns to the start on its own (ui/modes.py)
    GUIDE = "family.step6"  # the official text for the helpdesk guide panel (F1)

    def __init__(self, invitation_id: int, recipient: str) -> None:
        super().__init__()
        self.invitation_id, self.recipient = invitation_id, recipient

    def form(self) -> ComposeResult:
        days = self.app.ctx.rules.invitation_ttl // 86400 if self.app.ctx else 7
        yield JText(self.t("family.approved_title"), classes="title")
        yield JText(self.t("family.approved_lead", contact=display_login_id(self.recipient), days=days),
                     classes="lead", markup=False)
        yield JText(self.outbox_hint("family.outbox_hint"), classes="hint")  # the invitation: to someone else
        yield Button(self.t("family.back_to_settings"), id="settings", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#settings", Button).focus()

    @on(Button.Pressed, "#settings")
    def _settings(self) -> None:
        back_to_settings(self.app, _account_id(self.app))

    def action_back(self) -> None:
        back_to_settings(self.app, _account_id(self.app))


# ---------------------------------------------------------------------------------------------
# Steps 7–9: the invitation link → the required details → 「設定」 → registered.


# Refusals at 「設定」 that leave nothing to correct on the form: said on a page of their own.
LINK_GONE = ("family.link.", "family.error.locked_now", "family.error.contact_registered_now",
             "family.error.not_available")


class FamilyRegisterScreen(FamilyScreen):
    STEP = 8
    GUIDE = ("family.step7", "family.step8")  # the official text for the helpdesk guide panel (F1)

    def __init__(self, token: str, view: dict | None = None) -> None:
        super().__init__()
        self.token = token
        self.view = view

    def form(self) -> ComposeResult:
        yield JText(self.t("family.register_title"), classes="title")
        yield JText("", id="register-lead", classes="lead", markup=False)
        yield Static("", id="login-id", markup=False)
        yield Field("name", self.t("family.reg_name"))
        yield Field("birth_date", self.t("family.reg_birth_date"), placeholder=self.t("example.birth_date"),
                    hint=self.t("family.reg_birth_date_hint"))
        yield Field("password", self.t("family.password"), password=True, hint=self.t("family.password_hint"))
        yield Field("password2", self.t("family.password2"), password=True)
        yield JText(self.t("family.terms_title"), classes="field-label")
        yield TermsBox(self.app.lang, id="terms")
        yield Tick(self.t("family.agree"), id="agree")
        yield FieldError(id="agree-error")
        yield Button(self.t("family.set"), id="set", variant="primary", disabled=True)

    async def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        if self.view is None:
            self.view = await self.run_service(family.invitation_view, self.token, on_error={"*": self.show_problem})
            if self.view is None:
                return
        name = self.query_one("#name", Input)
        if not name.value:
            name.value = self.view["name"]
        self.query_one("#set", Button).disabled = False
        self.after_relabel()

    def after_relabel(self) -> None:
        v = self.view
        if not v:
            return
        self.query_one("#register-lead", Static).update(self.t("family.register_lead", member_name=v["member_name"]))
        self.query_one("#login-id", Static).update(self.t("family.login_id", login_id=display_login_id(v["contact"])))
        self.query_one("#set", Button).disabled = False

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    @on(Button.Pressed, "#set")
    async def _set(self, event: Button.Pressed) -> None:
        password = self.confirmed_password()
        if password is None:
            return
        account_id = await self.run_service(
            family.register, self.token, self.query_one("#name", Input).value,
            self.query_one("#birth_date", Input).value, password, self.query_one("#agree", Checkbox).value,
            self.app.lang, button=event.button, on_error=dict.fromkeys(LINK_GONE, self.show_problem))
        if account_id is None:
            return
        self.app.grant_owner(self.view["contact"])  # registered here: the link proved the contact
        self.app.switch_screen(FamilyDoneScreen(account_id, self.view["contact"]))


class FamilyDoneScreen(FamilyScreen):
    """ご家族アカウントの本登録が完了しました。"""

    STEP = 9
    GUIDE = "family.step9"
    FLOW_DONE = True
    HOME_ON_BACK = True

    def __init__(self, account_id: int, login_id: str) -> None:
        super().__init__()
        self.account_id, self.login_id = account_id, login_id

    def form(self) -> ComposeResult:
        yield JText(self.t("family.done_title"), classes="title")
        yield JText(self.t("family.done_lead", login_id=display_login_id(self.login_id)), classes="lead",
                     markup=False)
        with ButtonRow(classes="buttons"):
            yield Button(self.t("family.to_login"), id="login", variant="primary")
            yield Button(self.t("family.to_top"), id="top")

    def on_mount(self) -> None:
        self.query_one("#login", Button).focus()

    @on(Button.Pressed, "#login")
    def _login(self) -> None:
        self.app.go_home()
        self.app.push_screen(routes.LOGIN(service_id="benefit_station"))



class LinkProblemScreen(BaseScreen):
    """A link that cannot be used: what is wrong with it, in words, and the way back."""

    HOME_ON_BACK = True

    def __init__(self, key: str, params: dict | None = None, staff: str | None = None) -> None:
        super().__init__()
        self.key, self.params, self.staff = key, params or {}, staff

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="flow"):
            with Vertical(classes="box"):
                yield JText(self.t("family.problem_title"), classes="title")
                text = self.t(self.key, **self.params)
                if self.app.mode == "helpdesk" and self.staff:
                    text += "\n" + self.staff_reason(self.staff)
                yield JText(text, id="problem", classes="notice", markup=False)
                yield Button(self.t("family.to_top"), id="top", variant="primary")
        yield app_footer(self.app)

    def on_mount(self) -> None:
        self.query_one("#top", Button).focus()



# ---------------------------------------------------------------------------------------------
# Links from messages (outbox viewer, `bene-tui open URL`, BeneApp(open_link=URL)).


def _problem(app, error: BeneError) -> None:
    app.push_screen(LinkProblemScreen(error.key, dict(error.params), error.staff))


def open_approve_link(app, params: dict) -> None:
    """Steps 5–6: check the link first; log in if needed; only the inviting member sees the invitation."""
    app.run_worker(_open_approve(app, params.get("token", "")), group="family-link")


async def _open_approve(app, token: str) -> None:
    account_id = _account_id(app)
    if account_id is None:
        _, error = await call_service(app, family.check_link, family.APPROVE, token)
        if error:
            _problem(app, error)
            return
        app.push_screen(routes.LOGIN(service_id="benefit_station",
                                     then=lambda a, _acc: open_approve_link(a, {"token": token})))
        app.notify(app.t("family.login_required"), timeout=8)
        return
    view, error = await call_service(app, family.approval_view, token, account_id)
    if error:
        _problem(app, error)
    else:
        app.push_screen(ApproveScreen(token, view))


def open_invite_link(app, params: dict) -> None:
    """Steps 7–8: the invitation link opens the registration form, or says what is wrong with it."""
    app.run_worker(_open_invite(app, params.get("token", "")), group="family-link")


async def _open_invite(app, token: str) -> None:
    view, error = await call_service(app, family.invitation_view, token)
    if error:
        _problem(app, error)
    else:
        app.push_screen(FamilyRegisterScreen(token, view))

