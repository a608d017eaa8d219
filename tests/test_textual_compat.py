"""Each private part of Textual the app relies on (bene_tui/ui/textual_compat.py, and the glyph override
in ui/widgets/toggles.py) still exists in the installed Textual: a release that changes one fails here,
by name, instead of somewhere inside a screen."""

from __future__ import annotations

import inspect

from textual.app import App
from textual.widget import Widget
from textual.widgets import Checkbox, RadioButton, RadioSet
from textual.widgets._toggle_button import ToggleButton

from bene_tui.ui import textual_compat
from bene_tui.ui.widgets.toggles import Choice, Tick


def test_app_register_takes_the_app_and_a_screen():
    assert "_register" in dir(App), "App._register is gone: screens/ahead.py cannot compose ahead"
    params = inspect.signature(App._register).parameters
    assert list(params)[:3] == ["self", "parent", "widgets"], list(params)
    assert params["widgets"].kind is inspect.Parameter.VAR_POSITIONAL


def test_the_app_keeps_a_key_to_bindings_map():
    app = App()
    keymap = textual_compat.app_key_bindings(app)
    assert isinstance(keymap, dict), "App._bindings.key_to_bindings is no longer a dict: modes.py rewrites it"
    assert any(b.action in ("quit", "app.quit") for bindings in keymap.values() for b in bindings)


def test_the_styles_cache_still_has_its_lru_cache():
    from textual._styles_cache import StylesCache  # noqa: PLC0415 (the module itself is the private part)

    assert hasattr(StylesCache.get_inner_outer, "cache_clear"), "textual#6665 workaround: no cache_clear"
    textual_compat.clear_render_caches()


def test_the_styles_cache_trims_side_outlines_through_its_own_line_trim():
    """textual_compat.trim_outlines_by_cells replaces the name StylesCache.render_line calls."""
    from rich.segment import Segment
    from textual import _styles_cache  # noqa: PLC0415 (the module itself is the private part)

    assert "line_trim(list(line)" in inspect.getsource(_styles_cache.StylesCache.render_line), \
        "StylesCache.render_line no longer trims a side outline's line through line_trim"
    textual_compat.trim_outlines_by_cells()
    assert _styles_cache.line_trim is textual_compat._line_trim_by_cells
    label = [Segment(" 認証コードを再送信する(taro@example.jp) ")]  # 11 wide characters, 42 cells
    trimmed = _styles_cache.line_trim(label, True, True)
    assert "".join(s.text for s in trimmed) == "認証コードを再送信する(taro@example.jp)"
    assert _styles_cache.line_trim([Segment(" "), Segment("あ"), Segment(" ")], True, True) == [Segment("あ")]


def test_radio_set_widget_and_app_private_state():
    assert "_pressed_button" in inspect.getsource(RadioSet), "RadioSet._pressed_button is gone (BaseScreen.relabel)"
    assert "_pruning" in inspect.getsource(Widget) or hasattr(Widget, "_pruning"), "Widget._pruning is gone"
    app = App()
    assert textual_compat.app_running(app) is False and textual_compat.notifications(app) == []


def test_the_toggle_glyph_override_still_reaches_textual():
    """Tick and Choice draw ✔ / ● through ToggleButton's `_button` property and BUTTON_INNER."""
    assert isinstance(inspect.getattr_static(ToggleButton, "_button"), property), "ToggleButton._button is gone"
    assert hasattr(ToggleButton, "BUTTON_INNER")
    assert issubclass(Tick, Checkbox) and issubclass(Choice, RadioButton)


def test_nothing_else_in_the_app_reaches_into_those_private_names():
    import pathlib
    import re

    import bene_tui

    root = pathlib.Path(bene_tui.__file__).parent
    private = re.compile(r"\._register\(|key_to_bindings|_pressed_button|\._pruning|\._notifications|"
                         r"textual\._styles_cache|\bapp\._running")
    found = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.py") if p.name != "textual_compat.py"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if private.search(line)]
    assert found == []
