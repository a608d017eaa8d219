"""The step indicator at the top of a flow: Step.1 … Step.5, done steps ticked, the current one lit.

One line where it fits: on a narrow screen (or beside the demo's side panel) only the current
step keeps its name and the others show their number.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.widgets import Static


class StepIndicator(Static):
    DEFAULT_CSS = "StepIndicator { height: auto; }"

    def __init__(self, labels: list[str], current: int, **kw) -> None:
        super().__init__(**kw)
        self.labels, self.current = labels, current

    def on_mount(self) -> None:
        self.update(self.render_steps())

    def on_resize(self, event: events.Resize) -> None:
        full = self.render_steps()
        fits = full.cell_length <= event.size.width or event.size.width <= 0
        self.update(full if fits else self.render_steps(compact=True))

    def render_steps(self, compact: bool = False) -> Content:
        parts: list[Content] = []
        for i, label in enumerate(self.labels, start=1):
            if i == self.current:
                parts.append(Content.styled(f" Step.{i} {label} ", "bold reverse"))
            elif i < self.current:
                parts.append(Content(f"✓{i}" if compact else f"✓{i} {label}"))
            else:
                parts.append(Content.styled(f"{i}" if compact else f"{i} {label}", "dim"))
        return Content(" › ").join(parts)
