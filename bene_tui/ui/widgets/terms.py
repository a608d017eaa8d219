"""The ベネアカウント規約 in a scrollable box, read from data/terms_<lang>.txt.

It takes the focus (so the arrow keys scroll it); Enter moves on to 「規約に同意する」.
Only the lines in view are drawn (wrapped once per width; the scrollbar's column is always
reserved, so its appearing never narrows the text under the wrap): the whole text in a Static cost step 2 (and the family form)
about 40 ms on every visit (bench/transitions.py), though only eight lines of it show.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bene_tui.core.paths import DATA_DIR
from .jtext import wrap_lines


def terms_text(lang: str) -> str:
    path = DATA_DIR / f"terms_{lang}.txt"
    return path.read_text(encoding="utf-8") if path.exists() else ""


class TermsBox(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    TermsBox { height: 8; border: round $primary; padding: 0 1; scrollbar-gutter: stable; }
    TermsBox:focus { border: round $accent; }
    """
    BINDINGS = [Binding("enter", "app.focus_next", show=False)]  # the arrows and pages scroll (ScrollView's)

    def __init__(self, lang: str, **kw) -> None:
        super().__init__(**kw)
        self.text = terms_text(lang)
        self._lines: list[Strip] = []
        self._wrapped_at = -1

    @property
    def lines(self) -> list[str]:
        """The text as wrapped on screen, line by line."""
        return [strip.text for strip in self._lines]

    def on_resize(self, event: events.Resize) -> None:
        self._wrap(self.scrollable_content_region.width)

    def rewrap(self) -> None:
        self._wrapped_at = -1
        self._wrap(self.scrollable_content_region.width)

    def _wrap(self, width: int) -> None:
        if width <= 0 or width == self._wrapped_at:
            return
        console = self.app.console  # broken by phrase, with kinsoku (ui/widgets/jtext.py)
        self._lines = [Strip(list(Text(line).render(console, end=""))) for line in wrap_lines(self.text, width)]
        self._wrapped_at = width
        self.virtual_size = Size(width, len(self._lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        strip = self._lines[index] if index < len(self._lines) else Strip.blank(0)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style).apply_style(self.rich_style)
