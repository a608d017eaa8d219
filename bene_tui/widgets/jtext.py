"""Japanese line breaking: between phrases (BudouX), with kinsoku shori (JIS X 4051).

Textual wraps at spaces and folds a run without spaces anywhere, so Japanese text broke
mid-word and put 、。」 at the start of a line. Here a line breaks only between BudouX's phrases
(or after a space), never before a line-start-prohibited character (closing brackets, 、。,
！？, ・, ー, small kana …) nor after an opening bracket; a phrase longer than the line is
folded at the last place those rules allow.

`JText` is a Static whose text wraps this way at render time, for whatever width it gets.
`break_offsets(text, width)` is the rule itself, for widgets that wrap their own lines
(widgets/terms.py). BudouX takes 10–30 ms to import: loaded on the first text that needs
wrapping (a line that fits needs none), or in the app behind its first screen (`defer_loading`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import Static

# JIS X 4051 line-start-prohibited: closing brackets, hyphens, ？！, middle dots, full stops and
# commas, iteration marks, the prolonged sound mark, small kana (and their ASCII/half-width forms).
NO_START = frozenset(
    "」』）］｝〕〉》】〙〗｣)]}’”»"
    "‐゠–〜～"
    "？！‼⁇⁈⁉?!"
    "・：；:;"
    "。．.、，,"
    "ヽヾゝゞ々〻"
    "ーｰ"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿｧｨｩｪｫｯｬｭｮ"
    "％%゛゜"
)
# Line-end-prohibited: opening brackets.
NO_END = frozenset("「『（［｛〔〈《【〘〖｢([{‘“«")

_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


_parser = None  # BudouX's Japanese parser, once loaded
_deferred = False  # the app loads it behind its first screen: until then, kinsoku without phrases


def defer_loading() -> None:
    """Called by the app before its first screen: the start screen must not wait ~10–30 ms for
    BudouX. Its text is broken by kinsoku alone until `load_parser()` (the app's start-up thread)
    and `rewrap(app)`."""
    global _deferred
    _deferred = True


def load_parser():
    global _parser
    if _parser is None:
        import budoux  # start path: loaded in the app's start-up thread, behind the start screen (bench/startup.py)

        _parser = budoux.load_default_japanese_parser()
    return _parser


def rewrap(app) -> None:
    """Break every JText shown or stacked again, now by phrase."""
    for screen in app.screen_stack:
        for widget in screen.query(JText):
            widget.refresh(layout=True)
        for box in screen.query("TermsBox"):  # wraps its own lines (widgets/terms.py)
            box.rewrap()


def _phrase_starts(text: str) -> frozenset[int]:
    """Offsets where a phrase begins (BudouX for Japanese runs; after each space)."""
    if _JAPANESE.search(text) and (_parser is not None or not _deferred):
        return _japanese_phrase_starts(text)
    return frozenset(m.end() for m in re.finditer(r" +", text) if m.end() < len(text))


@lru_cache(maxsize=4096)
def _japanese_phrase_starts(text: str) -> frozenset[int]:
    starts = {m.end() for m in re.finditer(r" +", text)}
    offset = 0
    for phrase in load_parser().parse(text):
        offset += len(phrase)
        starts.add(offset)
    return frozenset(starts - {0, len(text)})


def _allowed(text: str, i: int) -> bool:
    """May a line break come before text[i]? Kinsoku: not before a closing mark, not after an opening one."""
    return text[i] not in NO_START and text[i - 1] not in NO_END


def break_offsets(text: str, width: int) -> list[int]:
    """Where to break one line of text (no newlines) so every line fits in `width` cells."""
    if width <= 0 or cell_len(text) <= width:
        return []
    phrases = _phrase_starts(text)
    offsets, start, n = [], 0, len(text)
    while cell_len(text[start:].rstrip(" ")) > width:
        end, used = start, 0  # the longest run from start that fits ...
        while end < n and used + cell_len(text[end]) <= width:
            used += cell_len(text[end])
            end += 1
        while end < n and text[end] == " ":  # ... its trailing spaces hanging past the edge
            end += 1
        candidates = range(end, start, -1)
        cut = next((i for i in candidates if i in phrases and i < n and _allowed(text, i)), None)
        if cut is None:  # a phrase longer than the line: fold it where kinsoku allows
            cut = next((i for i in candidates if i < n and _allowed(text, i)), end)
        if cut <= start:
            cut = start + 1
        offsets.append(cut)
        start = cut
        while start < n and text[start] == " ":  # no line starts with the space it broke at
            start += 1
        if start != cut:
            offsets.append(start)
    return offsets


def _spans(text: str, width: int) -> list[tuple[int, int]]:
    """(start, end) of each line of one paragraph at `width`, the spaces at a break left out."""
    cuts = [0, *break_offsets(text, width), len(text)]
    spans = [(a, b) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip(" ")]
    return spans or [(0, len(text))]


def wrap_lines(text: str, width: int) -> list[str]:
    """The text's lines as shown at `width` (its own line breaks kept)."""
    return [paragraph[a:b].rstrip(" ") for paragraph in text.split("\n") for a, b in _spans(paragraph, width)]


class JContent(Content):
    """Content that breaks Japanese text by phrase and kinsoku; Textual then only lays the lines out."""

    def _broken(self, width: int) -> Content:
        pieces = [line[a:b].rstrip() for line in self.split(allow_blank=True) for a, b in _spans(line.plain, width)]
        return Content("\n").join(pieces)

    def _wrap_and_format(self, width: int, *args, **kw):
        no_wrap = kw.get("no_wrap", len(args) > 2 and args[2])
        if no_wrap or all(cell_len(line) <= width for line in self.plain.split("\n")):
            return super()._wrap_and_format(width, *args, **kw)
        line_pad = kw.get("line_pad", args[3] if len(args) > 3 else 0)
        return Content._wrap_and_format(self._broken(width - line_pad * 2), width, *args, **kw)

    @property
    def without_spans(self) -> Content:  # get_height wraps this one: it must break the same way
        return JContent(self.plain, [], self._cell_length, strip_control_codes=False) if self.spans else self


class JText(Static):
    """A Static for Japanese prose (leads, hints, errors, the guide): phrase breaks and kinsoku."""

    def render(self):
        visual = super().render()
        if isinstance(visual, Content) and not isinstance(visual, JContent):
            return JContent(visual.plain, visual.spans, visual._cell_length, strip_control_codes=False)
        return visual
