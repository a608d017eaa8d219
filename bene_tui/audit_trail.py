"""The audit trail out of the store: export (JSON Lines or CSV, streamed) and prune (in batches).

The rows never hold a password, code or token (audit.record refuses such details), so both
commands pass them on as they are. Dates are calendar days in Japan time, as the app shows them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from typing import Callable, Iterator, TextIO

from . import audit
from .clock import JST
from .store import stream

COLUMNS = ("id", "at", "terminal", "actor", "action", "subject", "outcome", "reason", "detail")
FORMATS = ("jsonl", "csv")
FETCH = 5_000  # rows per fetchmany: memory stays flat whatever the table's size
PRUNE_BATCH = 5_000  # rows deleted per transaction: other terminals wait for one batch at most


def parse_day(text: str) -> float:
    """'2026-04-01' → the epoch second at which that day starts in Japan time."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date (expected YYYY-MM-DD): {text!r}") from None
    return datetime.combine(day, dtime(0), JST).timestamp()


def day_range(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """--since DAY from its start, --until DAY to its end (both days included)."""
    start = parse_day(since) if since else None
    end = parse_day(until) + timedelta(days=1).total_seconds() if until else None
    if start is not None and end is not None and end <= start:
        raise ValueError(f"--until {until} is before --since {since}")
    return start, end


def _where(start: float | None, end: float | None) -> tuple[str, list]:
    clauses, args = [], []
    if start is not None:
        clauses.append("at >= ?")
        args.append(start)
    if end is not None:
        clauses.append("at < ?")
        args.append(end)
    return (" where " + " and ".join(clauses)) if clauses else "", args


def count(ctx, start: float | None = None, end: float | None = None) -> int:
    where, args = _where(start, end)
    return ctx.db.execute(f"select count(*) from audit{where}", args).fetchone()[0]


def iter_rows(ctx, start: float | None = None, end: float | None = None) -> Iterator[tuple]:
    """The rows in id order, FETCH at a time (a server-side cursor on PostgreSQL), from one read
    snapshot of the store (the caller's `store.read_snapshot`, else the query's own)."""
    where, args = _where(start, end)
    yield from stream(ctx.db, f"select {', '.join(COLUMNS)} from audit{where} order by id", args, FETCH)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat(timespec="milliseconds")


def _writer(fmt: str, out: TextIO) -> Callable[[tuple], None]:
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(COLUMNS)
        return lambda row: w.writerow((row[0], _iso(row[1]), *row[2:]))

    def jsonl(row: tuple) -> None:
        record = dict(zip(COLUMNS, row))
        record["at"] = _iso(row[1])
        record["detail"] = json.loads(row[8]) if row[8] else None
        out.write(json.dumps(record, ensure_ascii=False) + "\n")

    return jsonl


def export(ctx, out: TextIO, fmt: str, start: float | None = None, end: float | None = None,
           progress: Callable[[int], None] | None = None) -> int:
    """Write the rows between start and end to `out`; returns how many. `progress(done)` every FETCH rows."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")
    write, done = _writer(fmt, out), 0
    for row in iter_rows(ctx, start, end):
        write(row)
        done += 1
        if progress is not None and done % FETCH == 0:
            progress(done)
    if progress is not None:
        progress(done)
    return done


def record_export(ctx, rows: int, fmt: str, start: float | None, end: float | None) -> None:
    """Data left the store: who took how much of which period (an audit row of its own)."""
    with ctx.tx():
        audit.record(ctx, "audit.export", f"terminal:{ctx.terminal}", "ok", rows=rows, format=fmt,
                     since=_iso(start) if start is not None else None, until=_iso(end) if end is not None else None)


@dataclass
class PruneResult:
    removed: int
    before: float


def prune(ctx, before: float, progress: Callable[[int], None] | None = None) -> PruneResult:
    """Delete the rows older than `before`, PRUNE_BATCH per transaction, then record the prune itself
    (also when it is interrupted: what was deleted by then stays deleted, and the row says how much).

    Each batch is found by a read outside the write lock (id order, from where the last one ended)
    and deleted by its id range inside a short transaction, so terminals writing meanwhile wait for
    one batch at most.
    """
    last, removed = 0, 0
    top = ctx.db.execute("select coalesce(max(id), 0) from audit").fetchone()[0]
    find = ("select max(id), count(*) from (select id from audit where id > ? and at < ? "
            "order by id limit ?) as batch")
    outcome = "interrupted"  # until the last batch is done: batches already deleted stay deleted, and said so
    try:
        while True:
            high, n = ctx.db.execute(find, [last, before, PRUNE_BATCH]).fetchone()
            if not n:
                break
            with ctx.tx() as db:
                removed += db.execute("delete from audit where id > ? and id <= ? and at < ?",
                                      [last, high, before]).rowcount
            last = high
            if progress is not None:
                progress(removed)
        outcome = "ok"
    finally:
        _record_prune(ctx, outcome, removed, before, top)
    return PruneResult(removed=removed, before=before)


def _record_prune(ctx, outcome: str, removed: int, before: float, top: int) -> None:
    with ctx.tx() as db:
        audit.record(ctx, "audit.prune", f"terminal:{ctx.terminal}", outcome, removed=removed, before=_iso(before))
        row = db.execute("select max(id) from audit").fetchone()[0]  # this row: writers wait for our commit
        if row <= top:  # the newest rows went too: SQLite would hand their ids out again (PostgreSQL never does)
            db.execute("update audit set id = ? where id = ?", [top + 1, row])


def retention_cutoff(ctx) -> float:
    """The start of the day `audit_retention_days` ago (Japan time): rows before it are due."""
    today = datetime.fromtimestamp(ctx.now(), JST).date()
    return datetime.combine(today - timedelta(days=ctx.rules.audit_retention_days), dtime(0), JST).timestamp()
