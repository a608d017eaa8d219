"""Checkbox and radio button whose state shows in the glyph, not only in colour.

Textual draws the same "X" / "●" for on and off and tells them apart by colour alone; a kiosk
screen (and anyone who cannot see the colour) needs ✔ / ● against an empty box.
"""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class Tick(Checkbox):
    @property
    def _button(self):
        self.BUTTON_INNER = "✔" if self.value else " "
        return super()._button


class Choice(RadioButton):
    @property
    def _button(self):
        self.BUTTON_INNER = "●" if self.value else " "
        return super()._button
