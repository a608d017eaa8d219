"""The schema where speed depends on it: members keyed by the step-1 lookup, and the migration that
rebuilds an older file's members table without losing a member, an id or a link."""

from __future__ import annotations

import json

from bene_tui import roster
from bene_tui.migrations import m
from bene_tui.store import connect, migrate


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
