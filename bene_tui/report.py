"""Where people get stuck (issue 16): counts per day (JST), organisation and terminal.

`daily_stats` has one row per (group_id, terminal, day) with a column per metric (COLUMNS), kept
by `count`, which `audit.record` calls for every row it writes, in the same transaction: the
Operations screen and `bene-tui report` read only these aggregates, whose size depends on days ×
organisations × terminals, however long the audit trail is. `rebuild` derives them from the audit
rows themselves (the migration's backfill, the benchmark).

The time from step 1 to completion cannot be summed: each completion adds one to a duration
bucket (`dur_<upper bound in seconds>`), and the median is read from the summed histogram,
interpolated inside its bucket.

Portable SQL only (an upsert with ON CONFLICT; days as integers, not SQLite date functions).
Pure Python: no textual import.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from functools import lru_cache

from .errors import ValidationError
from .normalize import clean, clean_date
from .store import stream

JST_OFFSET = 9 * 3600
DAY = 86400
# The funnel of a registration, in order, then the other counts.
FUNNEL = ("started", "step2", "code_entered", "completed")
OTHER = ("code_sent", "step1_refused", "lockouts", "resets", "linked",
         "family_invited", "family_approved", "family_registered")
METRICS = FUNNEL + OTHER
# Upper bounds (seconds) of the step-1-to-completion buckets; the last one is open.
BUCKETS = (30, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600, 7200, 14400, 43200, 86400)
_OPEN = "inf"
BUCKET_COLUMNS = tuple(f"dur_{u}" for u in (*BUCKETS, _OPEN))
COLUMNS = METRICS + BUCKET_COLUMNS  # daily_stats' count columns, in this order
_INDEX = {c: i for i, c in enumerate(COLUMNS)}
ALL = "*"  # group_id / terminal of the sums over all of them (not a 団体ID: those are [A-Z0-9-])
# action → metric for outcome "ok" (the refusals are in `metric_of`)
_OK = {
    "registration.step1": "started",
    "registration.complete": "completed",
    "recovery.password_reset": "resets",
    "link.complete": "linked",
    "family.invite": "family_invited",
    "family.approve": "family_approved",
    "family.register": "family_registered",
}
_CODE_PURPOSE = "verification"  # registration's step-3 code (registration.PURPOSE)
ACTIONS = tuple(_OK) + ("registration.provisional", "code.sent", "code.checked", "auth.login", "link.login")
LOCKED = "; locked until"  # auth._check's reason when this failure starts a lock


def day_of(ts: float) -> int:
    """The JST calendar day as days since 1970-01-01."""
    return int((ts + JST_OFFSET) // DAY)


@lru_cache(maxsize=4096)
def day_text(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def metric_of(action: str, outcome: str, reason: str | None, detail: dict) -> str | None:
    if outcome == "ok":
        if action in _OK:
            return _OK[action]
        if action == "registration.provisional" and not detail.get("resumed"):
            return "step2"
        if action in ("code.sent", "code.checked") and detail.get("purpose") == _CODE_PURPOSE:
            return "code_sent" if action == "code.sent" else "code_entered"
    elif outcome == "refused":
        if action == "registration.step1":
            return "step1_refused"
        if action in ("auth.login", "link.login") and LOCKED in (reason or ""):
            return "lockouts"
    return None


def bucket(seconds: float) -> str:
    for upper in BUCKETS:
        if seconds <= upper:
            return f"dur_{upper}"
    return f"dur_{_OPEN}"


# -- which organisation a row is about ----------------------------------------------------------

def _one(db, sql: str, args: list) -> object | None:
    row = db.execute(sql, args).fetchone()
    return row[0] if row else None


def _org_of_account(db, account_id: int, one=_one, depth: int = 0) -> str | None:
    gid = one(db, "select m.group_id from account_members am join members m on m.id = am.member_id "
                  "where am.account_id = ? limit 1", [account_id])
    if gid is None:  # provisional: its member is on its flow
        gid = one(db, "select m.group_id from flows f join members m on m.id = f.member_id "
                      "where f.account_id = ? and f.member_id is not null limit 1", [account_id])
    if gid is None and depth == 0:  # a family account: the inviting member's organisation
        inviter = one(db, "select family_of from accounts where id = ?", [account_id])
        if inviter is not None:
            gid = _org_of_account(db, inviter, one, 1)
    return gid


def _org_of_flow(db, flow_id: str, one=_one) -> str | None:
    return one(db, "select m.group_id from flows f join members m on m.id = f.member_id where f.id = ?", [flow_id])


def org_of(db, subject: str | None, detail: dict, one=_one) -> str:
    """The 団体ID a row is about, from what it names (indexed lookups only), or "".
    `one` runs each lookup (rebuild passes a memoising one: rows of one flow ask the same)."""
    if detail.get("group_id"):  # typed at step 1: counted only if it is a real organisation
        return one(db, "select group_id from organisations where group_id = ?", [detail["group_id"]]) or ""
    if detail.get("member") is not None:
        return one(db, "select group_id from members where id = ?", [detail["member"]]) or ""
    gid = None
    if detail.get("flow"):  # a registration's flow names its member (a password reset's does not)
        gid = _org_of_flow(db, detail["flow"], one)
    kind, _, ref = (subject or "").partition(":")
    if gid is None and kind == "flow":
        gid = _org_of_flow(db, ref, one)
    elif gid is None and ref.isdigit():
        if kind == "member":
            gid = one(db, "select group_id from members where id = ?", [int(ref)])
        elif kind == "account":
            gid = _org_of_account(db, int(ref), one)
        elif kind == "invitation":
            inviter = one(db, "select account_id from invitations where id = ?", [int(ref)])
            gid = _org_of_account(db, inviter, one) if inviter is not None else None
    return gid or ""


# -- keeping the aggregates ---------------------------------------------------------------------

@lru_cache(maxsize=64)
def _upsert(columns: tuple[str, ...]) -> str:
    """Add 1 to these columns of a (group_id, terminal, day) row (names from COLUMNS only)."""
    assert all(c in _INDEX for c in columns)
    return (f"insert into daily_stats (group_id, terminal, day, {', '.join(columns)}) "
            f"values (?, ?, ?{', 1' * len(columns)}) on conflict (group_id, terminal, day) do update set "
            + ", ".join(f"{c} = daily_stats.{c} + 1" for c in columns))


def _counts(db, row: dict, detail: dict) -> list[str]:
    metric = metric_of(row["action"], row["outcome"], row["reason"], detail)
    if metric is None:
        return []
    out = [metric]
    if metric == "completed":
        # Step 1 to completion: carried by the row, else (rows written before it was) from the flow.
        seconds = detail.get("seconds")
        if seconds is None and detail.get("flow"):
            started = _one(db, "select created_at from flows where id = ?", [detail["flow"]])
            seconds = row["at"] - started if started is not None else None
        if seconds is not None:
            out.append(bucket(seconds))
    return out


def _many(db, sql: str, rows: list) -> None:
    getattr(db, "conn", db).executemany(sql, rows)  # a sqlite-utils Database, or a bare connection


def _levels(org: str, terminal: str, day: int) -> tuple[tuple, ...]:
    """Each count is kept at four levels: per organisation and terminal, and summed over either or
    both (ALL), so a view of the whole day, or of one organisation, reads one row a day."""
    return (org, terminal, day), (ALL, ALL, day), (org, ALL, day), (ALL, terminal, day)


def count(db, row: dict, detail: dict) -> None:
    """Add one audit row to the aggregates (audit.record calls it inside the row's transaction)."""
    metrics = _counts(db, row, detail)
    if metrics:
        levels = _levels(org_of(db, row["subject"], detail), row["terminal"] or "", day_of(row["at"]))
        _many(db, _upsert(tuple(metrics)), levels)


def rebuild(db, batch: int = 50_000) -> int:
    """Derive `daily_stats` from the whole audit trail (inside the caller's transaction), its rows
    streamed `batch` at a time (store.stream: bounded memory on PostgreSQL too). Returns rows read."""
    marks = ", ".join("?" * len(ACTIONS))
    fine: dict[tuple, list[int]] = {}
    memo: dict[tuple, object] = {}

    def one(db, sql: str, args: list) -> object | None:
        key = (sql, *args)
        if key not in memo:
            if len(memo) > 500_000:  # bounded memory over ten million rows
                memo.clear()
            memo[key] = _one(db, sql, args)
        return memo[key]

    read = 0
    names = ("at", "terminal", "action", "subject", "outcome", "reason", "detail")
    for values in stream(db, f"select {', '.join(names)} from audit where action in ({marks})", list(ACTIONS), batch):
        read += 1
        row = dict(zip(names, values))
        detail = json.loads(row["detail"]) if row["detail"] else {}
        metrics = _counts(db, row, detail)
        if metrics:
            key = (org_of(db, row["subject"], detail, one), row["terminal"] or "", day_of(row["at"]))
            counts = fine.get(key) or fine.setdefault(key, [0] * len(COLUMNS))
            for metric in metrics:
                counts[_INDEX[metric]] += 1
    totals: dict[tuple, list[int]] = {}
    for key, counts in fine.items():
        for level in _levels(*key):
            into = totals.get(level) or totals.setdefault(level, [0] * len(COLUMNS))
            for i, n in enumerate(counts):
                into[i] += n
    db.execute("delete from daily_stats")
    _many(db, f"insert into daily_stats (group_id, terminal, day, {', '.join(COLUMNS)}) "
              f"values (?, ?, ?{', ?' * len(COLUMNS)})", [(*k, *v) for k, v in totals.items()])
    return read


# -- reading them -------------------------------------------------------------------------------

REBUILD = "daily_stats.rebuild"  # settings key: a migration asks for the counts to be derived again


def catch_up(ctx) -> None:
    """Derive the counts from the audit trail once a migration asked for it (m_daily_stats, on a
    store that already had audit rows): the store lies below the services and does not run them."""
    ask = "select 1 from settings where key = ?"
    if ctx.db.execute(ask, [REBUILD]).fetchone() is None:
        return
    with ctx.tx() as db:
        if db.execute(ask, [REBUILD]).fetchone() is not None:  # another terminal may have done it
            rebuild(db)
            db.execute("delete from settings where key = ?", [REBUILD])


def parse_day(value: str | None, field: str) -> int | None:
    """A --since/--until date (YYYY-MM-DD and the forms clean_date takes) as a day number; None if empty."""
    if value is None or not str(value).strip():
        return None
    try:
        text = clean_date(value, field)
    except ValidationError as error:
        if error.key != "error.date":  # too long, control characters: their own message
            raise
        raise ValidationError("ops.error.date", field=field) from None  # (error.date speaks of birth dates)
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def median_seconds(counts: list[int] | tuple[int, ...]) -> float | None:
    """The median of the durations counted in BUCKET_COLUMNS' buckets, interpolated linearly inside its bucket."""
    total = sum(counts)
    if not total:
        return None
    half, seen, lower = total / 2, 0, 0
    for upper, n in zip((*BUCKETS, math.inf), counts):
        if n and seen + n >= half:
            if upper == math.inf:
                return float(lower)
            return lower + (upper - lower) * (half - seen) / n
        seen += n
        lower = upper
    return float(lower)


# The order the screen and `report` show them in.
SHOWN = ("started", "step2", "code_entered", "completed", "dropped_step1", "dropped_step2", "dropped_step3",
         "code_sent", "codes_not_entered", "step1_refused", "lockouts", "resets", "linked",
         "family_invited", "family_approved", "family_registered")


def _derived(values) -> dict:
    """One daily_stats row's counts (in COLUMNS' order) as shown: counts, drop-offs, median."""
    out = dict(zip(METRICS, values))
    out["dropped_step1"] = max(out["started"] - out["step2"], 0)
    out["dropped_step2"] = max(out["step2"] - out["code_entered"], 0)
    out["dropped_step3"] = max(out["code_entered"] - out["completed"], 0)
    out["codes_not_entered"] = max(out["code_sent"] - out["code_entered"], 0)
    median = median_seconds(values[len(METRICS):])
    out["median_seconds"] = round(median) if median is not None else None
    return out


def summary(ctx, since: str | None = None, until: str | None = None, org: str | None = None,
            terminal: str | None = None, rows: bool = True) -> dict:
    """Totals and per day for the period and filters given; with `rows`, also per day × organisation
    × terminal (`report`; the screen does without). Reads one daily_stats row a day for the totals
    (the level the filters name) and, with `rows`, the fine level's rows of the period."""
    first, last = parse_day(since, "since"), parse_day(until, "until")
    catch_up(ctx)
    gid = clean(org, "org", max_len=32, required=False).upper() if org else ""
    term = clean(terminal, "terminal", max_len=64, required=False) if terminal else ""
    where, args = [], []
    for sql, value in (("day >= ?", first), ("day <= ?", last)):
        if value is not None:
            where.append(sql)
            args.append(value)
    db, columns = ctx.db, ", ".join(COLUMNS)
    cond = "".join(f" and {w}" for w in where)
    # The level of the filters asked (ALL for the ones not given): one range of the primary key.
    per_day = db.execute(f"select day, {columns} from daily_stats where group_id = ? and terminal = ?{cond} "
                         "order by day", [gid or ALL, term or ALL, *args]).fetchall()
    totals = [sum(column) for column in zip(*(r[1:] for r in per_day))] or [0] * len(COLUMNS)
    out = {
        "since": day_text(first) if first is not None else None,
        "until": day_text(last) if last is not None else None,
        "org": gid or None,
        "terminal": term or None,
        "totals": _derived(totals),
        "days": [{"day": day_text(r[0]), **_derived(r[1:])} for r in per_day],
    }
    if rows:
        # One row per day × organisation × terminal: the fine level.
        fine, fine_args = ["group_id <> ?", "terminal <> ?", *where], [ALL, ALL, *args]
        for sql, value in (("group_id = ?", gid), ("terminal = ?", term)):
            if value:
                fine.append(sql)
                fine_args.append(value)
        found = db.execute(f"select group_id, terminal, day, {columns} from daily_stats where {' and '.join(fine)} "
                           "order by day, group_id, terminal", fine_args)
        out["rows"] = [{"day": day_text(r[2]), "org": r[0], "terminal": r[1], **_derived(r[3:])} for r in found]
    return out
