"""Flows are persisted records (state, expiry, counters), so they survive a restart and the
helpdesk can see where a person is stuck."""

from __future__ import annotations

import json
import secrets

from bene_tui.core.clock import fmt_time
from bene_tui.core.errors import BeneError


def create(ctx, kind: str, state: str, ttl: float, **fields: object) -> dict:
    now = ctx.now()
    row = {
        "id": secrets.token_hex(12),
        "kind": kind,
        "state": state,
        "terminal": ctx.terminal,
        "created_at": now,
        "updated_at": now,
        "expires_at": now + ttl,
        "data": json.dumps(fields.pop("data", {}) or {}, ensure_ascii=False),
        **fields,
    }
    ctx.db["flows"].insert(row)
    return row


def get(ctx, flow_id: str, kinds: tuple[str, ...] | None = None, states: tuple[str, ...] | None = None) -> dict:
    """The live flow, or BeneError('error.flow_expired') when it is gone, expired or elsewhere."""
    rows = list(ctx.db.query("select * from flows where id = ?", [str(flow_id)]))
    if not rows:
        raise BeneError("error.flow_expired", staff="no such flow")
    flow = rows[0]
    if kinds and flow["kind"] not in kinds:
        raise BeneError("error.flow_expired", staff=f"flow is {flow['kind']}, not {kinds}")
    if flow["expires_at"] and flow["expires_at"] <= ctx.now():

        raise BeneError("error.flow_expired", staff=f"{flow['kind']} flow ended or expired at {fmt_time(flow['expires_at'])} JST"
                        f" (state {flow['state']})")
    if states and flow["state"] not in states:
        raise BeneError("error.flow_state", staff=f"flow state {flow['state']}, expected {states}")
    flow["data"] = json.loads(flow["data"] or "{}")
    return flow


def update(ctx, flow_id: str, **fields: object) -> None:
    if "data" in fields:
        fields["data"] = json.dumps(fields["data"], ensure_ascii=False)
    fields["updated_at"] = ctx.now()
    ctx.db["flows"].update(flow_id, fields)
