"""A person's data requests (APPI: disclosure, suspension, erasure), for the helpdesk and the CLI.

- `export` writes one JSON file (0600) of everything held about an account's person: the account,
  its member records, family accounts and invitations, flows, the messages sent to them and the
  audit rows about them. Credentials are not copied: no password hash, no 認証キー2, no code or
  link (they are cut out of the message bodies too).
- `erase` erases the account: it can no longer log in, its login ID is free, and its personal data
  in accounts, flows, codes, invitations, the outbox and the audit trail is replaced by ERASED.
  Rows are never deleted (docs/architecture.md "Accounts are never deleted"): ids stay, so the
  trail still adds up. The member records stay (the organisation's roster) but are unlinked, so
  the member can register again. Freed bytes are overwritten (SQLite's secure_delete) and the WAL
  is checkpointed, so the raw file no longer holds what was erased.

Both run as `operator:<name>` and are audited; the erasure's own row names only ids and counts.
Pure Python: no textual import.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from bene_tui.core.clock import JST
from bene_tui.core.errors import BeneError, ValidationError
from bene_tui.core.paths import user_data_dir
from bene_tui.store import purge_freed, secure_delete
from . import audit
from .helpdesk import _members_of_account, _refused, as_operator
from .normalize import display_login_id, ids_checked, login_id as parse_login_id

ERASED = "[erased]"
# Where an erasure rewrites or deletes rows (daily_stats holds counts only).
ERASED_TABLES = ("accounts", "account_members", "invitations", "tokens", "flows", "codes", "outbox",
                 "outbox_recipients", "audit")
TOMBSTONE = "erased:"  # login_key prefix of an erased account (accounts.RELEASED's pattern)
WITHHELD = "[withheld: credential]"


def is_erased(account: dict) -> bool:
    return str(account.get("login_key") or "").startswith(TOMBSTONE)


def account_for_login(ctx, text: str) -> int:
    """The account holding a login ID as typed (any form), or BeneError privacy.error.no_account."""
    try:
        lid = parse_login_id(text)
    except ValidationError as error:
        raise BeneError("privacy.error.login_id", field="login_id", staff=error.key) from None
    row = ctx.db.execute("select id from accounts where login_key = ?", [lid.key]).fetchone()
    if not row:
        raise BeneError("privacy.error.no_account", field="login_id", staff="no account holds this login ID")
    return row[0]


def _account(ctx, account_id: int) -> dict:
    rows = list(ctx.db.query("select * from accounts where id = ?", [account_id]))
    if not rows:
        raise BeneError("hd.error.no_person", staff=f"no account {account_id}")
    if is_erased(rows[0]):
        raise BeneError("privacy.error.erased", staff=f"account {account_id} was erased")
    return rows[0]


def _in(column: str, values: list) -> tuple[str, list]:
    """`column in (?, ...)`, or a condition that holds for nothing when there are no values."""
    if not values:
        return "0 = 1", []
    return f"{column} in ({', '.join('?' * len(values))})", list(values)


def _held(ctx, acct: dict) -> dict:
    """Everything about the account's person, as rows (credentials left out)."""
    db, aid = ctx.db, acct["id"]
    members = [{k: v for k, v in m.items() if k != "org_name"} for m in _members_of_account(ctx, acct)]
    member_ids = [m["id"] for m in members]
    invitations = list(db.query("select * from invitations where account_id = ? or family_account_id = ? "
                                "order by id", [aid, aid]))
    family = list(db.query("select id, login_id, kind, status, created_at, activated_at from accounts "
                           "where family_of = ? order by id", [aid]))
    cond, args = _in("member_id", member_ids)
    flows = list(db.query(f"select * from flows where account_id = ? or login_id = ? or {cond} order by created_at",
                          [aid, acct["login_id"], *args]))
    flow_ids = [f["id"] for f in flows]
    recipients = [acct["login_id"], *{m["email_on_file"] for m in members if m["email_on_file"]}]
    rcond, rargs = _in("recipient", recipients)
    fcond, fargs = _in("flow_id", flow_ids)
    messages = list(db.query(f"select * from outbox where {rcond} or {fcond} order by id", [*rargs, *fargs]))
    subjects = [f"account:{aid}", f"login:{acct['login_key']}", *(f"member:{m}" for m in member_ids),
                *(f"flow:{f}" for f in flow_ids), *(f"invitation:{i['id']}" for i in invitations)]
    scond, sargs = _in("subject", subjects)
    rows = list(db.query(f"select * from audit where {scond} order by id", sargs))
    return {"account": acct, "members": members, "family_accounts": family, "invitations": invitations,
            "flows": flows, "messages": messages, "audit": rows}


def _disclosed(held: dict) -> dict:
    """What the file shows: the rows, without the credentials (and codes and links out of the bodies)."""
    acct = {k: v for k, v in held["account"].items() if k != "password_hash"}
    acct["password"] = "set" if held["account"]["password_hash"] else None
    members = [{**m, "auth_key_2": WITHHELD} for m in held["members"]]
    messages = []
    for m in held["messages"]:
        body, subject = m["body"] or "", m["subject"] or ""
        for secret in filter(None, (m["code"], m["link"])):
            body, subject = body.replace(secret, WITHHELD), subject.replace(secret, WITHHELD)
        messages.append({**{k: v for k, v in m.items() if k not in ("code", "link")}, "subject": subject or None,
                         "body": body})
    flows = [{**f, "data": json.loads(f["data"] or "{}")} for f in held["flows"]]
    audit_rows = [{**r, "detail": json.loads(r["detail"]) if r["detail"] else None} for r in held["audit"]]
    return {"account": acct, "members": members, "family_accounts": held["family_accounts"],
            "invitations": held["invitations"], "flows": flows, "messages": messages, "audit": audit_rows}


def counts(data: dict) -> dict[str, int]:
    return {k: (1 if k == "account" else len(v)) for k, v in data.items()}


def _write_private(path: Path, text: str) -> None:
    """Create the file readable by its owner only (0600), never over an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def export_dir() -> Path:

    path = user_data_dir() / "exports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@ids_checked
def export(ctx, account_id: int, operator: str, out: str | None = None) -> dict:
    """開示: write the person's data to `out` (default: the data directory's exports/). {path, counts}."""
    op = as_operator(ctx, operator)
    try:
        acct = _account(op, account_id)
    except BeneError as error:
        raise _refused(op, "person.export", f"account:{account_id}", error) from None
    data = _disclosed(_held(op, acct))
    n = counts(data)
    stamp = datetime.fromtimestamp(op.now(), JST)
    path = Path(out) if out else export_dir() / f"bene-account-{account_id}-{stamp:%Y%m%d-%H%M%S}.json"
    document = {"exported_at": stamp.isoformat(), "operator": op.actor, "account_id": account_id,
                "counts": n, **data}
    try:
        _write_private(path, json.dumps(document, ensure_ascii=False, indent=2, default=str))
    except FileExistsError:
        raise BeneError("privacy.error.file_exists", field="out", staff=str(path), path=str(path)) from None
    except OSError as exc:
        raise BeneError("privacy.error.file", field="out", staff=f"{path}: {exc.strerror}", path=str(path)) from None
    try:
        with op.tx():
            audit.record(op, "person.export", f"account:{account_id}", "ok", "data disclosed to the person",
                         file=path.name, **n)
    except BaseException:  # no disclosure without its audit row (e.g. the database stayed busy)
        path.unlink(missing_ok=True)
        raise
    return {"path": str(path), "counts": n}


def _scrub(text: str | None, personal: list[str]) -> str | None:
    if not text:
        return text
    for value in personal:
        text = text.replace(value, ERASED)
    return text


@ids_checked
def erase(ctx, account_id: int, operator: str) -> dict:
    """削除: erase the account's person (see the module's doc). Returns the counts of what was touched."""
    op = as_operator(ctx, operator)
    try:
        _account(op, account_id)
    except BeneError as error:
        raise _refused(op, "person.erase", f"account:{account_id}", error) from None
    with secure_delete(op.db), op.tx() as db:
        acct = _account(op, account_id)  # again, inside the write lock
        held = _held(op, acct)
        now = op.now()
        own_invitation = [i for i in held["invitations"] if i["family_account_id"] == account_id]
        # The strings that identify the person, longest first (a login ID before its local part).
        personal = {acct["login_id"], acct["login_key"], display_login_id(acct["login_id"])}
        personal |= {v for i in own_invitation for v in (i["name"], i["kana"], i["contact"]) if v}
        personal = sorted(filter(None, personal), key=len, reverse=True)
        db["accounts"].update(account_id, {
            "login_id": ERASED, "login_key": f"{TOMBSTONE}{account_id}", "password_hash": None, "status": "removed",
            "lang": None, "expires_at": now, "failed_logins": 0, "first_failed_at": None, "last_failed_at": None,
            "locked_until": None})
        unlinked = db.execute("delete from account_members where account_id = ?", [account_id]).rowcount
        for inv in own_invitation:
            db["invitations"].update(inv["id"], {"name": ERASED, "kana": ERASED, "birth_date": None,
                                                 "contact": ERASED, "updated_at": now})
            db.execute("update tokens set voided_at = ? where invitation_id = ? and voided_at is null", [now, inv["id"]])
        flow_ids = [f["id"] for f in held["flows"] if f["account_id"] == account_id or f["login_id"] == acct["login_id"]]
        fcond, fargs = _in("id", flow_ids)
        db.execute(f"update flows set login_id = case when login_id is null then null else ? end, data = '{{}}', "
                   f"state = case when expires_at > ? then 'ended' else state end, "
                   f"expires_at = case when expires_at > ? then ? else expires_at end where {fcond}",
                   [ERASED, now, now, now, *fargs])
        ccond, cargs = _in("flow_id", flow_ids)
        db.execute(f"update codes set recipient = ?, voided_at = coalesce(voided_at, ?) where recipient = ? or {ccond}",
                   [ERASED, now, acct["login_id"], *cargs])
        # Messages to the person (or of their flows) lose their text and recipient.
        own = [m["id"] for m in held["messages"] if m["recipient"] == acct["login_id"] or m["flow_id"] in flow_ids]
        ocond, oargs = _in("id", own)
        db.execute(f"update outbox set recipient = ?, subject = case when subject is null then null else ? end, "
                   f"body = ?, code = null, link = null where {ocond}", [ERASED, ERASED, ERASED, *oargs])
        audit_rows = 0
        for row in held["audit"]:
            reason, detail = _scrub(row["reason"], personal), _scrub(row["detail"], personal)
            subject = f"login:{ERASED}" if row["subject"] == f"login:{acct['login_key']}" else row["subject"]
            if (reason, detail, subject) != (row["reason"], row["detail"], row["subject"]):
                db["audit"].update(row["id"], {"reason": reason, "detail": detail, "subject": subject})
                audit_rows += 1
        result = {"members_unlinked": unlinked, "flows": len(flow_ids), "messages": len(own),
                  "audit_rows": audit_rows, "invitations": len(own_invitation)}
        audit.record(op, "person.erase", f"account:{account_id}", "ok", "personal data erased; login ID free",
                     **result)
    purge_freed(op.db, ERASED_TABLES)
    return result


