"""Checkbox and radio button whose state shows in the glyph, not only in colour.

Textual draws the same "X" / "●" for on and off and tells them apart by colour alone; a kiosk
screen (and anyone who cannot see the colour) needs ✔ / ● against an empty box.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Checkbox, RadioButton, RadioSet


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


class ChoiceSet(RadioSet):
    """Radio buttons where the arrows choose, as a browser's do: ↓ on 「メールアドレス」 chooses SMS.
    Textual's RadioSet only moves a highlight with the arrows and waits for Enter or Space."""

    # The arrows' own actions, not RadioSet's next/previous_button: RadioSet calls those itself (on mount).
    BINDINGS = [Binding("down,right", "choose(1)", show=False), Binding("up,left", "choose(-1)", show=False)]

    def action_choose(self, step: int) -> None:
        buttons = [b for b in self.query(RadioButton) if not b.disabled]
        if not buttons:
            return
        now = next((i for i, b in enumerate(buttons) if b.value), 0)
        chosen = buttons[(now + step) % len(buttons)]
        with self.prevent(RadioButton.Changed):  # the others off first: one choice, whatever came before
            for button in buttons:
                if button is not chosen:
                    button.value = False
        chosen.value = True  # RadioSet turns this into its Changed message and highlights it
