"""Linking a member record to an existing Bene Account (SPEC §3.2).

Step 1 is registration's (`registration.start` creates the "enrol" flow); step 2 is the
choice to link; step 3 `authenticate` (login ID + password, with the login's lockout and
Case 1 rules); step 4 `complete` (name confirmed); step 5 the 初回特典 of registration.

A member record links to at most one account; an account may hold several (a person who
changed employer). A provisional account cannot be linked until it is verified.
"""

from __future__ import annotations

from bene_tui.core.errors import BeneError, ValidationError
from . import accounts, audit, auth, flows, identify
from .normalize import ids_checked
from .registration import KIND

LINK_STATES = ("identified", "provisional", "link_authenticated")


@ids_checked
def authenticate(ctx, flow_id: str, login_id: str, password: str) -> dict:
    """Step 3 「ログイン」: the existing account's credentials. Sets the flow to link_authenticated.

    Slow (verifies a password): call from a worker thread.
    """
    flow = flows.get(ctx, flow_id, kinds=(KIND,), states=LINK_STATES)
    acct = auth.verify_credentials(ctx, login_id, password, "link.login")
    subject = f"account:{acct['id']}"
    error = None
    with ctx.tx():
        if acct["status"] != "active":
            audit.record(ctx, "link.login", subject, "refused", "account provisional: not verified yet", flow=flow_id)
            error = BeneError("link.provisional", field="login_id", staff="the account's registration is not complete")
        elif acct["kind"] == "family":
            audit.record(ctx, "link.login", subject, "refused", "family account cannot hold member records", flow=flow_id)
            error = BeneError("link.family_account", field="login_id", staff="family account")
        elif (linked := identify.linked_account(ctx, flow["member_id"])) is not None:
            same = linked == acct["id"]
            audit.record(ctx, "link.login", f"member:{flow['member_id']}", "refused",
                         "member already linked to this account" if same else "member already linked to another account",
                         flow=flow_id)
            error = BeneError("error.member_already_linked", staff=f"member record linked to account {linked}")
        else:
            _drop_own_provisional(ctx, flow)
            flows.update(ctx, flow_id, state="link_authenticated", account_id=acct["id"], login_id=acct["login_id"])
            audit.record(ctx, "link.login", subject, "ok", flow=flow_id, member=flow["member_id"])
    if error:
        raise error
    return {"account_id": acct["id"], "login_id": acct["login_id"]}


def _drop_own_provisional(ctx, flow: dict) -> None:
    """A person who registered provisionally in this flow and then chose to link instead frees that login ID."""
    if not flow["account_id"]:
        return
    row = ctx.db.execute("select status from accounts where id = ?", [flow["account_id"]]).fetchone()
    others = ctx.db.execute("select 1 from flows where account_id = ? and id != ? limit 1",
                            [flow["account_id"], flow["id"]]).fetchone()
    if row and row[0] == "provisional" and not others:
        accounts.release_provisional(ctx, flow["account_id"])
        audit.record(ctx, "registration.provisional_abandoned", f"account:{flow['account_id']}", "ok",
                     "person chose to link an existing account instead", flow=flow["id"])


@ids_checked
def complete(ctx, flow_id: str, confirmed: bool) -> int:
    """Step 4 「ベネアカウントの紐づけを完了する」: link the member record to the account."""
    flow = flows.get(ctx, flow_id, kinds=(KIND,), states=("link_authenticated",))
    if not confirmed:
        raise ValidationError("error.confirm_required", field="confirm")
    now = ctx.now()
    account_id = flow["account_id"]
    with ctx.tx() as db:
        acct = db.execute("select status from accounts where id = ?", [account_id]).fetchone()
        linked = identify.linked_account(ctx, flow["member_id"])
        if linked is not None:
            audit.record(ctx, "link.complete", f"member:{flow['member_id']}", "refused",
                         "member linked meanwhile", flow=flow_id, account=linked)
            error = BeneError("error.member_already_linked", staff=f"member record linked to account {linked} meanwhile")
        elif not acct or acct[0] != "active":
            audit.record(ctx, "link.complete", f"account:{account_id}", "refused",
                         f"account {acct[0] if acct else 'gone'}", flow=flow_id)
            error = BeneError("error.flow_state", staff="the account is no longer active")
        else:
            error = None
            db["account_members"].insert({"member_id": flow["member_id"], "account_id": account_id, "linked_at": now})
            flows.update(ctx, flow_id, state="completed", expires_at=now)
            audit.record(ctx, "link.complete", f"account:{account_id}", "ok", member=flow["member_id"], flow=flow_id)
    if error:
        raise error
    return account_id
