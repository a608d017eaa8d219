"""The store package: choosing SQLite or PostgreSQL, the SQL translation, PostgreSQL migrations."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest

from bene_tui.store import dialect, is_postgres_url

T = dialect.translate


def test_placeholders_and_percent_signs_outside_and_inside_literals():
    assert T("select * from t where a = ? and b like 'x%' and c = '?'").sql == \
        "select * from t where a = %s and b ilike 'x%%' and c = '?'"
    assert T("select 'it''s ?', \"we?ird\" from t where x = ?").sql == "select 'it''s ?', \"we?ird\" from t where x = %s"


def test_insert_or_ignore_becomes_on_conflict_do_nothing():
    assert T("insert or ignore into organisations (a, b) values (?, ?);").sql == \
        "insert into organisations (a, b) values (%s, %s) on conflict do nothing"
    with pytest.raises(ValueError):
        T("insert or replace into t values (?)")


def test_glob_becomes_like_with_its_parameter_translated():
    t = T("select id from members where name glob ? limit ?")
    assert t.sql == "select id from members where name like %s escape '\\' limit %s"
    assert t.params(["山[*]田 太郎*", 5]) == ["山*田 太郎%", 5]
    assert dialect.glob_to_like("100%_[?]?\\") == "100\\%\\_?_\\\\"


def test_rowid_order_begin_immediate_and_collations():
    assert T("select id from services order by rowid").sql == "select id from services order by ctid"
    assert T("BEGIN IMMEDIATE").sql == "begin"
    assert T("select 1 from invitations where contact = ? collate nocase").sql == \
        "select 1 from invitations where contact = %s collate nocase"


def test_urls_choose_postgresql_and_paths_sqlite():
    assert is_postgres_url("postgresql://bene@db.example/bene")
    assert is_postgres_url("postgres://bene@/bene?host=/run/postgresql")
    assert not is_postgres_url("/var/lib/bene/bene.db")
    assert not is_postgres_url(":memory:")
    assert not is_postgres_url(None)


def test_sqlite_path_never_imports_psycopg(tmp_path):
    code = ("import sys; from bene_tui.store import open_store; s = open_store(sys.argv[1]); "
            "s.db.execute('select count(*) from members').fetchone(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_binary') "
            "or m == 'bene_tui.store.postgres'))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.db")], capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parent.parent))
    assert out.stdout.strip() == "[]"


def test_terminals_starting_together_on_an_empty_database_migrate_it_once(pg_server):
    """Eight terminals open a new, empty PostgreSQL database at once: one migrates, the others wait
    on the advisory lock and find nothing to do; every migration is recorded once, in order."""
    import psycopg

    from bene_tui.store import open_store
    from bene_tui.store.migrations import m

    name = "race_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f"create database {name}")
    url = pg_server.url(name)
    errors, stores = [], []
    gate = threading.Barrier(8)

    def start():
        gate.wait()
        try:
            stores.append(open_store(url))
        except Exception as exc:  # pragma: no cover - what the test is looking for
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        rows = [r[0] for r in stores[0].db.execute("select name from _sqlite_migrations order by id")]
        assert rows == [x.name for x in m._migrations]
    finally:
        for s in stores:
            s.close()
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute(f"drop database {name} with (force)")


def test_same_migration_history_on_both_backends(ctx):
    from bene_tui.store.migrations import m

    rows = [r[0] for r in ctx.db.execute("select name from _sqlite_migrations order by id")]
    assert rows == [x.name for x in m._migrations]


@pytest.mark.postgresql_only
def test_helpdesk_fragments_are_found_through_trigram_indexes_on_postgresql(world, monkeypatch):
    """A fragment from the middle of a name or a login ID: found, and on PostgreSQL every LIKE the
    search runs over the roster's distinct names or the login keys can use a pg_trgm index (no
    cut-off scan); the members themselves are read by the names found (test_helpdesk.py)."""
    from bene_tui.services import helpdesk
    from bene_tui.store import postgres

    seen: list[tuple[str, list]] = []
    real = postgres.PgConnection.execute

    def spy(self, sql, params=None, **kw):
        if " like " in sql:
            seen.append((sql, list(params or [])))
        return real(self, sql, params, **kw)

    monkeypatch.setattr(postgres.PgConnection, "execute", spy)
    assert any("佐藤" in r["name"] for r in helpdesk.search(world, "藤花"))  # 佐藤 花子, spaced
    assert any("高橋" in r["name"] for r in helpdesk.search(world, "橋美咲"))  # 高橋 美咲: one trigram
    assert any("from member_names" in sql for sql, _ in seen)
    monkeypatch.setattr(postgres.PgConnection, "execute", real)
    db = world.db
    # As many distinct names as a big roster has (a few rows: the planner would read them all), and
    # make the planner show which index it could use rather than read the table.
    db.execute("insert into member_names (col, value) select c, '名' || i || ' 前' from generate_series(1, 20000) i, "
               "(values ('name'), ('kana')) v (c)")
    db.execute("analyze member_names")
    db.execute("set enable_seqscan = off")
    db.execute("set enable_indexscan = off")
    checked = 0
    for sql, params in seen:
        if "from member_names" not in sql and "from accounts" not in sql:
            continue  # invitations are few
        if not any(isinstance(p, str) and p.startswith("%") and len(p.strip("%")) >= 3 for p in params):
            continue  # 藤花: two characters have no trigram (a scan of the distinct names, within the budget)
        checked += 1
        plan = "\n".join(r[0] for r in db.execute("explain " + sql, params).fetchall())
        assert "trgm" in plan, (sql, plan)
    assert checked


@pytest.mark.postgresql_only
def test_name_prefixes_go_through_b_trees_on_postgresql(world):
    """GLOB '山田*' is LIKE '山田%' on PostgreSQL, which a b-tree in the database's (non-C) collation
    cannot answer: every prefix of every helpdesk search read the whole table (10 M rows)."""
    db = world.db
    db.execute("set enable_seqscan = off")  # a few rows: make the planner show which index it could use
    db.execute("set enable_bitmapscan = off")
    for column in ("name", "kana"):
        plan = "\n".join(r[0] for r in db.execute(f"explain select id from members where {column} glob ? limit ?",
                                                  ["山田*" if column == "name" else "ヤマダ*", 100]).fetchall())
        assert f"idx_members_{column}" in plan, plan


@pytest.mark.parametrize("stop", ["before", "during"])
def test_a_scan_budget_stops_a_long_scan_on_both_stores(ctx, stop):
    """store.scan_budget: a scan still running when the budget is spent is stopped (SQLite's
    progress handler, PostgreSQL's statement timeout), `cut` says so, and the connection is left
    as it was (no timeout left behind for the next statement)."""
    from bene_tui.store import scan_budget

    slow = ("with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000000) "
            "select count(*) from n")
    with scan_budget(ctx.db, 0.0 if stop == "before" else 0.2) as budget:
        t = time.monotonic()
        assert budget.scan(slow, []) == []
        assert budget.cut and time.monotonic() - t < 5
        assert budget.scan("select 1", []) == []  # the budget is spent: nothing more
    assert ctx.db.execute("select 1").fetchall() == [(1,)]
    if is_postgres_url(ctx.store.path):
        assert ctx.db.execute("show statement_timeout").fetchone()[0] == "0"


def _roster(tmp_path, names: dict[str, str], name="big.json", repeat=False):
    import json

    doc = {"organisations": [{
        "group_id": "BK000001", "name": "大量株式会社", "services": ["benefit_station"],
        "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)"},
        "members": [{"auth_key_1": k, "auth_key_2": "19800101", "name": v, "kana": "タイリョウ",
                     "birth_date": "1980-01-01"}
                    for k, v in names.items()]}]}
    if repeat:
        doc["organisations"][0]["members"].append(  # a key twice in one file: the last wins
            {"auth_key_1": "K00007", "auth_key_2": "19800101", "name": "最後 の行", "kana": "サイゴ",
             "birth_date": "1980-01-01"})
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("rebuild", [False, True], ids=["indexes kept", "indexes rebuilt"])
def test_a_big_roster_import_and_its_reimport_keep_one_row_per_key(ctx, tmp_path, monkeypatch, rebuild):
    """Thousands of members at once (COPY on PostgreSQL, straight in or through a staging table
    when keys repeat): the same rows as row-by-row upserts give, on both backends; also when the
    import drops the secondary indexes and builds them again (a big roster)."""
    from bene_tui.services import roster

    if rebuild:
        monkeypatch.setattr(roster, "REBUILD_INDEXES_FROM", 1000)
        monkeypatch.setattr(roster, "EST_BYTES_PER_MEMBER", 1)

    first = {f"K{i:05d}": f"大量 {i}" for i in range(3000)}
    result = roster.import_file(ctx, _roster(tmp_path, first))
    assert result.members == 3000 and result.new_members == 3000
    again = {k: v + "改" for k, v in first.items()} | {f"K{i:05d}": f"追加 {i}" for i in range(3000, 3500)}
    result = roster.import_file(ctx, _roster(tmp_path, again, "again.json"))
    assert result.members == 3500 and result.new_members == 500
    db = ctx.db
    rows = db.execute("select count(*), count(distinct id) from members where group_id = 'BK000001'").fetchone()
    assert tuple(rows) == (3500, 3500)
    assert db.execute("select name from members where auth_key_1 = 'K00008'").fetchone()[0] == "大量 8改"
    # A member twice in one file is refused (security issue, point 6), on both backends, and writes nothing.
    with pytest.raises(roster.RosterError, match="appears twice"):
        roster.import_file(ctx, _roster(tmp_path, again, "twice.json", repeat=True))
    assert db.execute("select name from members where auth_key_1 = 'K00007'").fetchone()[0] == "大量 7改"


@pytest.mark.parametrize("known", [False, True], ids=["new organisation", "re-import"])
@pytest.mark.parametrize("at, key", [(1600, "K01500"), (2500, "K00007")], ids=["same batch", "earlier batch"])
def test_a_member_twice_in_a_big_roster_is_refused_naming_the_repeat(ctx, tmp_path, monkeypatch, known, at, key):
    """Batches of 1,000 (COPY on PostgreSQL): an organisation new to the store is written with plain
    INSERTs under no trigger, a known one is upserted under the repeat trigger. Either way a member
    repeated in the same batch or from an earlier one is refused, naming that record and key on both
    backends (PostgreSQL finds it in the staging table: all of a batch is written, or none), and
    nothing of the file is written."""
    import json

    from bene_tui.services import roster

    monkeypatch.setattr(roster, "BATCH", 1000)
    names = {f"K{i:05d}": f"大量 {i}" for i in range(3000)}
    if known:
        roster.import_file(ctx, _roster(tmp_path, names))
    path = _roster(tmp_path, {k: v + "改" for k, v in names.items()}, "twice.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["organisations"][0]["members"].insert(at, {"auth_key_1": key, "auth_key_2": "19800101", "name": "二度 目",
                                                   "kana": "ニドメ", "birth_date": "1980-01-01"})
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(roster.RosterError, match=rf"members\[{at}\].*'{key}' of BK000001 appears twice"):
        roster.import_file(ctx, path)
    count, renamed = ctx.db.execute("select count(*), count(*) filter (where name like '%改') from members "
                                    "where group_id = 'BK000001'").fetchone()
    assert (count, renamed) == ((3000 if known else 0), 0)
    result = roster.import_file(ctx, _roster(tmp_path, names, "once.json"))  # once each: imported
    assert result.members == 3000 and result.new_members == (0 if known else 3000)


def test_busy_means_lock_waits_and_lost_connections_not_bugs():
    from psycopg import errors as pg_errors

    from bene_tui.store import is_busy, postgres  # noqa: F401  (a PostgreSQL store is loaded)

    assert is_busy(pg_errors.LockNotAvailable("lock timeout"))
    assert is_busy(pg_errors.SerializationFailure("could not serialize"))
    assert is_busy(pg_errors.AdminShutdown("terminating connection due to administrator command"))
    assert not is_busy(pg_errors.ObjectInUse("cannot CREATE INDEX: pending trigger events"))
    assert not is_busy(pg_errors.UndefinedTable("no such table"))


@pytest.mark.postgresql_only
def test_the_audit_trail_date_filters_can_use_the_index_on_at_on_postgresql(ctx):
    """m_audit_at on PostgreSQL too: `audit export --since/--until` and `audit prune`'s count."""
    from bene_tui.services import audit_trail

    start, end = audit_trail.day_range("2026-03-01", "2026-03-31")
    db = ctx.db
    db.execute("set enable_seqscan = off")  # a few rows: make the planner show which index it could use
    for sql, args in (("select count(*) from audit where at >= ? and at < ?", [start, end]),
                      ("select count(*) from audit where at < ?", [start])):
        plan = "\n".join(r[0] for r in db.execute("explain " + sql, args).fetchall())
        assert "idx_audit_at" in plan, (sql, plan)
