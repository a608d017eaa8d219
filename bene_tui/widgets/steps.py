"""The step indicator at the top of a flow: Step.1 … Step.5, done steps ticked, the current one lit.

One line at 120 columns in either language: only the current step carries the "Step." prefix.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class StepIndicator(Static):
    DEFAULT_CSS = "StepIndicator { height: auto; }"

    def __init__(self, labels: list[str], current: int, **kw) -> None:
        super().__init__(**kw)
        self.labels, self.current = labels, current

    def on_mount(self) -> None:
        self.update(self.render_steps())

    def render_steps(self) -> Content:
        parts: list[Content] = []
        for i, label in enumerate(self.labels, start=1):
            if i == self.current:
                parts.append(Content.styled(f" Step.{i} {label} ", "bold reverse"))
            elif i < self.current:
                parts.append(Content(f"✓{i} {label}"))
            else:
                parts.append(Content.styled(f"{i} {label}", "dim"))
        return Content(" › ").join(parts)
