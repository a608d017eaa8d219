"""A labelled input with its own error line, so an error stands beside the field it concerns."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from .jtext import JText


class FieldError(JText):
    """An error line that takes no room until there is something to say (screens call `update`)."""

    DEFAULT_CSS = "FieldError { color: $error; height: auto; }"

    def __init__(self, text: str = "", **kw) -> None:
        kw.setdefault("markup", False)
        kw["classes"] = " ".join(filter(None, ["field-error", kw.get("classes")]))
        super().__init__(text, **kw)
        self.display = bool(text)

    def update(self, content="", **kw) -> None:
        super().update(content, **kw)
        self.display = bool(str(content))


class Field(Vertical):
    DEFAULT_CSS = """
    Field { height: auto; margin-bottom: 1; }
    Field > .field-label { text-style: bold; }
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
            yield JText(self._hint, classes="field-hint", markup=False)
        yield FieldError(id=f"{self.field_name}-error")

    def set_label(self, text: str) -> None:
        """Kept for compose too: a label set while the field is (re)composing (an F4 rebuild, a screen
        composed ahead) is the one it shows once its children exist."""
        self._label = text
        for label in self.query(".field-label").results(Label):
            label.update(text)
