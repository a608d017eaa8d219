"""The simulated outbox: every e-mail and SMS the system would send (SPEC §5).

A message stands for the person's phone or mailbox, so it is the one place a code or link
is kept in clear. Delivery trouble (late SMS, failing channels) is a demo setting.
"""

from __future__ import annotations

import json

from .i18n import t
from .normalize import display_login_id

SENDER_EMAIL = "benefitone-platform@benefit-one.co.jp"
SENDER_SMS = "BenefitOne"
PURPOSES = (
    "verification", "password_reset", "login_id_notice", "auth_key_notice",
    "approval_request", "invitation", "notice",
)
COLUMNS = ("id", "channel", "recipient", "sender", "subject", "body", "purpose", "code", "link",
           "status", "read", "created_at", "deliver_at", "flow_id")


def channel_for(recipient: str) -> str:
    return "sms" if recipient.startswith("+") else "email"


def _trouble(ctx) -> dict:
    row = ctx.db.execute("select value from settings where key = 'delivery'").fetchone()
    return json.loads(row[0]) if row else {}


def set_trouble(ctx, *, sms_delay_min: int = 0, fail_email: bool = False, fail_sms: bool = False) -> None:
    """Demo: make SMS arrive late, or make a channel fail, to rehearse 'the code never came'."""
    value = json.dumps({"sms_delay_min": sms_delay_min, "fail_email": fail_email, "fail_sms": fail_sms})
    with ctx.tx() as db:
        db["settings"].insert({"key": "delivery", "value": value}, replace=True)


def trouble(ctx) -> dict:
    return {"sms_delay_min": 0, "fail_email": False, "fail_sms": False, **_trouble(ctx)}


def send(ctx, recipient: str, purpose: str, lang: str, *, code: str | None = None, link: str | None = None,
         flow_id: str | None = None, **params: object) -> dict:
    """Queue one message in the caller's transaction. Text comes from the catalogue: mail.<purpose>.*"""
    assert purpose in PURPOSES, purpose
    channel = channel_for(recipient)
    now = ctx.now()
    fill = {"code": code or "", "link": link or "", "login_id": display_login_id(recipient), **params}
    subject = t(lang, f"mail.{purpose}.subject", **fill)
    body = t(lang, f"mail.{purpose}.{'sms' if channel == 'sms' else 'body'}", **fill)
    trouble_now = trouble(ctx)
    status, deliver_at = "sent", now
    if trouble_now[f"fail_{channel}"]:
        status = "failed"
    elif channel == "sms" and trouble_now["sms_delay_min"]:
        status, deliver_at = "queued", now + 60 * int(trouble_now["sms_delay_min"])
    row = {
        "channel": channel,
        "recipient": recipient,
        "sender": SENDER_EMAIL if channel == "email" else SENDER_SMS,
        "subject": subject if channel == "email" else None,
        "body": body,
        "purpose": purpose,
        "code": code,
        "link": link,
        "status": status,
        "read": 0,
        "created_at": now,
        "deliver_at": deliver_at,
        "flow_id": flow_id,
    }
    row["id"] = ctx.db["outbox"].insert(row).last_pk
    return row


def deliver_due(ctx) -> None:
    """Late messages whose time has come (on the simulated clock) are delivered.

    Both statements use the partial index idx_outbox_queued (status = 'queued'), not a table scan."""
    db = ctx.db
    if db.execute("select 1 from outbox where status = 'queued' and deliver_at <= ? limit 1", [ctx.now()]).fetchone():
        with ctx.tx() as db:
            db.execute("update outbox set status = 'sent' where status = 'queued' and deliver_at <= ?", [ctx.now()])


def _scope_sql(scope: dict[str, float]) -> tuple[str, list]:
    """Kiosk scope: each recipient this session entered, and only what was sent since it was entered."""
    clause = " or ".join("(recipient = ? and created_at >= ?)" for _ in scope)
    return f"({clause})", [v for pair in scope.items() for v in pair]


def messages(ctx, recipient: str | None = None, recipients: list[str] | None = None, limit: int = 200,
             delivered_only: bool = False, scope: dict[str, float] | None = None) -> list[dict]:
    """Newest first. `recipients` restricts to a set; `scope` (kiosk) to a set and a time each."""
    deliver_due(ctx)
    where, args = [], []
    if recipient is not None:
        where.append("recipient = ?")
        args.append(recipient)
    if recipients is not None:
        if not recipients:
            return []
        where.append(f"recipient in ({','.join('?' * len(recipients))})")
        args.extend(recipients)
    if scope is not None:
        if not scope:
            return []
        clause, scope_args = _scope_sql(scope)
        where.append(clause)
        args.extend(scope_args)
    if delivered_only:
        where.append("status = 'sent'")
    sql = "select * from outbox" + (" where " + " and ".join(where) if where else "") + " order by id desc limit ?"
    return list(ctx.db.query(sql, [*args, limit]))


def recipients_summary(ctx, recipients: list[str] | None = None, limit: int = 100,
                       scope: dict[str, float] | None = None) -> list[dict]:
    """One row per recipient (like a phone's conversation list): last message, unread count.

    Read from `outbox_recipients`, which triggers keep in step with `outbox` (migrations.py), so the
    list costs the same over a million messages as over a hundred. A kiosk `scope` (a handful of
    recipients, each with the time it was entered) is counted from the messages themselves.
    """
    deliver_due(ctx)
    if scope is not None:
        if not scope:
            return []
        clause, args = _scope_sql(scope)
        sql = f"""
            select recipient, max(channel) as channel, max(id) as last_id, count(*) as total,
                   sum(case when read = 0 and status = 'sent' then 1 else 0 end) as unread
            from outbox where {clause} group by recipient order by last_id desc limit ?"""
        return list(ctx.db.query(sql, [*args, limit]))
    where, args = "", []
    if recipients is not None:
        if not recipients:
            return []
        where = f"where recipient in ({','.join('?' * len(recipients))})"
        args = list(recipients)
    sql = f"""
        select recipient, channel, last_id, total, unread
        from outbox_recipients {where} order by last_id desc limit ?"""
    return list(ctx.db.query(sql, [*args, limit]))


def get(ctx, message_id: int) -> dict | None:
    rows = list(ctx.db.query("select * from outbox where id = ?", [message_id]))
    return rows[0] if rows else None


def mark_read(ctx, message_id: int) -> None:
    with ctx.tx() as db:
        db.execute("update outbox set read = 1 where id = ?", [message_id])


def latest(ctx, recipient: str, purpose: str | None = None) -> dict | None:
    sql = "select * from outbox where recipient = ?" + (" and purpose = ?" if purpose else "") + " order by id desc limit 1"
    rows = list(ctx.db.query(sql, [recipient, purpose] if purpose else [recipient]))
    return rows[0] if rows else None


def last_id(ctx) -> int:
    return ctx.db.execute("select coalesce(max(id), 0) from outbox").fetchone()[0]


def to_json(row: dict) -> dict:
    return {k: row.get(k) for k in COLUMNS}
