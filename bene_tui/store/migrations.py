"""The schema, as sqlite-utils migrations. Add a new @m() function for every change; never edit an applied one."""

from __future__ import annotations

from sqlite_utils import Migrations

m = Migrations("bene_tui")


@m()
def m001_world(db):
    """Organisations, services, rosters, accounts and links (SPEC §2)."""
    db["services"].create({"id": str, "name_ja": str, "name_en": str, "family_allowed": int}, pk="id")
    db["organisations"].create(
        {
            "group_id": str, "name": str,
            "key1_label": str, "key2_label": str, "key1_label_en": str, "key2_label_en": str,
            "family_enabled": int, "family_max_degree": int, "family_max_accounts": int,
            "updated_at": float,
        },
        pk="group_id",
    )
    db["org_services"].create({"group_id": str, "service_id": str}, pk=("group_id", "service_id"),
                              foreign_keys=[("group_id", "organisations"), ("service_id", "services")])
    # services: JSON list of active service ids, NULL = all of the organisation's.
    db["members"].create(
        {
            "id": int, "group_id": str, "auth_key_1": str, "auth_key_2": str,
            "name": str, "kana": str, "birth_date": str, "email_on_file": str, "services": str,
        },
        pk="id", not_null={"group_id", "auth_key_1", "auth_key_2", "name"},
        foreign_keys=[("group_id", "organisations")],
    )
    db["members"].create_index(["group_id", "auth_key_1"], unique=True)
    db["members"].create_index(["kana"])
    db["members"].create_index(["name"])
    db["members"].create_index(["group_id", "birth_date"])
    db["accounts"].create(
        {
            # login_key: the login ID folded for uniqueness (e-mail local parts compare case-blind).
            "id": int, "login_id": str, "login_key": str, "login_kind": str, "password_hash": str,
            "status": str,  # provisional | active | removed
            "kind": str,  # member | family
            "family_of": int,  # for a family account: the inviting member's account
            "lang": str, "created_at": float, "activated_at": float, "expires_at": float,
            "failed_logins": int, "first_failed_at": float, "last_failed_at": float, "locked_until": float,
        },
        pk="id", not_null={"login_id", "login_key", "status", "kind"}, defaults={"failed_logins": 0},
    )
    db["accounts"].create_index(["login_key"], unique=True)
    db["account_members"].create(
        {"member_id": int, "account_id": int, "linked_at": float}, pk="member_id",
        foreign_keys=[("member_id", "members"), ("account_id", "accounts")],
    )
    db["account_members"].create_index(["account_id"])
    db["benefits"].create({"account_id": int, "granted_at": float}, pk="account_id",
                          foreign_keys=[("account_id", "accounts")])


@m()
def m002_flows(db):
    """Flows are persisted records with state, expiry and counters; codes and tokens are keyed hashes."""
    db["flows"].create(
        {
            "id": str, "kind": str, "state": str, "terminal": str, "service_id": str,
            "member_id": int, "account_id": int, "login_id": str, "data": str,
            "created_at": float, "updated_at": float, "expires_at": float,
        },
        pk="id",
    )
    db["flows"].create_index(["login_id"])
    db["flows"].create_index(["account_id"])
    db["flows"].create_index(["member_id"])
    db["codes"].create(
        {
            "id": int, "flow_id": str, "purpose": str, "recipient": str, "code_hash": str,
            "created_at": float, "expires_at": float, "attempts": int, "used_at": float, "voided_at": float,
        },
        pk="id", defaults={"attempts": 0}, foreign_keys=[("flow_id", "flows")],
    )
    db["codes"].create_index(["flow_id"])
    db["codes"].create_index(["recipient", "created_at"])
    db["throttle"].create(
        {"key": str, "failures": int, "window_start": float, "last_failure_at": float, "blocked_until": float},
        pk="key", defaults={"failures": 0},
    )


@m()
def m003_family(db):
    db["invitations"].create(
        {
            "id": int, "account_id": int, "member_id": int,
            "name": str, "kana": str, "relationship": str, "birth_date": str,
            "contact": str, "contact_kind": str, "lang": str,
            "state": str,  # approval_pending | invited | registered | expired | cancelled | locked | removed
            "attempts": int, "family_account_id": int,
            "created_at": float, "updated_at": float, "expires_at": float,
        },
        pk="id", defaults={"attempts": 0}, foreign_keys=[("account_id", "accounts")],
    )
    db["invitations"].create_index(["account_id"])
    db["invitations"].create_index(["contact"])
    db["tokens"].create(
        {
            "id": int, "token_hash": str, "purpose": str, "invitation_id": int,
            "created_at": float, "expires_at": float, "used_at": float, "voided_at": float,
        },
        pk="id", foreign_keys=[("invitation_id", "invitations")],
    )
    db["tokens"].create_index(["token_hash"], unique=True)


@m()
def m004_outbox_audit(db):
    db["outbox"].create(
        {
            "id": int, "channel": str, "recipient": str, "sender": str, "subject": str, "body": str,
            "purpose": str, "code": str, "link": str, "status": str, "read": int,
            "created_at": float, "deliver_at": float, "flow_id": str,
        },
        pk="id", defaults={"read": 0, "status": "sent"},
    )
    db["outbox"].create_index(["recipient", "id"])
    db["audit"].create(
        {
            "id": int, "at": float, "terminal": str, "actor": str, "action": str,
            "subject": str, "outcome": str, "reason": str, "detail": str,
        },
        pk="id",
    )
    db["audit"].create_index(["subject", "id"])
    db["settings"].create({"key": str, "value": str}, pk="key")


@m()
def m_family_contact_nocase(db):
    """Pending invitations are looked up by contact case-blind (as accounts.login_key is), through an index."""
    db.execute("create index if not exists idx_invitations_contact_nocase on invitations (contact collate nocase)")


@m()
def m_outbox_recipients(db):
    """The outbox viewer's conversation list at any size (1 million messages open as fast as 100).

    `outbox_recipients` holds one row per recipient (channel, newest message id, total, unread),
    kept by triggers on `outbox`, so every writer (services, imports, tests, other terminals)
    keeps it right without knowing it exists. Late SMS still queued get a partial index.
    """
    db.execute("""create table outbox_recipients (
        recipient text primary key, channel text, last_id integer not null,
        total integer not null default 0, unread integer not null default 0)""")
    db.execute("create index idx_outbox_recipients_last on outbox_recipients (last_id)")
    db.execute("create index idx_outbox_queued on outbox (deliver_at) where status = 'queued'")
    unread = "(case when {0}.read = 0 and {0}.status = 'sent' then 1 else 0 end)"
    db.execute(f"""insert into outbox_recipients (recipient, channel, last_id, total, unread)
        select recipient, channel, max(id), count(*), sum({unread.format('outbox')})
        from outbox where recipient is not null group by recipient""")
    db.execute(f"""create trigger outbox_recipients_insert after insert on outbox when new.recipient is not null
        begin
          insert into outbox_recipients (recipient, channel, last_id, total, unread)
          values (new.recipient, new.channel, new.id, 1, {unread.format('new')})
          on conflict (recipient) do update set last_id = max(last_id, excluded.last_id), total = total + 1,
            unread = unread + excluded.unread, channel = excluded.channel;
        end""")
    db.execute(f"""create trigger outbox_recipients_state after update of read, status on outbox
        when new.recipient is not null and new.recipient is old.recipient
        begin
          update outbox_recipients set unread = unread + {unread.format('new')} - {unread.format('old')}
          where recipient = new.recipient;
        end""")
    db.execute(f"""create trigger outbox_recipients_move after update of recipient on outbox
        when new.recipient is not old.recipient
        begin
          delete from outbox_recipients where recipient in (old.recipient, new.recipient);
          insert into outbox_recipients (recipient, channel, last_id, total, unread)
            select recipient, channel, max(id), count(*), sum({unread.format('outbox')})
            from outbox where recipient in (old.recipient, new.recipient) group by recipient;
        end""")
    db.execute(f"""create trigger outbox_recipients_delete after delete on outbox when old.recipient is not null
        begin
          update outbox_recipients set total = total - 1, unread = unread - {unread.format('old')},
            last_id = coalesce((select max(id) from outbox where recipient = old.recipient), 0)
          where recipient = old.recipient;
          delete from outbox_recipients where recipient = old.recipient and total <= 0;
        end""")


_MEMBER_COLUMNS = "id, group_id, auth_key_1, auth_key_2, name, kana, birth_date, email_on_file, services"


@m(transactional=False)
def m_members_by_lookup_key(db):
    """Members stored in (団体ID, 認証キー1) order — a WITHOUT ROWID table whose key is the step-1
    lookup — so step 1 finds the whole record in one B-tree descent instead of an index and then the
    table: as fast at ten million members as at a thousand (bench/lookup_bench.py). `id` stays the
    number other tables refer to (UNIQUE); the roster import hands out new ones.

    Outside the migration transaction because the referenced table is rebuilt, which needs
    `foreign_keys` off, and that pragma cannot change inside a transaction: it runs its own, and
    skips the work if another terminal got there first.
    """
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            sql = conn.execute("select sql from sqlite_master where type = 'table' and name = 'members'").fetchone()[0]
            if "without rowid" not in sql.lower():
                conn.execute("""create table members_by_key (
                    id integer not null unique,
                    group_id text not null references organisations (group_id),
                    auth_key_1 text not null, auth_key_2 text not null, name text not null,
                    kana text, birth_date text, email_on_file text, services text,
                    primary key (group_id, auth_key_1)) without rowid""")
                conn.execute(f"insert into members_by_key ({_MEMBER_COLUMNS}) select {_MEMBER_COLUMNS} from members "
                             "order by group_id, auth_key_1")
                conn.execute("drop table members")
                conn.execute("alter table members_by_key rename to members")
                conn.execute("create index idx_members_kana on members (kana)")
                conn.execute("create index idx_members_name on members (name)")
                conn.execute("create index idx_members_group_id_birth_date on members (group_id, birth_date)")
                broken = conn.execute("pragma foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"members rebuild would break {len(broken)} references")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


@m()
def m_indexes_found_by_the_plan_test(db):
    """Three lookups that read a growing table whole (tests/test_schema.py checks every statement of
    the flows): an invitation's tokens (voided when a new link is sent; the resend interval), and,
    for the helpdesk's view of a person, the invitations they received and the messages of their flows."""
    db.execute("create index if not exists idx_tokens_invitation_id on tokens (invitation_id)")
    db.execute("create index if not exists idx_invitations_family_account_id on invitations (family_account_id)")
    db.execute("create index if not exists idx_outbox_flow_id on outbox (flow_id)")


@m()
def m_login_id_held_once_verified(db):
    """A login ID is held only by an account whose owner has entered its code (`verified_at`), or
    that is active or removed: unique among those only. Provisional registrations not yet verified
    coexist, each bound to its own flow, so typing someone's login ID at step 2 blocks nobody; the
    first valid code wins (registration.verify_code). Lookups keep a plain index on login_key."""
    db["accounts"].add_column("verified_at", float)
    db.execute("""update accounts set verified_at = (select max(f.updated_at) from flows f where f.account_id = accounts.id
                  and f.state in ('verified', 'name_disputed', 'completed'))
                  where status = 'provisional'""")
    db.execute("drop index if exists idx_accounts_login_key")
    db.execute("create index idx_accounts_login_key on accounts (login_key)")
    db.execute("create unique index idx_accounts_login_key_held on accounts (login_key) "
               "where status != 'provisional' or verified_at is not null")


@m()
def m_daily_stats(db):
    """Where people get stuck, at any size: one row per JST day (days since 1970-01-01), organisation
    (団体ID, "" when unknown) and terminal with a column per count (report.COLUMNS), and their sums
    over all organisations and/or terminals ('*'), kept by `report.count` in the transaction of each
    audit row (`audit.record`). The audit rows already written are counted by `report.catch_up` when
    the counts are first read (this asks for it in `settings`: the store does not call services). Stored in
    primary-key order (WITHOUT ROWID): one view (a level and a period) is one range of the table.
    The columns are written out here (a migration never changes); a new count is a new migration."""
    columns = ("started", "step2", "code_entered", "completed", "code_sent", "step1_refused",
               "lockouts", "resets", "linked", "family_invited", "family_approved", "family_registered",
               "dur_30", "dur_60", "dur_90", "dur_120", "dur_180", "dur_240", "dur_300", "dur_420", "dur_600",
               "dur_900", "dur_1200", "dur_1800", "dur_2700", "dur_3600", "dur_7200", "dur_14400", "dur_43200",
               "dur_86400", "dur_inf")
    counts = ", ".join(f"{c} integer not null default 0" for c in columns)
    db.execute(f"""create table daily_stats (
        group_id text not null, terminal text not null, day integer not null, {counts},
        primary key (group_id, terminal, day)) without rowid""")
    if db.execute("select 1 from audit limit 1").fetchone():  # rows from before the counts existed
        db["settings"].upsert({"key": "daily_stats.rebuild", "value": "1"}, pk="key")  # report.REBUILD


@m()
def m_accounts_family_of(db):
    """A person's disclosure lists the family accounts they invited (privacy.export): by index."""
    db.execute("create index if not exists idx_accounts_family_of on accounts (family_of)")


@m()
def m_search_fragments(db):
    """The helpdesk finds a fragment inside a name or a login ID. SQLite scans for it within a time
    budget (helpdesk.SCAN_SECONDS); PostgreSQL indexes trigrams instead (store/postgres.py), so
    there is nothing to add to a SQLite file."""


@m()
def m_audit_at(db):
    """The date filters of `audit export --since/--until`, `audit prune`'s count and the retention
    cutoff find their rows by index instead of reading the whole trail (10 M rows and more).
    Prune and export still walk the trail in id order (the primary key); see services/audit_trail.py."""
    db["audit"].create_index(["at"], index_name="idx_audit_at", if_not_exists=True)


@m()
def m_name_prefixes_by_pattern(db):
    """The helpdesk's name and kana prefixes (GLOB '山田*') go through idx_members_name/kana on SQLite
    as they are; PostgreSQL's LIKE '山田%' needs them built with text_pattern_ops under a non-C
    locale (store/postgres.py), so there is nothing to add to a SQLite file."""


@m()
def m_member_names(db):
    """Each distinct name and kana of the roster once, for the helpdesk's fragment search: a
    fragment from the middle of a name is looked for among these (a roster of millions repeats
    its names a lot: 528 names for 10 M members in bench/_gen.py), and the members then by the
    names it matched, through idx_members_name / idx_members_kana (`helpdesk.search`). Kept by the
    roster import (services/roster.py), the only writer of members. PostgreSQL indexes their
    trigrams instead of the members' own (store/postgres.py)."""
    db.execute("create table member_names (col text not null, value text not null, "
               "primary key (value, col)) without rowid")
    for col in ("name", "kana"):  # a fixed pair of column names, not data
        db.execute(f"insert or ignore into member_names (col, value) select distinct '{col}', {col} from members "
                   f"where {col} is not null and {col} != ''")
