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
def _area(lang: str, area: str) -> dict[str, str]:
    """The keys of one file (common.toml → common.*), read the first time one of them is asked
    for: the start screen needs a few of the 23 areas, and parsing them all cost every start 9 ms."""
    out: dict[str, str] = {}
    with (LOCALES_DIR / lang / f"{area}.toml").open("rb") as fh:
        _flatten(area, tomllib.load(fh), out)
    return out


@lru_cache(maxsize=None)
def _areas(lang: str) -> frozenset[str]:
    return frozenset(path.stem for path in (LOCALES_DIR / lang).glob("*.toml"))


def catalogue(lang: str) -> dict[str, str]:
    """All keys of one language. Each file's name is the first part of its keys (common.toml → common.*)."""
    out: dict[str, str] = {}
    for area in sorted(_areas(lang)):
        out.update(_area(lang, area))
    return out


def find(lang: str, key: str) -> str | None:
    """The text of `key` in `lang`'s catalogue, or None where it has none (any text may be asked:
    only the names of the catalogue's own files are read)."""
    area = key.partition(".")[0]
    return _area(lang, area).get(key) if area in _areas(lang) else None


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def t(lang: str, key: str, **params: object) -> str:
    """The text for `key`; a missing key shows itself rather than crashing the screen."""
    text = find(lang, key) or find("ja", key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text
