"""Dialogs: a small box over the screen below, centred, in the one `.dialog` style.

A dialog subclasses `Dialog` (a `ModalScreen`) and composes its content inside `self.box()`;
`WIDTH` sets the box's width, `DANGER = True` gives it the red border of an action that cannot
be undone. `ConfirmDialog` is the yes/no question every screen asks the same way.
"""

from __future__ import annotations

from typing import TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from ..widgets.button import Button, ButtonRow
from ..widgets.jtext import JText

R = TypeVar("R")


class Dialog(ModalScreen[R]):
    DEFAULT_CSS = """
    Dialog { align: center middle; background: $background 70%; }
    Dialog > .dialog { width: 72; height: auto; padding: 1 2; border: heavy $warning; background: $surface; }
    Dialog > .dialog.-danger { border: heavy $error; }
    Dialog > .dialog .buttons Button { margin-right: 2; }
    """
    WIDTH = 72  # columns, borders included (80×24 terminals: at most 80)
    DANGER = False

    def box(self, **kw) -> Vertical:
        """The dialog's box: compose its content inside `with self.box():`."""
        box = Vertical(classes="dialog -danger" if self.DANGER else "dialog", **kw)
        box.styles.width = self.WIDTH
        return box


class ConfirmDialog(Dialog[bool]):
    """A question and はい / いいえ. The focus starts on いいえ, so a stray Enter does nothing;
    Escape or n says no, y says yes."""

    BINDINGS = [Binding("escape,n", "answer(False)", "いいえ/No"), Binding("y", "answer(True)", "はい/Yes")]

    def __init__(self, question: str, *, title: str | None = None, yes: str = "family.confirm_yes",
                 no: str = "family.confirm_no", danger: bool = True) -> None:
        """`title`: a line above the question; `yes`, `no`: the catalogue keys of the two buttons;
        `danger`: the yes button red (a removal) rather than amber (a staff action)."""
        super().__init__()
        self.question, self.title_text, self.yes_key, self.no_key, self.danger = question, title, yes, no, danger

    def compose(self) -> ComposeResult:
        with self.box():
            if self.title_text:
                yield JText(self.title_text, classes="title", markup=False)
            yield JText(self.question, id="question", markup=False)
            with ButtonRow(classes="buttons"):
                yield Button(self.app.t(self.yes_key), id="yes", variant="error" if self.danger else "warning")
                yield Button(self.app.t(self.no_key), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
