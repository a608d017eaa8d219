"""The official text of each step, for the helpdesk guide panel (F1).

`data/guide.toml` holds, per step id (`reg.step1` … `family.step9`), the Japanese text of
the official help page word for word (the seed) and its English rendering. Which step a screen
is, the screen's class says:

1. its `GUIDE` attribute (a step id or a tuple of them; inherited like any class attribute);
2. else a flow screen's `STEPS[STEP - 1]` when that is a guide id (`reg.step2`, `link.step3`, …).

A registration screen reused for linking (`purpose == "link"`) shows the linking step.
Pure Python: no textual import.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache

from .paths import DATA_DIR

GUIDE_FILE = DATA_DIR / "guide.toml"

@lru_cache(maxsize=1)
def entries() -> dict[str, dict[str, str]]:
    """Every guide entry: {id: {title_ja, ja, title_en, en}}, in the order of the help page."""
    with GUIDE_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {gid: {k: str(v) for k, v in entry.items()} for gid, entry in data.items()}


def entry(guide_id: str) -> dict[str, str] | None:
    return entries().get(guide_id)


def text(guide_id: str, lang: str) -> str:
    """The step's text in one language ('ja' is the official wording)."""
    found = entry(guide_id)
    if found is None:
        raise KeyError(guide_id)
    return found["ja" if lang == "ja" else "en"]


def _as_ids(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)  # type: ignore[union-attr]


def guide_ids(screen: object) -> tuple[str, ...]:
    """The guide ids for a screen (empty when no official step matches it)."""
    ids = _as_ids(getattr(screen, "GUIDE", None))
    if not ids:
        steps, step = getattr(screen, "STEPS", None), getattr(screen, "STEP", None)
        if steps and isinstance(step, int) and 1 <= step <= len(steps):
            ids = (str(steps[step - 1]),)
    if getattr(screen, "purpose", None) == "link":
        ids = tuple("link." + i[4:] if i.startswith("reg.") else i for i in ids)
    known = entries()
    return tuple(i for i in dict.fromkeys(ids) if i in known)
