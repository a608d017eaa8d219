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
