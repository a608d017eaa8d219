"""Family invitations (SPEC §3.5, §4): the nine steps, as services.

Member side: `invite` (steps 1–3) sends an approval request with a link to the member's own
login ID (step 4); `approval_view` and `approve` (steps 5–6) let only that member approve,
which sends the invitation link to the family member's e-mail or mobile number (step 7).
Family side: `invitation_view` and `register` (steps 8–9): a birth date different from the
member's entry is refused, the fifth such refusal locks the invitation.

A link carries a token of 192 random bits (`codes.new_token`), stored only as a keyed hash
bound to its purpose; it works once, expires (approval 72 h, invitation 7 days) and a resend
voids the old one. Every bad link gets its own catalogue key (family.link.*), never a crash.

`register` hashes a password: call it from a worker thread (the app's `call` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from . import accounts, audit, codes, identify, links, outbox, passwords, relationships
from .clock import JST
from .errors import BeneError, Throttled, ValidationError
from .i18n import t
from .normalize import clean_date, clean_kana, clean_name, ids_checked, login_id as parse_login_id

APPROVE = "family_approve"  # token purposes; also bind the keyed hash
INVITE = "family_invite"
PATHS = {APPROVE: links.FAMILY_APPROVE, INVITE: links.FAMILY_INVITE}
LIVE = ("approval_pending", "invited")  # states whose link can still be used (until it expires)
STATES = ("approval_pending", "invited", "registered", "expired", "cancelled", "locked", "removed")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,200}")


@dataclass
class Policy:
    """The family policy that applies to a member's account (the widest of its member records)."""

    enabled: bool
    max_degree: int = 0
    max_accounts: int = 0
    member_id: int | None = None
    member_name: str = ""
    org_name: str = ""
    relationships: list[str] = field(default_factory=list)  # codes allowed, in the fixed order


# ---------------------------------------------------------------------------------------------
# Policy and the member's overview.


def family_services(ctx) -> list[str]:
    """The services a family account may use (ベネフィット・ステーション only, as seeded)."""
    return [r[0] for r in ctx.db.execute("select id from services where family_allowed = 1 order by id")]


@ids_checked
def policy(ctx, account_id: int | None) -> Policy:
    """Family use is available to an active member account whose organisation turns it on and
    whose member record is active for a service that family accounts may use."""
    account = _account(ctx, account_id)
    if account is None or account["kind"] != "member" or account["status"] != "active":
        return Policy(False)
    rows = list(ctx.db.query(
        """select m.*, o.name as org_name, o.family_enabled, o.family_max_degree, o.family_max_accounts
           from account_members am join members m on m.id = am.member_id
           join organisations o on o.group_id = m.group_id
           where am.account_id = ? order by am.linked_at, m.id""", [account_id]))
    allowed_services = set(family_services(ctx))
    best = None
    for row in rows:
        if not row["family_enabled"] or not allowed_services & set(identify.member_services(ctx, row)):
            continue
        if best is None or (row["family_max_degree"] or 0, row["family_max_accounts"] or 0) > (
                best["family_max_degree"] or 0, best["family_max_accounts"] or 0):
            best = row
    if best is None:
        first = rows[0] if rows else {}
        return Policy(False, member_id=first.get("id"), member_name=first.get("name") or "",
                      org_name=first.get("org_name") or "")
    max_degree = int(best["family_max_degree"] or 0)
    max_accounts = best["family_max_accounts"]
    return Policy(
        True, max_degree=max_degree,
        max_accounts=int(ctx.rules.family_max_accounts if max_accounts is None else max_accounts),
        member_id=best["id"], member_name=best["name"], org_name=best["org_name"],
        relationships=[r.code for r in relationships.allowed(max_degree)],
    )


def effective_state(inv: dict, now: float) -> str:
    """The stored state, except that a live invitation whose link has expired shows as expired."""
    if inv["state"] in LIVE and (inv["expires_at"] or 0) <= now:
        return "expired"
    return inv["state"]


def actions(state: str) -> dict[str, bool]:
    return {
        "resend": state in ("approval_pending", "invited", "expired"),
        "cancel": state in ("approval_pending", "invited", "expired"),
        "remove": state == "registered",
    }


@ids_checked
def overview(ctx, account_id: int) -> dict:
    """Every invitation and family account of the member, newest first, with state and actions."""
    pol = policy(ctx, account_id)
    now = ctx.now()
    rows = []
    for inv in ctx.db.query("select * from invitations where account_id = ? order by id desc", [account_id]):
        state = effective_state(inv, now)
        rows.append({
            "id": inv["id"], "name": inv["name"], "kana": inv["kana"], "relationship": inv["relationship"],
            "birth_date": inv["birth_date"], "contact": inv["contact"], "contact_kind": inv["contact_kind"],
            "state": state, "expires_at": inv["expires_at"], "created_at": inv["created_at"],
            "family_account_id": inv["family_account_id"], **actions(state),
        })
    used = _slots_used(ctx, account_id, now)
    return {"policy": pol, "rows": rows, "used": used,
            "can_invite": pol.enabled and used < pol.max_accounts}


def _account(ctx, account_id: int | None) -> dict | None:
    if account_id is None:
        return None
    rows = list(ctx.db.query("select * from accounts where id = ?", [account_id]))
    return rows[0] if rows else None


def _slots_used(ctx, account_id: int, now: float, exclude: int | None = None) -> int:
    """Family accounts held plus invitations still on their way count against max_accounts."""
    return ctx.db.execute(
        """select count(*) from invitations where account_id = ? and id != ?
           and (state = 'registered' or (state in ('approval_pending', 'invited') and expires_at > ?))""",
        [account_id, exclude or -1, now]).fetchone()[0]


def _login_taken(ctx, key: str, now: float) -> dict | None:
    """The account holding this login ID, unless it is a removed family account or an abandoned
    provisional registration (both free the login ID for a new family account)."""
    acc = accounts.holder(ctx, key)  # a provisional registration not yet verified holds nothing
    if acc is None:
        return None
    if acc["kind"] == "family" and acc["status"] == "removed":
        return None
    if acc["status"] == "provisional" and (acc["expires_at"] or 0) <= now:
        return None
    return acc


def _pending_contact(ctx, contact: str, now: float, exclude: int | None = None) -> bool:
    return ctx.db.execute(
        "select 1 from invitations where contact = ? collate nocase and id != ? "
        "and state in ('approval_pending', 'invited') and expires_at > ? limit 1",
        [contact, exclude or -1, now]).fetchone() is not None


def _today(ctx) -> str:
    return datetime.fromtimestamp(ctx.now(), JST).date().isoformat()


def _refuse(ctx, action: str, subject: str, error: BeneError, **detail: object) -> BeneError:
    """Audit a refusal inside the caller's transaction and hand the error back to raise after commit."""
    audit.record(ctx, action, subject, "refused", error.staff or error.key, **detail)
    return error


# ---------------------------------------------------------------------------------------------
# Steps 1–4: the member invites; the approval request goes to the member's own login ID.


@ids_checked
def invite(ctx, account_id: int, name: str, kana: str, relationship: str | None, birth_date: str,
           contact: str, lang: str | None = None) -> dict:
    """Step 3 「招待」. Returns {"invitation_id", "message"} (the approval request sent, step 4)."""
    lang = lang or ctx.lang
    pol = policy(ctx, account_id)
    if not pol.enabled:
        raise BeneError("family.error.not_available", staff="family use not available for this account")
    name = clean_name(name, "name")
    kana = clean_kana(kana, "kana")
    rel = relationships.get(relationship)
    if rel is None:
        raise ValidationError("family.error.relationship_required", field="relationship")
    bd = clean_date(birth_date, "birth_date")
    if bd > _today(ctx):
        raise ValidationError("family.error.birth_date_future", field="birth_date")
    lid = parse_login_id(contact, field="contact")
    now = ctx.now()
    subject = f"account:{account_id}"
    with ctx.tx() as db:
        error = None
        if rel.code not in pol.relationships:
            error = BeneError("family.error.relationship_not_allowed", field="relationship",
                              staff=f"{rel.code} is degree {rel.degree}; the organisation allows up to {pol.max_degree}")
        elif _slots_used(ctx, account_id, now) >= pol.max_accounts:
            error = BeneError("family.error.max_accounts", max=pol.max_accounts,
                              staff=f"{pol.max_accounts} family accounts and live invitations already")
        elif _login_taken(ctx, lid.key, now):
            error = BeneError("family.error.contact_registered", field="contact",
                              staff="the contact is an existing login ID")
        elif _pending_contact(ctx, lid.value, now):
            error = BeneError("family.error.contact_pending", field="contact",
                              staff="the contact has a pending invitation")
        if error:
            _refuse(ctx, "family.invite", subject, error, relationship=rel.code)
        else:
            inv = {
                "account_id": account_id, "member_id": pol.member_id, "name": name, "kana": kana,
                "relationship": rel.code, "birth_date": bd, "contact": lid.value, "contact_kind": lid.kind,
                "lang": lang, "state": "approval_pending", "attempts": 0,
                "created_at": now, "updated_at": now, "expires_at": now + ctx.rules.approval_ttl,
            }
            inv["id"] = db["invitations"].insert(inv).last_pk
            message = _send_approval(ctx, inv, lang)
            audit.record(ctx, "family.invite", f"invitation:{inv['id']}", "ok", account=account_id,
                         relationship=rel.code, degree=rel.degree, channel=lid.kind, message_id=message["id"])
    if error:
        raise error
    return {"invitation_id": inv["id"], "message": message}


def _new_token(ctx, inv: dict, purpose: str, ttl: int) -> str:
    """A fresh link token for the invitation (inside the caller's transaction); voids the old ones."""
    now = ctx.now()
    ctx.db.execute("update tokens set voided_at = ? where invitation_id = ? and used_at is null and voided_at is null",
                   [now, inv["id"]])
    token = codes.new_token()
    ctx.db["tokens"].insert({
        "token_hash": codes.keyed_hash(ctx.hmac_key, purpose, token), "purpose": purpose,
        "invitation_id": inv["id"], "created_at": now, "expires_at": now + ttl,
    })
    return token


def _member_name(ctx, inv: dict) -> str:
    row = ctx.db.execute("select name from members where id = ?", [inv["member_id"]]).fetchone()
    return row[0] if row else ""


def _send_approval(ctx, inv: dict, lang: str) -> dict:
    token = _new_token(ctx, inv, APPROVE, ctx.rules.approval_ttl)
    member = _account(ctx, inv["account_id"])
    rel = relationships.get(inv["relationship"])
    return outbox.send(ctx, member["login_id"], "approval_request", lang, link=links.make(PATHS[APPROVE], token),
                       member_name=_member_name(ctx, inv), family_name=inv["name"],
                       relationship=t(lang, rel.label_key) if rel else inv["relationship"],
                       hours=ctx.rules.approval_ttl // 3600)


def _send_invitation(ctx, inv: dict) -> dict:
    token = _new_token(ctx, inv, INVITE, ctx.rules.invitation_ttl)
    lang = inv["lang"] or ctx.lang
    rel = relationships.get(inv["relationship"])
    return outbox.send(ctx, inv["contact"], "invitation", lang, link=links.make(PATHS[INVITE], token),
                       member_name=_member_name(ctx, inv), family_name=inv["name"],
                       relationship=t(lang, rel.label_key) if rel else inv["relationship"],
                       days=ctx.rules.invitation_ttl // 86400)


# ---------------------------------------------------------------------------------------------
# Links: every way a link can be bad has its own message.


def _link_error(purpose: str, reason: str, staff: str, ctx) -> BeneError:
    side = "approve" if purpose == APPROVE else "invite"
    key = f"family.link.{reason}_{side}" if reason in ("used", "expired") else f"family.link.{reason}"
    return BeneError(key, staff=staff, hours=ctx.rules.approval_ttl // 3600, days=ctx.rules.invitation_ttl // 86400)


def _lookup(ctx, purpose: str, token: str | None) -> tuple[dict, dict]:
    """The live token and its invitation, or the BeneError that says what is wrong with the link."""
    value = (token or "").strip()
    if not _TOKEN.fullmatch(value):
        raise _link_error(purpose, "invalid", "malformed token", ctx)
    rows = list(ctx.db.query("select * from tokens where token_hash = ? and purpose = ?",
                             [codes.keyed_hash(ctx.hmac_key, purpose, value), purpose]))
    if not rows:
        raise _link_error(purpose, "invalid", "no such token (mistyped or tampered)", ctx)
    tok = rows[0]
    inv = ctx.db["invitations"].get(tok["invitation_id"])
    if inv["state"] in ("cancelled", "locked", "removed"):
        raise _link_error(purpose, inv["state"], f"invitation {inv['state']}", ctx)
    if tok["used_at"]:
        raise _link_error(purpose, "used", "token already used", ctx)
    if tok["voided_at"]:
        raise _link_error(purpose, "replaced", "token replaced by a newer link", ctx)
    if tok["expires_at"] <= ctx.now():
        raise _link_error(purpose, "expired", "token expired", ctx)
    if inv["state"] != ("approval_pending" if purpose == APPROVE else "invited"):
        raise _link_error(purpose, "invalid", f"invitation state {inv['state']} does not take this link", ctx)
    return tok, inv


def _checked(ctx, purpose: str, token: str | None, action: str) -> tuple[dict, dict]:
    """`_lookup`, auditing a refusal (committed) before raising it."""
    try:
        return _lookup(ctx, purpose, token)
    except BeneError as error:
        with ctx.tx():
            _refuse(ctx, action, _token_subject(ctx, purpose, token), error, purpose=purpose)
        raise


def _token_subject(ctx, purpose: str, token: str | None) -> str:
    value = (token or "").strip()
    if _TOKEN.fullmatch(value):
        row = ctx.db.execute("select invitation_id from tokens where token_hash = ?",
                             [codes.keyed_hash(ctx.hmac_key, purpose, value)]).fetchone()
        if row:
            return f"invitation:{row[0]}"
    return f"terminal:{ctx.terminal}"


@ids_checked
def check_link(ctx, purpose: str, token: str | None) -> None:
    """Raise the link's problem, if any (used before asking the member to log in)."""
    _checked(ctx, purpose, token, "family.link")


def _view(ctx, inv: dict) -> dict:
    return {
        "invitation_id": inv["id"], "name": inv["name"], "kana": inv["kana"], "relationship": inv["relationship"],
        "birth_date": inv["birth_date"], "contact": inv["contact"], "contact_kind": inv["contact_kind"],
        "member_name": _member_name(ctx, inv), "expires_at": inv["expires_at"],
    }


# ---------------------------------------------------------------------------------------------
# Steps 5–7: the member opens the approval link and approves; the invitation goes out.


@ids_checked
def approval_view(ctx, token: str, account_id: int | None) -> dict:
    """Step 5: what the member invited — shown only to the member who invited."""
    _, inv = _checked(ctx, APPROVE, token, "family.approval_view")
    if account_id != inv["account_id"]:
        error = BeneError("family.error.not_your_invitation",
                          staff=f"account {account_id} is not the inviting account {inv['account_id']}")
        with ctx.tx():
            _refuse(ctx, "family.approval_view", f"invitation:{inv['id']}", error, account=account_id)
        raise error
    return _view(ctx, inv)


@ids_checked
def approve(ctx, token: str, account_id: int | None) -> dict:
    """Step 6 「承認」: the invitation goes to the family member (step 7). Returns the message sent."""
    now = ctx.now()
    with ctx.tx() as db:
        error = None
        try:
            tok, inv = _lookup(ctx, APPROVE, token)
            subject = f"invitation:{inv['id']}"
            pol = policy(ctx, inv["account_id"])
            if account_id != inv["account_id"]:
                raise BeneError("family.error.not_your_invitation",
                                staff=f"account {account_id} is not the inviting account {inv['account_id']}")
            if not pol.enabled:
                raise BeneError("family.error.not_available", staff="family use turned off since the invitation")
            if inv["relationship"] not in pol.relationships:
                raise BeneError("family.error.relationship_not_allowed",
                                staff="the organisation narrowed its family policy since the invitation")
        except BeneError as e:
            error = _refuse(ctx, "family.approve", _token_subject(ctx, APPROVE, token), e, account=account_id)
        if error is None:
            db["tokens"].update(tok["id"], {"used_at": now})
            db["invitations"].update(inv["id"], {"state": "invited", "updated_at": now,
                                                 "expires_at": now + ctx.rules.invitation_ttl})
            message = _send_invitation(ctx, inv)
            audit.record(ctx, "family.approve", subject, "ok", account=account_id, message_id=message["id"],
                         channel=message["channel"])
    if error:
        raise error
    return message


# ---------------------------------------------------------------------------------------------
# Steps 8–9: the family member opens the invitation link and registers.


@ids_checked
def invitation_view(ctx, token: str) -> dict:
    """Step 7→8: who invited and whom. The birth date is the check, so it is never returned."""
    _, inv = _checked(ctx, INVITE, token, "family.invitation_view")
    view = _view(ctx, inv)
    del view["birth_date"]
    return view


@ids_checked
def register(ctx, token: str, name: str, birth_date: str, password: str, agreed: bool,
             lang: str | None = None) -> int:
    """Step 8 「設定」 → step 9: the family account. Returns its account id.

    A birth date different from the member's entry is counted (committed) and refused; the fifth
    locks the invitation (family.error.locked_now) and the member must invite again.
    """
    _, inv = _checked(ctx, INVITE, token, "family.register")
    name = clean_name(name, "name")
    bd = clean_date(birth_date, "birth_date")
    if not agreed:
        raise ValidationError("error.terms_required", field="agree")
    passwords.check_policy(password, ctx.rules, inv["contact"], (name, bd, inv["kana"] or ""))
    if bd != inv["birth_date"]:
        raise _wrong_birth_date(ctx, token)
    hashed = passwords.hash_password(password, ctx.rules)  # slow: this is why we run in a thread
    now = ctx.now()
    with ctx.tx() as db:
        error = None
        try:
            tok, inv = _lookup(ctx, INVITE, token)  # again: another terminal may have used or cancelled it
            if not policy(ctx, inv["account_id"]).enabled:
                raise BeneError("family.error.not_available",
                                staff="the inviting member can no longer use family accounts")
            key = parse_login_id(inv["contact"], inv["contact_kind"]).key
            if _login_taken(ctx, key, now):
                raise BeneError("family.error.contact_registered_now",
                                staff="the contact was registered as a login ID after the invitation")
        except BeneError as e:
            error = _refuse(ctx, "family.register", _token_subject(ctx, INVITE, token), e)
        if error is None:
            account_id = _create_account(ctx, inv, key, hashed, lang or inv["lang"] or ctx.lang)
            db["tokens"].update(tok["id"], {"used_at": now})
            changes = {"state": "registered", "family_account_id": account_id, "updated_at": now}
            name_changed = name.replace(" ", "") != (inv["name"] or "").replace(" ", "")
            if name_changed:  # the family member's own spelling of their name wins
                changes["name"] = name
            db["invitations"].update(inv["id"], changes)
            audit.record(ctx, "family.register", f"account:{account_id}", "ok", invitation=inv["id"],
                         family_of=inv["account_id"], name_changed=name_changed)
            member = _account(ctx, inv["account_id"])
            mlang = member["lang"] or ctx.lang
            outbox.send(ctx, member["login_id"], "notice", mlang, title=t(mlang, "family.notice_title"),
                        text=t(mlang, "family.notice_registered", family_name=name))
    if error:
        raise error
    return account_id


def _wrong_birth_date(ctx, token: str) -> BeneError:
    """Count one wrong birth date (committed); the fifth locks the invitation."""
    now = ctx.now()
    with ctx.tx() as db:
        try:
            _, inv = _lookup(ctx, INVITE, token)
        except BeneError as e:
            return _refuse(ctx, "family.register", _token_subject(ctx, INVITE, token), e)
        attempts = (inv["attempts"] or 0) + 1
        left = ctx.rules.invitation_max_attempts - attempts
        subject = f"invitation:{inv['id']}"
        if left <= 0:
            db["invitations"].update(inv["id"], {"attempts": attempts, "state": "locked", "updated_at": now})
            db.execute("update tokens set voided_at = ? where invitation_id = ? and used_at is null and voided_at is null",
                       [now, inv["id"]])
            audit.record(ctx, "family.locked", subject, "ok", f"{attempts} wrong birth dates", attempts=attempts)
            return BeneError("family.error.locked_now", field="birth_date", staff=f"{attempts} wrong birth dates: locked")
        db["invitations"].update(inv["id"], {"attempts": attempts, "updated_at": now})
        error = BeneError("family.error.birth_date_mismatch", field="birth_date", left=left,
                          staff=f"birth date differs from the member's entry ({left} attempts left)")
        _refuse(ctx, "family.register", subject, error, attempts=attempts)
        return error


def _create_account(ctx, inv: dict, key: str, hashed: str, lang: str) -> int:
    """Insert the family account, or give a removed family account's row (same login ID) a new life."""
    now, db = ctx.now(), ctx.db
    row = {
        "login_id": inv["contact"], "login_key": key, "login_kind": inv["contact_kind"], "password_hash": hashed,
        "status": "active", "kind": "family", "family_of": inv["account_id"], "lang": lang,
        "activated_at": now, "expires_at": None, "failed_logins": 0, "first_failed_at": None,
        "last_failed_at": None, "locked_until": None,
    }
    existing = accounts.holder(ctx, key)
    if existing and existing["status"] == "provisional":  # verified, then abandoned more than 24 h ago
        accounts.release_provisional(ctx, existing["id"])
        audit.record(ctx, "registration.provisional_expired", f"account:{existing['id']}", "ok")
        existing = None
    if existing:  # a removed family account: the audit trail keeps its past
        db["accounts"].update(existing["id"], row)
        audit.record(ctx, "family.account_reused", f"account:{existing['id']}", "ok", invitation=inv["id"])
        return existing["id"]
    return db["accounts"].insert({**row, "created_at": now}).last_pk


# ---------------------------------------------------------------------------------------------
# The member's family settings: resend, cancel, remove.


def _own_invitation(ctx, account_id: int, invitation_id: int) -> dict:
    rows = list(ctx.db.query("select * from invitations where id = ? and account_id = ?",
                             [invitation_id, account_id]))
    if not rows:
        raise BeneError("family.error.no_such_invitation", staff=f"invitation {invitation_id} is not this account's")
    return rows[0]


@ids_checked
def resend(ctx, account_id: int, invitation_id: int, lang: str | None = None) -> dict:
    """Send the link of the invitation's current stage again; the old link stops working."""
    lang = lang or ctx.lang
    now = ctx.now()
    with ctx.tx() as db:
        error = None
        inv = _own_invitation(ctx, account_id, invitation_id)
        state = effective_state(inv, now)
        subject = f"invitation:{inv['id']}"
        last = db.execute("select max(created_at) from tokens where invitation_id = ?", [inv["id"]]).fetchone()[0]
        wait = ctx.rules.code_resend_after - (now - last) if last is not None else 0
        pol = policy(ctx, account_id)
        if not actions(state)["resend"]:
            error = BeneError("family.error.cannot_resend", staff=f"invitation is {state}")
        elif wait > 0:
            error = Throttled("family.error.resend_too_early", seconds=int(wait) + 1, staff="resend within a minute")
        elif not pol.enabled:
            error = BeneError("family.error.not_available", staff="family use not available for this account")
        elif state == "expired" and _slots_used(ctx, account_id, now, exclude=inv["id"]) >= pol.max_accounts:
            error = BeneError("family.error.max_accounts", max=pol.max_accounts,
                              staff="no free family slot for a revived invitation")
        elif _login_taken(ctx, parse_login_id(inv["contact"], inv["contact_kind"]).key, now):
            error = BeneError("family.error.contact_registered", staff="the contact is an existing login ID now")
        elif state == "expired" and _pending_contact(ctx, inv["contact"], now, exclude=inv["id"]):
            error = BeneError("family.error.contact_pending", staff="another live invitation for the contact")
        if error:
            _refuse(ctx, "family.resend", subject, error)
        else:
            if inv["state"] == "approval_pending":
                message = _send_approval(ctx, inv, lang)
                ttl = ctx.rules.approval_ttl
            else:
                message = _send_invitation(ctx, inv)
                ttl = ctx.rules.invitation_ttl
            db["invitations"].update(inv["id"], {"updated_at": now, "expires_at": now + ttl})
            audit.record(ctx, "family.resend", subject, "ok", stage=inv["state"], was=state, message_id=message["id"])
    if error:
        raise error
    return message


@ids_checked
def cancel(ctx, account_id: int, invitation_id: int) -> None:
    """取消: the invitation's links stop working."""
    now = ctx.now()
    with ctx.tx() as db:
        inv = _own_invitation(ctx, account_id, invitation_id)
        state = effective_state(inv, now)
        if not actions(state)["cancel"]:
            error = _refuse(ctx, "family.cancel", f"invitation:{inv['id']}",
                            BeneError("family.error.cannot_cancel", staff=f"invitation is {state}"))
        else:
            error = None
            db["invitations"].update(inv["id"], {"state": "cancelled", "updated_at": now})
            db.execute("update tokens set voided_at = ? where invitation_id = ? and used_at is null and voided_at is null",
                       [now, inv["id"]])
            audit.record(ctx, "family.cancel", f"invitation:{inv['id']}", "ok", was=state, account=account_id)
    if error:
        raise error


@ids_checked
def remove(ctx, account_id: int, invitation_id: int) -> None:
    """削除: the family account can no longer log in; the row and the audit trail remain."""
    now = ctx.now()
    with ctx.tx() as db:
        inv = _own_invitation(ctx, account_id, invitation_id)
        if inv["state"] != "registered" or not inv["family_account_id"]:
            error = _refuse(ctx, "family.remove", f"invitation:{inv['id']}",
                            BeneError("family.error.cannot_remove", staff=f"invitation is {inv['state']}"))
        else:
            error = None
            db["accounts"].update(inv["family_account_id"], {"status": "removed"})
            db["invitations"].update(inv["id"], {"state": "removed", "updated_at": now})
            audit.record(ctx, "family.remove", f"account:{inv['family_account_id']}", "ok",
                         invitation=inv["id"], family_of=account_id)
    if error:
        raise error
