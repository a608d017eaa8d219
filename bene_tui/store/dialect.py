"""SQLite's SQL, as the services write it, in PostgreSQL's words. Pure text work (no psycopg), so
it is unit-tested on its own (tests/test_pg_dialect.py).

What changes:
- `?` placeholders become `%s`, and every `%` of the text `%%` (psycopg's own placeholder syntax);
- `insert or ignore into ...` becomes `insert into ... on conflict do nothing`;
- `like` becomes `ilike` (SQLite's LIKE ignores ASCII case, PostgreSQL's does not);
- `x glob ?` becomes `x like ? escape '\\'`, and that parameter's GLOB pattern a LIKE pattern;
- `order by rowid` becomes `order by ctid` (rows in the order they were stored);
- `begin immediate` becomes `begin` (the PostgreSQL store takes its writer lock itself);
- `collate nocase` stays: the store creates a case-blind collation of that name.
Texts inside quotes are never rewritten.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, NamedTuple, Sequence

_WORDS = re.compile(
    r"(?P<ignore>\binsert\s+or\s+ignore\s+into\b)"
    r"|(?P<replace>\binsert\s+or\s+replace\s+into\b)"
    r"|(?P<glob>\bglob\s*\?)"
    r"|(?P<like>\blike\b)"
    r"|(?P<rowid>\border\s+by\s+rowid\b)"
    r"|(?P<without_rowid>\)\s*without\s+rowid\b)"
    r"|(?P<begin>^\s*begin\s+(immediate|deferred|exclusive)\b)"
    r"|(?P<mark>\?)"
    r"|(?P<percent>%)",
    re.IGNORECASE,
)


class Translated(NamedTuple):
    sql: str
    # (index of a parameter, function turning its value into what the new text expects)
    fixers: tuple[tuple[int, Callable[[object], object]], ...] = ()

    def params(self, params: Sequence | None) -> Sequence:
        if params is None:
            return ()
        if not self.fixers:
            return params
        params = list(params)
        for i, fix in self.fixers:
            params[i] = fix(params[i])
        return params


def glob_to_like(pattern: object) -> object:
    """A GLOB pattern (`*`, `?`, `[x]` for a literal x) as a LIKE pattern with `\\` escapes."""
    if not isinstance(pattern, str):
        return pattern
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[" and i + 2 < len(pattern) and pattern[i + 2] == "]":  # [x]: x itself
            c, i = pattern[i + 1], i + 2
            out.append("\\" + c if c in "%_\\" else c)
        elif c == "*":
            out.append("%")
        elif c == "?":
            out.append("_")
        elif c in "%_\\":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _split(sql: str) -> list[tuple[bool, str]]:
    """(is_code, text) pieces: quoted literals and identifiers are not code."""
    pieces, i, start, n = [], 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            if i > start:
                pieces.append((True, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # doubled quote inside the literal
                        j += 2
                        continue
                    break
                j += 1
            pieces.append((False, sql[i:j + 1]))
            i = start = j + 1
            continue
        i += 1
    if start < n:
        pieces.append((True, sql[start:]))
    return pieces


@lru_cache(maxsize=4096)
def translate(sql: str) -> Translated:
    marks = 0
    fixers: list[tuple[int, Callable]] = []
    suffix = ""
    out = []

    def word(m: re.Match) -> str:
        nonlocal marks, suffix
        kind = m.lastgroup
        if kind == "mark":
            marks += 1
            return "%s"
        if kind == "percent":
            return "%%"
        if kind == "glob":
            fixers.append((marks, glob_to_like))
            marks += 1
            return "like %s escape '\\'"
        if kind == "like":
            return "ilike"
        if kind == "ignore":
            suffix = " on conflict do nothing"
            return "insert into"
        if kind == "replace":
            raise ValueError("insert or replace: use the table's upsert (the adapter knows its key)")
        if kind == "rowid":
            return "order by ctid"
        if kind == "without_rowid":  # a table stored in key order: PostgreSQL's are heaps with a key index
            return ")"
        if kind == "begin":
            return "begin"
        raise AssertionError(kind)

    for is_code, text in _split(sql):
        out.append(_WORDS.sub(word, text) if is_code else text.replace("%", "%%"))
    text = "".join(out)
    if suffix:
        text = text.rstrip().rstrip(";") + suffix
    return Translated(text, tuple(fixers))
