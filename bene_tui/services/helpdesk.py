"""The helpdesk's services (SPEC §1, issue 5): find a person, see their timeline, act for them.

A *person* is one of:
- `account:ID` — a Bene Account (active, provisional, removed; member or family) with the
  member records it holds (a provisional account's member comes from its flow);
- `member:ID` — a member record that no account holds yet;
- `invitation:ID` — a family member invited but not registered yet.

`search` finds people by login ID (any typed form: full width, 090-…, +81…, any case),
by name in kanji or kana (partial, spacing ignored, hiragana = katakana) or by 団体ID.
`person` gives what the helpdesk sees: details, the actions that apply now, and the
timeline — flows, audit rows and outbox messages in one list, newest first. Codes and
links are never part of it: the caller's phone or mailbox is the only place for them.

Every action (`resend_code`, `unlock_account`, `cancel_invitation`, `end_provisional`)
runs as `operator:<name>`, writes its audit row in the transaction of its change and
audits a refusal too. Pure Python: no textual import.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata

from bene_tui.core.clock import fmt_time
from bene_tui.core.errors import BeneError, ValidationError
from . import accounts, audit, flows, verification
from .family import cancel as family_cancel, resend as family_resend
from .normalize import clean, compact, display_login_id, ids_checked, login_id as parse_login_id, login_key
from bene_tui.store import scan_budget

SEARCH_LIMIT = 100
# How long the partial-match scans (a name or login ID fragment anywhere in the text) may read
# before the search answers with what it has. Prefixes go through the indexes whatever the size;
# a fragment in the middle of a name reads the distinct names (member_names), a login ID fragment
# the accounts' login keys (read whole on SQLite: seconds at millions).
SCAN_SECONDS = 0.25
TIMELINE_LIMIT = 500
# A live flow whose code the helpdesk may send again: (kind, state) → the code's purpose.
RESENDABLE = {
    ("enrol", "provisional"): "verification",
    ("password_reset", "code_sent"): "password_reset",
}
CANCELLABLE = ("approval_pending", "invited", "expired")
ENDED = accounts.RELEASED  # login_key of a freed provisional registration
_KATAKANA = re.compile(r"[\u30a0-\u30ff]+")
_GROUP_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{2,31}")


# -- the operator ---------------------------------------------------------------------------

def configured_operator() -> str | None:
    """BENE_TUI_OPERATOR: set for a helpdesk terminal, the operator is not asked."""
    return os.environ.get("BENE_TUI_OPERATOR", "").strip() or None



def operator_name(value: str) -> str:
    """A clean operator name (it goes into the audit trail as `operator:<name>`)."""
    name = clean(value, "operator", max_len=40)
    if ":" in name:
        raise ValidationError("hd.error.operator", field="operator")
    return name


def as_operator(ctx, operator: str):
    return ctx.as_actor(f"operator:{operator_name(operator)}")


# -- search ----------------------------------------------------------------------------------

def _katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _squeezed(column: str) -> str:
    """A name column without its spaces (half or full width), as fragments are matched against it."""
    return f"replace(replace({column}, ' ', ''), '　', '')"


def _glob(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _name_prefixes(text: str) -> list[str]:
    """GLOB patterns for a name typed without its space: 山田太郎 → 山田太郎*, 山 田太郎*, 山田 太郎*, ...
    (names are stored with one space between family and given name; GLOB on a prefix uses the index)."""
    head = text[:20]
    return [_glob(text) + "*"] + [f"{_glob(head[:k])} {_glob(head[k:])}*" for k in range(1, len(head))]


class SearchResult(list):
    """The rows found; `cut_short` when a partial-match scan ran out of time (SCAN_SECONDS)."""

    cut_short = False


def search(ctx, query: str, limit: int = SEARCH_LIMIT) -> SearchResult:
    """People matching the query, accounts first. Each row: ref, kind, names, login ID, state.

    Exact login IDs, 団体IDs and name prefixes (family name, or the full name with or without its
    space) are found through indexes at any roster size; a fragment inside a name is looked for
    among the roster's distinct names (member_names), then its members by those names, and one
    inside a login ID in the accounts: scans (through trigram indexes on PostgreSQL) that stop
    after SCAN_SECONDS (then `cut_short` is set)."""
    q = clean(query, "query", max_len=100)
    folded = unicodedata.normalize("NFKC", q)
    squeezed = compact(folded)
    db = ctx.db
    accounts: list[int] = []
    members: list[int] = []
    invitations: list[int] = []

    def add(target: list[int], rows) -> None:
        for row in rows:
            if row[0] not in target:
                target.append(row[0])

    # A login ID in any typed form.
    try:
        lid = parse_login_id(folded, field="query")
    except BeneError:
        lid = None
    if lid is not None:
        add(accounts, db.execute("select id from accounts where login_key = ?", [lid.key]))
        add(invitations, db.execute("select id from invitations where contact = ? collate nocase and "
                                    "family_account_id is null", [lid.value]))
    # A 団体ID: its roster.
    gid = squeezed.upper()
    is_group = bool(_GROUP_ID.fullmatch(gid)) and db.execute(
        "select 1 from organisations where group_id = ?", [gid]).fetchone() is not None
    if is_group:
        add(members, db.execute("select id from members where group_id = ? order by id limit ?", [gid, limit]))
    # A name, in kanji or kana, whatever the spacing: first its prefixes, through the indexes.
    kana = _katakana(squeezed)
    is_kana = bool(_KATAKANA.fullmatch(kana))
    by_name = bool(squeezed) and not is_kana and not is_group and (not squeezed.isascii() or lid is None)
    name_col = "kana" if is_kana else "name" if by_name else None
    name_text = kana if is_kana else squeezed
    if name_col:
        for pattern in _name_prefixes(name_text):
            if len(members) >= limit:
                break
            add(members, db.execute(f"select id from members where {name_col} glob ? limit ?", [pattern, limit]))
        members.sort()

    # Anywhere in a login ID or a name: scans, within the budget (through trigram indexes on
    # PostgreSQL). The first `limit` rows the database comes to, put in id order here: an
    # `order by id` would let it walk the whole id index looking for a fragment nobody has.
    with scan_budget(db, SCAN_SECONDS) as budget:
        # Part of a login ID: an e-mail fragment, or the last digits of a mobile number.
        # Invitees not registered yet are found the same way, by their contact.
        digits = re.sub(r"[-\s()+]", "", folded)
        if digits.isdigit() and len(digits) >= 4:
            frag = digits[1:] if digits.startswith("0") else digits
            add(accounts, sorted(budget.scan("select id from accounts where login_key like ? escape '\\' and "
                                             "login_key like '+%' limit ?", [_like(frag), limit])))
            add(invitations, budget.scan("select id from invitations where contact like ? escape '\\' and contact "
                                         "like '+%' and family_account_id is null order by id desc limit ?",
                                         [_like(frag), limit]))
        elif len(squeezed) >= 3 and re.fullmatch(r"[\w.+@-]+", squeezed, re.ASCII):
            add(accounts, sorted(budget.scan("select id from accounts where login_key like ? escape '\\' and "
                                             "login_key not like 'ended:%' limit ?", [_like(squeezed.casefold()), limit])))
            add(invitations, budget.scan("select id from invitations where lower(contact) like ? escape '\\' and "
                                         "family_account_id is null order by id desc limit ?",
                                         [_like(squeezed.casefold()), limit]))
        # A name, partial, whatever the spacing: a kana query reads only the kana, and a 団体ID or
        # login ID no names at all. Invitations are few. Family accounts have no member record:
        # their name is their invitation's.
        if name_col:
            text = _like(name_text)
            name_sql = f"{_squeezed(name_col)} like ? escape '\\'"
            if len(members) < limit:
                # Among the roster's distinct names (member_names: a roster repeats its names a lot),
                # then the members by the names found, through idx_members_name / idx_members_kana.
                # Each name is someone's, so `limit` names are enough for `limit` members.
                names = [r[0] for r in budget.scan(
                    f"select value from member_names where col = ? and {_squeezed('value')} like ? escape '\\' "
                    "limit ?", [name_col, text, limit])]
                if names:
                    add(members, sorted(budget.scan(f"select id from members where {name_col} in ({_marks(names)}) "
                                                    "limit ?", [*names, limit])))
            add(invitations, budget.scan(f"select id from invitations where {name_sql} and family_account_id is null "
                                         "order by id desc limit ?", [text, limit]))
            add(accounts, budget.scan(f"select family_account_id from invitations where {name_sql} "
                                      "and family_account_id is not null limit ?", [text, limit]))
    rows = _result_rows(ctx, accounts, members, invitations, limit)
    rows.cut_short = budget.cut
    return rows


def _result_rows(ctx, accounts: list[int], members: list[int], invitations: list[int], limit: int) -> SearchResult:
    # Members held by an account, or waiting in a provisional registration, show as that account.
    # A hundred members found are read in three statements, not three hundred: each is a round
    # trip to a PostgreSQL server.
    held = _accounts_of_members(ctx, members)
    for member_id in list(members):
        if member_id in held:
            members.remove(member_id)
            if held[member_id] not in accounts:
                accounts.append(held[member_id])
    rows = [_account_row(ctx, a) for a in accounts]
    member_rows = _member_rows(ctx, members)
    rows += [member_rows.get(m) for m in members]
    rows += [_invitation_row(ctx, i) for i in invitations]
    return SearchResult([r for r in rows if r is not None][:limit])


def _marks(values: list) -> str:
    return ", ".join("?" * len(values))


def _accounts_of_members(ctx, member_ids: list[int]) -> dict[int, int]:
    """member id → the account holding it, or the provisional registration it waits in (the newest)."""
    if not member_ids:
        return {}
    held = dict(ctx.db.execute(f"select member_id, account_id from account_members where member_id in "
                               f"({_marks(member_ids)})", member_ids).fetchall())
    waiting = [m for m in member_ids if m not in held]
    if waiting:
        for member_id, account_id in ctx.db.execute(
                "select f.member_id, a.id from flows f join accounts a on a.id = f.account_id where f.member_id in "
                f"({_marks(waiting)}) and a.status = 'provisional' order by f.updated_at", waiting).fetchall():
            held[member_id] = account_id  # the newest flow last
    return held


def _members_of_account(ctx, account: dict) -> list[dict]:
    rows = list(ctx.db.query(
        "select m.*, o.name as org_name from members m join account_members am on am.member_id = m.id "
        "join organisations o on o.group_id = m.group_id where am.account_id = ? order by am.linked_at, m.id",
        [account["id"]]))
    if not rows and account["status"] == "provisional":
        rows = list(ctx.db.query(
            "select distinct m.*, o.name as org_name from members m join flows f on f.member_id = m.id "
            "join organisations o on o.group_id = m.group_id where f.account_id = ? and f.updated_at >= ? order by m.id",
            [account["id"], account["created_at"] or 0]))
    return rows


def _family_invitation(ctx, account_id: int) -> dict | None:
    rows = list(ctx.db.query("select * from invitations where family_account_id = ? order by id desc limit 1",
                             [account_id]))
    return rows[0] if rows else None


def _account_row(ctx, account_id: int) -> dict | None:
    rows = list(ctx.db.query("select * from accounts where id = ?", [account_id]))
    if not rows:
        return None
    acct = rows[0]
    members = _members_of_account(ctx, acct)
    inv = _family_invitation(ctx, account_id) if acct["kind"] == "family" else None
    names = [m["name"] for m in members] or ([inv["name"]] if inv else [])
    kanas = [m["kana"] or "" for m in members] or ([inv["kana"] or ""] if inv else [])
    return {
        "ref": f"account:{account_id}", "kind": "account", "account_kind": acct["kind"],
        "status": _account_status(ctx, acct), "login_id": acct["login_id"],
        "name": " / ".join(dict.fromkeys(names)), "kana": " / ".join(dict.fromkeys(k for k in kanas if k)),
        "groups": [m["group_id"] for m in members], "orgs": [m["org_name"] for m in members],
    }


def _member_rows(ctx, member_ids: list[int]) -> dict[int, dict]:
    if not member_ids:
        return {}
    rows = ctx.db.query(f"select m.*, o.name as org_name from members m join organisations o "
                        f"on o.group_id = m.group_id where m.id in ({_marks(member_ids)})", member_ids)
    return {m["id"]: {"ref": f"member:{m['id']}", "kind": "member", "account_kind": None, "status": "no_account",
                      "login_id": None, "name": m["name"], "kana": m["kana"] or "", "groups": [m["group_id"]],
                      "orgs": [m["org_name"]]} for m in rows}


def _invitation_row(ctx, invitation_id: int) -> dict | None:
    rows = list(ctx.db.query("select * from invitations where id = ?", [invitation_id]))
    if not rows:
        return None
    inv = rows[0]
    return {"ref": f"invitation:{invitation_id}", "kind": "invitation", "account_kind": "family",
            "status": "invitation_" + _invitation_state(ctx, inv), "login_id": inv["contact"],
            "name": inv["name"], "kana": inv["kana"] or "", "groups": [], "orgs": []}


def _account_status(ctx, acct: dict) -> str:
    """provisional | provisional_expired | active | locked | removed."""
    now = ctx.now()
    if acct["status"] == "provisional":
        return "provisional" if (acct["expires_at"] or 0) > now else "provisional_expired"
    if acct["status"] == "active" and acct["locked_until"] and acct["locked_until"] > now:
        return "locked"
    return acct["status"]


def _invitation_state(ctx, inv: dict) -> str:
    if inv["state"] in ("approval_pending", "invited") and (inv["expires_at"] or 0) <= ctx.now():
        return "expired"
    return inv["state"]


# -- a person: details, actions, timeline ------------------------------------------------------

def _parse_ref(ref: str) -> tuple[str, int]:
    kind, _, raw = str(ref).partition(":")
    if kind not in ("account", "member", "invitation") or not raw.isdigit():
        raise BeneError("hd.error.no_person", staff=f"bad person reference {ref!r}")
    return kind, int(raw)


@ids_checked
def person(ctx, ref: str) -> dict:
    """Everything the helpdesk shows about one person."""
    kind, pid = _parse_ref(ref)
    db, now = ctx.db, ctx.now()
    account, members, invitations = None, [], []
    if kind == "account":
        rows = list(db.query("select * from accounts where id = ?", [pid]))
        if not rows:
            raise BeneError("hd.error.no_person", staff=f"no account {pid} (ended or never existed)")
        account = rows[0]
        members = _members_of_account(ctx, account)
        invitations = list(db.query("select * from invitations where account_id = ? or family_account_id = ? "
                                    "order by id desc", [pid, pid]))
    elif kind == "member":
        members = list(db.query("select m.*, o.name as org_name from members m join organisations o "
                                "on o.group_id = m.group_id where m.id = ?", [pid]))
        if not members:
            raise BeneError("hd.error.no_person", staff=f"no member record {pid}")
    else:
        invitations = list(db.query("select * from invitations where id = ?", [pid]))
        if not invitations:
            raise BeneError("hd.error.no_person", staff=f"no invitation {pid}")
    person_flows = _flows(ctx, account, members)
    summary = {
        "ref": f"{kind}:{pid}", "kind": kind,
        "account": None if account is None else {
            "id": account["id"], "login_id": account["login_id"], "kind": account["kind"],
            "status": _account_status(ctx, account), "created_at": account["created_at"],
            "activated_at": account["activated_at"], "expires_at": account["expires_at"],
            "failed_logins": account["failed_logins"] or 0, "last_failed_at": account["last_failed_at"],
            "locked_until": account["locked_until"] if (account["locked_until"] or 0) > now else None,
            "family_of": account["family_of"],
        },
        "members": [{"id": m["id"], "name": m["name"], "kana": m["kana"] or "", "group_id": m["group_id"],
                     "org_name": m["org_name"], "birth_date": m["birth_date"],
                     "email_on_file": m["email_on_file"]} for m in members],
        "invitations": [{"id": i["id"], "name": i["name"], "kana": i["kana"] or "", "contact": i["contact"],
                         "relationship": i["relationship"], "state": _invitation_state(ctx, i),
                         "attempts": i["attempts"] or 0, "expires_at": i["expires_at"],
                         "created_at": i["created_at"], "inviter": i["account_id"],
                         "inviter_login_id": _login_id_of(ctx, i["account_id"]),
                         "family_account_id": i["family_account_id"], "links": _links_of(ctx, i)}
                        for i in invitations],
        "flows": [{"id": f["id"], "kind": f["kind"], "state": f["state"], "login_id": f["login_id"],
                   "expires_at": f["expires_at"], "live": (f["expires_at"] or 0) > now} for f in person_flows],
    }
    summary["actions"] = _actions(ctx, summary, person_flows)
    summary["timeline"] = _timeline(ctx, account, members, invitations, person_flows)
    return summary


def _login_id_of(ctx, account_id: int | None) -> str | None:
    row = ctx.db.execute("select login_id from accounts where id = ?", [account_id]).fetchone() if account_id else None
    return row[0] if row else None


def _links_of(ctx, inv: dict) -> list[dict]:
    """Every link the invitation sent, newest first, with what became of it: live, used, replaced
    (a newer link voided it), expired, or dead with its invitation (locked after 5 wrong birth
    dates, cancelled, removed). Read through the tokens' invitation index."""
    now, out = ctx.now(), []
    ended = inv["state"] in ("locked", "cancelled", "removed")
    for t in ctx.db.query("select purpose, created_at, expires_at, used_at, voided_at from tokens "
                          "where invitation_id = ? order by id desc", [inv["id"]]):
        if t["used_at"]:
            state = "used"
        elif t["voided_at"] and (out or not ended):
            state = "replaced"  # a newer link followed it (a lock or cancel voids the last link: not replaced)
        elif ended:
            state = inv["state"]
        elif (t["expires_at"] or 0) <= now:
            state = "expired"
        else:
            state = "live"
        out.append({"purpose": "approve" if t["purpose"].endswith("approve") else "invite",
                    "sent_at": t["created_at"], "expires_at": t["expires_at"], "state": state})
    return out


def _flows(ctx, account: dict | None, members: list[dict]) -> list[dict]:
    where, args = [], []
    if account is not None:  # a login ID's flows for an unknown account (e.g. a reset) too, not another's
        # An account id freed by a deleted provisional registration may be reused: nothing older counts.
        where += ["(account_id = ? and updated_at >= ?)", "(account_id is null and login_id = ? collate nocase)"]
        args += [account["id"], account["created_at"] or 0, account["login_id"]]
    if members:
        where.append(f"member_id in ({','.join('?' * len(members))})")
        args += [m["id"] for m in members]
    if not where:
        return []
    return list(ctx.db.query(f"select * from flows where {' or '.join(where)} order by updated_at desc limit ?",
                             [*args, TIMELINE_LIMIT]))


def _actions(ctx, summary: dict, person_flows: list[dict]) -> list[dict]:
    """What the helpdesk may do for this person now: [{action, target, label}]."""
    now, out = ctx.now(), []
    for f in person_flows:
        if (f["kind"], f["state"]) in RESENDABLE and (f["expires_at"] or 0) > now and f["login_id"]:
            if f["kind"] == "password_reset" and not f["account_id"]:
                continue  # a reset for an unknown login ID: there is nobody to send a code to
            out.append({"action": "resend_code", "target": f["id"], "label": display_login_id(f["login_id"]),
                        "purpose": RESENDABLE[(f["kind"], f["state"])]})
    acct = summary["account"]
    if acct and acct["status"] in ("active", "locked") and (acct["failed_logins"] or acct["locked_until"]):
        out.append({"action": "unlock", "target": acct["id"], "label": display_login_id(acct["login_id"])})
    for inv in summary["invitations"]:
        if inv["state"] in CANCELLABLE and (acct is None or inv["inviter"] == acct["id"]):
            # Resend beside cancel: a new link, the old one void (family.resend's rules apply).
            out.append({"action": "resend_invitation", "target": inv["id"], "label": inv["name"]})
            out.append({"action": "cancel_invitation", "target": inv["id"], "label": inv["name"]})
    if acct and acct["status"] in ("provisional", "provisional_expired"):
        out.append({"action": "end_provisional", "target": acct["id"], "label": display_login_id(acct["login_id"])})
    return out


def _timeline(ctx, account, members, invitations, person_flows) -> list[dict]:
    """Flows, audit rows and outbox messages about this person, newest first, as facts the screen
    puts into words (never English text): every entry has at, source, id, actor and outcome;
    a flow its kind, state, dates, login ID and terminal; an audit row its action, subject, staff
    reason (the services' English record), detail and the message it sent with how its delivery
    went; an outbox row its channel, purpose, recipient and delivery."""
    db = ctx.db
    subjects = {f"flow:{f['id']}" for f in person_flows}
    subjects |= {f"member:{m['id']}" for m in members}
    subjects |= {f"invitation:{i['id']}" for i in invitations}
    subjects |= {f"account:{f['account_id']}" for f in person_flows if f["account_id"]}
    recipients = {m["email_on_file"] for m in members if m["email_on_file"]}
    recipients |= {i["contact"] for i in invitations if i["contact"]}
    if account is not None:
        subjects |= {f"account:{account['id']}", f"login:{login_key(account['login_id'])}"}
        recipients.add(account["login_id"])
    elif invitations and not members:  # an invitee: what was typed as their login ID
        subjects |= {f"login:{login_key(i['contact'])}" for i in invitations if i["contact"]}
    entries: list[dict] = []
    for f in person_flows:
        entries.append({
            # A flow stands at its start; its state now is in the entry (its changes are audit rows).
            "at": f["created_at"], "source": "flow", "id": f["id"], "rank": 0, "actor": "",
            "outcome": "live" if (f["expires_at"] or 0) > ctx.now() else "ended",
            "kind": f["kind"], "state": f["state"], "updated_at": f["updated_at"], "expires_at": f["expires_at"],
            "login_id": display_login_id(f["login_id"]) if f["login_id"] else None, "terminal": f["terminal"],
        })
    if subjects:
        marks = ",".join("?" * len(subjects))
        # The account's own rows start with it (see _flows: an id may have been someone's before).
        own, since = (f"account:{account['id']}", account["created_at"] or 0) if account is not None else ("", 0)
        for a in db.query(f"select * from audit where subject in ({marks}) and (subject != ? or at >= ?) "
                          "order by id desc limit ?", [*sorted(subjects), own, since, TIMELINE_LIMIT]):
            detail = json.loads(a["detail"]) if a["detail"] else {}
            entries.append({"at": a["at"], "source": "audit", "id": a["id"], "rank": 1, "actor": a["actor"],
                            "outcome": a["outcome"], "action": a["action"], "subject": a["subject"],
                            "reason": a["reason"], "detail": detail, "terminal": a["terminal"],
                            "message": _message(ctx, detail.get("message_id"))})
    flow_ids = [f["id"] for f in person_flows]
    where, args = [], []
    if recipients:
        where.append(f"(recipient in ({','.join('?' * len(recipients))}) and (recipient != ? or created_at >= ?))")
        args += [*sorted(recipients), *((account["login_id"], account["created_at"] or 0) if account else ("", 0))]
    if flow_ids:
        where.append(f"flow_id in ({','.join('?' * len(flow_ids))})")
        args += flow_ids
    if where:
        for o in db.query(f"select {_MESSAGE_FACTS} from outbox "
                          f"where {' or '.join(where)} order by id desc limit ?", [*args, TIMELINE_LIMIT]):
            # Never the code or the link: those are for the person's own phone or mailbox.
            entries.append({"at": o["created_at"], "source": "outbox", "id": o["id"], "rank": 2, "actor": "",
                            "outcome": o["status"], **_delivery(o)})
    entries.sort(key=lambda e: (e["at"] or 0, e["rank"], str(e["id"]).zfill(24)), reverse=True)
    return entries[:TIMELINE_LIMIT]


# What the helpdesk may know of a message: never its code, link or body.
_MESSAGE_FACTS = "id, channel, recipient, purpose, status, created_at, deliver_at"


def _delivery(o: dict) -> dict:
    return {"channel": o["channel"], "purpose": o["purpose"], "recipient": display_login_id(o["recipient"]),
            "status": o["status"], "deliver_at": o["deliver_at"]}


def _message(ctx, message_id) -> dict | None:
    """The message an audited step sent, with how its delivery stands now (sent, queued, failed)."""
    if not isinstance(message_id, int):
        return None
    row = ctx.db.execute(f"select {_MESSAGE_FACTS} from outbox where id = ?", [message_id]).fetchone()
    return _delivery(dict(zip(_MESSAGE_FACTS.split(", "), row))) if row else None


@ids_checked
def timeline(ctx, ref: str) -> list[dict]:
    return person(ctx, ref)["timeline"]


# -- actions ------------------------------------------------------------------------------------

def _refused(op, action: str, subject: str, error: BeneError, **detail: object) -> BeneError:
    """Audit a refused action in its own transaction; hand the error back to raise."""
    with op.tx():
        audit.record(op, action, subject, "refused", error.staff or error.key, **detail)
    return error


@ids_checked
def resend_code(ctx, flow_id: str, operator: str, lang: str | None = None) -> dict:
    """Send a new code for a live provisional registration or password reset (the limits apply)."""
    op = as_operator(ctx, operator)
    subject = f"flow:{flow_id}"
    try:
        flow = flows.get(op, flow_id)
        purpose = RESENDABLE.get((flow["kind"], flow["state"]))
        if purpose is None:
            raise BeneError("hd.error.not_resendable", staff=f"flow {flow['kind']} is {flow['state']}: no code to resend")
        if not flow["login_id"] or (flow["kind"] == "password_reset" and not flow["account_id"]):
            raise BeneError("hd.error.not_resendable", staff="no account behind this flow: nobody to send to")
        found = list(ctx.db.query("select * from accounts where id = ?", [flow["account_id"]]))
        acct = found[0] if found else None
        recipient = acct["login_id"] if acct and flow["kind"] == "password_reset" else flow["login_id"]
        with op.tx():
            message = verification.issue(op, flow_id, purpose, recipient, lang or (acct or {}).get("lang") or op.lang)
            if flow["kind"] == "password_reset":  # the reset screen times its own resend button from sent_at
                flows.update(op, flow_id, data={**flow["data"], "sent_at": op.now(), "attempts": 0})
            audit.record(op, "helpdesk.resend_code", subject, "ok", purpose=purpose, message_id=message["id"],
                         channel=message["channel"], delivery=message["status"])
    except BeneError as error:
        raise _refused(op, "helpdesk.resend_code", subject, error) from None
    return message


@ids_checked
def unlock_account(ctx, account_id: int, operator: str) -> dict:
    """Clear the login failures and the lock of an account."""
    op = as_operator(ctx, operator)
    subject = f"account:{account_id}"
    with op.tx() as db:
        rows = list(db.query("select * from accounts where id = ?", [account_id]))
        if not rows:
            error = BeneError("hd.error.no_person", staff=f"no account {account_id}")
        elif not rows[0]["failed_logins"] and not rows[0]["locked_until"]:
            error = BeneError("hd.error.not_locked", staff="no login failures to clear")
        else:
            error = None
            before = rows[0]
            db["accounts"].update(account_id, {"failed_logins": 0, "first_failed_at": None,
                                               "last_failed_at": None, "locked_until": None})
            was_locked = bool(before["locked_until"] and before["locked_until"] > op.now())
            audit.record(op, "helpdesk.unlock", subject, "ok",
                         f"cleared {before['failed_logins'] or 0} failures"
                         + (f"; was locked until {fmt_time(before['locked_until'])} JST" if was_locked else ""),
                         failures=before["failed_logins"] or 0, was_locked=was_locked)
    if error:
        raise _refused(op, "helpdesk.unlock", subject, error)
    return {"account_id": account_id, "failures": before["failed_logins"] or 0, "was_locked": was_locked}


@ids_checked
def resend_invitation(ctx, invitation_id: int, operator: str, lang: str | None = None) -> dict:
    """Send the invitation's current link again (approval request, or the invitation itself): a new
    link, the old one void. The family flow's own resend keeps its rules (interval, slots, contact)."""
    op = as_operator(ctx, operator)
    subject = f"invitation:{invitation_id}"
    rows = list(ctx.db.query("select account_id from invitations where id = ?", [invitation_id]))
    try:
        if not rows:
            raise BeneError("hd.error.no_person", staff=f"no invitation {invitation_id}")
        message = family_resend(op, rows[0]["account_id"], invitation_id, lang or op.lang)
    except BeneError as error:
        raise _refused(op, "helpdesk.resend_invitation", subject, error) from None
    with op.tx():
        audit.record(op, "helpdesk.resend_invitation", subject, "ok", message_id=message["id"],
                     channel=message["channel"], delivery=message["status"])
    return message


@ids_checked
def cancel_invitation(ctx, invitation_id: int, operator: str) -> dict:
    """Cancel a family invitation: its state becomes cancelled and its links stop working."""
    op = as_operator(ctx, operator)
    subject = f"invitation:{invitation_id}"
    rows = list(ctx.db.query("select * from invitations where id = ?", [invitation_id]))
    if not rows:
        raise _refused(op, "helpdesk.cancel_invitation", subject,
                       BeneError("hd.error.no_person", staff=f"no invitation {invitation_id}"))
    inv = rows[0]
    state = _invitation_state(ctx, inv)
    if state not in CANCELLABLE:
        raise _refused(op, "helpdesk.cancel_invitation", subject,
                       BeneError("hd.error.not_cancellable", staff=f"invitation is {state}", state=state))
    with op.tx():
        try:  # the family flow's own cancel keeps its rules in one place
            family_cancel(op, inv["account_id"], invitation_id)
        except BeneError as error:
            refused = error
        else:
            refused = None
        if refused is None:
            audit.record(op, "helpdesk.cancel_invitation", subject, "ok", was=state, inviter=inv["account_id"])
    if refused is not None:
        raise _refused(op, "helpdesk.cancel_invitation", subject, refused)
    return {"invitation_id": invitation_id, "was": state}


@ids_checked
def end_provisional(ctx, account_id: int, operator: str) -> dict:
    """End a provisional registration: its flows end, its codes are void, the login ID is free again.

    The account row stays as `removed` with its login key replaced by a tombstone (`ended:<id>`):
    deleting it would let SQLite hand its id to the next account, and the audit trail's
    `account:<id>` rows would then seem to belong to someone else. Returns {member_id} of the
    person it belonged to (if known)."""
    op = as_operator(ctx, operator)
    subject = f"account:{account_id}"
    now = op.now()
    with op.tx() as db:
        rows = list(db.query("select * from accounts where id = ?", [account_id]))
        if not rows:
            error = BeneError("hd.error.no_person", staff=f"no account {account_id}")
        elif rows[0]["status"] != "provisional":
            error = BeneError("hd.error.not_provisional", staff=f"account is {rows[0]['status']}, not provisional")
        else:
            error = None
            member = db.execute("select member_id from flows where account_id = ? and member_id is not null "
                                "order by updated_at desc limit 1", [account_id]).fetchone()
            live = [r[0] for r in db.execute("select id from flows where account_id = ? and expires_at > ?",
                                             [account_id, now])]
            db.execute("update codes set voided_at = ? where used_at is null and voided_at is null and flow_id in "
                       "(select id from flows where account_id = ?)", [now, account_id])
            db.execute("update flows set state = 'ended', expires_at = ?, updated_at = ? where account_id = ? "
                       "and expires_at > ?", [now, now, account_id, now])
            accounts.release_provisional(op, account_id)
            for flow_id in live:
                audit.record(op, "helpdesk.end_provisional", f"flow:{flow_id}", "ok", "flow ended by the helpdesk",
                             account=account_id)
            audit.record(op, "helpdesk.end_provisional", subject, "ok", "provisional registration ended; login ID free",
                         member=member[0] if member else None, flows=len(live))
    if error:
        raise _refused(op, "helpdesk.end_provisional", subject, error)
    return {"member_id": member[0] if member else None}


ACTIONS = {
    "resend_code": resend_code,
    "unlock": unlock_account,
    "resend_invitation": resend_invitation,
    "cancel_invitation": cancel_invitation,
    "end_provisional": end_provisional,
}
# What cannot be undone: the person view keeps these apart from the others, after the timeline,
# so Tab from a harmless action never lands on one.
DESTRUCTIVE = frozenset({"cancel_invitation", "end_provisional"})


# -- what the caller cannot see: the outcome behind an "I forgot" answer ---------------------------

def last_audit_id(ctx) -> int:
    return ctx.db.execute("select coalesce(max(id), 0) from audit").fetchone()[0]


def recovery_notes(ctx, action: str, after_id: int) -> list[tuple[str, dict]]:
    """For the agent (helpdesk mode only): what this terminal's request really did — whether a
    record matched and where the notice went — as catalogue keys (`hd.note.*`) with their values.
    Read back from the audit rows the request wrote (after `after_id`), so the services answer the
    caller the same whatever happened."""
    notes: list[tuple[str, dict]] = []
    for row in ctx.db.query("select outcome, reason, detail from audit where id > ? and action = ? and terminal = ? "
                            "order by id", [after_id, action, ctx.terminal]):
        detail = json.loads(row["detail"]) if row["detail"] else {}
        sent = None
        if detail.get("message_id"):
            found = ctx.db.execute("select recipient, channel, status from outbox where id = ?",
                                   [detail["message_id"]]).fetchone()
            sent = {"to": display_login_id(found[0]), "channel": found[1], "status": found[2]} if found else None
        reason = row["reason"] or ""
        if sent:
            notes.append(("hd.note.sent_" + sent["status"], sent))
        elif "no member matched" in reason:
            notes.append(("hd.note.no_member", {}))
        elif "no e-mail on file" in reason:
            notes.append(("hd.note.no_email", {}))
        elif "too many notices" in reason:
            notes.append(("hd.note.capped", {}))
    return notes
