"""What every screen shares: translation, errors beside their field, service calls, relabelling."""

from __future__ import annotations

import inspect
import logging
from dataclasses import replace
from contextlib import asynccontextmanager
from functools import cached_property, wraps
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

from textual import on
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, RadioSet

from bene_tui.core.config import KEYS
from bene_tui.core.errors import BeneError
from bene_tui.core.i18n import find
from . import routes
from .ahead import Ahead
from .. import staff_text
from ..textual_compat import forget_pressed_radio
from ..widgets import guide_panel

log = logging.getLogger("bene_tui")

ErrorHandlers = Mapping[str, Callable[[BeneError], "Awaitable[None] | None"]]


async def call_service(app, fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, BeneError | None]:
    """`app.call(fn, ...)` as (result, None), or (None, the BeneError to show): an unexpected
    exception (a bug, a broken database) is logged and becomes `error.unexpected`. Screens use
    `BaseScreen.run_service`; this is for what runs outside a screen (a link's opener)."""
    try:
        return await app.call(fn, *args, **kw), None
    except BeneError as error:
        return None, error
    except Exception:  # never a traceback on screen
        log.exception("service call failed: %s", getattr(fn, "__name__", fn))
        return None, BeneError("error.unexpected")


def find_handler(handlers: ErrorHandlers, key: str):
    """The handler for an error key: the key itself, else the longest "prefix." it falls under, else "*"."""
    if key in handlers:
        return handlers[key]
    prefixes = [p for p in handlers if p.endswith(".") and key.startswith(p)]
    return handlers[max(prefixes, key=len)] if prefixes else handlers.get("*")


def succeeded(fn: Callable[..., Any]) -> Callable[..., bool]:
    """A service that returns nothing, as one that returns True: `run_service` then returns None
    only when it failed."""
    @wraps(fn)
    def call(ctx, *args: Any, **kw: Any) -> bool:
        fn(ctx, *args, **kw)
        return True

    return call


class BaseScreen(Screen):
    BINDINGS = [
        Binding(KEYS["back"], "back", "戻る/Back", id="back"),  # ids: config.toml [keys] remaps them
        Binding(KEYS["guide"], "guide", "ガイド/Guide", id="guide"),  # helpdesk (and demo): the official text of this step
        Binding(KEYS["search"], "helpdesk_search", "検索/Search", id="search"),  # helpdesk only
        Binding(KEYS["operations"], "operations", "運用状況/Operations", id="operations"),  # helpdesk only (ui/screens/operations.py)
    ]

    def t(self, key: str, **params: Any) -> str:
        return self.app.t(key, **params)

    @property
    def active_bindings(self):
        """The footer's key labels in the current language: the app's keys from the catalogue
        (`app.key_<action>`), Textual's own widgets' too (`app.key_textual_<action>`: Select's
        open menu), a screen's "日本語/English" description by its half."""
        bindings, lang = super().active_bindings, self.app.lang
        for key, active in bindings.items():
            label = find(lang, f"app.key_{active.binding.action}") if active.node is self.app else None
            if not label and type(active.node).__module__.startswith("textual."):
                label = find(lang, f"app.key_textual_{active.binding.action}")
            if not label and active.binding.description.count("/") == 1:
                label = active.binding.description.split("/")[0 if lang == "ja" else 1]
            if label:
                bindings[key] = active._replace(binding=replace(active.binding, description=label))
        return bindings

    HOME_ON_BACK = False  # the end of a flow: Escape leads to the start screen, there is no step to go back to

    def action_back(self) -> None:
        if self.HOME_ON_BACK:
            self.app.go_home()
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    @on(Button.Pressed, "#top")
    def _to_top(self) -> None:
        """「トップへ」, on whichever screen has it (id "top"): the start screen."""
        self.app.go_home()

    # -- helpdesk: F1 guide panel, F3 search (ui/screens/helpdesk.py, ui/widgets/guide_panel.py) ---------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "guide":
            return self.app.mode != "kiosk"
        if action in ("helpdesk_search", "operations"):
            return self.app.mode == "helpdesk"
        return True

    def action_guide(self) -> None:
        guide_panel.toggle(self.app)

    def action_helpdesk_search(self) -> None:
        routes.HELPDESK_SEARCH(self.app)

    def action_operations(self) -> None:
        routes.OPERATIONS(self.app)

    def on_screen_resume(self) -> None:
        guide_panel.sync(self)
        self.ahead.schedule()
        self.app.quiet_gc.settle()

    # -- the next screen, composed while this one is filled in (ui/screens/ahead.py) ----------------
    def build_ahead(self) -> Screen | None:
        """A new instance of the screen this one leads to, if it can be composed before its data is
        known; the screen takes it with `self.ahead.take()` (composed ahead, or new) and fills it in."""
        return None

    @cached_property
    def ahead(self) -> Ahead:
        return Ahead(self, self.build_ahead)

    def on_unmount(self) -> None:
        self.ahead.discard()

    def outbox_hint(self, key: str) -> str:
        """The hint under a message sent to someone this kiosk session has not proven it is. A kiosk
        does not show it (outbox.KioskScope), so the hint says where it went: the same words for anyone."""
        return self.t("kiosk.not_on_this_terminal" if self.app.mode == "kiosk" else key)

    # -- errors ---------------------------------------------------------------------------
    _shown_error: BeneError | None = None  # placed again in the new language after a switch

    def clear_errors(self) -> None:
        self._shown_error = None
        for w in self.query(".field-error, .form-error"):
            if str(w.content):  # an empty line left alone: clearing it would lay the screen out again
                w.update("")

    def show_error(self, error: BeneError) -> None:
        """The generic text beside its field; the real reason too, for helpdesk staff only."""
        self._place_error(error)
        if error.key in ("error.code_expired", "error.code_void"):
            # A dead code can only be replaced: take the person straight to the resend button.
            for button in self.query("#resend, #reset-resend"):
                button.focus()
                break

    def staff_reason(self, staff: str | None) -> str:
        """The real reason, for helpdesk staff, in the agent's language (the services write it in English)."""
        return self.t("helpdesk.staff_reason", reason=staff_text.say(self.app.lang, staff))

    def _place_error(self, error: BeneError, notify: bool = True) -> None:
        self._shown_error = error
        text = self.t(error.key, **error.params)
        if self.app.mode == "helpdesk" and error.staff:
            text += "\n" + self.staff_reason(error.staff)
        target = None
        if error.field:
            found = self.query(f"#{error.field}-error")
            target = found.first() if found else None
        if target is None:
            found = self.query(".form-error")
            target = found.first() if found else None
        if target is not None:
            target.update(text)
            if notify:
                self.bring_into_view(target)
        elif notify:
            self.notify(text, severity="error", markup=False)

    in_view = None  # the message last brought into view (a ButtonRow that stacks brings it again)

    def bring_into_view(self, widget) -> None:
        """A message in view when it appears, whatever the terminal's height (80×24)."""
        self.in_view = widget
        widget.scroll_visible(animate=False)

    @asynccontextmanager
    async def busy(self, button: Button | None) -> AsyncIterator[None]:
        """`button` disabled while the block runs (no second press); the focus back on it afterwards
        if it had it and nothing else took it meanwhile (a disabled button loses the focus)."""
        if button is None:
            yield
            return
        had_focus = self.focused is button
        button.disabled = True
        moved_to = self.focused
        try:
            yield
        finally:
            button.disabled = False
            if had_focus and self.focused is moved_to:
                button.focus()

    async def run_service(self, fn: Callable[..., Any], *args: Any, button: Button | None = None,
                          on_error: ErrorHandlers | None = None, keep_shown: bool = False, **kw: Any) -> Any:
        """Call a service (`app.call`): its result, or None once its error has been dealt with.

        The error goes to its handler in `on_error` (by its key; a key ending in "." stands for
        every key under it, e.g. "family.link."; "*" for any other), else it is shown
        (`show_error`). A handler may be async. An unexpected exception is logged and becomes
        `error.unexpected`: nothing ever shows a traceback. `button` is disabled meanwhile
        (`busy`). The errors on show are cleared first, unless `keep_shown` (a reload after one)."""
        if not keep_shown:
            self.clear_errors()
        async with self.busy(button):
            result, error = await call_service(self.app, fn, *args, **kw)
        if error is None:
            return result
        await self.handle_error(error, on_error)
        return None

    async def handle_error(self, error: BeneError, on_error: ErrorHandlers | None = None) -> None:
        """A service's error to its handler in `on_error`, else on screen (see `run_service`)."""
        handler = find_handler(on_error or {}, error.key) or self.show_error
        done = handler(error)
        if inspect.isawaitable(done):
            await done

    # -- language switch: rebuild the widgets, keep what was typed --------------------------
    relabelling = False  # while F4 rebuilds this screen (a playing scenario waits for it)

    async def relabel(self) -> None:
        self.relabelling = True
        try:
            await self._relabel()
        finally:
            self.relabelling = False

    async def _relabel(self) -> None:
        kept: dict[str, Any] = {}
        for w in self.query("Input, Checkbox, RadioSet"):
            if w.id:
                kept[w.id] = w.value if not isinstance(w, RadioSet) else w.pressed_index
        focused = self.focused.id if self.focused else None
        await self.recompose()
        guide_panel.sync(self)  # recompose dropped the guide panel
        for wid, value in kept.items():
            for w in self.query(f"#{wid}"):
                if isinstance(w, (Input, Checkbox)):
                    w.value = value
                elif isinstance(w, RadioSet) and value >= 0:
                    forget_pressed_radio(w)
                    buttons = list(w.query("RadioButton"))
                    if value < len(buttons):
                        buttons[value].value = True
        if focused:
            for w in self.query(f"#{focused}"):
                w.focus()
        self.after_relabel()
        if self._shown_error is not None:  # the error on show, now in this language
            self._place_error(self._shown_error, notify=False)
        self.ahead.discard()  # composed in the other language: compose it again in this one
        self.ahead.schedule()

    def after_relabel(self) -> None:
        """Screens whose content depends on state set after compose refresh it here."""
