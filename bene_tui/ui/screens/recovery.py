"""The three "I forgot ..." procedures (SPEC §3.4), from the start screen and from Case 1."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Static

from bene_tui.services import helpdesk, identify, recovery
from bene_tui.services.normalize import display_login_id
from . import routes
from .base import call_service, succeeded
from .flow import FlowScreen
from ..widgets.button import Button, ButtonRow
from ..widgets.field import Field
from ..widgets.jtext import JText

ID_STEPS = ("recovery.id_step1", "recovery.id_step2")
PW_STEPS = ("recovery.pw_step1", "recovery.pw_step2", "recovery.pw_step3", "recovery.pw_step4")
KEYS_STEPS = ("recovery.keys_step1", "recovery.keys_step2")


class RecoveryScreen(FlowScreen):
    """Enter moves from field to field; Enter on the last field presses the screen's button."""

    FIELDS: tuple[str, ...] = ()
    SUBMIT = ""

    # -- helpdesk: what the caller cannot see (the answer on screen is the same whatever happened) --
    async def _audit_mark(self) -> int:
        return (await self.run_service(helpdesk.last_audit_id) or 0) if self.app.mode == "helpdesk" else 0

    async def _staff_notes(self, action: str, since: int) -> list[str]:
        if self.app.mode != "helpdesk":
            return []
        notes = await self.run_service(helpdesk.recovery_notes, action, since) or []
        return [self.t(key, **params) for key, params in notes] or [self.t("hd.note.nothing")]

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id in self.FIELDS[:-1]:
            self.focus_next()
        elif event.input.id == self.FIELDS[-1]:
            self.query_one(f"#{self.SUBMIT}", Button).press()

    def on_mount(self) -> None:
        if self.FIELDS:
            self.query_one(f"#{self.FIELDS[0]}", Input).focus()

    def values(self) -> list[str]:
        return [self.query_one(f"#{f}", Input).value for f in self.FIELDS]


class FinalScreen(FlowScreen):
    """The last step: to the login screen or back to the top; Escape goes to the top."""

    FLOW_DONE = True  # the kiosk returns to the start on its own (ui/modes.py)
    HOME_ON_BACK = True

    staff: list[str] = []  # helpdesk: what the request really did (RecoveryScreen._staff_notes)

    def staff_lines(self) -> ComposeResult:
        for note in self.staff:
            yield JText(self.t("helpdesk.staff_reason", reason=note), classes="staff-note", markup=False)

    def buttons(self, login: bool = True) -> ComposeResult:
        with ButtonRow(classes="buttons"):
            if login:
                yield Button(self.t("recovery.to_login"), id="to-login", variant="primary")
            yield Button(self.t("recovery.to_top"), id="top")

    def on_mount(self) -> None:
        self.query("#to-login, #top").first(Button).focus()

    @on(Button.Pressed, "#to-login")
    def _to_login(self) -> None:
        self.app.go_home()
        self.app.push_screen(routes.LOGIN())



# -- ベネアカウントが不明 --------------------------------------------------------------------------

class ForgotIdScreen(RecoveryScreen):
    GUIDE = "forgot.login_id"
    STEPS, STEP = ID_STEPS, 1
    FIELDS, SUBMIT = ("group_id", "key1", "key2"), "forgot-id-next"

    def __init__(self) -> None:
        super().__init__()
        self.org: dict | None = None

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.forgot_id"), classes="title", markup=False)
        yield JText(self.t("recovery.forgot_id_lead"), classes="lead", markup=False)
        yield Field("group_id", self.t("recovery.group_id"), placeholder=self.t("example.group_id"))
        yield Field("key1", self._label(1))
        yield Field("key2", self._label(2))
        yield Button(self.t("recovery.next"), id="forgot-id-next", variant="primary")

    def _label(self, n: int) -> str:
        base = self.t(f"recovery.key{n}")
        if self.org:
            label = (self.org.get(f"key{n}_label_en") if self.app.lang == "en" else None) or self.org.get(f"key{n}_label")
            if label:
                return self.t("reg.key_with_label", what=base, label=label)  # as step 1 shows it
        return base

    @on(Input.Changed, "#group_id")
    def _group_changed(self, event: Input.Changed) -> None:
        self.run_worker(self._load_org(event.value), exclusive=True, group="org")

    async def _load_org(self, group_id: str) -> None:
        self.org, _ = await call_service(self.app, identify.organisation, group_id)  # unknown: the plain labels
        if not self.relabelling:  # an F4 rebuilding the screen sets the labels itself, once its fields exist
            self.after_relabel()

    def after_relabel(self) -> None:
        for n in (1, 2):
            self.query_one(f"#field-key{n}", Field).set_label(self._label(n))

    @on(Button.Pressed, "#forgot-id-next")
    async def _next(self, event: Button.Pressed) -> None:
        since = await self._audit_mark()
        result = await self.run_service(recovery.forgot_login_id, *self.values(), self.app.lang, button=event.button)
        if result is not None:
            done = ForgotIdDoneScreen(result["masked"], result["channel"])
            done.staff = await self._staff_notes("recovery.forgot_id", since)
            self.app.push_screen(done)


class ForgotIdDoneScreen(FinalScreen):
    GUIDE = "forgot.login_id"
    STEPS, STEP = ID_STEPS, 2

    def __init__(self, masked: str, channel: str) -> None:
        super().__init__()
        self.masked, self.channel = masked, channel

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.forgot_id_result"), classes="lead", markup=False)
        yield Static(self.masked, id="masked-login-id", classes="big-name", markup=False)
        yield JText(self.t("recovery.forgot_id_sent_sms" if self.channel == "sms" else "recovery.forgot_id_sent_email"),
                     classes="lead", markup=False)
        yield from self.staff_lines()
        yield from self.buttons()


# -- パスワードが不明 ---------------------------------------------------------------------------

class ForgotPasswordScreen(RecoveryScreen):
    GUIDE = "forgot.password"
    STEPS, STEP = PW_STEPS, 1
    FIELDS, SUBMIT = ("login_id",), "reset-next"

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.forgot_password"), classes="title", markup=False)
        yield JText(self.t("recovery.forgot_password_lead"), classes="lead", markup=False)
        yield Field("login_id", self.t("recovery.login_id"), placeholder=self.t("example.email"))
        yield Button(self.t("recovery.next"), id="reset-next", variant="primary")

    @on(Button.Pressed, "#reset-next")
    async def _next(self, event: Button.Pressed) -> None:
        started = await self.run_service(recovery.start_reset, *self.values(), self.app.lang, button=event.button)
        if started is not None:
            self.app.push_screen(ResetCodeScreen(started["flow_id"], started["shown"], started["channel"]))


class ResetCodeScreen(RecoveryScreen):
    GUIDE = "forgot.password"
    STEPS, STEP = PW_STEPS, 2
    FIELDS, SUBMIT = ("code",), "reset-send"

    def __init__(self, flow_id: str, shown: str, channel: str = "email") -> None:
        super().__init__()
        self.flow_id, self.shown, self.channel = flow_id, shown, channel

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.reset_code_lead", login_id=display_login_id(self.shown)), classes="lead",
                     markup=False)
        if self.channel == "email":  # the sender's address is an e-mail matter
            yield JText(self.t("recovery.sender_note"), id="sender-note", classes="hint", markup=False)
        yield Field("code", self.t("recovery.code"), placeholder=self.t("reg.code_placeholder"), max_length=20)
        with ButtonRow(classes="buttons"):
            yield Button(self.t("recovery.send"), id="reset-send", variant="primary")
            yield Button(self.t("recovery.resend"), id="reset-resend")
        yield JText(self.outbox_hint("reg.outbox_hint"), classes="hint", markup=False)

    @on(Button.Pressed, "#reset-send")
    async def _send(self, event: Button.Pressed) -> None:
        if await self.run_service(recovery.check_reset_code, self.flow_id, *self.values(), button=event.button):
            self.app.push_screen(NewPasswordScreen(self.flow_id))

    @on(Button.Pressed, "#reset-resend")
    async def _resend(self, event: Button.Pressed) -> None:
        self.clear_errors()
        done = await self.run_service(succeeded(recovery.resend_reset_code), self.flow_id, self.app.lang, button=event.button)
        if done:
            self.query_one("#code", Input).value = ""
            self.notify(self.t("recovery.resent"))


class NewPasswordScreen(RecoveryScreen):
    GUIDE = "forgot.password"
    STEPS, STEP = PW_STEPS, 3
    FIELDS, SUBMIT = ("password", "password2"), "reset-submit"

    def __init__(self, flow_id: str) -> None:
        super().__init__()
        self.flow_id = flow_id

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.new_password_lead"), classes="lead", markup=False)
        yield Field("password", self.t("recovery.new_password"), password=True, hint=self.t("recovery.password_hint"))
        yield Field("password2", self.t("recovery.new_password2"), password=True)
        yield Button(self.t("recovery.reset_submit"), id="reset-submit", variant="primary")

    @on(Button.Pressed, "#reset-submit")
    async def _submit(self, event: Button.Pressed) -> None:
        password = self.confirmed_password()
        if password is None:
            return
        done = await self.run_service(succeeded(recovery.set_new_password), self.flow_id, password, self.app.lang, button=event.button)
        if done:
            self.app.push_screen(ResetDoneScreen())


class ResetDoneScreen(FinalScreen):
    GUIDE = "forgot.password"
    STEPS, STEP = PW_STEPS, 4

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.reset_done"), classes="title", markup=False)
        yield JText(self.t("recovery.reset_done_lead"), classes="lead", markup=False)
        yield from self.buttons()


# -- 認証キーが不明 ----------------------------------------------------------------------------

class ForgotKeysScreen(RecoveryScreen):
    GUIDE = "forgot.auth_key"
    STEPS, STEP = KEYS_STEPS, 1
    FIELDS, SUBMIT = ("group_id", "kana", "birth_date"), "keys-next"

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.forgot_keys"), classes="title", markup=False)
        yield JText(self.t("recovery.forgot_keys_lead"), classes="lead", markup=False)
        yield Field("group_id", self.t("recovery.group_id"), placeholder=self.t("example.group_id"))
        yield Field("kana", self.t("recovery.kana"), placeholder=self.t("example.kana"))
        yield Field("birth_date", self.t("recovery.birth_date"), placeholder=self.t("example.birth_date"))
        yield Button(self.t("recovery.next"), id="keys-next", variant="primary")

    @on(Button.Pressed, "#keys-next")
    async def _next(self, event: Button.Pressed) -> None:
        since = await self._audit_mark()
        done = await self.run_service(succeeded(recovery.forgot_keys), *self.values(), self.app.lang, button=event.button)
        if done:
            screen = ForgotKeysDoneScreen()
            screen.staff = await self._staff_notes("recovery.forgot_keys", since)
            self.app.push_screen(screen)


class ForgotKeysDoneScreen(FinalScreen):
    GUIDE = "forgot.auth_key"
    STEPS, STEP = KEYS_STEPS, 2

    def form(self) -> ComposeResult:
        yield JText(self.t("recovery.keys_sent"), classes="lead", markup=False)
        yield from self.staff_lines()
        yield from self.buttons(login=False)

