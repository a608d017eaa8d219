"""User data is never markup: names, kana, login IDs, organisation names, subjects and bodies.

Textual parses a plain `str` as content markup in a DataTable cell, an OptionList option, a
Button label and (by default) a Static, so a member named `[b]山田[/b] 一郎` would show bold
and without the brackets. `literal(...)` wraps such a value (or a line built from one) in a
Rich `Text`, which every one of those widgets draws exactly as it is.
"""

from __future__ import annotations

from rich.text import Text


def literal(value: object) -> Text:
    """The value drawn as typed, brackets and all; None draws as nothing."""
    return Text("" if value is None else str(value), end="")
