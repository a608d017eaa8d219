"""What every screen shares: translation, errors beside their field, service calls, relabelling."""

from __future__ import annotations

import logging
from typing import Any, Callable

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, RadioSet, Static

from ..errors import BeneError

log = logging.getLogger("bene_tui")


class BaseScreen(Screen):
    BINDINGS = [Binding("escape", "back", "戻る/Back")]

    def t(self, key: str, **params: Any) -> str:
        return self.app.t(key, **params)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    # -- errors ---------------------------------------------------------------------------
    def clear_errors(self) -> None:
        for w in self.query(".field-error, .form-error"):
            w.update("")

    def show_error(self, error: BeneError) -> None:
        """The generic text beside its field; the real reason too, for helpdesk staff only."""
        text = self.t(error.key, **error.params)
        if self.app.mode == "helpdesk" and error.staff:
            text += "\n" + self.t("helpdesk.staff_reason", reason=error.staff)
        target = None
        if error.field:
            found = self.query(f"#{error.field}-error")
            target = found.first() if found else None
        if target is None:
            found = self.query(".form-error")
            target = found.first() if found else None
        if target is not None:
            target.update(text)
        else:
            self.notify(text, severity="error", markup=False)

    async def run_service(self, fn: Callable[..., Any], *args: Any, button: Button | None = None, **kw: Any) -> Any:
        """Call a service; a BeneError shows on screen and returns None. Nothing ever shows a traceback."""
        self.clear_errors()
        if button is not None:
            button.disabled = True
        try:
            return await self.app.call(fn, *args, **kw)
        except BeneError as error:
            self.show_error(error)
        except Exception:  # a bug or a broken database must not reach the screen as a traceback
            log.exception("service call failed")
            self.show_error(BeneError("error.unexpected"))
        finally:
            if button is not None:
                button.disabled = False
        return None

    # -- language switch: rebuild the widgets, keep what was typed --------------------------
    async def relabel(self) -> None:
        kept: dict[str, Any] = {}
        for w in self.query("Input, Checkbox, RadioSet"):
            if w.id:
                kept[w.id] = w.value if not isinstance(w, RadioSet) else w.pressed_index
        focused = self.focused.id if self.focused else None
        await self.recompose()
        for wid, value in kept.items():
            for w in self.query(f"#{wid}"):
                if isinstance(w, (Input, Checkbox)):
                    w.value = value
                elif isinstance(w, RadioSet) and value >= 0:
                    w._pressed_button = None
                    buttons = list(w.query("RadioButton"))
                    if value < len(buttons):
                        buttons[value].value = True
        if focused:
            for w in self.query(f"#{focused}"):
                w.focus()
        self.after_relabel()

    def after_relabel(self) -> None:
        """Screens whose content depends on state set after compose refresh it here."""
