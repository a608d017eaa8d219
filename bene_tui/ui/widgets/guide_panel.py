"""The guide panel (F1): beside the current step, the official text of that step (Japanese,
verbatim from the help page) and its English rendering.

One panel per screen, docked on the right; `sync(screen)` adds, refreshes or removes it so
that it follows the app's `guide_visible` flag. BaseScreen calls it whenever a screen becomes
current and after a language switch rebuilds the screen. Kiosk mode never shows it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Rule

from bene_tui.services import guide
from .jtext import JText


class GuidePanel(VerticalScroll):
    DEFAULT_CSS = """
    GuidePanel {
        width: 44; height: 1fr;  /* beside the main panel: the screen lays them out side by side (app.tcss) */
        border-left: thick $accent; padding: 0 1; background: $boost;
    }
    GuidePanel .guide-head { text-style: bold; color: $accent; }
    GuidePanel .guide-title { text-style: bold; margin-top: 1; }
    GuidePanel .guide-ja { margin-bottom: 1; }
    GuidePanel .guide-en { color: $text-muted; margin-bottom: 1; }
    GuidePanel Rule { margin: 0; }
    """

    can_focus = False

    def __init__(self, ids: tuple[str, ...], **kw) -> None:
        super().__init__(id="guide-panel", **kw)
        self.ids = ids

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield JText(t("guide.heading"), classes="guide-head")
        yield JText(t("guide.keys"), classes="hint")
        if not self.ids:
            yield JText(t("guide.none"), classes="guide-ja")
        for n, gid in enumerate(self.ids):
            found = guide.entry(gid)
            if n:
                yield Rule()
            # Official wording, shown exactly: never parsed as markup.
            yield JText(found["title_ja"], classes="guide-title", markup=False, id=f"guide-title-{n}")
            yield JText(found["ja"], classes="guide-ja", markup=False, id=f"guide-ja-{n}")
            yield JText(found["title_en"], classes="guide-title", markup=False)
            yield JText(found["en"], classes="guide-en", markup=False, id=f"guide-en-{n}")


def enabled(app) -> bool:
    return getattr(app, "mode", "demo") != "kiosk"


def visible(app) -> bool:
    return enabled(app) and app.guide_visible


def sync(screen) -> None:
    """Make the screen's panel match the app's flag and the screen's step.

    Dialogs (modal screens) and screens with `GUIDE_PANEL = False` (the helpdesk's own) get none.
    """
    if isinstance(screen, ModalScreen) or not getattr(screen, "GUIDE_PANEL", True):
        return
    found = screen.query(GuidePanel)
    panel = found.first() if found else None
    screen.set_class(visible(screen.app), "-guide")
    if not visible(screen.app):
        if panel is not None:
            panel.remove()
        return
    ids = guide.guide_ids(screen)
    if panel is None:
        screen.mount(GuidePanel(ids))
    elif panel.ids != ids:
        panel.ids = ids
        panel.refresh(recompose=True)


def toggle(app) -> None:
    """F1: show or hide the panel on the current screen (and every screen after it)."""
    if not enabled(app):
        return
    app.guide_visible = not app.guide_visible
    sync(app.screen)
