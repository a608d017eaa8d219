"""The audit trail: every state change with time, terminal, actor and outcome.

Never a password, code or token: callers pass only ids and reasons.
"""

from __future__ import annotations

import json

from . import report

FORBIDDEN = ("password", "code", "token")


def record(ctx, action: str, subject: str | None, outcome: str, reason: str | None = None, **detail: object) -> None:
    """Write one audit row; call inside the transaction of the change it describes."""
    for k in detail:
        if any(word in k for word in FORBIDDEN):
            raise ValueError(f"audit detail may not carry secrets: {k}")
    row = {
        "at": ctx.now(),
        "terminal": ctx.terminal,
        "actor": ctx.actor,
        "action": action,
        "subject": subject,
        "outcome": outcome,
        "reason": reason,
        "detail": json.dumps(detail, ensure_ascii=False) if detail else None,
    }
    ctx.db["audit"].insert(row)
    report.count(ctx.db, row, detail)  # the Operations screen's aggregates, in the same transaction


def for_subject(ctx, subject: str, limit: int = 200) -> list[dict]:
    return list(ctx.db.query("select * from audit where subject = ? order by id desc limit ?", [subject, limit]))
