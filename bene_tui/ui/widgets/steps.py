"""The step indicator at the top of a flow: Step.1 … Step.5, done steps ticked, the current one lit.

Every step keeps its name where the names fit: on one line, or, for a long journey (the family
flow's nine steps), on up to `lines` lines, broken between steps, never inside a name. Where even
that does not fit (a narrow screen, or beside the demo's side panel) only the current step keeps
its name and the others show their number. Chosen at render time from the width, so a resize only
repaints: updating it on Resize cost every step a second layout pass.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

SEPARATOR = Content(" › ")


class StepIndicator(Widget):
    DEFAULT_CSS = "StepIndicator { height: auto; }"

    def __init__(self, labels: list[str], current: int, lines: int = 1, **kw) -> None:
        super().__init__(**kw)
        self.labels, self.current, self.lines = labels, current, lines

    def render(self) -> Content:
        return self.fitted(self.content_region.width)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.fitted(width).split("\n"))

    def fitted(self, width: int) -> Content:
        items = self.items()
        if width <= 0:
            return SEPARATOR.join(items)
        rows = self.wrap(items, width)
        if len(rows) <= self.lines and all(item.cell_length <= width for item in items):
            return Content("\n").join(SEPARATOR.join(row) for row in rows)
        return SEPARATOR.join(self.items(compact=True))

    @staticmethod
    def wrap(items: list[Content], width: int) -> list[list[Content]]:
        """Steps greedily onto lines of `width` cells; a line ends with its separator dropped."""
        rows: list[list[Content]] = [[]]
        used = 0
        for item in items:
            extra = item.cell_length + (SEPARATOR.cell_length if rows[-1] else 0)
            if rows[-1] and used + extra > width:
                rows.append([])
                used, extra = 0, item.cell_length
            rows[-1].append(item)
            used += extra
        return rows

    def items(self, compact: bool = False) -> list[Content]:
        parts: list[Content] = []
        for i, label in enumerate(self.labels, start=1):
            if i == self.current:
                parts.append(Content.styled(f" Step.{i} {label} ", "bold reverse"))
            elif i < self.current:
                parts.append(Content(f"✓{i}" if compact else f"✓{i} {label}"))
            else:
                parts.append(Content.styled(f"{i}" if compact else f"{i} {label}", "dim"))
        return parts
