"""The three "I forgot ..." procedures (SPEC §3.4), throttled per terminal and audited.

- ベネアカウントが不明 `forgot_login_id`: 団体ID + 認証キー1・2 (step 1's identification and
  throttle) → the login ID masked for the screen, the full ID sent to it (at most 5 an hour,
  silently: the screen is the same at every count).
- パスワードが不明 `start_reset` → `check_reset_code` → `set_new_password`: the same answer
  whether or not the login ID exists, at every count. A flow and a code row are made either
  way and go through the same state machine (hourly cap, resend interval, expiry, wrong
  entries); without an account the code is never sent and no six digits match it. Wrong
  codes count against the terminal.
- 認証キーが不明 `forgot_keys`: 団体ID, name in kana, birth date → the keys go to the member's
  e-mail on file, never to the screen; the same (empty) answer whether or not a member
  matched. Every request counts against the terminal, which therefore says nothing either.
"""

from __future__ import annotations

from bene_tui.core.errors import BeneError, Throttled
from bene_tui.core.i18n import t
from . import audit, flows, identify, outbox, passwords, throttle, verification
from .normalize import clean, clean_date, clean_kana, compact, ids_checked, login_id as parse_login_id, login_key, mask

RESET_KIND = "password_reset"
RESET_PURPOSE = "password_reset"
RESET_TTL = 3600  # the whole procedure; each code lives rules.code_ttl


def _notices_sent(ctx, recipient: str, purpose: str) -> int:
    return ctx.db.execute("select count(*) from outbox where recipient = ? and purpose = ? and created_at > ?",
                          [recipient, purpose, ctx.now() - 3600]).fetchone()[0]


# -- ベネアカウントが不明 --------------------------------------------------------------------------

@ids_checked
def forgot_login_id(ctx, group_id: str, key1: str, key2: str, lang: str | None = None) -> dict:
    """{masked, channel}: the login ID of the account holding this member record, sent to it in full."""
    lang = lang or ctx.lang
    member = identify.identify(ctx, group_id, key1, key2, action="recovery.forgot_id")
    subject = f"member:{member['id']}"
    error, result = None, None
    with ctx.tx():
        row = ctx.db.execute(
            "select a.id, a.login_id from accounts a join account_members am on am.account_id = a.id "
            "where am.member_id = ? and a.status = 'active'", [member["id"]]).fetchone()
        if row is None:
            audit.record(ctx, "recovery.forgot_id", subject, "refused", "member record has no account")
            error = BeneError("recovery.no_account", staff="no Bene Account holds this member record")
        elif _notices_sent(ctx, row[1], "login_id_notice") >= ctx.rules.code_sends_per_hour:
            # Capped silently: the screen answers the same at every count (a refusal is only audited).
            audit.record(ctx, "recovery.forgot_id", f"account:{row[0]}", "refused", "too many notices this hour",
                         member=member["id"])
            result = {"masked": mask(row[1]), "channel": outbox.channel_for(row[1])}
        else:
            message = outbox.send(ctx, row[1], "login_id_notice", lang)
            audit.record(ctx, "recovery.forgot_id", f"account:{row[0]}", "ok", member=member["id"],
                         message_id=message["id"], channel=message["channel"])
            result = {"masked": mask(row[1]), "channel": message["channel"]}
    if error:
        raise error
    return result


# -- パスワードが不明 ---------------------------------------------------------------------------

def _reset_key(ctx) -> str:
    return throttle.terminal_key(ctx, "password_reset")


@ids_checked
def start_reset(ctx, login_id: str, lang: str | None = None) -> dict:
    """{flow_id, shown, channel, recipient}: the same screen whether or not an account has this login ID.

    `shown` is the login ID as typed (canonical form), `channel` its kind (email or sms: from what
    was typed, so it tells nothing about an account); `recipient` is where a code went, for
    the kiosk's outbox scope only (never shown: its spelling could differ from what was typed).
    """
    lang = lang or ctx.lang
    lid = parse_login_id(login_id)
    throttle.check(ctx, _reset_key(ctx))
    now = ctx.now()
    with ctx.tx() as db:
        rows = list(db.query("select id, login_id from accounts where login_key = ? and status = 'active'", [lid.key]))
        acct = rows[0] if rows else None
        flow = flows.create(ctx, RESET_KIND, "code_sent", RESET_TTL, login_id=lid.value,
                            account_id=acct["id"] if acct else None, data={"sent_at": now})
        subject = f"account:{acct['id']}" if acct else f"login:{lid.key}"
        reason = _issue_reset_code(ctx, flow["id"], acct, lid.key, lang)
        audit.record(ctx, "recovery.reset_requested", subject, "ok" if reason is None else "refused", reason,
                     flow=flow["id"])
    return {"flow_id": flow["id"], "shown": lid.value, "channel": lid.channel, "recipient": acct["login_id"] if acct else lid.value}


def _issue_reset_code(ctx, flow_id: str, acct: dict | None, key: str, lang: str) -> str | None:
    """A code for the flow (inside the caller's transaction), sent only if there is an account.

    Without one, the code row is made all the same (verification.issue(send=False)), under the
    same limits, counted against the login key (every spelling of the ID, as an account's one
    login ID counts them): later answers cannot tell them apart.
    A refusal is only audited: the answer stays the same.
    """
    try:
        verification.issue(ctx, flow_id, RESET_PURPOSE, acct["login_id"] if acct else key, lang, send=bool(acct))
    except Throttled as refused:
        return f"no code sent: {refused.staff}"
    return None if acct else "unknown login ID: no code sent"


@ids_checked
def resend_reset_code(ctx, flow_id: str, lang: str | None = None) -> None:
    """「認証コードを再送信する」: the resend interval is the flow's own, so it is the same for everyone."""
    lang = lang or ctx.lang
    flow = flows.get(ctx, flow_id, kinds=(RESET_KIND,), states=("code_sent",))
    now, data = ctx.now(), flow["data"]
    waited = now - data.get("sent_at", 0)
    if waited < ctx.rules.code_resend_after:
        raise Throttled("error.resend_too_early", seconds=int(ctx.rules.code_resend_after - waited) + 1,
                        staff="resend within the minimum interval")
    with ctx.tx() as db:
        acct = db["accounts"].get(flow["account_id"]) if flow["account_id"] else None
        reason = _issue_reset_code(ctx, flow_id, acct, login_key(flow["login_id"]), lang)
        flows.update(ctx, flow_id, data={"sent_at": now})
        audit.record(ctx, "recovery.reset_resent", f"flow:{flow_id}", "ok" if reason is None else "refused", reason)


@ids_checked
def check_reset_code(ctx, flow_id: str, code: str) -> bool:
    """The code from the message. Wrong entries count per code (5 void it) and per terminal."""
    flow = flows.get(ctx, flow_id, kinds=(RESET_KIND,), states=("code_sent", "code_verified"))
    throttle.check(ctx, _reset_key(ctx))

    def verified() -> None:  # in the code's own transaction: a kill cannot split them
        flows.update(ctx, flow_id, state="code_verified")
        audit.record(ctx, "recovery.reset_code_ok", f"account:{flow['account_id']}", "ok", flow=flow_id)

    try:  # the same state machine with or without an account: a code that was never sent never matches
        verification.check(ctx, flow_id, RESET_PURPOSE, code, on_success=verified)
    except BeneError as error:
        if error.key in verification.WRONG_ENTRY:  # guesses; an expired code is not one
            with ctx.tx():
                throttle.fail(ctx, _reset_key(ctx), ctx.rules.step1_free_failures, ctx.rules.step1_wait)
        raise
    return True


@ids_checked
def set_new_password(ctx, flow_id: str, password: str, lang: str | None = None) -> None:
    """The new password (registration's policy). The old one stops working, lockout is cleared, a notice is sent.

    Slow (hashes): call from a worker thread.
    """
    lang = lang or ctx.lang
    flow = flows.get(ctx, flow_id, kinds=(RESET_KIND,), states=("code_verified",))
    acct = ctx.db["accounts"].get(flow["account_id"])
    member = ctx.db.execute(
        "select m.name, m.birth_date from members m join account_members am on am.member_id = m.id "
        "where am.account_id = ? limit 1", [acct["id"]]).fetchone()
    passwords.check_policy(password, ctx.rules, acct["login_id"], tuple(x for x in (member or ()) if x))
    hashed = passwords.hash_password(password, ctx.rules)
    now = ctx.now()
    with ctx.tx() as db:
        flows.get(ctx, flow_id, kinds=(RESET_KIND,), states=("code_verified",))  # not finished by a double press
        db["accounts"].update(acct["id"], {"password_hash": hashed, "failed_logins": 0, "first_failed_at": None,
                                           "last_failed_at": None, "locked_until": None})
        # Any other reset in progress for this account is over.
        db.execute("update flows set state = 'superseded', expires_at = ? where kind = ? and account_id = ? "
                   "and id != ? and state in ('code_sent', 'code_verified')", [now, RESET_KIND, acct["id"], flow_id])
        flows.update(ctx, flow_id, state="completed", expires_at=now)
        message = outbox.send(ctx, acct["login_id"], "notice", lang, flow_id=flow_id,
                              title=t(lang, "recovery.notice_title"), text=t(lang, "recovery.notice_text"))
        audit.record(ctx, "recovery.password_reset", f"account:{acct['id']}", "ok",
                     "password replaced; lockout cleared", flow=flow_id, message_id=message["id"])


# -- 認証キーが不明 ----------------------------------------------------------------------------

def _keys_key(ctx) -> str:
    return throttle.terminal_key(ctx, "forgot_keys")


@ids_checked
def forgot_keys(ctx, group_id: str, kana: str, birth_date: str, lang: str | None = None) -> None:
    """Send the auth keys to the e-mail on file of the member(s) matching; never return them."""
    lang = lang or ctx.lang
    gid = clean(group_id, "group_id", max_len=32).upper()
    kana_c = compact(clean_kana(kana, "kana"))
    birth = clean_date(birth_date, "birth_date")
    key = _keys_key(ctx)
    throttle.check(ctx, key)
    with ctx.tx() as db:
        # Every request counts, matched or not: the throttle itself must not tell them apart.
        failures = throttle.fail(ctx, key, ctx.rules.step1_free_failures, ctx.rules.step1_wait)
        matches = [m for m in db.query("select * from members where group_id = ? and birth_date = ?", [gid, birth])
                   if compact(m["kana"] or "") == kana_c]
        if not matches:
            audit.record(ctx, "recovery.forgot_keys", f"terminal:{ctx.terminal}", "refused", "no member matched",
                         group_id=gid, requests=failures)
        org = identify.organisation(ctx, gid) if matches else None
        for member in matches:
            subject = f"member:{member['id']}"
            email = member["email_on_file"]
            if not email:
                audit.record(ctx, "recovery.forgot_keys", subject, "refused", "no e-mail on file")
                continue
            if _notices_sent(ctx, email, "auth_key_notice") >= ctx.rules.code_sends_per_hour:
                audit.record(ctx, "recovery.forgot_keys", subject, "refused", "too many notices this hour")
                continue
            en = lang == "en"
            labels = [(org.get(f"key{n}_label_en") if en else None) or org.get(f"key{n}_label")
                      or t(lang, f"reg.key{n}") for n in (1, 2)]
            message = outbox.send(ctx, email, "auth_key_notice", lang, name=member["name"], group_id=gid,
                                  org_name=org["name"], key1_label=labels[0], key1=member["auth_key_1"],
                                  key2_label=labels[1], key2=member["auth_key_2"])
            audit.record(ctx, "recovery.forgot_keys", subject, "ok", "keys sent to the e-mail on file",
                         message_id=message["id"])
