"""The step indicator at the top of a flow: Step.1 … Step.5, done steps ticked, the current one lit.

One line where it fits: on a narrow screen (or beside the demo's side panel) only the current
step keeps its name and the others show their number. Chosen at render time from the width, so a
resize only repaints the line: updating it on Resize cost every step a second layout pass.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget


class StepIndicator(Widget):
    DEFAULT_CSS = "StepIndicator { height: 1; }"

    def __init__(self, labels: list[str], current: int, **kw) -> None:
        super().__init__(**kw)
        self.labels, self.current = labels, current

    def render(self) -> Content:
        full = self.render_steps()
        width = self.content_region.width
        return full if full.cell_length <= width or width <= 0 else self.render_steps(compact=True)

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
