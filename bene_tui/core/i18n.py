"""The ja/en catalogues: every user-visible string. One TOML file per area in locales/<lang>/."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from string import Formatter

from .paths import LOCALES_DIR

LANGS = ("ja", "en")


def _flatten(prefix: str, node: dict, out: dict[str, str]) -> None:
    for key, value in node.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """All keys of one language. Each file's name is the first part of its keys (common.toml → common.*)."""
    out: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(path.stem, tomllib.load(fh), out)
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def t(lang: str, key: str, **params: object) -> str:
    """The text for `key`; a missing key shows itself rather than crashing the screen."""
    text = catalogue(lang).get(key) or catalogue("ja").get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text
