"""New registration, steps 1–5 (SPEC §3.1). Thin screens over `services/registration.py`."""

from __future__ import annotations

from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static
from textual.worker import Worker

from bene_tui.core.errors import BeneError
from bene_tui.services import identify, linking, passwords, registration
from bene_tui.services.normalize import display_login_id, mask
from . import routes
from .base import call_service
from .flow import FlowScreen
from .start import pick_service, service_label
from ..widgets.button import Button, ButtonRow
from ..widgets.field import Field, FieldError
from ..widgets.jtext import JText
from ..widgets.terms import TermsBox
from ..widgets.toggles import Choice, ChoiceSet, Tick

STEP_KEYS = ("reg.step1", "reg.step2", "reg.step3", "reg.step4", "reg.step5")


class RegistrationScreen(FlowScreen):
    """A step of registration (and of linking, which starts with registration's steps 1 and 2)."""

    STEPS = STEP_KEYS


class Step1Screen(RegistrationScreen):
    """【団体ID】と【認証キー1・2】を入力し「次へ」. Also the first step of linking."""

    STEP = 1
    # Steps 1 and 2 are where a linking caller starts too (SPEC §3.2: the link at the top of Step 2),
    # so the agent's guide panel (F1) shows both procedures there.
    GUIDE = ("reg.step1", "link.step1")

    def __init__(self, purpose: str = "register") -> None:
        super().__init__()
        self.purpose = purpose
        self.org: dict | None = None
        self.step2_kept: dict | None = None  # step 2's entries (no password) after an Esc back here

    def form(self) -> ComposeResult:
        yield JText(self.t("reg.step1_lead"), classes="lead", markup=False)  # "[Group ID]" is text
        yield JText(self.t("reg.step1_services"), id="services-note", markup=False)
        yield Button(service_label(self.app), id="service", classes="link")  # 「こちら」: the service choice
        yield Field("group_id", self.t("reg.group_id"), placeholder=self.t("example.group_id"))
        yield Field("key1", self._label(1))
        yield Field("key2", self._label(2))
        yield Button(self.t("reg.next"), id="next", variant="primary")

    def _label(self, n: int) -> str:
        if self.org:
            label = self.org.get(f"key{n}_label_en" if self.app.lang == "en" else f"key{n}_label")
            label = label or self.org.get(f"key{n}_label")
            if label:
                return self.t("reg.key_with_label", what=self.t(f"reg.key{n}"), label=label)
        return self.t(f"reg.key{n}")

    def on_mount(self) -> None:
        self.query_one("#group_id", Input).focus()

    def build_ahead(self) -> Step2Screen | None:
        return Step2Screen() if self.purpose == "register" else None

    @on(Button.Pressed, "#service")
    def _pick_service(self, event: Button.Pressed) -> None:
        pick_service(self.app, event.button)

    @on(Input.Changed, "#group_id")
    def _group_changed(self, event: Input.Changed) -> None:
        # A worker, not an await: the screen's queue must keep taking keys (fast typists, scanners).
        # Pass the function, not a coroutine: a worker cancelled before it starts never awaits it.
        self.run_worker(partial(self._load_org, event.value), exclusive=True, group="org")

    async def _load_org(self, group_id: str) -> None:
        """The organisation's own names for its two keys, as soon as its 団体ID is known."""
        self.org, _ = await call_service(self.app, identify.organisation, group_id)  # unknown: the plain labels
        if not self.relabelling:  # an F4 rebuilding the screen sets the labels itself, once its fields exist
            self.after_relabel()

    def after_relabel(self) -> None:
        for n in (1, 2):
            self.query_one(f"#field-key{n}", Field).set_label(self._label(n))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        order = ["group_id", "key1", "key2"]
        if event.input.id in order[:-1]:
            self.focus_next()
        else:
            self.query_one("#next", Button).press()

    @on(Button.Pressed, "#next")
    async def _next(self, event: Button.Pressed) -> None:
        v = {k: self.query_one(f"#{k}", Input).value for k in ("group_id", "key1", "key2")}
        started = await self.run_service(registration.start, v["group_id"], v["key1"], v["key2"],
                                         self.app.session.service_id, button=event.button)
        if started is None:
            return
        if self.purpose == "link":
            self.app.push_screen(routes.LINK_LOGIN(started.flow_id))
        else:
            step2 = self.ahead.take()
            step2.flow_id = started.flow_id
            step2.restore(self.step2_kept)
            self.app.push_screen(step2)


class Step2Screen(RegistrationScreen):
    """Login ID (e-mail or SMS), password, terms, 「上記内容で送信する」 → provisional registration."""

    STEP = 2
    GUIDE = ("reg.step2", "link.step2")

    def __init__(self, flow_id: str = "") -> None:
        super().__init__()
        self.flow_id = flow_id  # set when step 1 has passed (Step1Screen composes this screen ahead)
        self.already_registered = False
        self._hash_ahead: tuple[str, Worker] | None = None  # (password, its Argon2id hash being made)

    def form(self) -> ComposeResult:
        yield Button(self.t("reg.link_instead"), id="link-instead", classes="link")
        yield JText(self.t("reg.step2_lead"), classes="lead")
        yield JText(self.t("reg.login_kind"), classes="field-label")
        with ChoiceSet(id="kind"):
            yield Choice(self.t("reg.kind_email"), value=True, id="kind-email")
            yield Choice(self.t("reg.kind_sms"), id="kind-sms")
        yield Field("login_id", self.t("reg.login_id_email"), placeholder=self.t("example.email"))
        yield Field("password", self.t("reg.password"), password=True, hint=self.t("reg.password_hint"))
        yield Field("password2", self.t("reg.password2"), password=True)
        yield JText(self.t("reg.terms_title"), classes="field-label")
        yield TermsBox(self.app.lang, id="terms")
        yield Tick(self.t("reg.agree"), id="agree")
        yield FieldError(id="agree-error")
        yield Button(self.t("reg.submit"), id="submit", variant="primary")
        if self.already_registered:  # kept through a language switch; otherwise mounted when it happens
            yield self._already_notice()

    def _already_notice(self) -> Vertical:
        # Mounted only when needed: Step 2 is the largest screen of the flow (bench/transitions.py).
        return Vertical(JText(self.t("reg.already_registered"), markup=False),
                        Button(self.t("reg.link_setup"), id="link-setup", variant="warning"),
                        id="already", classes="notice")

    def on_mount(self) -> None:
        self.query_one("#kind", RadioSet).focus()
        self._apply_kept()

    # -- Esc to step 1 and forward again: what was typed here comes back (never the passwords) --
    _kept: dict | None = None

    def kept_values(self) -> dict:
        return {"kind": self.kind, "login_id": self.query_one("#login_id", Input).value,
                "agree": self.query_one("#agree", Checkbox).value}

    def restore(self, kept: dict | None) -> None:
        self._kept = kept
        if self.is_mounted:  # composed ahead: fill it in now
            self._apply_kept()

    def _apply_kept(self) -> None:
        if not self._kept:
            return
        kept, self._kept = self._kept, None
        self.query_one("#kind-sms" if kept["kind"] == "sms" else "#kind-email", RadioButton).value = True
        self.query_one("#login_id", Input).value = kept["login_id"]
        self.query_one("#agree", Checkbox).value = kept["agree"]
        self.after_relabel()

    def action_back(self) -> None:
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 2 else None
        if isinstance(below, Step1Screen):
            below.step2_kept = self.kept_values()
        super().action_back()

    @property
    def kind(self) -> str:
        return "sms" if self.query_one("#kind-sms", RadioButton).value else "email"

    def after_relabel(self) -> None:
        sms = self.kind == "sms"
        self.query_one("#field-login_id", Field).set_label(self.t("reg.login_id_sms" if sms else "reg.login_id_email"))
        self.query_one("#login_id", Input).placeholder = self.t("example.mobile" if sms else "example.email")

    async def _show_already(self, shown: bool) -> None:
        """The 'already registered: link instead' notice below 「上記内容で送信する」, or not."""
        self.already_registered = shown
        notice = self.query("#already")
        if shown and not notice:
            await self.query_one("#submit").parent.mount(self._already_notice(), after="#submit")
            self.bring_into_view(self.query_one("#already"))  # below the fold at 80×24
        elif not shown:
            await notice.remove()

    @on(RadioSet.Changed, "#kind")
    def _kind(self) -> None:
        self.after_relabel()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(Input.Changed, "#password, #password2")
    def _passwords_changed(self) -> None:
        """Once both fields agree, hash the password in the background while the person reads the
        terms: 「上記内容で送信する」 then skips Argon2id's 150 ms (bench/transitions.py)."""
        password = self.query_one("#password", Input).value
        if not password or password != self.query_one("#password2", Input).value:
            return
        if self._hash_ahead is None or self._hash_ahead[0] != password:
            worker = self.run_worker(partial(self.app.call, registration.hash_ahead, password),
                                     group="hash-ahead", exclusive=True, exit_on_error=False)
            self._hash_ahead = (password, worker)

    async def _prehashed(self, password: str) -> passwords.Prehashed | None:
        if self._hash_ahead is None or self._hash_ahead[0] != password:
            return None
        try:
            return await self._hash_ahead[1].wait()
        except Exception:  # failed (say, a broken paste) or cancelled: the service hashes and judges it
            return None

    @on(Button.Pressed, "#submit")
    async def _submit(self, event: Button.Pressed) -> None:
        password = self.confirmed_password()
        if password is None:
            return
        login_id = self.query_one("#login_id", Input).value
        await self._show_already(False)
        self.clear_errors()
        async with self.busy(event.button):  # no second submission while the password is hashed
            message, error = await call_service(
                self.app, registration.submit_credentials, self.flow_id, self.kind, login_id, password,
                self.query_one("#agree", Checkbox).value, self.app.lang, await self._prehashed(password))
        if error is not None:  # (shown once the button is back: the error may take the focus)
            await self.handle_error(error, {"registration.already_registered": self._already})
            return
        self.app.grant_flow(self.flow_id)
        step3 = self.ahead.take()
        step3.show_for(self.flow_id, message["recipient"])
        self.app.push_screen(step3)

    async def _already(self, error: BeneError) -> None:
        """This login ID has an account: the notice offering to link instead, its button focused."""
        await self._show_already(True)
        self.query_one("#link-setup", Button).focus()

    def build_ahead(self) -> Step3Screen:
        return Step3Screen()

    @on(Button.Pressed, "#link-instead, #link-setup")
    def _link(self) -> None:
        self.app.push_screen(routes.LINK_LOGIN(self.flow_id, self.query_one("#login_id", Input).value.strip()))


class Step3Screen(RegistrationScreen):
    """The code sent to the login ID; 「送信する」."""

    STEP = 3
    GUIDE = "reg.step3"

    def __init__(self, flow_id: str = "", recipient: str = "") -> None:
        super().__init__()
        self.flow_id, self.recipient = flow_id, recipient  # set by show_for when composed ahead
        self.now_registered = False  # another registration's code came first: offer linking

    def show_for(self, flow_id: str, recipient: str) -> None:
        self.flow_id, self.recipient = flow_id, recipient
        if self.is_mounted:
            self.after_relabel()

    def form(self) -> ComposeResult:
        yield JText(self.t("reg.provisional_done"), classes="title")
        yield JText("", id="sent-to", classes="lead", markup=False)
        yield JText(self.t("reg.sender_note"), id="sender-note", classes="hint")
        yield Field("code", self.t("reg.code"), placeholder=self.t("reg.code_placeholder"), max_length=20)
        with ButtonRow(classes="buttons"):
            yield Button(self.t("reg.send"), id="send", variant="primary")
            yield Button(self.t("reg.resend"), id="resend")
            if self.now_registered:
                yield self._link_setup()
        yield JText(self.t("reg.outbox_hint"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()
        self.after_relabel()

    def after_relabel(self) -> None:
        sms = self.recipient.startswith("+")
        self.query_one("#sent-to", Static).update(
            self.t("reg.code_sent_sms" if sms else "reg.code_sent_email", login_id=display_login_id(self.recipient)))
        self.query_one("#sender-note").display = not sms  # the sender's address is an e-mail matter

    def build_ahead(self) -> Step4Screen:
        return Step4Screen()

    @on(Input.Submitted, "#code")
    def _enter(self) -> None:
        self.query_one("#send", Button).press()

    @on(Button.Pressed, "#send")
    async def _send(self, event: Button.Pressed) -> None:
        code = self.query_one("#code", Input).value
        if await self.run_service(registration.verify_code, self.flow_id, code, button=event.button):
            self.app.grant_owner(self.recipient)  # its code entered here: this login ID is the session's
            step4 = self.ahead.take()
            step4.flow_id = self.flow_id
            step4.person = await self.run_service(registration.registered_name, self.flow_id)
            if step4.is_mounted:  # composed ahead: the name in place before its first frame
                step4.after_relabel()
            self.app.push_screen(step4)
        else:  # the next digits typed replace the wrong ones
            self.query_one("#code", Input).select_all()

    def _link_setup(self) -> Button:
        return Button(self.t("reg.link_setup"), id="link-setup", variant="warning")

    def show_error(self, error: BeneError) -> None:
        super().show_error(error)
        if error.key == "registration.now_registered" and not self.now_registered:
            # The login ID went to the first valid code: what is left is linking, as step 2 offers it.
            self.now_registered = True
            button = self._link_setup()
            self.query_one("#resend").parent.mount(button)
            self.call_after_refresh(button.focus)

    @on(Button.Pressed, "#link-setup")
    def _link(self) -> None:
        self.app.push_screen(routes.LINK_LOGIN(self.flow_id, display_login_id(self.recipient)))

    @on(Button.Pressed, "#resend")
    async def _resend(self, event: Button.Pressed) -> None:
        message = await self.run_service(registration.resend_code, self.flow_id, self.app.lang, button=event.button)
        if message is not None:
            self.query_one("#code", Input).value = ""
            self.notify(self.t("reg.resent", login_id=mask(self.recipient)), markup=False)


class Step4Screen(RegistrationScreen):
    """The 「姓名」 registered by the organisation; the checkbox; complete (or 'my name is wrong')."""

    STEP = 4
    GUIDE = "reg.step4"
    HOME_ON_BACK = True  # the code is spent: there is no step 3 to return to

    def __init__(self, flow_id: str = "", purpose: str = "register", steps: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.flow_id, self.purpose = flow_id, purpose  # flow_id: set by step 3 when composed ahead
        if steps:  # linking shows its own steps, longer: on two lines, as the family flow's
            self.STEPS, self.STEP_LINES = steps, 2
        self.person: dict | None = None
        self.wrong_org: str | None = None  # set once the person said the name is wrong

    def form(self) -> ComposeResult:
        yield JText(self.t("reg.step4_lead" if self.purpose == "register" else "link.step4_lead"), classes="lead")
        yield Static("", id="org-name", markup=False)
        yield Static("", id="name", classes="big-name", markup=False)
        yield Static("", id="kana", markup=False)
        yield Static("", id="staff-name-note", classes="form-error", markup=False)  # helpdesk only
        yield Tick(self.t("reg.name_ok"), id="confirm")
        yield FieldError(id="confirm-error")
        with ButtonRow(classes="buttons"):
            yield Button(self.t("reg.complete" if self.purpose == "register" else "link.complete"),
                         id="complete", variant="primary")
            yield Button(self.t("reg.name_wrong"), id="name-wrong")
        with Vertical(id="wrong-box", classes="notice hidden"):
            yield JText("", id="wrong-note", markup=False)
            yield Button(self.t("reg.to_top"), id="top")

    async def on_mount(self) -> None:
        self.query_one("#confirm", Checkbox).focus()
        await self._load_person()
        self.after_relabel()

    async def on_screen_resume(self) -> None:
        if await self._load_person():  # step 3 could not (a database busy past its timeout): here, then
            self.after_relabel()

    async def _load_person(self) -> bool:
        """Load the name to confirm unless it is loaded already (step 3 loads it for a Step 4
        composed ahead); True if it was loaded now. A failure shows its reason."""
        if self.person is not None or not self.flow_id:
            return False
        self.person = await self.run_service(registration.registered_name, self.flow_id)
        return self.person is not None

    def after_relabel(self) -> None:
        if self.person:
            self.query_one("#org-name", Static).update(self.t("reg.org", org=self.person["org_name"]))
            self.query_one("#name", Static).update(self.t("reg.full_name", name=self.person["name"]))
            self.query_one("#kana", Static).update(self.person["kana"] or "")
            others = self.person.get("other_names")
            if self.app.mode == "helpdesk" and others:
                note = self.t("link.staff_other_names", name=self.person["name"], others="、".join(others))
                self.query_one("#staff-name-note", Static).update(self.t("helpdesk.staff_reason", reason=note))
        if self.wrong_org is not None:
            self.query_one("#wrong-note", Static).update(self.t("reg.name_wrong_note", org=self.wrong_org))
            self.query_one("#wrong-box").remove_class("hidden")
            self.query_one("#complete", Button).disabled = True
            self.query_one("#confirm", Checkbox).disabled = True

    @on(Button.Pressed, "#complete")
    async def _complete(self, event: Button.Pressed) -> None:
        if self.person is None:  # nobody confirms a name they were not shown: show it, then ask again
            if await self._load_person():
                self.after_relabel()
            return
        confirmed = self.query_one("#confirm", Checkbox).value
        complete = registration.complete if self.purpose == "register" else linking.complete
        account_id = await self.run_service(complete, self.flow_id, confirmed, button=event.button)
        if account_id is not None:
            done = self.ahead.take()
            done.account_id = account_id
            self.finish(done)

    def build_ahead(self) -> DoneScreen:
        return DoneScreen(0, self.purpose, steps=self.STEPS)

    @on(Button.Pressed, "#name-wrong")
    async def _wrong(self, event: Button.Pressed) -> None:
        org = await self.run_service(registration.report_wrong_name, self.flow_id, button=event.button)
        if org is not None:
            self.wrong_org = org
            self.after_relabel()
            self.query_one("#top", Button).focus()



class DoneScreen(RegistrationScreen):
    """ベネアカウントの新規登録が完了しました。 and the 初回特典 banner."""

    STEP = 5
    GUIDE = "reg.step5"
    FLOW_DONE = True  # the kiosk returns to the start on its own (ui/modes.py)
    HOME_ON_BACK = True

    def __init__(self, account_id: int, purpose: str = "register", steps: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.account_id, self.purpose = account_id, purpose
        if steps:
            self.STEPS, self.STEP_LINES = steps, 2
        self.benefit: bool | None = None  # granted now (True) or already had (False)

    def form(self) -> ComposeResult:
        yield JText(self.t("reg.done"), classes="title")
        yield JText(self.t("reg.done_lead"), classes="lead")
        yield Button(self.t("reg.benefit_banner"), id="benefit", classes="banner")
        yield JText("", id="benefit-result", markup=False)
        yield Button(self.t("reg.to_top"), id="top")

    def on_mount(self) -> None:
        self.query_one("#benefit", Button).focus()

    @on(Button.Pressed, "#benefit")
    async def _benefit(self, event: Button.Pressed) -> None:
        granted = await self.run_service(registration.grant_benefit, self.account_id, button=event.button)
        if granted is not None:
            self.benefit = granted
            self.after_relabel()

    def after_relabel(self) -> None:
        if self.benefit is not None:
            self.query_one("#benefit-result", Static).update(
                self.t("reg.benefit_granted" if self.benefit else "reg.benefit_already"))

