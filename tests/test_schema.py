"""The schema where speed depends on it: members keyed by the step-1 lookup, the migration that
rebuilds an older file's members table without losing a member, an id or a link, and an index
under every statement of registration, login and recovery."""

from __future__ import annotations

import json

import pytest

from bene_tui.services import roster
from bene_tui.store import connect, migrate
from bene_tui.store.migrations import m

pytestmark = pytest.mark.sqlite_only  # SQLite's own schema and query plans


def test_step1_lookup_is_one_descent_of_the_members_table(ctx):
    sql = ctx.db.execute("select sql from sqlite_master where name = 'members'").fetchone()[0]
    assert "without rowid" in sql.lower()
    plan = " ".join(r[-1] for r in ctx.db.execute(
        "explain query plan select * from members where group_id = ? and auth_key_1 = ?", ["BO100001", "1"]))
    assert "USING PRIMARY KEY (group_id=? AND auth_key_1=?)" in plan, plan
    plan = " ".join(r[-1] for r in ctx.db.execute("explain query plan select * from members where id = ?", [1]))
    assert "USING INDEX" in plan, plan  # by id (flows, links): through the unique index on id
    assert ctx.db.execute("pragma mmap_size").fetchone()[0] > 0


def test_old_members_table_is_rebuilt_keeping_ids_and_links(tmp_path):
    path = tmp_path / "old.db"
    db = connect(path)
    m.apply(db, stop_before="m_members_by_lookup_key")  # a file made before the change
    conn = db.conn
    assert "without rowid" not in conn.execute("select sql from sqlite_master where name = 'members'").fetchone()[0]
    with conn:
        conn.execute("insert into organisations (group_id, name) values ('BO900001', 'テスト')")
        conn.executemany("insert into members (id, group_id, auth_key_1, auth_key_2, name, kana) values (?, ?, ?, ?, ?, ?)",
                         [(9, "BO900001", "200", "19900101", "山田 太郎", "ヤマダ タロウ"),
                          (5, "BO900001", "100", "19800101", "佐藤 花子", "サトウ ハナコ")])
        conn.execute("insert into accounts (id, login_id, login_key, status, kind) "
                     "values (1, 'taro@example.jp', 'taro@example.jp', 'active', 'member')")
        conn.execute("insert into account_members (member_id, account_id, linked_at) values (9, 1, 0)")
    db.close()

    db = connect(path)
    migrate(db)
    conn = db.conn
    assert "without rowid" in conn.execute("select sql from sqlite_master where name = 'members'").fetchone()[0].lower()
    assert conn.execute("select id, auth_key_1, name from members order by id").fetchall() == [
        (5, "100", "佐藤 花子"), (9, "200", "山田 太郎")]
    assert conn.execute("select m.name from account_members a join members m on m.id = a.member_id").fetchall() \
        == [("山田 太郎",)]
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("pragma foreign_key_check").fetchall() == []
    assert conn.execute("pragma foreign_keys").fetchone()[0] == 1  # switched back on after the rebuild
    indexes = {r[0] for r in conn.execute("select name from sqlite_master where type = 'index' and tbl_name = 'members'"
                                          " and sql is not null")}
    assert indexes == {"idx_members_kana", "idx_members_name", "idx_members_group_id_birth_date"}
    assert not m.pending(db)


def test_import_hands_out_new_ids_and_links_still_point_at_members(ctx, tmp_path):
    before = ctx.db.execute("select max(id) from members").fetchone()[0]
    doc = {"organisations": [{
        "group_id": "BO900077", "name": "番号商事", "services": ["benefit_station"],
        "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日"},
        "members": [{"auth_key_1": str(k), "auth_key_2": "19900101", "name": "番号 太郎", "kana": "バンゴウ タロウ",
                     "birth_date": "1990-01-01"} for k in (1, 2, 3)],
    }]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    roster.import_file(ctx, path)
    first = ctx.db.execute("select auth_key_1, id from members where group_id = 'BO900077'").fetchall()
    roster.import_file(ctx, path)  # again: the same members are updated and keep their ids
    again = ctx.db.execute("select auth_key_1, id from members where group_id = 'BO900077'").fetchall()
    ids = [i for _, i in first]
    assert sorted(again) == sorted(first)
    assert len(set(ids)) == 3 and min(ids) > before


# Tables whose size is fixed by configuration, not by members, accounts or traffic: reading one
# whole is fine. (sqlite_master: sqlite-utils reads the schema.)
SMALL_TABLES = {"sqlite_master", "services"}


def test_no_step_of_the_flows_reads_a_growing_table_whole(world):
    """Every statement of registration, login, linking, the three recoveries and the family
    invitation finds its rows through a key or an index: each stays as fast with ten million
    members, their accounts and their audit trail as with a thousand. (The helpdesk's fragment
    search scans on purpose, cut short: helpdesk.SCAN_SECONDS.)"""
    from bene_tui.core.errors import BeneError
    from bene_tui.services import auth, family, helpdesk, linking, links, recovery, registration
    from support.world import GOOD_PASSWORD

    ctx = world

    def last_code(recipient: str) -> str:
        return ctx.db.execute("select code from outbox where recipient = ? order by id desc limit 1",
                              [recipient]).fetchone()[0]

    statements: list[str] = []
    ctx.db.conn.set_trace_callback(statements.append)  # each statement with its values in place
    started = registration.start(ctx, "TS000001", "1001", "19850401")
    code = registration.submit_credentials(ctx, started.flow_id, "email", "plan@example.jp", GOOD_PASSWORD, True,
                                           "ja")["code"]
    assert registration.verify_code(ctx, started.flow_id, code)
    registration.registered_name(ctx, started.flow_id)
    account_id = registration.complete(ctx, started.flow_id, True)
    auth.login(ctx, "benefit_station", "plan@example.jp", GOOD_PASSWORD)
    for login_id in ("plan@example.jp", "nobody@example.jp"):  # a wrong password; an unknown login ID
        try:
            auth.login(ctx, "benefit_station", login_id, GOOD_PASSWORD + "!")
        except BeneError:
            pass
    link_flow = registration.start(ctx, "TS000002", "A-77", "M9001").flow_id  # a second employer
    linking.authenticate(ctx, link_flow, "plan@example.jp", GOOD_PASSWORD)
    linking.complete(ctx, link_flow, True)
    recovery.forgot_login_id(ctx, "TS000001", "1001", "19850401", "ja")
    recovery.forgot_keys(ctx, "TS000001", "ヤマダ タロウ", "1985-04-01", "ja")
    reset = recovery.start_reset(ctx, "plan@example.jp", "ja")
    assert recovery.check_reset_code(ctx, reset["flow_id"], last_code("plan@example.jp"))
    recovery.set_new_password(ctx, reset["flow_id"], GOOD_PASSWORD + "-new", "ja")
    invited = family.invite(ctx, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15",
                            "hanako.plan@example.jp", "ja")
    try:  # (within a minute: refused, after the look at the last link sent)
        family.resend(ctx, account_id, invited["invitation_id"], "ja")
    except BeneError:
        pass
    approved = family.approve(ctx, links.parse(invited["message"]["link"])[1]["token"], account_id)
    family.register(ctx, links.parse(approved["link"])[1]["token"], "山田 花子", "19870615",
                    "sakura-no-shita-de-nemuru-inu-7", True, "ja")
    auth.profile(ctx, account_id)  # マイページ
    family.overview(ctx, account_id)
    for ref in (f"account:{account_id}", f"invitation:{invited['invitation_id']}"):  # the helpdesk's view
        helpdesk.person(ctx, ref)
    try:  # (refused: a wrong password or two lock nothing; the account is looked at all the same)
        helpdesk.unlock_account(ctx, account_id, "佐々木")
    except BeneError:
        pass
    ctx.db.conn.set_trace_callback(None)

    scans, planned = [], 0
    for sql in dict.fromkeys(statements):
        if sql.lstrip().split(None, 1)[0].lower() not in ("select", "update", "delete", "insert", "with"):
            continue
        planned += 1
        for *_, detail in ctx.db.execute("explain query plan " + sql):
            words = detail.split()
            if words[0] == "SCAN" and words[1] not in SMALL_TABLES:
                scans.append(f"{detail}  <-  {sql}")
    assert planned > 80, planned  # the flows above really ran their statements
    assert not scans, "\n".join(scans)


def test_the_audit_trail_date_filters_read_through_the_index_on_at(ctx):
    """`audit export --since/--until`, `audit prune`'s count and its batches find their rows by
    index (m_audit_at, the primary key), not by reading a trail of millions whole."""
    from bene_tui.services import audit_trail

    statements: list[str] = []
    ctx.db.conn.set_trace_callback(statements.append)
    start, end = audit_trail.day_range("2026-03-01", "2026-03-31")
    audit_trail.count(ctx, start, end)
    list(audit_trail.iter_rows(ctx, start, end))
    audit_trail.count(ctx, None, start)
    audit_trail.prune(ctx, start)
    ctx.db.conn.set_trace_callback(None)
    selects = [s for s in dict.fromkeys(statements) if "audit" in s and s.lstrip().lower().startswith(("select", "delete"))]
    assert len(selects) >= 4, selects
    scans = [f"{detail}  <-  {sql}" for sql in selects for *_, detail in ctx.db.execute("explain query plan " + sql)
             if detail.startswith("SCAN audit")]
    assert not scans, "\n".join(scans)
