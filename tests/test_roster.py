"""Roster import: the JSON and CSV formats, their errors (all or nothing), streaming, demo reset."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bene_tui.core.errors import ValidationError
from bene_tui.core.paths import DEMO_FILE
from bene_tui.services import normalize, roster
from bene_tui.services.roster import RosterError


def counts(ctx) -> dict[str, int]:
    return {t: ctx.db.execute(f'select count(*) from "{t}"').fetchone()[0] for t in roster.app_tables(ctx.db)}


def write(tmp_path, doc, name="roster.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return str(path)


def member(key1: str, **kw) -> dict:
    m = {"auth_key_1": key1, "auth_key_2": "19900101", "name": "試験 花子", "kana": "シケン ハナコ",
         "birth_date": "1990-01-01", "email_on_file": f"m{key1}@example.jp"}
    m.update(kw)
    return m


def org(group_id="BO900009", members=(), **kw) -> dict:
    o = {"group_id": group_id, "name": "テスト商事株式会社", "services": ["benefit_station", "bene_learning"],
         "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)"},
         "family": {"enabled": True, "max_degree": 1, "max_accounts": 3},
         "members": list(members)}
    o.update(kw)
    return o


def good_doc() -> dict:
    return {"organisations": [org(members=[member(str(100 + i)) for i in range(30)])]}


# --- the demo roster --------------------------------------------------------------------------


def test_demo_seeded_on_first_start(ctx):
    c = counts(ctx)
    assert c["organisations"] == 3 and c["members"] == 23 and c["services"] == 3
    assert c["org_services"] == 7
    rows = list(ctx.db.query("select subject, detail from audit where action = 'roster.import' order by id"))
    assert [r["subject"] for r in rows] == ["org:BO100001", "org:BO200002", "org:BO300003"]
    assert json.loads(rows[0]["detail"]) == {"members": 10}


def test_demo_content_is_what_presenters_rely_on(ctx):
    orgs = {r["group_id"]: r for r in ctx.db.query("select * from organisations")}
    assert orgs["BO300003"]["family_enabled"] == 0
    assert orgs["BO200002"]["family_max_degree"] == 1
    assert len({(o["key1_label"], o["key2_label"]) for o in orgs.values()}) == 3
    taro = ctx.db.execute("select name, kana, birth_date, services from members "
                          "where group_id = 'BO100001' and auth_key_1 = '100234'").fetchone()
    assert taro == ("山田 太郎", "ヤマダ タロウ", "1985-04-01", None)
    # the person who changed employer: same name and birth date in two organisations
    moved = ctx.db.execute("select count(distinct group_id) from members "
                           "where name = '佐藤 美咲' and birth_date = '1990-07-15'").fetchone()[0]
    assert moved == 2
    assert ctx.db.execute("select count(*) from members where services is not null").fetchone()[0] >= 1


def test_demo_json_is_valid_for_every_normaliser():
    doc = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    for o in doc["organisations"]:
        for m in o["members"]:
            assert normalize.clean_kana(m["kana"], "kana") == m["kana"]
            assert normalize.clean_date(m["birth_date"], "birth_date") == m["birth_date"]
            if m["email_on_file"]:
                assert normalize.email(m["email_on_file"]) == m["email_on_file"]


# --- import and re-import ---------------------------------------------------------------------


def test_import_then_reimport_updates_by_key_and_keeps_ids(ctx, tmp_path):
    doc = good_doc()
    result = roster.import_file(ctx, write(tmp_path, doc))
    assert (result.organisations, result.members, result.new_members) == (1, 30, 30)
    ids = dict(ctx.db.execute("select auth_key_1, id from members where group_id = 'BO900009'").fetchall())

    doc["organisations"][0]["name"] = "テスト商事ホールディングス"
    doc["organisations"][0]["services"] = ["benefit_station"]
    doc["organisations"][0]["members"][5].update(name="試験 次郎", kana="シケン ジロウ", auth_key_2="20000202")
    doc["organisations"][0]["members"].append(member("999"))
    result = roster.import_file(ctx, write(tmp_path, doc))
    assert (result.members, result.new_members, result.updated_members) == (31, 1, 30)

    after = dict(ctx.db.execute("select auth_key_1, id from members where group_id = 'BO900009'").fetchall())
    assert {k: after[k] for k in ids} == ids
    assert ctx.db.execute("select name, kana, auth_key_2 from members where auth_key_1 = '105'"
                          " and group_id = 'BO900009'").fetchone() == ("試験 次郎", "シケン ジロウ", "20000202")
    assert ctx.db["organisations"].get("BO900009")["name"] == "テスト商事ホールディングス"
    assert [r[0] for r in ctx.db.execute("select service_id from org_services where group_id = 'BO900009'")] \
        == ["benefit_station"]
    assert ctx.db.execute("select count(*) from audit where subject = 'org:BO900009'").fetchone()[0] == 2


def test_services_omitted_is_null_listed_is_json(ctx, tmp_path):
    doc = {"organisations": [org(members=[member("1"), member("2", services=["bene_learning"])])]}
    roster.import_file(ctx, write(tmp_path, doc))
    rows = dict(ctx.db.execute("select auth_key_1, services from members where group_id = 'BO900009'").fetchall())
    assert rows["1"] is None
    assert json.loads(rows["2"]) == ["bene_learning"]


def test_every_field_is_normalised(ctx, tmp_path):
    doc = {"organisations": [org(group_id="ＢＯ９００００９", members=[member(
        "１２３４５６", auth_key_2=" 19900101 ", name="山田　　太郎", kana="ﾔﾏﾀﾞ ﾀﾛｳ", birth_date="1990/01/02",
        email_on_file="Taro@EXAMPLE.JP")])]}
    roster.import_file(ctx, write(tmp_path, doc))
    row = ctx.db.execute("select group_id, auth_key_1, auth_key_2, name, kana, birth_date, email_on_file "
                         "from members where auth_key_1 = '123456'").fetchone()
    assert row == ("BO900009", "123456", "19900101", "山田 太郎", "ヤマダ タロウ", "1990-01-02", "Taro@example.jp")


def test_import_into_an_empty_database(tmp_path, clock):
    from bene_tui.core.config import Settings
    from bene_tui.services.context import Context
    from bene_tui.services.secret_store import SecretStore
    from bene_tui.store import Store

    bare = Context(store=Store(tmp_path / "empty.db"), clock=clock, settings=Settings(terminal="t"),
                   secret_store=SecretStore(tmp_path / "s.json", use_keyring=False))
    result = roster.import_file(bare, write(tmp_path, good_doc()))
    assert (result.organisations, result.members) == (1, 30)
    assert bare.db["services"].count == 3
    bare.store.close()


def test_custom_service_and_any_key_order(ctx, tmp_path):
    """Members before the org's services, top-level services after the organisations: still checked."""
    doc = {"organisations": [{"group_id": "BO900009",
                              "members": [member("1", services=["bene_travel"]), member("2")],
                              "name": "旅行会社", "services": ["benefit_station", "bene_travel"],
                              "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日"}}],
           "services": [{"id": "bene_travel", "name_ja": "ベネ・トラベル", "name_en": "Bene Travel",
                         "family_allowed": 0}]}
    roster.import_file(ctx, write(tmp_path, doc))
    assert ctx.db["services"].count == 4
    o = ctx.db["organisations"].get("BO900009")
    assert o["key1_label_en"] == "社員番号" and o["family_enabled"] == 1 and o["family_max_accounts"] == 10


# --- bad files: a clear message and nothing written -------------------------------------------


def _bad(mutate):
    doc = {"organisations": [org("BO900001", members=[member(str(i)) for i in range(20)]),
                             org("BO900002", members=[member(str(i)) for i in range(20)])]}
    mutate(doc)
    return doc


BAD = {
    "missing kana": (lambda d: d["organisations"][1]["members"][12].pop("kana"),
                     "organisations[1].members[12]", "kana"),
    "bad date": (lambda d: d["organisations"][1]["members"][12].update(birth_date="1990-02-30"),
                 "organisations[1].members[12]", "birth_date"),
    "service not subscribed": (lambda d: d["organisations"][1]["members"][3].update(services=["bene_wellness"]),
                               "organisations[1].members[3]", "services"),
    "unknown service": (lambda d: d["organisations"][1].update(services=["benefit_station", "nope"]),
                        "organisations[1]", "services"),
    "control chars": (lambda d: d["organisations"][1]["members"][7].update(name="山田\x1b[31m太郎"),
                      "organisations[1].members[7]", "name"),
    "10,000-char name": (lambda d: d["organisations"][1]["members"][19].update(name="長" * 10_000),
                         "organisations[1].members[19]", "name"),
    "bad e-mail": (lambda d: d["organisations"][1]["members"][0].update(email_on_file="taro@"),
                   "organisations[1].members[0]", "email_on_file"),
    "65-char key": (lambda d: d["organisations"][1]["members"][0].update(auth_key_1="9" * 65),
                    "organisations[1].members[0]", "auth_key_1"),
    "unknown member field": (lambda d: d["organisations"][1]["members"][2].update(emial="x@example.jp"),
                             "organisations[1].members[2]", "emial"),
    "number for a name": (lambda d: d["organisations"][1]["members"][2].update(name=["a"]),
                          "organisations[1].members[2]", "name"),
    "missing auth_keys": (lambda d: d["organisations"][1].pop("auth_keys"), "organisations[1]", "auth_keys"),
    "members before group_id": (lambda d: d["organisations"].__setitem__(
        1, {"members": d["organisations"][1]["members"], **{k: v for k, v in d["organisations"][1].items()
                                                           if k != "members"}}), "organisations[1]", "members"),
    "family degree": (lambda d: d["organisations"][1]["family"].update(max_degree=3),
                      "organisations[1]", "family.max_degree"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_names_record_and_field_and_writes_nothing(ctx, tmp_path, case):
    mutate, record, field = BAD[case]
    before = counts(ctx)
    with pytest.raises(RosterError) as info:
        roster.import_file(ctx, write(tmp_path, _bad(mutate)))
    err = info.value
    assert (err.record, err.field) == (record, field)
    assert isinstance(err, ValidationError) and err.key == "error.import_record"
    assert record in str(err) and repr(field) in str(err)
    assert len(str(err)) < 300  # the 10,000-char name is not echoed back
    assert counts(ctx) == before


def test_broken_json_writes_nothing(ctx, tmp_path):
    path = tmp_path / "broken.json"
    text = json.dumps(good_doc(), ensure_ascii=False)
    path.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    before = counts(ctx)
    with pytest.raises(RosterError, match="invalid JSON"):
        roster.import_file(ctx, path)
    path.write_text(text.replace('"kana": "シケン ハナコ", "birth', '"kana": "シケン ハナコ" "birth', 1))
    with pytest.raises(RosterError, match="expected ',' or '}'|invalid JSON"):
        roster.import_file(ctx, path)
    assert counts(ctx) == before


def test_interrupted_import_writes_nothing(ctx, tmp_path, monkeypatch):
    """Ctrl-C in the middle (here: from the progress callback) rolls the whole import back."""
    monkeypatch.setattr(roster, "CHUNK", 512)
    monkeypatch.setattr(roster, "BATCH", 7)
    before = counts(ctx)
    seen = []

    def progress(done, total):
        seen.append(done)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        roster.import_file(ctx, write(tmp_path, good_doc()), progress)
    assert counts(ctx) == before
    assert not ctx.db.conn.in_transaction


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_tiny_read_chunks_give_the_same_result(ctx, tmp_path, monkeypatch, chunk):
    """Every value and separator split across buffer refills, numbers included."""
    monkeypatch.setattr(roster, "CHUNK", chunk)
    doc = good_doc()
    doc["organisations"][0]["members"][3]["auth_key_1"] = 1234567  # a JSON number at a boundary
    doc["organisations"][0]["family"]["max_accounts"] = 10
    seen = []
    result = roster.import_file(ctx, write(tmp_path, doc), lambda done, total: seen.append((done, total)))
    assert result.members == 30
    assert seen[-1][0] == seen[-1][1]
    assert ctx.db.execute("select count(*) from members where auth_key_1 = '1234567'").fetchone()[0] == 1


def test_bom_and_whitespace_are_fine(ctx, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf \n" + json.dumps(good_doc(), indent=4).encode() + b"\n\n")
    assert roster.import_file(ctx, path).members == 30


@pytest.mark.sqlite_only
def test_large_import_rebuilds_the_same_indexes(ctx, tmp_path, monkeypatch):
    """A big import drops the secondary member indexes and rebuilds them; a failed one keeps them."""
    def indexes():
        return sorted(ctx.db.execute("select name, sql from sqlite_master where type = 'index' "
                                     "and tbl_name = 'members'").fetchall())

    monkeypatch.setattr(roster, "REBUILD_INDEXES_FROM", 1)
    monkeypatch.setattr(roster, "EST_BYTES_PER_MEMBER", 1)
    original = indexes()
    roster.import_file(ctx, write(tmp_path, good_doc()))
    assert indexes() == original
    with pytest.raises(RosterError):
        roster.import_file(ctx, write(tmp_path, _bad(BAD["bad date"][0])))
    assert indexes() == original


def test_big_import_into_a_new_file_lays_the_table_out_ahead_of_its_indexes(tmp_path, clock, monkeypatch):
    """Step 1 reads the members table through a memory map that SQLite caps at 2 GiB
    (store.MMAP_BYTES): a big roster's table must lie at the start of the file, not interleaved
    with its name and kana indexes (bench/lookup_bench.py measured the difference)."""
    from bene_tui.core.config import Settings
    from bene_tui.services.context import Context
    from bene_tui.services.secret_store import SecretStore
    from bene_tui.store import Store

    bare = Context(store=Store(tmp_path / "new.db"), clock=clock, settings=Settings(terminal="t"),
                   secret_store=SecretStore(tmp_path / "s.json", use_keyring=False))
    doc = good_doc()
    doc["organisations"][0]["members"] = [member(f"K{i:05d}") for i in range(4_000)]
    monkeypatch.setattr(roster, "REBUILD_INDEXES_FROM", 1_000)  # "big" (50,000 members) made smaller
    assert roster.import_file(bare, write(tmp_path, doc)).members == 4_000
    pages = dict(bare.db.execute("select name, max(pageno) from dbstat where name = 'members'").fetchall())
    first_index_page = bare.db.execute(
        "select min(pageno) from dbstat where name in ('idx_members_kana', 'idx_members_name', "
        "'idx_members_group_id_birth_date')").fetchone()[0]
    assert pages["members"] < first_index_page
    bare.store.close()


# --- CSV --------------------------------------------------------------------------------------


CSV_HEAD = "auth_key_1,auth_key_2,name,kana,birth_date,email_on_file,services\n"


def test_csv_roster(ctx, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(CSV_HEAD
                    + "S2001,201004,吉田 誠,ヨシダ マコト,1987-03-09,m.yoshida@sakura-seiki.example.jp,benefit_station\n"
                    + "S3001,202504,新人 一郎,ｼﾝｼﾞﾝ ｲﾁﾛｳ,2003/04/01,,benefit_station|bene_learning\n"
                    + "S3002,202504,新人 二郎,シンジン ジロウ,20030402,jiro@Example.JP,\n", encoding="utf-8")
    before_id = ctx.db.execute("select id from members where group_id = 'BO200002' and auth_key_1 = 'S2001'")\
        .fetchone()[0]
    progress = []
    result = roster.import_roster_csv(ctx, "BO200002", path, lambda d, t: progress.append((d, t)))
    assert (result.members, result.new_members) == (3, 2)
    assert progress[-1][0] == progress[-1][1]
    rows = {r["auth_key_1"]: r for r in ctx.db.query("select * from members where group_id = 'BO200002'")}
    assert rows["S2001"]["id"] == before_id and rows["S2001"]["services"] == '["benefit_station"]'
    assert rows["S3001"]["kana"] == "シンジン イチロウ" and rows["S3001"]["email_on_file"] is None
    assert json.loads(rows["S3001"]["services"]) == ["benefit_station", "bene_learning"]
    assert rows["S3002"]["services"] is None and rows["S3002"]["birth_date"] == "2003-04-02"
    assert rows["S3002"]["email_on_file"] == "jiro@example.jp"


@pytest.mark.parametrize("body, record, field", [
    ("S1,1,名前,ナマエ,1990-01-01,,\nS2,1,名前,ナマエ,1990-13-01,,\n", "line 3", "birth_date"),
    ("S1,1,名前,ナマエ,1990-01-01,,bene_wellness\n", "line 2", "services"),
    ("S1,1,名前,ナマエ,1990-01-01\n", "line 2", None),
])
def test_bad_csv_names_the_line_and_writes_nothing(ctx, tmp_path, body, record, field):
    path = tmp_path / "r.csv"
    path.write_text(CSV_HEAD + body, encoding="utf-8")
    before = counts(ctx)
    with pytest.raises(RosterError) as info:
        roster.import_roster_csv(ctx, "BO200002", path)
    assert (info.value.record, info.value.field) == (record, field)
    assert counts(ctx) == before


def test_csv_header_and_unknown_org(ctx, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("auth_key_1,auth_key_2,name,kana,birthday\n", encoding="utf-8")
    with pytest.raises(RosterError, match="birthday"):
        roster.import_roster_csv(ctx, "BO200002", path)
    path.write_text(CSV_HEAD, encoding="utf-8")
    with pytest.raises(RosterError, match="no organisation"):
        roster.import_roster_csv(ctx, "BO999999", path)


# --- the fast path agrees with services/normalize.py ---------------------------------------------------

_ATOM = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}", fullmatch=True)
_LABEL = st.from_regex(r"[a-zA-Z0-9-]{1,12}", fullmatch=True)
_EMAILS = st.one_of(
    st.none(), st.just(""),
    st.builds(lambda local, labels, tld: ".".join(local) + "@" + ".".join(labels + [tld]),
              st.lists(_ATOM, min_size=1, max_size=3), st.lists(_LABEL, min_size=1, max_size=3),
              st.from_regex(r"[a-zA-Z]{1,5}|test|local|onion", fullmatch=True)),
    st.text(alphabet="ab@.-\u3000", max_size=10))
_JA = st.one_of(
    st.text(alphabet=st.sampled_from("アイウエオガパヴヵヶーヽヾヿ・ｱｶﾞ ぁゔ山田々\u3000\tA\x00"), max_size=12),
    st.from_regex(r"[\u30a0-\u30ff]{1,6}( [\u30a0-\u30ff]{1,6})?", fullmatch=True),
    st.from_regex(r"[\u4e00-\u4e10\u3041-\u3096々]{1,4}( [\u4e00-\u4e10\u30a1-\u30ffA-z]{1,4})?", fullmatch=True),
    st.integers(98, 102).map(lambda n: "ア" * n), st.integers(98, 102).map(lambda n: "ヤ ダ" + "名" * (n - 3)))
_KEYS = st.one_of(st.text(alphabet=st.sampled_from("09AZaz !~-\t\u3000１Ａ\x7f\u00a0\x00"), max_size=66),
                  st.from_regex(r"[!-~]{1,66}", fullmatch=True), st.integers(0, 10**8), st.none())
_DATES = st.one_of(st.from_regex(r"(18|19|20|21)\d\d-[01]\d-[0-3]\d", fullmatch=True),
                   st.sampled_from(["1985/04/01", "19850401", "1985-4-1", "１９８５-０４-０１", ""]))
CANONICAL = {"auth_key_1": "100234", "auth_key_2": "19850401", "name": "山田 太郎", "kana": "ヤマダ タロウ",
             "birth_date": "1985-04-01", "email_on_file": "taro.yamada@sample.co.jp"}
_ONE_FIELD = st.one_of(*(st.tuples(st.just(field), values) for field, values in (
    ("auth_key_1", _KEYS), ("auth_key_2", _KEYS), ("name", _JA), ("kana", _JA), ("birth_date", _DATES),
    ("email_on_file", _EMAILS))))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ONE_FIELD)
def test_fast_path_agrees_with_normalize(field_value):
    """One regex recognises canonical records; whatever it accepts, services/normalize.py returns unchanged."""
    field, value = field_value
    raw = {**CANONICAL, field: value}
    norm = roster._Normaliser(["benefit_station"])
    try:
        expected = norm.slow_row("G", raw, 0)
    except RosterError as exc:
        expected = (exc.field, exc.detail)
    try:
        got = norm.row("G", raw, 0)
    except RosterError as exc:
        got = (exc.field, exc.detail)
    assert got == expected


def test_fast_path_takes_canonical_records():
    assert roster._ROW_OK("\x00".join(CANONICAL.values()))
    assert roster._ROW_OK("\x00".join([*list(CANONICAL.values())[:5], ""]))


# --- demo reset -------------------------------------------------------------------------------


def _filled(db, table: str, **row) -> dict:
    """A row with every NOT NULL column set (the schema grows as the flows are built)."""
    for col in db[table].columns:
        if col.notnull and col.name not in row and not col.is_pk and col.default_value is None:
            row[col.name] = 0 if col.type == "INTEGER" else f"x-{col.name}"
    return row


def test_reset_demo_restores_after_changes(ctx, tmp_path):
    seeded = counts(ctx)
    db_id = ctx.db_id
    roster.import_file(ctx, write(tmp_path, good_doc()))
    with ctx.tx() as db:
        db.execute("update members set name = '変更 済み' where auth_key_1 = '100234'")
        db.execute("delete from members where auth_key_1 = '3001'")
        acc = db["accounts"].insert(_filled(db, "accounts", login_id="x@example.jp", status="active",
                                            kind="member")).last_pk
        db["account_members"].insert({"member_id": 1, "account_id": acc, "linked_at": 0})
        db["outbox"].insert({"channel": "email", "recipient": "x@example.jp", "body": "hi"})
    result = roster.reset_demo(ctx)
    assert result.members == 23
    after = counts(ctx)
    assert {k: v for k, v in after.items() if k not in ("audit", "settings")} == \
        {k: v for k, v in seeded.items() if k not in ("audit", "settings")}
    assert ctx.db.execute("select name from members where auth_key_1 = '100234'").fetchone()[0] == "山田 太郎"
    assert ctx.db_id == db_id
    assert ctx.db.execute("select value from settings where key = 'db_id'").fetchone()[0] == db_id
    assert [r[0] for r in ctx.db.execute("select action from audit order by id")] == ["roster.import"] * 3 + [
        "demo.reset"]


def test_reset_demo_is_one_transaction(ctx, tmp_path):
    """If the demo file were bad, the wipe is rolled back with it."""
    before = counts(ctx)
    bad = copy.deepcopy(json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    bad["organisations"][0]["members"][0]["birth_date"] = "not a date"
    with pytest.raises(RosterError):
        roster.reset_demo(ctx, write(tmp_path, bad))
    assert counts(ctx) == before


KILL_CHILD = r"""
import sys, time
from pathlib import Path
from bene_tui.services import roster
from bene_tui.core.config import Settings
from bene_tui.services.context import open_context
# small reads, small batches and a tiny page cache: uncommitted pages spill into the WAL file
roster.CHUNK, roster.BATCH, roster.IMPORT_CACHE_KIB = 2048, 20, 40
ctx, _ = open_context(Settings.from_env(db_path=sys.argv[1]))
def progress(done, total):
    if done > 20_000:  # several batches are written by now, inside the open transaction
        Path(sys.argv[3]).write_text("writing")
        time.sleep(60)
roster.import_file(ctx, sys.argv[2], progress)
"""


@pytest.mark.sqlite_only
def test_killed_import_leaves_nothing(ctx, tmp_path):
    """SIGKILL in the middle of an import: the next open sees the database as it was."""
    doc = {"organisations": [org(members=[member(str(i)) for i in range(2_000)])]}
    marker = tmp_path / "marker"
    before = counts(ctx)
    wal = ctx.store.path + "-wal"
    wal_before = os.path.getsize(wal)
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, ctx.store.path, write(tmp_path, doc), str(marker)],
                             env=os.environ.copy())
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "child ended before writing"
            time.sleep(0.05)
        assert os.path.getsize(wal) > wal_before  # uncommitted rows reached the file
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    ctx.store.close()
    assert counts(ctx) == before
    assert ctx.db.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_only_an_organisation_with_members_already_is_written_under_the_repeat_trigger(ctx, tmp_path, monkeypatch):
    """A trigger on members makes SQLite seek each new row's place twice (bench/README.md, import):
    a new organisation's roster is written without one, an update of a known one under it."""
    from bene_tui.services import roster

    under = []
    real = roster.refuse_member_repeats
    monkeypatch.setattr(roster, "refuse_member_repeats",
                        lambda conn, existing, message, updates: (under.append(updates),
                                                                  real(conn, existing, message, updates)))
    members = [{"auth_key_1": f"N{i}", "auth_key_2": "19900101", "name": "新人 一", "kana": "シンジン イチ",
                "birth_date": "1990-01-01"} for i in range(3)]
    doc = {"organisations": [{"group_id": "BN000001", "name": "新設株式会社", "services": ["benefit_station"],
                              "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日"}, "members": members}]}
    path = tmp_path / "new.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert roster.import_file(ctx, path).new_members == 3 and under == [False]
    assert roster.import_file(ctx, path).new_members == 0 and under == [False, True]
