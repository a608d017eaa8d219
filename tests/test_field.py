"""widgets/field.py: a label set at any moment is the one the field shows."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Label

from bene_tui.ui.widgets.field import Field


async def test_a_label_set_before_the_field_has_its_children_is_shown_once_they_exist():
    """An F4 rebuild or a screen composed ahead can set a label (the organisation's own name of a
    key) while the field is recomposing: it used to raise NoMatches (a flake of the full run)."""

    class One(App):
        def compose(self):
            yield from ()

    app = One()
    async with app.run_test() as pilot:
        field = Field("key1", "認証キー1")
        field.set_label("社員番号")  # not mounted: no children yet
        await app.mount(field)
        await pilot.pause()
        assert str(field.query_one(".field-label", Label).render()) == "社員番号"
        field.set_label("従業員コード")
        await pilot.pause()
        assert str(field.query_one(".field-label", Label).render()) == "従業員コード"
