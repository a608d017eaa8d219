"""The step indicator at the top of a flow: Step.1 … Step.5 with the current one lit."""

from __future__ import annotations

from textual.widgets import Static


class StepIndicator(Static):
    def __init__(self, labels: list[str], current: int, **kw) -> None:
        super().__init__(**kw)
        self.labels, self.current = labels, current

    def on_mount(self) -> None:
        from rich.text import Text

        text = Text()
        for i, label in enumerate(self.labels, start=1):
            style = "bold reverse" if i == self.current else ("dim" if i > self.current else "")
            text.append(f" Step.{i} {label} ", style=style)
            if i < len(self.labels):
                text.append(" › ", style="dim")
        self.update(text)
