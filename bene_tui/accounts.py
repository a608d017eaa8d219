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
