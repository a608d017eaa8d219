"""The app's Button: Textual's, with only the styles this app uses.

Textual's Button carries 7 KB of CSS (flat and ANSI styles, five variants) that every process
parses before its first screen (about 8 ms) and matches against every button on every screen.
This subclass keeps the default style and the three variants the screens use (primary, warning,
error), with Textual's own colours and borders, so buttons look exactly as before.
"""

from __future__ import annotations

from textual.containers import Horizontal
from textual.widgets import Button as _TextualButton


# The variants' colours as Textual has them: (variant, top border, bottom border, hover, pressed top).
_VARIANTS = (("primary", "lighten-3", "darken-3", "darken-2", "darken-3"),
             ("warning", "lighten-2", "darken-3", "darken-2", "darken-2"),
             ("error", "lighten-2", "darken-3", "darken-1", "darken-2"))
_VARIANT_CSS = """
        &.-{v} {{
            color: $button-color-foreground; background: ${v};
            border-top: tall ${v}-{top}; border-bottom: tall ${v}-{bottom};
            &:hover {{ background: ${v}-{hover}; border-top: tall ${v}; }}
            &.-active {{ background: ${v}; border-bottom: tall ${v}-{top}; border-top: tall ${v}-{pressed}; }}
        }}"""


class Button(_TextualButton, inherit_css=False):  # Textual's rules replaced by the subset below
    DEFAULT_CSS = """
    Button {
        width: auto; min-width: 16; height: auto; line-pad: 1;
        text-align: center; content-align: center middle; pointer: pointer;
        text-style: bold; color: $button-foreground; background: $surface;
        border: none; border-top: tall $surface-lighten-1; border-bottom: tall $surface-darken-1;

        &:disabled { text-opacity: 0.6; pointer: not-allowed; }
        &:focus { text-style: $button-focus-text-style; background-tint: $foreground 5%; }
        &:hover { border-top: tall $surface; background: $surface-darken-1; }
        &.-active { background: $surface; border-bottom: tall $surface-lighten-1;
                    border-top: tall $surface-darken-1; tint: $background 30%; }
""" + "".join(_VARIANT_CSS.format(v=v, top=t, bottom=b, hover=h, pressed=p) for v, t, b, h, p in _VARIANTS) + """
        /* The focus seen at a glance, whatever the variant: bars at both ends (no layout shift). */
        &:focus { outline-left: tall $foreground; outline-right: tall $foreground; }
    }
    """


class ButtonRow(Horizontal):
    """Buttons side by side, or one under another when the row is too narrow for them all (80
    columns, English labels): a button is never clipped. Textual has no wrapping layout."""

    DEFAULT_CSS = "ButtonRow { height: auto; }"
    _restacked = False

    def on_resize(self) -> None:
        self._fit()

    def on_mount(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        width = self.content_size.width
        if not width:
            return
        size, viewport = self.content_size, self.app.size
        needed = 0
        for child in self.children:
            if child.display:
                styles = child.styles
                own = child.get_content_width(size, viewport) + styles.gutter.width
                if styles.min_width is not None and styles.min_width.is_cells:
                    own = max(own, int(styles.min_width.value))
                needed += own + styles.margin.width
        stacked = needed > width
        if (self.styles.layout.name == "vertical") != stacked:
            self.styles.layout = "vertical" if stacked else "horizontal"
            self._restacked = True  # its new height comes with the next resize
        elif self._restacked:
            self._restacked = False
            shown = getattr(self.screen, "in_view", None)  # a message with these buttons, taller now
            if shown is not None and (shown is self or shown in self.ancestors):
                shown.scroll_visible(animate=False)
