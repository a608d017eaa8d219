"""Step 1 of registration and linking, and the ベネアカウントが不明 procedure: 団体ID + 認証キー1・2.

Every mismatch gets one generic answer; the terminal is throttled after repeated failures.
"""

from __future__ import annotations

import hmac
import json

from bene_tui.core.errors import BeneError
from . import audit, throttle
from .normalize import clean


def organisation(ctx, group_id: str) -> dict | None:
    """The organisation and its auth-key labels (団体IDs are printed in company notices; not secret)."""
    try:
        gid = clean(group_id, "group_id", max_len=32).upper()
    except BeneError:
        return None
    rows = list(ctx.db.query("select * from organisations where group_id = ?", [gid]))
    if not rows:
        return None
    org = rows[0]
    org["services"] = [r[0] for r in ctx.db.execute(
        "select service_id from org_services where group_id = ? order by service_id", [gid])]
    return org


def member_services(ctx, member: dict) -> list[str]:
    """The services a member is active for: their own list, or all of the organisation's."""
    org_services = [r[0] for r in ctx.db.execute(
        "select service_id from org_services where group_id = ? order by service_id", [member["group_id"]])]
    if member.get("services"):
        own = set(json.loads(member["services"]))
        return [s for s in org_services if s in own]
    return org_services


def identify(ctx, group_id: str, key1: str, key2: str, action: str = "identify") -> dict:
    """The member record matching the three values, or BeneError('error.step1_mismatch')."""
    gid = clean(group_id, "group_id", max_len=32).upper()
    k1 = clean(key1, "key1", max_len=64)
    k2 = clean(key2, "key2", max_len=64)
    check_throttle(ctx)
    rows = list(ctx.db.query("select * from members where group_id = ? and auth_key_1 = ?", [gid, k1]))
    # Compare key 2 in constant time; no early answer reveals which part was wrong.
    expected = rows[0]["auth_key_2"] if rows else "\x00" * len(k2)
    if rows and hmac.compare_digest(expected.encode(), k2.encode()):
        return rows[0]
    reason = "wrong auth key 2" if rows else (
        "unknown auth key 1" if ctx.db.execute("select 1 from organisations where group_id = ?", [gid]).fetchone()
        else "unknown group ID")
    with ctx.tx():
        failures = count_failure(ctx)
        audit.record(ctx, action, f"terminal:{ctx.terminal}", "refused", reason, group_id=gid, failures=failures)
    raise BeneError("error.step1_mismatch", field="group_id", staff=reason)


def check_throttle(ctx) -> None:
    """Raise Throttled while the terminal waits after step-1-like failures."""
    throttle.check(ctx, throttle.terminal_key(ctx, "step1"))


def count_failure(ctx) -> int:
    """One step-1-like failure of this terminal (inside the caller's transaction): a mismatch here,
    or registration's "already registered" (one count, so neither is a free oracle)."""
    return throttle.fail(ctx, throttle.terminal_key(ctx, "step1"), ctx.rules.step1_free_failures, ctx.rules.step1_wait)


def member(ctx, member_id: int) -> dict:
    """A member record by its id (the table itself is keyed by 団体ID + 認証キー1: store/migrations.py)."""
    rows = list(ctx.db.query("select * from members where id = ?", [member_id]))
    if not rows:
        raise LookupError(f"no member {member_id}")
    return rows[0]


def linked_account(ctx, member_id: int) -> int | None:
    row = ctx.db.execute("select account_id from account_members where member_id = ?", [member_id]).fetchone()
    return row[0] if row else None
