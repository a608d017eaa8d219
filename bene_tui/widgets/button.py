"""The app's Button: Textual's, with only the styles this app uses.

Textual's Button carries 7 KB of CSS (flat and ANSI styles, five variants) that every process
parses before its first screen (about 8 ms) and matches against every button on every screen.
This subclass keeps the default style and the three variants the screens use (primary, warning,
error), with Textual's own colours and borders, so buttons look exactly as before.
"""

from __future__ import annotations

from textual.widgets import Button as _TextualButton


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

        &.-primary {
            color: $button-color-foreground; background: $primary;
            border-top: tall $primary-lighten-3; border-bottom: tall $primary-darken-3;
            &:hover { background: $primary-darken-2; border-top: tall $primary; }
            &.-active { background: $primary; border-bottom: tall $primary-lighten-3;
                        border-top: tall $primary-darken-3; }
        }
        &.-warning {
            color: $button-color-foreground; background: $warning;
            border-top: tall $warning-lighten-2; border-bottom: tall $warning-darken-3;
            &:hover { background: $warning-darken-2; border-top: tall $warning; }
            &.-active { background: $warning; border-bottom: tall $warning-lighten-2;
                        border-top: tall $warning-darken-2; }
        }
        &.-error {
            color: $button-color-foreground; background: $error;
            border-top: tall $error-lighten-2; border-bottom: tall $error-darken-3;
            &:hover { background: $error-darken-1; border-top: tall $error; }
            &.-active { background: $error; border-bottom: tall $error-lighten-2;
                        border-top: tall $error-darken-2; }
        }
    }
    """
