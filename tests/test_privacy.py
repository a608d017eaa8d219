"""Data requests (APPI): disclosure (開示) and erasure (削除) of one person's data, as services."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, family, outbox, privacy, registration
from support.world import GOOD_PASSWORD
from support.services import member as register, token_of, TARO, ICHIRO, _people


def _raw(world) -> bytes:
    """Where the store keeps the bytes of what it holds: SQLite's file and WAL, whole; on PostgreSQL
    every row version (live, or dead and not yet vacuumed) of the tables an erasure touches and of
    their TOAST tables, and every entry of their B-tree indexes, read page by page (pageinspect).
    (Not the pages' free space: VACUUM does not zero it; docs/security.md, Known gaps.)"""
    if world.store.path.startswith("postgresql://"):
        return _pg_versions(world.db)
    path = Path(world.store.path)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def _pg_versions(db) -> bytes:
    db.execute("create extension if not exists pageinspect")
    heaps = [r[0] for r in db.execute(
        "select c.oid::regclass::text from pg_class c where c.oid = any(?::regclass[]) "
        "union select t.reltoastrelid::regclass::text from pg_class t where t.oid = any(?::regclass[]) "
        "and t.reltoastrelid <> 0", [list(privacy.ERASED_TABLES)] * 2)]
    indexes = [r[0] for r in db.execute(
        "select i.indexrelid::regclass::text from pg_index i join pg_class c on c.oid = i.indexrelid "
        "join pg_am a on a.oid = c.relam where a.amname = 'btree' and i.indrelid = any(?::regclass[])",
        [list(privacy.ERASED_TABLES)])]
    out = []
    for rel in heaps + indexes:
        pages = db.execute("select pg_relation_size(?::regclass) / 8192", [rel]).fetchone()[0]
        for page in range(pages):
            if rel in heaps:
                out += [r[0] for r in db.execute("select t_data from heap_page_items(get_raw_page(?, ?)) "
                                                 "where t_data is not null", [rel, page])]
            elif page:  # (page 0: the metapage)
                out += [bytes.fromhex(r[0].replace(" ", "")) for r in db.execute(
                    "select data from bt_page_items(?, ?) where data is not null", [rel, page])]
    return b"".join(bytes(x) for x in out)


def test_export_holds_each_category_and_nobody_else(world, tmp_path):
    people = _people(world)
    code = outbox.latest(world, TARO, "verification")["code"]
    out = tmp_path / "taro.json"
    result = privacy.export(world, people["taro"], "佐々木", str(out))
    assert result["path"] == str(out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["account"]["login_id"] == TARO and data["account"]["password"] == "set"
    assert [m["name"] for m in data["members"]] == ["山田 太郎"]
    assert data["members"][0]["auth_key_2"] == privacy.WITHHELD
    assert [i["id"] for i in data["invitations"]] == [people["invitation"]]
    assert {f["kind"] for f in data["flows"]} == {"enrol"}
    assert {m["recipient"] for m in data["messages"]} == {TARO}
    assert {"registration.complete", "auth.login", "family.invite"} <= {r["action"] for r in data["audit"]}
    assert result["counts"] == data["counts"] == {
        "account": 1, "members": 1, "family_accounts": 0, "invitations": 1, "flows": len(data["flows"]),
        "messages": len(data["messages"]), "audit": len(data["audit"])}
    assert all(result["counts"][k] for k in ("flows", "messages", "audit"))
    # Nothing of another person, and no credential: password hash, 認証キー2, code, link.
    for absent in (ICHIRO, "鈴木 一郎", "$argon2", "19850401", code):
        assert absent not in text, absent
    [row] = world.db.execute("select actor, subject, detail from audit where action = 'person.export'").fetchall()
    assert row[0] == "operator:佐々木" and row[1] == f"account:{people['taro']}" and TARO not in row[2]
    with pytest.raises(BeneError) as e:  # never over an existing file
        privacy.export(world, people["taro"], "佐々木", str(out))
    assert e.value.key == "privacy.error.file_exists"


def test_erase_frees_the_login_id_and_leaves_no_trace_of_it(world):
    people = _people(world)
    audit_before = world.db.execute("select count(*) from audit").fetchone()[0]
    about_before = world.db.execute("select count(*) from audit where subject = ?",
                                    [f"account:{people['taro']}"]).fetchone()[0]
    messages_before = world.db.execute("select count(*) from outbox").fetchone()[0]
    result = privacy.erase(world, people["taro"], "佐々木")
    assert result["members_unlinked"] == 1 and result["messages"] >= 2
    # The trail still adds up: same rows about the same ids, one more for the erasure itself.
    assert world.db.execute("select count(*) from audit").fetchone()[0] == audit_before + 1
    assert world.db.execute("select count(*) from audit where subject = ?",
                            [f"account:{people['taro']}"]).fetchone()[0] == about_before + 1
    assert world.db.execute("select count(*) from outbox").fetchone()[0] == messages_before
    [row] = world.db.execute("select actor, reason, detail from audit where action = 'person.erase'").fetchall()
    assert row[0] == "operator:佐々木" and TARO not in (row[1] + row[2])
    for table, columns in (("outbox", "recipient || coalesce(subject, '') || body"),
                           ("audit", "coalesce(subject, '') || coalesce(reason, '') || coalesce(detail, '')"),
                           ("accounts", "login_id || login_key"), ("flows", "coalesce(login_id, '')"),
                           ("codes", "recipient"), ("outbox_recipients", "recipient")):
        assert not world.db.execute(f"select count(*) from {table} where {columns} like ?",
                                    [f"%{TARO}%"]).fetchone()[0], table
    raw = _raw(world)
    assert TARO.encode() not in raw
    assert ICHIRO.encode() in raw  # (the check can see a login ID)
    with pytest.raises(BeneError) as e:
        auth.login(world, "benefit_station", TARO, GOOD_PASSWORD)
    assert e.value.key == auth.CASE1 and e.value.staff == "unknown login ID"
    # Ichiro is untouched; the member record stays and can register again, with the same login ID.
    assert auth.login(world, "benefit_station", ICHIRO, GOOD_PASSWORD)["account_id"] == people["ichiro"]
    again = register(world, login=TARO)
    assert again != people["taro"]
    with pytest.raises(BeneError) as e:
        privacy.erase(world, people["taro"], "佐々木")
    assert e.value.key == "privacy.error.erased"
    assert world.db.execute("select count(*) from audit where action = 'person.erase' and outcome = 'refused'"
                            ).fetchone()[0] == 1


def test_erase_of_a_family_account_erases_its_invitation(world):
    people = _people(world)
    inv = world.db["invitations"].get(people["invitation"])
    message = outbox.latest(world, "hanako@example.jp")
    family_id = family.register(world, token_of(message), "山田 花子", "1987-06-15", GOOD_PASSWORD, True)
    privacy.erase(world, family_id, "佐々木")
    inv = world.db["invitations"].get(people["invitation"])
    assert (inv["name"], inv["contact"], inv["birth_date"]) == (privacy.ERASED, privacy.ERASED, None)
    assert b"hanako@example.jp" not in _raw(world)


@pytest.mark.parametrize("name", ["", "a:b", "x" * 41])
def test_a_bad_operator_name_is_refused_before_anything(world, name):
    people = _people(world)
    with pytest.raises(BeneError):
        privacy.erase(world, people["taro"], name)
    assert world.db["accounts"].get(people["taro"])["login_id"] == TARO


def test_no_disclosure_file_without_its_audit_row(world, tmp_path, monkeypatch):
    from bene_tui.services import audit
    from bene_tui.store import busy_error

    people = _people(world)

    def busy(*args, **kw):
        raise busy_error(RuntimeError("database is locked"))

    monkeypatch.setattr(audit, "record", busy)
    with pytest.raises(BeneError) as e:
        privacy.export(world, people["taro"], "佐々木", str(tmp_path / "taro.json"))
    assert e.value.key == "error.busy" and not (tmp_path / "taro.json").exists()
