"""`FlowScreen`: a step of a flow (registration, linking, the "I forgot" procedures, family).

The screen is its header, the flow's step indicator (`STEPS`, the current one `STEP`), a
scrolling form (`form()`) with one `.form-error` line under it, and the footer.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input

from ..errors import BeneError, ValidationError
from ..widgets.chrome import AppHeader, app_footer
from ..widgets.jtext import JText
from ..widgets.steps import StepIndicator
from .base import BaseScreen


class FlowScreen(BaseScreen):
    """A step of a flow: header, step indicator, a scrolling form, footer."""

    STEP = 1
    STEPS: tuple[str, ...] = ()  # the catalogue keys of the flow's step names
    STEP_LINES = 1  # lines the step names may take before only the current one keeps its name
    # Errors that take the focus to their field. Not the generic step-1 answer: it names a field
    # only to stand beside it, not because that field is the wrong one.
    FOCUS_ERRORS: type[BeneError] = ValidationError

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="flow", can_focus=False):  # focus follows the fields; Tab never stops here
            yield StepIndicator([self.t(k) for k in self.STEPS], self.STEP, lines=self.STEP_LINES, classes="steps")
            with Vertical(classes="box"):
                yield from self.form()
                yield JText("", classes="form-error", markup=False)
        yield app_footer(self.app)

    def form(self) -> ComposeResult:
        yield from ()

    def confirmed_password(self) -> str | None:
        """The password typed alike in #password and #password2, or None with the mismatch shown
        beside the second field (and the focus there)."""
        password = self.query_one("#password", Input).value
        if password == self.query_one("#password2", Input).value:
            return password
        self.clear_errors()
        self.show_error(ValidationError("error.password_mismatch", field="password2"))  # (focuses it)
        return None

    def show_error(self, error: BeneError) -> None:
        """The error beside its field, and the focus in that field, ready for the correction."""
        super().show_error(error)
        if error.field and isinstance(error, self.FOCUS_ERRORS):
            for widget in self.query(f"#{error.field}"):
                if widget.focusable:
                    widget.focus()

    def finish(self, screen: FlowScreen) -> None:
        """Past the end of a flow: drop its steps, so Escape cannot lead back into it."""
        self.app.go_home()
        self.app.push_screen(screen)
