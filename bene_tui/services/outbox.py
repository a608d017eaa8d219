"""The simulated outbox: every e-mail and SMS the system would send (SPEC §5).

A message stands for the person's phone or mailbox, so it is the one place a code or link
is kept in clear. Delivery trouble (late SMS, failing channels) is a demo setting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bene_tui.core.i18n import t
from .normalize import display_login_id, ids_checked

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


@ids_checked
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


@dataclass
class KioskScope:
    """What one kiosk session may read of the outbox (docs/security.md, "The kiosk outbox").

    Only messages this session owns: the step-3 codes of the registrations started here (the ID
    typed at step 2 is not proven yet, so only that flow's own codes, never other messages to it),
    and what was sent, since the session began, to a login ID it proved it holds: its code entered
    here, or its password. Reset codes, login-ID and auth-key notices, and links to other people
    are never shown, whether or not the login ID typed exists. A kiosk wipe starts a new scope.
    """

    since: float
    flows: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)

    def allow_flow(self, flow_id: str) -> None:
        if flow_id and flow_id not in self.flows:
            self.flows.append(flow_id)

    def allow_owner(self, login_id: str) -> None:
        if login_id and login_id not in self.owners:
            self.owners.append(login_id)

    def __bool__(self) -> bool:
        return bool(self.flows or self.owners)

    def where(self) -> tuple[str, list]:
        """The SQL condition (one text, placeholders only) and its arguments; only for a non-empty scope."""
        parts, args = [], []
        if self.flows:
            parts.append(f"(purpose = 'verification' and flow_id in ({','.join('?' * len(self.flows))}))")
            args.extend(self.flows)
        if self.owners:
            parts.append(f"(recipient in ({','.join('?' * len(self.owners))}) and created_at >= ?)")
            args.extend([*self.owners, self.since])
        return "(" + " or ".join(parts) + ")", args


@ids_checked
def messages(ctx, recipient: str | None = None, recipients: list[str] | None = None, limit: int = 200,
             delivered_only: bool = False, scope: KioskScope | None = None) -> list[dict]:
    """Newest first. `recipients` restricts to a set; `scope` to what a kiosk session owns."""
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
        clause, scope_args = scope.where()
        where.append(clause)
        args.extend(scope_args)
    if delivered_only:
        where.append("status = 'sent'")
    sql = "select * from outbox" + (" where " + " and ".join(where) if where else "") + " order by id desc limit ?"
    return list(ctx.db.query(sql, [*args, limit]))


def recipients_summary(ctx, recipients: list[str] | None = None, limit: int = 100,
                       scope: KioskScope | None = None) -> list[dict]:
    """One row per recipient (like a phone's conversation list): last message, unread count.

    Read from `outbox_recipients`, which triggers keep in step with `outbox` (store/migrations.py), so the
    list costs the same over a million messages as over a hundred. A kiosk `scope` (a handful of
    flows and login IDs) is counted from the messages themselves.
    """
    deliver_due(ctx)
    if scope is not None:
        if not scope:
            return []
        clause, args = scope.where()
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


@ids_checked
def get(ctx, message_id: int, scope: KioskScope | None = None) -> dict | None:
    """One message; None when there is none, or when a kiosk `scope` does not own it."""
    if scope is not None and not scope:
        return None
    clause, args = scope.where() if scope is not None else ("", [])
    rows = list(ctx.db.query("select * from outbox where id = ?" + (f" and {clause}" if clause else ""),
                             [message_id, *args]))
    return rows[0] if rows else None


@ids_checked
def mark_read(ctx, message_id: int) -> None:
    with ctx.tx() as db:
        db.execute("update outbox set read = 1 where id = ?", [message_id])


@ids_checked
def latest(ctx, recipient: str, purpose: str | None = None) -> dict | None:
    sql = "select * from outbox where recipient = ?" + (" and purpose = ?" if purpose else "") + " order by id desc limit 1"
    rows = list(ctx.db.query(sql, [recipient, purpose] if purpose else [recipient]))
    return rows[0] if rows else None


def last_id(ctx) -> int:
    return ctx.db.execute("select coalesce(max(id), 0) from outbox").fetchone()[0]


def to_json(row: dict) -> dict:
    return {k: row.get(k) for k in COLUMNS}
