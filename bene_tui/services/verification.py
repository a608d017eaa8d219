"""Six-digit verification codes (SPEC §4): 10 minutes, single use, bound to one flow and
purpose, stored as a keyed hash, 5 wrong entries void it, resend after 60 s, at most 5 an hour."""

from __future__ import annotations

import re

from bene_tui.core.clock import fmt_time
from bene_tui.core.errors import BeneError, Throttled, ValidationError
from . import audit, codes, outbox
from .normalize import clean

# The answers to a wrong entry of a six-digit code: each counts against the code (and is a guess).
WRONG_ENTRY = ("error.code_wrong", "error.code_replaced", "error.code_void")


def issue(ctx, flow_id: str, purpose: str, recipient: str, lang: str, send: bool = True,
          **params: object) -> dict | None:
    """Send a new code (inside the caller's transaction); voids the flow's earlier codes.

    `send=False` (a recipient who has no account) goes through the very same limits and leaves
    the same code row, counted against the recipient, but keeps a hash no six digits can match
    and sends nothing: every later answer about it is the one a real code would get.
    """
    now, rules, db = ctx.now(), ctx.rules, ctx.db
    last = db.execute(
        "select max(created_at) from codes where flow_id = ? and purpose = ?", [flow_id, purpose]
    ).fetchone()[0]
    if last is not None and now - last < rules.code_resend_after:
        raise Throttled("error.resend_too_early", seconds=int(rules.code_resend_after - (now - last)) + 1,
                        staff="resend within the minimum interval")
    sent = db.execute(
        "select count(*) from codes where recipient = ? and created_at > ?", [recipient, now - 3600]
    ).fetchone()[0]
    if sent >= rules.code_sends_per_hour:
        raise Throttled("error.too_many_codes", seconds=3600, staff=f"{sent} codes sent to recipient within the hour")
    db.execute("update codes set voided_at = ? where flow_id = ? and used_at is null and voided_at is null",
               [now, flow_id])
    code = codes.new_code() if send else codes.new_token()  # a token is never six digits
    db["codes"].insert({
        "flow_id": flow_id, "purpose": purpose, "recipient": recipient,
        "code_hash": codes.keyed_hash(ctx.hmac_key, f"{purpose}:{flow_id}", code),
        "created_at": now, "expires_at": now + rules.code_ttl, "attempts": 0,
    })
    if not send:
        audit.record(ctx, "code.sent", f"flow:{flow_id}", "refused", "no account: the code is never sent",
                     purpose=purpose)
        return None
    message = outbox.send(ctx, recipient, purpose, lang, code=code, flow_id=flow_id,
                          minutes=rules.code_ttl // 60, **params)
    audit.record(ctx, "code.sent", f"flow:{flow_id}", "ok", purpose=purpose, channel=message["channel"],
                 message_id=message["id"], delivery=message["status"])
    return message


def check(ctx, flow_id: str, purpose: str, typed: str, on_success=None) -> None:
    """Consume the flow's live code, or raise. Counts wrong entries (in its own transaction).

    `on_success()` runs inside the same transaction as the code's consumption, so the flow's next
    state is written with it: a terminal killed in between cannot leave a used code and a flow
    still waiting for it.
    """
    value = clean(typed, "code", max_len=20).replace(" ", "").replace("-", "")
    if not re.fullmatch(r"\d{6}", value):
        raise ValidationError("error.code_format", field="code")
    # Refusals are counted and audited, so the transaction commits before the error is raised.
    error = None
    with ctx.tx() as db:
        rows = list(db.query(
            "select * from codes where flow_id = ? and purpose = ? and used_at is null and voided_at is null "
            "order by id desc limit 1", [flow_id, purpose]))
        now = ctx.now()
        if not rows:
            error = BeneError("error.code_void", field="code", staff=_no_live_code(ctx, flow_id, purpose))
        elif rows[0]["expires_at"] <= now:
            db["codes"].update(rows[0]["id"], {"voided_at": now})
            error = BeneError("error.code_expired", field="code", staff="code expired")
        elif not codes.matches(ctx.hmac_key, f"{purpose}:{flow_id}", value, rows[0]["code_hash"]):
            attempts = rows[0]["attempts"] + 1
            left = ctx.rules.code_max_attempts - attempts
            db["codes"].update(rows[0]["id"], {"attempts": attempts, **({"voided_at": now} if left <= 0 else {})})
            if left <= 0:
                error = BeneError("error.code_void", field="code", staff=f"{attempts} wrong entries: code voided")
            elif _replaced(ctx, flow_id, purpose, value, rows[0]["id"]):  # counted all the same
                error = BeneError("error.code_replaced", field="code", left=left,
                                  staff=f"an earlier code, replaced by a resend; {left} attempts left")
            else:
                error = BeneError("error.code_wrong", field="code", staff=f"wrong code, {left} attempts left", left=left)
        else:
            db["codes"].update(rows[0]["id"], {"used_at": now})
            if on_success is not None:
                on_success()
        audit.record(ctx, "code.checked", f"flow:{flow_id}", "refused" if error else "ok",
                     error.staff if error else None, purpose=purpose)
    if error:
        raise error


def _replaced(ctx, flow_id: str, purpose: str, value: str, live_id: int) -> bool:
    """Whether the typed code is one of the flow's earlier codes, voided when a newer one was sent."""
    return any(codes.matches(ctx.hmac_key, f"{purpose}:{flow_id}", value, row["code_hash"])
               for row in ctx.db.query("select code_hash from codes where flow_id = ? and purpose = ? and id < ? "
                                       "and used_at is null", [flow_id, purpose, live_id]))


def _no_live_code(ctx, flow_id: str, purpose: str) -> str:
    """For staff: why the flow has no code that can be entered."""

    row = ctx.db.execute("select used_at, voided_at, attempts, expires_at from codes where flow_id = ? and purpose = ? "
                         "order by id desc limit 1", [flow_id, purpose]).fetchone()
    if row is None:
        return "no code was ever sent for this procedure"
    used_at, voided_at, attempts, expires_at = row
    if used_at:
        return f"the code was already used at {fmt_time(used_at)} JST"
    if attempts >= ctx.rules.code_max_attempts:
        return f"the code was voided after {attempts} wrong entries"
    if voided_at and voided_at >= expires_at:
        return f"the code expired at {fmt_time(expires_at)} JST"
    return f"the code was voided at {fmt_time(voided_at)} JST"


def code_state(ctx, flow_id: str | None, purpose: str, code: str | None) -> str | None:
    """What became of the code a message carried (the demo's live panel marks dead ones):
    live, used, void (5 wrong entries), expired, or replaced (a newer code voided it); None when
    the message carried no code of a flow."""
    if not flow_id or not code:
        return None
    for row in ctx.db.query("select code_hash, used_at, voided_at, attempts, expires_at from codes "
                            "where flow_id = ? and purpose = ? order by id desc", [flow_id, purpose]):
        if not codes.matches(ctx.hmac_key, f"{purpose}:{flow_id}", code, row["code_hash"]):
            continue
        if row["used_at"]:
            return "used"
        if row["attempts"] >= ctx.rules.code_max_attempts:
            return "void"
        if row["expires_at"] <= ctx.now():
            return "expired"
        return "replaced" if row["voided_at"] else "live"
    return None
