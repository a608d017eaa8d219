"""Roster import: organisations and their member records from JSON or CSV (SPEC §2).

Rosters can be large (the real service has about ten million members), so both formats are
read as streams and written in `executemany` batches: memory stays bounded by the batch and
the read buffer, never by the file.

The whole import is ONE transaction (`ctx.tx()`): a bad record anywhere, Ctrl-C or a killed
process leaves the database exactly as it was (SQLite's WAL drops uncommitted frames on the
next open). We chose this over a staging table swapped in at the end because it is atomic by
construction and writes every row once (a staging copy would write it twice); the price is
that other writers wait while a very large roster loads, which is a maintenance-window job
anyway. Readers (kiosk lookups) are not blocked in WAL mode.

JSON format (keys in any order, except that an organisation's `members` must follow its
`group_id`; unknown keys are refused so that a misspelt field is not silently dropped):

    {"services": [{"id": "benefit_station", "name_ja": "...", "name_en": "...", "family_allowed": 1}],
     "organisations": [{
        "group_id": "BO100001", "name": "株式会社サンプル",
        "services": ["benefit_station", "bene_learning"],
        "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)",
                      "key1_label_en": "Employee number", "key2_label_en": "Date of birth (YYYYMMDD)"},
        "family": {"enabled": true, "max_degree": 2, "max_accounts": 10},
        "members": [{"auth_key_1": "100234", "auth_key_2": "19850401", "name": "山田 太郎",
                     "kana": "ヤマダ タロウ", "birth_date": "1985-04-01",
                     "email_on_file": "taro.yamada@sample.co.jp", "services": ["benefit_station"]}]}]}

`services` (top level) is optional: the three built-in services always exist. A member's
`services` is optional (absent = all of the organisation's; stored as NULL); `email_on_file`
is optional; `family` defaults to on, second degree, Rules.family_max_accounts. CSV rosters
(`import_roster_csv`) have a header row of member field names, services separated by | or ;.
Re-importing updates members by (group_id, auth_key_1) and keeps their ids (account links
survive); members missing from the file are left as they are.

A file the import cannot be sure of is refused whole, naming the record: a key twice in one
JSON object (json would keep the last), the same organisation, service or member (group_id +
auth_key_1, once normalised) twice in one file (the last would overwrite the first), bytes that
are not the file's encoding (UTF-8, with or without a BOM; CSV may say `encoding="cp932"`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sqlite3
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count, islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bene_tui.core.errors import ValidationError
from bene_tui.core.i18n import t
from bene_tui.core.paths import DEMO_FILE
from bene_tui.store import busy_error, failed_row, is_busy, refuse_member_repeats, stop_refusing_member_repeats
from . import audit, normalize

BUILTIN_SERVICES = (
    {"id": "benefit_station", "name_ja": "ベネフィット・ステーション", "name_en": "Benefit Station", "family_allowed": 1},
    {"id": "bene_learning", "name_ja": "ベネ・ラーニング", "name_en": "Bene Learning", "family_allowed": 0},
    {"id": "bene_wellness", "name_ja": "ベネ・ウェルネス", "name_en": "Bene Wellness", "family_allowed": 0},
)
MEMBER_FIELDS = ("auth_key_1", "auth_key_2", "name", "kana", "birth_date", "email_on_file", "services")
REQUIRED_MEMBER_FIELDS = ("auth_key_1", "auth_key_2", "name", "kana", "birth_date")
ORG_FIELDS = ("group_id", "name", "services", "auth_keys", "family", "members")
MAX_KEY = 64  # auth keys and ids
BATCH = 5_000  # rows per executemany: large enough to amortise the call, small enough for memory
CHUNK = 1 << 20  # bytes read at a time
MAX_VALUE = 16 << 20  # one JSON value (a member record, an org header) may not exceed this
# Above this many estimated new rows (and more than the table holds), the secondary member
# indexes are dropped and rebuilt in the same transaction: one sort beats millions of random
# B-tree inserts. The unique (group_id, auth_key_1) index stays: the upsert needs it.
REBUILD_INDEXES_FROM = 50_000
EST_BYTES_PER_MEMBER = 180
# SQLite page cache while importing: 32 MiB is most of the speed of 64 (measured at 1M rows)
# and keeps a 10M-row import well inside its 200 MiB budget (the index rebuild sorts in it too).
IMPORT_CACHE_KIB = 32 * 1024

Progress = Callable[[int, int], None]  # (bytes read, total bytes)

INSERT_MEMBER = """
insert into members (id, group_id, auth_key_1, auth_key_2, name, kana, birth_date, email_on_file, services)
values (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# An organisation with members already: a member in the file updates its row (keeping its id).
UPSERT_MEMBER = INSERT_MEMBER.rstrip() + """
on conflict (group_id, auth_key_1) do update set
  auth_key_2 = excluded.auth_key_2, name = excluded.name, kana = excluded.kana,
  birth_date = excluded.birth_date, email_on_file = excluded.email_on_file, services = excluded.services
"""

# The distinct names of the roster (migrations.m_member_names); many rows go through COPY on PostgreSQL.
ADD_NAME = "insert into member_names (col, value) values (?, ?) on conflict do nothing"
NAMES_REMEMBERED = 100_000

# English wording of the normalisation errors, for the operator who runs the import.
_DETAILS = {
    "error.required": "is required",
    "error.too_long": "is longer than {max} characters",
    "error.control_chars": "contains control characters",
    "error.kana": "must be written in katakana",
    "error.date": "is not a valid date (YYYY-MM-DD)",
    "error.email": "is not a valid e-mail address",
}


class RosterError(ValidationError, ValueError):
    """A bad roster: names the record (`organisations[0].members[12]`, `line 14`) and the field.

    A ValidationError for the screens (key error.import_record) and a ValueError whose text is a
    plain English sentence for the command line.
    """

    def __init__(self, record: str | None, field: str | None, detail: str, key: str = "error.import_record",
                 **params: object) -> None:
        super().__init__(key, field=field, record=record, detail=detail, **params)
        self.record = record
        self.detail = detail

    def at(self, record: str) -> "RosterError":
        """Name the record once it is known (the row checks do not know where they are)."""
        if self.record is None:
            self.record = self.params["record"] = record
        return self

    def __str__(self) -> str:
        where = f"{self.record}, field {self.field!r}" if self.field else self.record
        return f"bad roster: {where}: {self.detail}"

    def explain(self, lang: str) -> str:
        """What the command line says: the catalogue's sentence where this error has its own
        (an unreadable file), else the English one naming the record and the field."""
        if self.key == "error.import_record":
            return f"{self}; nothing was imported."
        return t(lang, self.key, **self.params)


class _DuplicateKey(Exception):
    """A JSON object with the same key twice: json would keep the last value and drop the first."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey(next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1))
    return obj


def _undecodable(path: Path, encoding: str, key: str) -> RosterError:
    """The error for a file that is not `encoding` text, naming the line of the first bad byte.
    Lines are counted by their 0x0A bytes, which are line ends in every encoding a roster comes
    in (UTF-8, Shift-JIS/cp932, EUC-JP): never part of a multi-byte character."""
    decoder = codecs.getincrementaldecoder(_codec(encoding))()
    line = 0
    with path.open("rb") as fh:
        for line, raw in enumerate(fh, 1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError:
                break
    return RosterError(f"line {line}", None, f"cannot be read as {encoding} text", key=key, line=line,
                       encoding=encoding)


def _codec(encoding: str) -> str:
    """The Python codec for a roster's encoding: UTF-8 files may start with a BOM (Excel's "CSV UTF-8")."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise RosterError("command line", "encoding", f"unknown encoding {encoding!r} (e.g. utf-8, cp932)") from None
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


@dataclass
class ImportResult:
    organisations: int = 0
    members: int = 0  # member records read
    new_members: int = 0  # of which were not there before
    services: int = 0
    seconds: float = 0.0
    per_org: dict[str, int] = field(default_factory=dict)

    @property
    def updated_members(self) -> int:
        return self.members - self.new_members


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------------
# Field normalisation. The hot path of a ten-million-row import, so the common shapes are
# recognised by one regex and everything else goes through services/normalize.py, which is the rule.


def _wrap(fn, value, field: str, where: str | None, *args, **kw):
    try:
        return fn(value, field, *args, **kw)
    except ValidationError as exc:
        detail = _DETAILS.get(exc.key, exc.key).format(**exc.params)
        if exc.key != "error.too_long":
            detail += f" (got {_show(value)})"
        raise RosterError(where, field, detail) from None


def _as_text(value: object, field: str, where: str | None) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # 100234 as a JSON number
        return str(value)
    raise RosterError(where, field, f"must be a string (got {_show(value)})")


# The shape of a record that services/normalize.py would return unchanged, as ONE regex over its fields
# joined by NUL (no field pattern admits NUL, so the split is unambiguous). A ten-million-row
# import spends most of its Python time here: one regex call instead of six function calls
# halves it. Anything that does not match takes the general path, services/normalize.py, which is the
# rule; a property test holds the two paths to the same answers.
_NAME_CH = r"[\u3005\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe\u4e00-\u9fffA-Za-z]"
_KANA_CH = r"[\u30a0-\u30fe]"  # all NFKC-stable (U+30FF is not)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_CANONICAL = {
    "auth_key": r"[!-~](?:[ -~]{0,62}[!-~])?",  # printable ASCII, no outer spaces, at most 64
    "name": rf"(?=[^\x00]{{1,100}}\x00){_NAME_CH}+(?: {_NAME_CH}+)*",
    "kana": rf"(?=[^\x00]{{1,100}}\x00){_KANA_CH}+(?: {_KANA_CH}+)*",
    "birth_date": r"(?:19|20)[0-9][0-9]-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])",  # days every month has
    # empty, or a plain ASCII address: lower-case domain, no "--" labels (punycode), alphabetic
    # top-level domain that is not special-use (email-validator refuses those).
    "email": rf"(?:(?=[^\x00]{{1,254}}$)(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*"
             r"@(?:[a-z0-9](?:[a-z0-9]|-(?!-)){0,61}(?<!-)\.){1,8}[a-z]{2,24}"
             + "".join(rf"(?<!\.{tld})" for tld in ("arpa", "invalid", "local", "localhost", "onion", "test"))
             + ")?",
}
_ROW_OK = re.compile("\x00".join(_CANONICAL[k] for k in ("auth_key", "auth_key", "name", "kana", "birth_date",
                                                          "email"))).fullmatch
_MEMBER_KEYS = frozenset(MEMBER_FIELDS)


class _Normaliser:
    """Turns one raw member record into a row tuple; caches what repeats (dates, service lists).

    Errors are raised without a record name (`where` None); the reader, which knows the
    position, fills it in — building "organisations[3].members[12345]" for every row would cost
    more than checking the row.
    """

    def __init__(self, org_services: Iterable[str] | None) -> None:
        self.org_services = set(org_services) if org_services is not None else None
        self.unchecked: dict[tuple, int] = {}  # service lists seen before the org's list → first position
        self._dates: dict[object, str] = {}
        self._services: dict[tuple, str] = {}

    def row(self, group_id: str, raw: object, at: int) -> tuple:
        if type(raw) is not dict:
            raise RosterError(None, None, f"a member record must be an object (got {_show(raw)})")
        if not raw.keys() <= _MEMBER_KEYS:
            field = next(k for k in raw if k not in _MEMBER_KEYS)
            raise RosterError(None, str(field), "unknown field (expected " + ", ".join(MEMBER_FIELDS) + ")")
        get = raw.get
        k1, k2, name, kana, birth, email = (get("auth_key_1"), get("auth_key_2"), get("name"), get("kana"),
                                            get("birth_date"), get("email_on_file"))
        try:
            canonical = _ROW_OK("\x00".join((k1, k2, name, kana, birth, "" if email is None else email)))
        except TypeError:  # a field that is not a string (missing, a number...)
            canonical = None
        if not canonical:
            return self.slow_row(group_id, raw, at)
        services = get("services")
        return (group_id, k1, k2, name, kana, birth, email or None,
                None if services is None else self.services(services, at))

    def slow_row(self, group_id: str, raw: dict, at: int) -> tuple:
        """Field by field through services/normalize.py: the rule, and the place errors are named."""
        get = raw.get
        return (
            group_id,
            _wrap(normalize.clean, _as_text(get("auth_key_1"), "auth_key_1", None), "auth_key_1", None,
                  max_len=MAX_KEY),
            _wrap(normalize.clean, _as_text(get("auth_key_2"), "auth_key_2", None), "auth_key_2", None,
                  max_len=MAX_KEY),
            _wrap(normalize.clean_name, _as_text(get("name"), "name", None), "name", None),
            _wrap(normalize.clean_kana, _as_text(get("kana"), "kana", None), "kana", None),
            self.date(get("birth_date")),
            self.email(get("email_on_file")),
            self.services(get("services"), at),
        )

    def date(self, value) -> str:
        hit = self._dates.get(value) if type(value) is str else None  # 1985/04/01 style repeats a lot
        if hit:
            return hit
        result = _wrap(normalize.clean_date, _as_text(value, "birth_date", None), "birth_date", None)
        if type(value) is str and len(self._dates) < 100_000:
            self._dates[value] = result
        return result

    @staticmethod
    def email(value) -> str | None:
        text = _wrap(normalize.clean, _as_text(value, "email_on_file", None), "email_on_file", None,
                     max_len=254, required=False)
        return _wrap(normalize.email, text, "email_on_file", None) if text else None

    def services(self, value, at: int) -> str | None:
        if value is None or value == "":  # not given: all of the organisation's services
            return None
        if isinstance(value, str):  # CSV: "benefit_station|bene_learning"
            value = re.split(r"[|;]", value)
        if not isinstance(value, list):
            raise RosterError(None, "services", f"must be a list of service ids (got {_show(value)})")
        ids = tuple(dict.fromkeys(_wrap(normalize.clean, _as_text(v, "services", None), "services", None,
                                        max_len=MAX_KEY) for v in value))
        stored = self._services.get(ids)
        if stored is None:
            if self.org_services is None:
                self.unchecked.setdefault(ids, at)  # checked when the org's own list is known
            else:
                self.check_services(ids, None)
            stored = self._services[ids] = json.dumps(list(ids))
        return stored

    def check_services(self, ids: Iterable[str], where: str | None) -> None:
        unknown = [s for s in ids if s not in self.org_services]
        if unknown:
            raise RosterError(where, "services", f"service {unknown[0]!r} is not subscribed by the organisation")


# ---------------------------------------------------------------------------------------------
# Reading JSON as a stream. The shape is known, so punctuation ({ [ : , ] }) is consumed by
# hand and each small value (a member record, an org header field) is decoded whole by the
# C scanner (`raw_decode`) from a buffer refilled a chunk at a time.

_WS = re.compile(r"[ \t\n\r]*")
_SEP = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


class _JsonSyntax(Exception):
    pass


class _JsonStream:
    def __init__(self, fh, total: int, progress: Progress | None) -> None:
        self._fh = fh
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        decoder = json.JSONDecoder(object_pairs_hook=_unique_keys)
        self._raw_decode = decoder.raw_decode
        self._scan_once = decoder.scan_once  # raw_decode minus a Python frame, for the member loop
        self._progress = progress
        self.total = total
        self.bytes_read = 0
        self.consumed = 0  # characters dropped from the front of the buffer (for error offsets)
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self._fh.read(CHUNK)
        self.bytes_read += len(data)
        text = self._decoder.decode(data, final=not data)  # UnicodeDecodeError: import_file names the line
        self.eof = not data
        self.consumed += self.pos
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        if self._progress:
            self._progress(self.bytes_read, self.total)
        return True

    def peek(self) -> str:
        """The next non-blank character, without consuming it ('' at the end of the file)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            found = repr(c) if c else "end of file"
            raise _JsonSyntax(f"expected {' or '.join(repr(x) for x in chars)}, found {found} "
                              f"at character {self.consumed + self.pos}")
        self.pos += 1
        return c

    def value(self):
        """One complete JSON value; reads more of the file until it is complete."""
        self.peek()
        while True:
            try:
                value, end = self._raw_decode(self.buf, self.pos)
            except RecursionError:
                raise _JsonSyntax(f"a value nested too deeply at character {self.consumed + self.pos}") from None
            except json.JSONDecodeError as exc:
                # Most likely the value runs past the buffer; a real error repeats at EOF or cap.
                if len(self.buf) - self.pos <= MAX_VALUE and self._fill():
                    continue
                if len(self.buf) - self.pos > MAX_VALUE:
                    raise _JsonSyntax(f"a value longer than {MAX_VALUE >> 20} MiB at character "
                                      f"{self.consumed + self.pos}") from None
                raise _JsonSyntax(f"{exc.msg} at character {self.consumed + exc.pos}") from None
            if end == len(self.buf) and not self.eof:  # a number may go on in the next chunk
                self._fill()
                continue
            self.pos = end
            return value

    def items(self) -> Iterator[int]:
        """Iterate over an array: yields the index of each element; the caller reads the element."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        i = 0
        while True:
            yield i
            if self.expect(",]") == "]":
                return
            i += 1

    def values(self) -> Iterator[tuple[int, object]]:
        """Iterate over an array of values: yields (index, value). The member loop: kept tight."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        scan_once, sep = self._scan_once, _SEP.match
        i = 0
        while True:
            # Fast path: value, separator and the next value's start all inside the buffer.
            buf = self.buf
            try:
                value, end = scan_once(buf, self.pos)
                m = sep(buf, end)
            except (StopIteration, json.JSONDecodeError, RecursionError):  # the careful way says which
                m = None
            if m is not None and m.end() < len(buf):
                self.pos = m.end()
                yield i, value
                if m.group(1) == "]":
                    return
            else:  # the careful way: refills the buffer as needed
                value = self.value()
                yield i, value
                if self.expect(",]") == "]":
                    return
                self.peek()  # skip blanks (refilling if need be) so the fast path can resume
            i += 1

    def keys(self) -> Iterator[str]:
        """Iterate over an object: yields each key; the caller reads its value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                self.expect('"')
            key = self.value()
            self.expect(":")
            yield key
            if self.expect(",}") == "}":
                return


# ---------------------------------------------------------------------------------------------
# Writing.


def _text(value, field: str, where: str, max_len: int = normalize.MAX_FIELD, required: bool = True) -> str:
    return _wrap(normalize.clean, _as_text(value, field, where), field, where, max_len=max_len, required=required)


def _ensure_builtin_services(db) -> None:
    db["services"].upsert_all(BUILTIN_SERVICES, pk="id")


def _upsert_service(db, raw: object, where: str) -> str:
    if not isinstance(raw, dict):
        raise RosterError(where, None, "a service must be an object")
    for k in raw:
        if k not in ("id", "name_ja", "name_en", "family_allowed"):
            raise RosterError(where, str(k), "unknown field (expected id, name_ja, name_en, family_allowed)")
    row = {
        "id": _text(raw.get("id"), "id", where, max_len=MAX_KEY),
        "name_ja": _text(raw.get("name_ja"), "name_ja", where, max_len=100),
        "name_en": _text(raw.get("name_en"), "name_en", where, max_len=100),
        "family_allowed": 1 if raw.get("family_allowed") else 0,
    }
    db["services"].upsert(row, pk="id")
    return row["id"]


def drop_secondary_member_indexes(conn) -> list[str]:
    """Drop the members table's non-unique indexes; returns their definitions, to be run again
    once the rows are in: one sort each beats millions of random B-tree inserts. In a file that
    one big import fills, the table's pages then lie together ahead of its indexes, inside the
    memory map step 1 reads through (store.MMAP_BYTES; bench/lookup_bench.py)."""
    rows = conn.execute(
        "select name, sql from sqlite_master where type = 'index' and tbl_name = 'members' and sql is not null"
    ).fetchall()
    dropped = []
    for name, sql in rows:
        if "unique" in sql.lower():
            continue
        conn.execute(f'drop index "{name}"')
        dropped.append(sql)
    return dropped


_TWICE = "bene-tui: a member twice in one file"  # the message of the trigger that refuses it


class _Writer:
    """Everything one import writes, inside the caller's transaction."""

    def __init__(self, ctx, estimated_rows: int) -> None:
        self.ctx = ctx
        self.conn = ctx.db.conn
        self.result = ImportResult()
        _ensure_builtin_services(ctx.db)
        self.services: set[str] = {r[0] for r in self.conn.execute("select id from services")}
        self.unknown_services: dict[str, tuple[str, str]] = {}  # id → (record, field), checked at the end
        self._dropped: list[str] = []  # the definitions of the indexes dropped, rebuilt in finish()
        # An org may name a service the file defines further down: foreign keys are checked at
        # COMMIT (after finish() has named any unknown service properly). Ends with the transaction.
        self.conn.execute("pragma defer_foreign_keys = on")
        existing = self.conn.execute("select max(id) from members").fetchone()[0] or 0
        # members.id is handed out here (the table is keyed by 団体ID + 認証キー1, store/migrations.py); an
        # updated member keeps its id, so the number its row would have taken is simply not used.
        self.member_ids = count(existing + 1)
        self.existing = existing
        self._names_seen: set[tuple[str, str]] = set()  # (col, value) already in member_names
        self.group_ids: dict[str, str] = {}  # group_id → the organisation record that has it
        self.service_ids: set[str] = set()  # services the file defines
        if estimated_rows >= max(REBUILD_INDEXES_FROM, existing):
            self._dropped = drop_secondary_member_indexes(self.conn)

    def finish(self) -> None:
        for service_id, (record, where) in self.unknown_services.items():
            if service_id not in self.services:
                raise RosterError(record, where, f"unknown service {service_id!r}")
        for sql in self._dropped:  # the very definitions that were there, rebuilt with one sort each
            self.conn.execute(sql)
        if self.result.new_members < self.result.members:  # some were updated: a name may have changed
            self._forget_old_names()

    def claim_org(self, group_id: str, where: str) -> None:
        """One record per organisation: a second would silently replace the first one's fields."""
        first = self.group_ids.setdefault(group_id, where)
        if first != where:
            raise RosterError(where, "group_id", f"{group_id!r} appears twice in the file (also {first})")

    def service(self, raw: object, where: str) -> None:
        service_id = _upsert_service(self.ctx.db, raw, where)
        if service_id in self.service_ids:
            raise RosterError(where, "id", f"service {service_id!r} appears twice in the file")
        self.service_ids.add(service_id)
        self.services.add(service_id)
        self.result.services += 1

    def org_services(self, value: object, where: str) -> list[str]:
        if not isinstance(value, list) or not value:
            raise RosterError(where, "services", "must be a non-empty list of service ids")
        ids = list(dict.fromkeys(_text(v, "services", where, max_len=MAX_KEY) for v in value))
        for s in ids:
            if s not in self.services:
                self.unknown_services.setdefault(s, (where, "services"))
        return ids

    def org(self, header: dict, where: str) -> None:
        """Insert or update the organisation row and its services (members are written apart)."""
        for k in ("name", "services", "auth_keys"):
            if k not in header:
                raise RosterError(where, k, "is required")
        labels = header["auth_keys"]
        if not isinstance(labels, dict):
            raise RosterError(where, "auth_keys", "must be an object with key1_label, key2_label")
        for k in labels:
            if k not in ("key1_label", "key2_label", "key1_label_en", "key2_label_en"):
                raise RosterError(where, f"auth_keys.{k}", "unknown field")
        family = header.get("family") or {}
        if not isinstance(family, dict):
            raise RosterError(where, "family", "must be an object with enabled, max_degree, max_accounts")
        for k in family:
            if k not in ("enabled", "max_degree", "max_accounts"):
                raise RosterError(where, f"family.{k}", "unknown field")
        k1 = _text(labels.get("key1_label"), "auth_keys.key1_label", where, max_len=100)
        k2 = _text(labels.get("key2_label"), "auth_keys.key2_label", where, max_len=100)
        row = {
            "group_id": header["group_id"],
            "name": _text(header["name"], "name", where, max_len=200),
            "key1_label": k1,
            "key2_label": k2,
            "key1_label_en": _text(labels.get("key1_label_en"), "auth_keys.key1_label_en", where, max_len=100,
                                   required=False) or k1,
            "key2_label_en": _text(labels.get("key2_label_en"), "auth_keys.key2_label_en", where, max_len=100,
                                   required=False) or k2,
            "family_enabled": 1 if family.get("enabled", True) else 0,
            "family_max_degree": _small_int(family.get("max_degree", 2), "family.max_degree", where, 0, 2),
            "family_max_accounts": _small_int(family.get("max_accounts", self.ctx.rules.family_max_accounts),
                                              "family.max_accounts", where, 0, 100),
            "updated_at": self.ctx.now(),
        }
        db = self.ctx.db
        db["organisations"].upsert(row, pk="group_id")
        self.conn.execute("delete from org_services where group_id = ?", [row["group_id"]])
        self.conn.executemany("insert into org_services (group_id, service_id) values (?, ?)",
                              [(row["group_id"], s) for s in header["services"]])

    def placeholder_org(self, group_id: str) -> None:
        """Members may stream before the org's own fields: its row must exist for their foreign key."""
        self.conn.execute("insert or ignore into organisations (group_id, name, updated_at) values (?, ?, ?)",
                          [group_id, group_id, self.ctx.now()])

    def members(self, group_id: str, rows: Iterable[tuple], record: Callable[[int, int], str]) -> int:
        """Write one organisation's member rows. `record(n, back)` names the n-th of them (from 0), the
        `back`-th from the end of those read so far (from 1), if it turns out to repeat an earlier one.

        A member (団体ID + 認証キー1) may appear once in a file. An organisation new to the store is
        written with plain INSERTs: a repeat is the primary key's violation. One with members already
        is upserted (a member in the file updates its row), and a repeat would silently overwrite the
        first record: a trigger refuses it (store.refuse_member_repeats, each backend its way), there
        only. Any trigger on the table makes SQLite seek each new row's place twice (bench/README.md,
        import: a third slower), so a new roster of millions is not written under one."""
        before = self.conn.execute("select count(*) from members where group_id = ?", [group_id]).fetchone()[0]
        n = 0
        rows = iter(rows)
        ids = self.member_ids
        updates = before > 0  # a known organisation: its members' rows are upserted
        sql = UPSERT_MEMBER if updates else INSERT_MEMBER
        refuse_member_repeats(self.conn, self.existing, _TWICE, updates)
        while batch := [(next(ids), *row) for row in islice(rows, BATCH)]:
            pending = iter(batch)
            try:
                self.conn.executemany(sql, pending)
            except sqlite3.IntegrityError as exc:
                # INSERT: only the key can collide (ids are new, foreign keys are checked at COMMIT)
                if updates and _TWICE not in str(exc) and "import_updated" not in str(exc):
                    raise
                at = failed_row(self.conn, exc, batch, pending)
                _, _, key1, *_ = batch[at]
                raise RosterError(record(n + at, len(batch) - at), "auth_key_1",
                                  f"member {key1!r} of {group_id} appears twice in the file "
                                  "(a member is one group_id + auth_key_1)") from None
            self._add_names(batch)
            n += len(batch)
        stop_refusing_member_repeats(self.conn)
        after = self.conn.execute("select count(*) from members where group_id = ?", [group_id]).fetchone()[0]
        self.result.members += n
        self.result.new_members += after - before
        self.result.per_org[group_id] = self.result.per_org.get(group_id, 0) + n
        return n

    def _add_names(self, batch: list[tuple]) -> None:
        """Each name and kana of the batch in member_names (the helpdesk's fragment search), once:
        names already written by this import are not sent again (a roster repeats its names a lot),
        remembering at most NAMES_REMEMBERED of them (memory stays bounded whatever the roster)."""
        seen = self._names_seen
        names = {("name", r[4]) for r in batch} | {("kana", r[5]) for r in batch if r[5]}
        names -= seen
        if names:
            self.conn.executemany(ADD_NAME, sorted(names))
            if len(seen) + len(names) > NAMES_REMEMBERED:
                seen.clear()
            seen |= names

    def _forget_old_names(self) -> None:
        """After an import that changed members: names no member has any more leave member_names
        (a renamed member's old name is not kept, and never takes a place in a search's hundred)."""
        for col in ("name", "kana"):  # a fixed pair of column names, not data
            self.conn.execute(f"delete from member_names where col = '{col}' and not exists "
                              f"(select 1 from members where {col} = member_names.value)")

    def audit_org(self, group_id: str) -> None:
        self.result.organisations += 1
        audit.record(self.ctx, "roster.import", f"org:{group_id}", "ok",
                     members=self.result.per_org.get(group_id, 0))


def _small_int(value: object, field: str, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RosterError(where, field, f"must be a whole number from {low} to {high} (got {_show(value)})")
    return value


@contextmanager
def _import_pragmas(conn):
    """For the import's duration: a larger page cache, and no memory map (pages read through it
    would count against the import's memory budget), both restored afterwards."""
    old_cache = conn.execute("pragma cache_size").fetchone()[0]
    old_mmap = conn.execute("pragma mmap_size").fetchone()[0]
    conn.execute(f"pragma cache_size = -{IMPORT_CACHE_KIB}")
    conn.execute("pragma mmap_size = 0")
    try:
        yield
    finally:
        conn.execute(f"pragma cache_size = {old_cache}")
        conn.execute(f"pragma mmap_size = {old_mmap}")


def _after_big_import(ctx, rows: int) -> None:
    # A large transaction leaves a large WAL file behind; fold it back into the database.
    if rows >= REBUILD_INDEXES_FROM and not ctx.db.conn.in_transaction:
        ctx.db.execute("pragma wal_checkpoint(TRUNCATE)").fetchall()


# ---------------------------------------------------------------------------------------------
# JSON


def import_file(ctx, path: str | Path, progress: Progress | None = None) -> ImportResult:
    """Import a roster in the public JSON format (services, organisations, members); all or nothing."""
    started = time.perf_counter()
    path = Path(path)
    total = path.stat().st_size
    conn = ctx.db.conn
    with _import_pragmas(conn):
        with path.open("rb") as fh, ctx.tx():
            stream = _JsonStream(fh, total, progress)
            writer = _Writer(ctx, total // EST_BYTES_PER_MEMBER)
            try:
                _read_document(stream, writer)
            except _JsonSyntax as exc:
                raise RosterError(path.name, None, f"invalid JSON: {exc}") from None
            except UnicodeDecodeError:
                raise _undecodable(path, "UTF-8", "error.import_encoding") from None
            writer.finish()
            result = writer.result
    _after_big_import(ctx, result.members)
    result.seconds = time.perf_counter() - started
    return result


def _read_document(stream: _JsonStream, writer: _Writer) -> None:
    seen: set[str] = set()
    for key in stream.keys():
        if key in seen:
            raise RosterError("file", key, "appears twice in the document")
        seen.add(key)
        if key == "services":
            for i in stream.items():
                writer.service(_value(stream, f"services[{i}]"), f"services[{i}]")
        elif key == "organisations":
            for i in stream.items():
                _read_org(stream, writer, i)
        else:
            raise RosterError("file", key, "unknown top-level field (expected services, organisations)")
    if stream.peek():
        raise _JsonSyntax(f"unexpected data after the document at character {stream.consumed + stream.pos}")
    if "organisations" not in seen:
        raise RosterError("file", "organisations", "is required")


def _value(stream: _JsonStream, where: str, field: str | None = None):
    """One value of the document (not a member record: see _read_org), whose objects have each key once."""
    try:
        return stream.value()
    except _DuplicateKey as exc:
        raise RosterError(where, f"{field}.{exc.key}" if field else exc.key, "appears twice in the object") from None


def _read_org(stream: _JsonStream, writer: _Writer, i: int) -> None:
    where = f"organisations[{i}]"
    header: dict = {}
    norm = _Normaliser(None)
    seen: set[str] = set()
    for key in stream.keys():
        if key not in ORG_FIELDS:
            raise RosterError(where, key, "unknown field (expected " + ", ".join(ORG_FIELDS) + ")")
        if key in seen:
            named = f" ({header['group_id']})" if "group_id" in header else ""
            raise RosterError(where, key, f"appears twice in the organisation{named}")
        seen.add(key)
        if key != "members":
            value = _value(stream, where, key)
            if key == "group_id":
                value = _text(value, "group_id", where, max_len=MAX_KEY)
                writer.claim_org(value, where)
            elif key == "services":
                value = writer.org_services(value, where)
                norm.org_services = set(value)
            header[key] = value
            continue
        if "group_id" not in header:
            # The file is read once, front to back: rows need their group_id when they are written.
            raise RosterError(where, "members", "must come after group_id in the organisation")
        group_id = header["group_id"]
        writer.placeholder_org(group_id)

        def rows() -> Iterator[tuple]:
            j = -1
            try:
                for j, raw in stream.values():
                    try:
                        row = norm.row(group_id, raw, j)
                    except RosterError as exc:
                        raise exc.at(f"{where}.members[{j}]") from None
                    yield row
            except _DuplicateKey as exc:  # in the record after the last one read
                raise RosterError(f"{where}.members[{j + 1}]", exc.key, "appears twice in the record") from None

        writer.members(group_id, rows(), lambda n, back: f"{where}.members[{n}]")
    if "group_id" not in header:
        raise RosterError(where, "group_id", "is required")
    writer.org(header, where)
    for ids, j in norm.unchecked.items():  # lists read before the org's own services
        norm.check_services(ids, f"{where}.members[{j}]")
    writer.audit_org(header["group_id"])


# ---------------------------------------------------------------------------------------------
# CSV


def import_roster_csv(ctx, group_id: str, path: str | Path, progress: Progress | None = None,
                      encoding: str = "utf-8") -> ImportResult:
    """Import one organisation's members from a CSV whose header names the member fields.

    `encoding` is the file's: UTF-8 with or without a BOM by default, "cp932" for the Shift-JIS
    that Excel and most Japanese HR systems write."""
    started = time.perf_counter()
    path = Path(path)
    total = path.stat().st_size
    group_id = _text(group_id, "group_id", "command line", max_len=MAX_KEY)
    codec = _codec(encoding)
    conn = ctx.db.conn
    with _import_pragmas(conn):
        with path.open("rb") as raw, ctx.tx():
            org_services = [r[0] for r in conn.execute(
                "select service_id from org_services where group_id = ?", [group_id])]
            if conn.execute("select 1 from organisations where group_id = ?", [group_id]).fetchone() is None:
                raise RosterError("command line", "group_id", f"no organisation {group_id!r}; import it first")
            reader = csv.reader(io.TextIOWrapper(raw, encoding=codec, newline=""))
            try:
                header = _csv_header(reader)
                writer = _Writer(ctx, total // (EST_BYTES_PER_MEMBER // 2))
                norm = _Normaliser(org_services)
                width = len(header)
                lines: deque[int] = deque(maxlen=BATCH)  # of the rows being written, to name a repeated one

                def rows() -> Iterator[tuple]:
                    for n, cells in enumerate(reader):
                        if not cells:
                            continue
                        if progress and n % BATCH == 0:
                            progress(raw.tell(), total)
                        try:
                            if len(cells) != width:
                                raise RosterError(None, None, f"expected {width} cells, found {len(cells)}")
                            row = norm.row(group_id, dict(zip(header, cells)), reader.line_num)
                        except RosterError as exc:
                            raise exc.at(f"line {reader.line_num}") from None
                        lines.append(reader.line_num)
                        yield row

                writer.members(group_id, rows(), lambda n, back: f"line {lines[-back]}")
            except UnicodeDecodeError:  # read ahead in blocks: the line is found again
                # The hint to add --encoding cp932 only where it was not given already.
                key = "error.import_encoding_csv" if codec.startswith("utf") else "error.import_encoding"
                raise _undecodable(path, encoding, key) from None
            except csv.Error as exc:
                raise RosterError(f"line {reader.line_num}", None, f"unreadable CSV: {exc}") from None
            writer.finish()
            writer.audit_org(group_id)
            if progress:
                progress(total, total)
            result = writer.result
    _after_big_import(ctx, result.members)
    result.seconds = time.perf_counter() - started
    return result


def _csv_header(reader) -> list[str]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RosterError("line 1", None, "the file is empty (expected a header row)") from None
    for h in header:
        if h not in MEMBER_FIELDS:
            raise RosterError("line 1", h, "unknown column (expected " + ", ".join(MEMBER_FIELDS) + ")")
    if len(set(header)) != len(header):
        raise RosterError("line 1", None, "a column appears twice")
    for h in REQUIRED_MEMBER_FIELDS:
        if h not in header:
            raise RosterError("line 1", h, "required column is missing")
    return header


# ---------------------------------------------------------------------------------------------
# Demo reset


def app_tables(db) -> list[str]:
    """Every table of the app's own (not SQLite's, not the migrations record, not FTS internals)."""
    rows = db.execute("pragma main.table_list").fetchall()  # (schema, name, type, ncol, wr, strict)
    return [r[1] for r in rows
            if r[2] in ("table", "virtual") and not r[1].startswith("sqlite_") and r[1] != "_sqlite_migrations"]


def reset_demo(ctx, demo_file: str | Path | None = None) -> ImportResult:
    """Wipe every app table and load the demo roster again, in one transaction.

    The database's id (which names its key in the secret store) survives, so the terminal's
    secrets stay valid.
    """

    with _secure_delete(ctx.db.conn), ctx.tx() as db:
        conn = db.conn
        conn.execute("pragma defer_foreign_keys = on")  # delete in any order; checked at commit
        for table in app_tables(db):
            if table == "settings":
                conn.execute("delete from settings where key != 'db_id'")
            else:
                conn.execute(f'delete from "{table}"')
        result = import_file(ctx, demo_file or DEMO_FILE)
        audit.record(ctx, "demo.reset", f"terminal:{ctx.terminal}", "ok")
    _leave_no_trace(ctx)
    return result


@contextmanager
def _secure_delete(conn):
    """SQLite zeroes what is deleted (cells and freed pages) instead of leaving it in free space."""
    old = conn.execute("pragma secure_delete").fetchone()[0]
    conn.execute("pragma secure_delete = on")
    try:
        yield
    finally:
        conn.execute(f"pragma secure_delete = {int(old)}")


def _leave_no_trace(ctx) -> None:
    """What the reset deleted (codes, links, messages, keys) must not stay readable in the files:
    VACUUM rewrites the database from what is left (pages freed before the reset held deleted
    content too) and the checkpoint empties the WAL, whose older frames hold the pages as they
    were. A terminal reading at that very moment keeps its frames until the next checkpoint."""
    if ctx.db.conn.in_transaction:  # inside a caller's transaction: nothing is deleted yet
        return
    try:
        ctx.db.execute("vacuum")
        ctx.db.execute("pragma wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise busy_error(exc) from exc
        raise
