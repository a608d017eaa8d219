"""Small rules about account rows that several flows share."""

from __future__ import annotations

RELEASED = "ended:"  # login_key prefix of a provisional registration whose login ID was freed


def release_provisional(ctx, account_id: int) -> None:
    """Free a provisional registration's login ID, inside the caller's transaction.

    The row stays, as `removed` with a tombstone login key: deleting it would let SQLite give
    its id to the next account, and the audit trail's `account:<id>` rows would then seem to
    belong to someone else.
    """
    ctx.db["accounts"].update(account_id, {
        "status": "removed", "login_key": f"{RELEASED}{account_id}", "password_hash": None, "expires_at": ctx.now(),
    })


# A login ID is held by an active or removed account, or by a provisional one whose owner entered
# its code; provisional registrations not yet verified coexist (migrations.m_login_id_held_once_verified).
HELD = "(status != 'provisional' or verified_at is not null)"


def holder(ctx, key: str) -> dict | None:
    """The account holding this login key (at most one: a unique index), if any."""
    rows = list(ctx.db.query(f"select * from accounts where login_key = ? and {HELD}", [key]))
    return rows[0] if rows else None


def by_login_key(ctx, key: str) -> dict | None:
    """The account a login ID names: its holder, else the newest provisional registration of it."""
    rows = list(ctx.db.query(f"select * from accounts where login_key = ? order by {HELD} desc, id desc limit 1", [key]))
    return rows[0] if rows else None
