"""A labelled input with its own error line, so an error stands beside the field it concerns."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static


class Field(Vertical):
    DEFAULT_CSS = """
    Field { height: auto; margin-bottom: 1; }
    Field > .field-label { text-style: bold; }
    Field > .field-error { color: $error; height: auto; }
    Field > .field-hint { color: $text-muted; }
    """

    def __init__(self, name: str, label: str, *, password: bool = False, placeholder: str = "",
                 hint: str = "", value: str = "", max_length: int = 0) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name = name
        self._label, self._password, self._placeholder = label, password, placeholder
        self._hint, self._value, self._max_length = hint, value, max_length

    def compose(self) -> ComposeResult:
        yield Label(self._label, classes="field-label", markup=False, id=f"{self.field_name}-label")
        yield Input(value=self._value, password=self._password, placeholder=self._placeholder,
                    id=self.field_name, max_length=self._max_length)
        if self._hint:
            yield Static(self._hint, classes="field-hint", markup=False)
        yield Static("", classes="field-error", id=f"{self.field_name}-error", markup=False)

    def set_label(self, text: str) -> None:
        self.query_one(".field-label", Label).update(text)
