"""Login to a service and its error cases (SPEC §3.3) with the lockout rules of §4.

Case 1 (`login.case1`) is one generic answer for an unknown login ID, a wrong password, a
locked or removed account: the user cannot tell them apart, not even by time (a password is
always verified, against a dummy hash when there is no account). The audit row and the
error's `staff` text carry the real reason for the helpdesk.

Case 2 (`login.case2`): the credentials are right but the person is not an active member of
the service; `params['services']` lists the services they can use.

Lockout, per account: after `login_free_failures` consecutive wrong passwords the account
waits `login_wait_step` seconds, `login_wait_step` more for each further failure, at most
`login_wait_max`; the count starts afresh after `login_reset_after` seconds without a
failure; never more than `login_max_per_hour` wrong passwords in any hour. Attempts while
locked are refused without counting. Verifies a password: call from a worker thread.
"""

from __future__ import annotations

from datetime import datetime

from bene_tui.core.clock import JST
from bene_tui.core.errors import BeneError, ValidationError
from . import accounts, audit, identify, passwords
from .normalize import clean, ids_checked, login_id as parse_login_id, login_key

CASE1 = "login.case1"
CASE2 = "login.case2"
WRONG_PASSWORD = "wrong password"  # the audit reason of a counted failure starts with this
FAMILY_SERVICES = ("benefit_station",)  # SPEC §3.5: a family account may use this only
COUNTED_ACTIONS = ("auth.login", "link.login")


def stamp(ts: float) -> str:
    """A time for staff: 2026-04-01 09:01:00 JST."""
    return datetime.fromtimestamp(ts, JST).strftime("%Y-%m-%d %H:%M:%S JST")


def _find(ctx, text: str) -> tuple[str, dict | None]:
    """The login key typed (for the audit subject) and the account it names, if any."""
    try:
        key = parse_login_id(text).key
    except ValidationError:
        return login_key(text), None  # not a login ID at all: nobody's, but the same answer
    return key, accounts.by_login_key(ctx, key)


def _hour_failures(ctx, account_id: int) -> list[float]:
    """Times of the counted wrong passwords of the last hour, oldest first."""
    marks = ",".join("?" * len(COUNTED_ACTIONS))
    return [r[0] for r in ctx.db.execute(
        f"select at from audit where subject = ? and action in ({marks}) and outcome = 'refused' "
        "and reason like ? and at > ? order by at",
        [f"account:{account_id}", *COUNTED_ACTIONS, WRONG_PASSWORD + "%", ctx.now() - 3600])]


@ids_checked
def verify_credentials(ctx, login_id: str, password: str, action: str = "auth.login") -> dict:
    """The account these credentials open (active or provisional), or BeneError(login.case1).

    Counts wrong passwords and locks per §4; every refusal is audited with its real reason
    (committed before the error is raised). The caller audits the success.
    """
    text = clean(login_id, "login_id", max_len=254)
    if not password:
        raise ValidationError("error.required", field="password")
    key, acct = _find(ctx, text)
    # One verification whatever happens next: the real hash, or the dummy one.
    ok = passwords.verify_password(acct["password_hash"] if acct else None, password[:1024], ctx.rules)
    rules, now = ctx.rules, ctx.now()
    with ctx.tx() as db:
        if acct is not None:  # re-read inside the write lock: another terminal may have counted meanwhile
            acct = db["accounts"].get(acct["id"])
        reason, subject = None, f"login:{key}"
        if acct is None:
            reason = "unknown login ID"
        elif acct["status"] == "removed":
            reason, subject = "account removed", f"account:{acct['id']}"
        elif acct["status"] == "provisional" and (acct["expires_at"] or 0) <= now:
            reason, subject = "provisional registration expired", f"account:{acct['id']}"
        elif acct["locked_until"] and acct["locked_until"] > now:
            reason, subject = (f"account locked until {stamp(acct['locked_until'])} "
                               f"({acct['failed_logins']} consecutive failures)"), f"account:{acct['id']}"
        elif not ok:
            subject = f"account:{acct['id']}"
            fresh = not acct["last_failed_at"] or now - acct["last_failed_at"] >= rules.login_reset_after
            failures = (0 if fresh else acct["failed_logins"] or 0) + 1
            locked_until = None
            if failures >= rules.login_free_failures:
                wait = min(rules.login_wait_step * (failures - rules.login_free_failures + 1), rules.login_wait_max)
                locked_until = now + wait
            hour = _hour_failures(ctx, acct["id"]) + [now]
            if len(hour) >= rules.login_max_per_hour:
                # The oldest failure of the window must leave it before the next attempt.
                locked_until = max(locked_until or 0, hour[-rules.login_max_per_hour] + 3600)
            db["accounts"].update(acct["id"], {
                "failed_logins": failures,
                "first_failed_at": now if failures == 1 else acct["first_failed_at"],
                "last_failed_at": now,
                "locked_until": locked_until,
            })
            reason = f"{WRONG_PASSWORD} ({failures} consecutive)"
            if locked_until:
                reason += f"; locked until {stamp(locked_until)}"
        else:
            if acct["failed_logins"] or acct["locked_until"]:
                db["accounts"].update(acct["id"], {"failed_logins": 0, "first_failed_at": None,
                                                   "last_failed_at": None, "locked_until": None})
            return db["accounts"].get(acct["id"])
        audit.record(ctx, action, subject, "refused", reason)
    raise BeneError(CASE1, staff=reason)


def account_services(ctx, account: dict | int) -> list[str]:
    """The services this account may log in to, in the services table's order."""
    if not isinstance(account, dict):
        account = ctx.db["accounts"].get(account)
    if account["kind"] == "family":
        allowed = set(FAMILY_SERVICES)
    else:
        allowed = set()
        for member in ctx.db.query(
                "select m.* from members m join account_members am on am.member_id = m.id where am.account_id = ?",
                [account["id"]]):
            allowed.update(identify.member_services(ctx, member))
    return [r[0] for r in ctx.db.execute("select id from services order by rowid") if r[0] in allowed]


def account_organisations(ctx, account: dict) -> list[str]:
    """The names of the organisations whose member records the account is linked to (Case 2's contact)."""
    return [r[0] for r in ctx.db.execute(
        "select distinct o.name from organisations o join members m on m.group_id = o.group_id "
        "join account_members am on am.member_id = m.id where am.account_id = ? order by o.name", [account["id"]])]


@ids_checked
def login(ctx, service_id: str, login_id: str, password: str) -> dict:
    """Log in to a service: {account_id, login_id, service_id, kind}, or Case 1 / Case 2."""
    if not ctx.db.execute("select 1 from services where id = ?", [service_id or ""]).fetchone():
        raise ValidationError("login.choose_service", field="service")
    acct = verify_credentials(ctx, login_id, password, "auth.login")
    subject = f"account:{acct['id']}"
    if acct["status"] != "active":
        with ctx.tx():
            audit.record(ctx, "auth.login", subject, "refused", f"account {acct['status']} (not verified yet)",
                         service=service_id)
        raise BeneError(CASE1, staff=f"account {acct['status']}: the registration was never completed")
    services = account_services(ctx, acct)
    if service_id not in services:
        reason = f"inactive for service {service_id}"
        with ctx.tx():
            audit.record(ctx, "auth.login", subject, "refused", reason, service=service_id, usable=services)
        raise BeneError(CASE2, staff=reason + (f"; usable: {', '.join(services)}" if services else "; no usable service"),
                        services=services, orgs=account_organisations(ctx, acct))
    with ctx.tx():
        audit.record(ctx, "auth.login", subject, "ok", service=service_id)
    return {"account_id": acct["id"], "login_id": acct["login_id"], "service_id": service_id, "kind": acct["kind"]}


@ids_checked
def logout(ctx, account_id: int) -> None:
    with ctx.tx():
        audit.record(ctx, "auth.logout", f"account:{account_id}", "ok")


@ids_checked
def profile(ctx, account_id: int) -> dict:
    """What マイページ shows: name, login ID, organisations, usable services."""
    acct = ctx.db["accounts"].get(account_id)
    members = list(ctx.db.query(
        "select m.*, o.name as org_name from members m join account_members am on am.member_id = m.id "
        "join organisations o on o.group_id = m.group_id where am.account_id = ? order by am.linked_at, m.id",
        [account_id]))
    name = members[0]["name"] if members else None
    if name is None and acct["kind"] == "family":
        row = ctx.db.execute("select name from invitations where family_account_id = ? order by id desc limit 1",
                             [account_id]).fetchone()
        name = row[0] if row else None
    return {
        "account_id": account_id,
        "login_id": acct["login_id"],
        "kind": acct["kind"],
        "name": name or "",
        "organisations": [{"group_id": m["group_id"], "name": m["org_name"]} for m in members],
        "services": account_services(ctx, acct),
    }
