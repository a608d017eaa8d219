"""New registration (SPEC §3.1): step 1 identify → step 2 provisional registration → step 3
code → step 4 name confirmation → step 5 done and the 初回特典.

Step 2 hashes a password: call it from a worker thread (the app's `call` does).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bene_tui.core.errors import BeneError, ValidationError
from . import accounts, audit, flows, identify, passwords, verification
from .normalize import compact, ids_checked, login_id as parse_login_id, login_key

KIND = "enrol"  # the flow that registration and linking share after step 1
PURPOSE = "verification"


@dataclass
class Started:
    flow_id: str
    org_name: str


@ids_checked
def start(ctx, group_id: str, key1: str, key2: str, service_id: str | None = None) -> Started:
    """Step 1. A member record already linked to an account is told so (it can only be linked once)."""
    member = identify.identify(ctx, group_id, key1, key2, action="registration.step1")
    org = identify.organisation(ctx, member["group_id"])
    with ctx.tx():
        if identify.linked_account(ctx, member["id"]) is not None:
            audit.record(ctx, "registration.step1", f"member:{member['id']}", "refused", "member already linked")
            error = BeneError("error.member_already_linked", staff="member record already linked to an account")
        else:
            error = None
            flow = flows.create(ctx, KIND, "identified", ctx.rules.provisional_ttl,
                                member_id=member["id"], service_id=service_id or "benefit_station")
            audit.record(ctx, "registration.step1", f"member:{member['id']}", "ok", flow=flow["id"])
    if error:
        raise error
    return Started(flow["id"], org["name"])


@ids_checked
def flow_summary(ctx, flow_id: str) -> dict:
    """What the screens of a flow need: organisation labels, login ID, state."""
    flow = flows.get(ctx, flow_id, kinds=(KIND,))
    member = identify.member(ctx, flow["member_id"])
    org = identify.organisation(ctx, member["group_id"])
    return {"flow": flow, "org": org, "login_id": flow["login_id"]}


def _release_expired(ctx, key: str, now: float) -> None:
    """Abandoned provisional registrations of this login ID free it after 24 h (inside the caller's tx)."""
    for row in ctx.db.query("select id from accounts where login_key = ? and status = 'provisional' "
                            "and expires_at <= ?", [key, now]):
        accounts.release_provisional(ctx, row["id"])
        audit.record(ctx, "registration.provisional_expired", f"account:{row['id']}", "ok")


def _own_provisional(ctx, key: str, member_id: int) -> dict | None:
    """This person's earlier provisional registration of the login ID, to resume (verified or not)."""
    rows = list(ctx.db.query(
        "select a.* from accounts a where a.login_key = ? and a.status = 'provisional' and exists "
        "(select 1 from flows f where f.account_id = a.id and f.member_id = ?) order by a.id desc limit 1",
        [key, member_id]))
    return rows[0] if rows else None


def hash_ahead(ctx, password: str) -> passwords.Prehashed:
    """Step 2's slow part, started by the screen as soon as both password fields agree."""
    return passwords.prehash(password, ctx.rules)


@ids_checked
def submit_credentials(ctx, flow_id: str, kind: str, login_id: str, password: str, agreed: bool,
                       lang: str | None = None, prehashed: passwords.Prehashed | None = None) -> dict:
    """Step 2: provisional registration and the first code. Returns the outbox message sent.

    `prehashed` (from `hash_ahead`) is used only if it is of this very password; otherwise the
    password is hashed here.

    An already registered login ID raises BeneError('registration.already_registered'): the
    screen then shows the linking guidance with 「紐づけ設定する」.
    """
    lang = lang or ctx.lang
    flow = flows.get(ctx, flow_id, kinds=(KIND,), states=("identified", "provisional"))
    identify.check_throttle(ctx)  # "already registered" answers count like step-1 failures
    if kind not in ("email", "sms"):
        raise ValidationError("error.login_kind", field="kind")
    lid = parse_login_id(login_id, kind)
    if not agreed:
        raise ValidationError("error.terms_required", field="agree")
    member = identify.member(ctx, flow["member_id"])
    passwords.check_policy(password, ctx.rules, lid.value, (member["name"], member["birth_date"] or ""))
    hashed = passwords.hash_for(password, ctx.rules, prehashed)  # slow unless made ahead: run in a thread
    now = ctx.now()
    with ctx.tx() as db:
        _release_expired(ctx, lid.key, now)
        # Only an owner who entered the code holds a login ID: an unverified provisional registration
        # (anyone may type anyone's ID) blocks nobody; the first valid code wins (verify_code).
        held = accounts.holder(ctx, lid.key)
        own = _own_provisional(ctx, lid.key, flow["member_id"])
        if held and (own is None or own["id"] != held["id"]):
            reason = "login ID already registered" if held["status"] != "provisional" else \
                "login ID verified by another provisional registration"
            audit.record(ctx, "registration.step2", f"flow:{flow_id}", "refused", reason,
                         failures=identify.count_failure(ctx))
            error = BeneError("registration.already_registered", field="login_id", staff=reason)
        else:
            error = None
            if own:  # the same person came back within 24 h: resume with the new password and spelling
                account_id = own["id"]
                db["accounts"].update(account_id, {"login_id": lid.value, "login_kind": lid.kind, "password_hash": hashed,
                                                   "expires_at": now + ctx.rules.provisional_ttl})
            else:
                account_id = db["accounts"].insert({
                    "login_id": lid.value, "login_key": lid.key, "login_kind": lid.kind, "password_hash": hashed,
                    "status": "provisional", "kind": "member", "lang": lang,
                    "created_at": now, "expires_at": now + ctx.rules.provisional_ttl, "failed_logins": 0,
                }).last_pk
            flows.update(ctx, flow_id, state="provisional", account_id=account_id, login_id=lid.value,
                         expires_at=now + ctx.rules.provisional_ttl)
            audit.record(ctx, "registration.provisional", f"account:{account_id}", "ok", flow=flow_id,
                         resumed=bool(own))
            message = verification.issue(ctx, flow_id, PURPOSE, lid.value, lang)
    if error:
        raise error
    return message


@ids_checked
def resend_code(ctx, flow_id: str, lang: str | None = None) -> dict:
    flow = flows.get(ctx, flow_id, kinds=(KIND,), states=("provisional",))
    with ctx.tx():
        return verification.issue(ctx, flow_id, PURPOSE, flow["login_id"], lang or ctx.lang)


@ids_checked
def verify_code(ctx, flow_id: str, code: str) -> bool:
    """Step 3. True when the code was right (a wrong one raises)."""
    flow = flows.get(ctx, flow_id, kinds=(KIND,), states=("provisional",))
    lost: list[dict] = []

    def verified() -> None:
        # One transaction: the code is used and the flow verified together (or neither, if killed).
        # The first valid code holds the login ID; a later one finds it held and goes back to step 2's
        # choice (the linking flow is offered), its own provisional registration released.
        held = accounts.holder(ctx, login_key(flow["login_id"]))
        if held and held["id"] != flow["account_id"]:
            accounts.release_provisional(ctx, flow["account_id"])
            flows.update(ctx, flow_id, state="identified", account_id=None)
            audit.record(ctx, "registration.step3", f"flow:{flow_id}", "refused",
                         "login ID verified by another registration first", account=held["id"])
            lost.append(held)
        else:
            ctx.db["accounts"].update(flow["account_id"], {"verified_at": ctx.now()})
            flows.update(ctx, flow_id, state="verified")

    try:
        verification.check(ctx, flow_id, PURPOSE, code, on_success=verified)
    except sqlite3.IntegrityError:  # the unique index on held login keys: another terminal won the race
        raise BeneError("registration.now_registered", field="code",
                        staff="login ID verified by another terminal meanwhile") from None
    if lost:
        raise BeneError("registration.now_registered", field="code",
                        staff=f"login ID verified first by account {lost[0]['id']}")
    return True


@ids_checked
def registered_name(ctx, flow_id: str) -> dict:
    """Step 4 shows the 「姓名」 the organisation registered (to the person who proved the keys)."""
    flow = flows.get(ctx, flow_id, kinds=(KIND,))
    member = identify.member(ctx, flow["member_id"])
    org = identify.organisation(ctx, member["group_id"])
    # Linking: the 姓名 already on the account, where they differ from this record's (the helpdesk
    # says so; a person who changed employer may also have changed name, or it is someone else's).
    others = [] if not flow["account_id"] else [
        row[0] for row in ctx.db.execute(
            "select m.name from account_members am join members m on m.id = am.member_id where am.account_id = ? "
            "order by am.linked_at", [flow["account_id"]])
        if compact(row[0] or "") != compact(member["name"] or "")]
    return {"name": member["name"], "kana": member["kana"], "org_name": org["name"], "other_names": others}


@ids_checked
def complete(ctx, flow_id: str, confirmed: bool) -> int:
    """Step 4 「ベネアカウントの登録を完了する」: activate the account and link the member record."""
    flow = flows.get(ctx, flow_id, kinds=(KIND,), states=("verified",))
    if not confirmed:
        raise ValidationError("error.confirm_required", field="confirm")
    now = ctx.now()
    with ctx.tx() as db:
        if identify.linked_account(ctx, flow["member_id"]) is not None:
            audit.record(ctx, "registration.complete", f"flow:{flow_id}", "refused", "member linked meanwhile")
            error = BeneError("error.member_already_linked", staff="member record linked by another terminal meanwhile")
        else:
            error = None
            db["accounts"].update(flow["account_id"], {"status": "active", "activated_at": now, "expires_at": None})
            try:
                db["account_members"].insert({"member_id": flow["member_id"], "account_id": flow["account_id"],
                                              "linked_at": now})
            except sqlite3.IntegrityError:  # primary key member_id: the record was linked in a race
                raise BeneError("error.member_already_linked",
                                staff="member record linked by another terminal meanwhile") from None
            flows.update(ctx, flow_id, state="completed", expires_at=now)
            audit.record(ctx, "registration.complete", f"account:{flow['account_id']}", "ok",
                         member=flow["member_id"], flow=flow_id, seconds=round(now - flow["created_at"]))
    if error:
        raise error
    return flow["account_id"]


@ids_checked
def report_wrong_name(ctx, flow_id: str) -> str:
    """Step 4 "my name is wrong": nothing is completed; the person must contact their organisation."""
    flow = flows.get(ctx, flow_id, kinds=(KIND,))
    member = identify.member(ctx, flow["member_id"])
    org = identify.organisation(ctx, member["group_id"])
    with ctx.tx():
        flows.update(ctx, flow_id, state="name_disputed")
        audit.record(ctx, "registration.name_disputed", f"member:{member['id']}", "stopped",
                     "person reports the registered name is wrong", flow=flow_id)
    return org["name"]


@ids_checked
def grant_benefit(ctx, account_id: int) -> bool:
    """Step 5 初回特典: granted once per account. True when granted now, False when already had."""
    with ctx.tx() as db:
        if db.execute("select 1 from benefits where account_id = ?", [account_id]).fetchone():
            audit.record(ctx, "benefit.grant", f"account:{account_id}", "refused", "already granted")
            return False
        db["benefits"].insert({"account_id": account_id, "granted_at": ctx.now()})
        audit.record(ctx, "benefit.grant", f"account:{account_id}", "ok")
        return True
