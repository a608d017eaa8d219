"""The ベネアカウント規約 in a scrollable box, read from data/terms_<lang>.txt.

It takes the focus (so the arrow keys scroll it); Enter moves on to 「規約に同意する」.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..paths import DATA_DIR


def terms_text(lang: str) -> str:
    path = DATA_DIR / f"terms_{lang}.txt"
    return path.read_text(encoding="utf-8") if path.exists() else ""


class TermsBox(VerticalScroll):
    DEFAULT_CSS = """
    TermsBox { height: 8; border: round $primary; padding: 0 1; }
    TermsBox:focus { border: round $accent; }
    """
    BINDINGS = [Binding("enter", "app.focus_next", show=False)]
    can_focus = True

    def __init__(self, lang: str, **kw) -> None:
        super().__init__(**kw)
        self._lang = lang

    def compose(self):
        yield Static(terms_text(self._lang), markup=False)
