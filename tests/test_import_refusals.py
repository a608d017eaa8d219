"""Imports refuse what they cannot be sure of (security issue, point 6), through the real command
line: a key twice in one JSON object, the same member twice in one file, CSV bytes that are not
the encoding's text, malformed files. Each refusal names the record and writes nothing."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bene_tui import cli
from bene_tui.services import roster

pytestmark = pytest.mark.sqlite_only  # about SQLite files themselves (their bytes, modes, dumps)


@pytest.fixture
def db_path(ctx):
    path = ctx.store.path
    ctx.store.close()
    return path


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def dump(path) -> list[str]:
    """Everything in the database, to show a refused import changed nothing at all."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def member(key1: str, name: str = "試験 花子", **kw) -> dict:
    return {"auth_key_1": key1, "auth_key_2": "19900101", "name": name, "kana": "シケン ハナコ",
            "birth_date": "1990-01-01", **kw}


def org(group_id: str = "BO900009", members=()) -> dict:
    return {"group_id": group_id, "name": "テスト商事", "services": ["benefit_station"],
            "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日"}, "members": list(members)}


def refused(capsys, db_path, argv, *named: str) -> str:
    before = dump(db_path)
    code, out, err = run(capsys, "--db", db_path, "--lang", "en", *argv)
    assert code == 1, (out, err)
    assert "Traceback" not in err and "nothing was imported" in err, err
    for text in named:
        assert text in err, (text, err)
    assert dump(db_path) == before
    return err


# --- a key twice in one JSON object: json would keep the second silently ---------------------

ONE_ORG = json.dumps({"organisations": [org(members=[member("1"), member("2")])]}, ensure_ascii=False)
KEY_TWICE = {
    "group_id in an organisation": (ONE_ORG.replace('"group_id": "BO900009"',
                                                    '"group_id": "BO900009", "group_id": "BO100001"'),
                                    ["organisations[0]", "'group_id'", "appears twice", "BO900009"]),
    "members in an organisation": (ONE_ORG[:-3] + ', "members": []}]}',
                                   ["organisations[0]", "'members'", "appears twice"]),
    "a field of a member": (ONE_ORG.replace('"auth_key_1": "2"', '"auth_key_1": "2", "name": "別人 です"'),
                            ["organisations[0].members[1]", "'name'", "appears twice"]),
    "a label of the auth keys": (ONE_ORG.replace('"key2_label": "生年月日"', '"key2_label": "生年月日", "key1_label": "x"'),
                                 ["organisations[0]", "'auth_keys.key1_label'", "appears twice"]),
    "organisations in the document": (ONE_ORG[:-1] + ', "organisations": []}', ["file", "'organisations'"]),
}


@pytest.mark.parametrize("case", list(KEY_TWICE))
def test_a_key_twice_in_one_object_is_refused_naming_it(db_path, tmp_path, capsys, case):
    text, named = KEY_TWICE[case]
    json.loads(text)  # valid JSON, which json.loads would have taken with the last value winning
    path = tmp_path / "twice.json"
    path.write_text(text, encoding="utf-8")
    refused(capsys, db_path, ["import", str(path)], *named)


def test_the_same_organisation_or_service_twice_is_refused(db_path, tmp_path, capsys):
    path = tmp_path / "twice.json"
    path.write_text(json.dumps({"organisations": [org(members=[member("1")]), org(members=[member("2")])]},
                               ensure_ascii=False), encoding="utf-8")
    refused(capsys, db_path, ["import", str(path)], "organisations[1]", "'BO900009' appears twice",
            "also organisations[0]")
    service = {"id": "bene_extra", "name_ja": "追加", "name_en": "Extra", "family_allowed": 0}
    path.write_text(json.dumps({"services": [service, {**service, "name_en": "Other"}],
                                "organisations": [org()]}, ensure_ascii=False), encoding="utf-8")
    refused(capsys, db_path, ["import", str(path)], "services[1]", "'bene_extra' appears twice")


# --- the same member (団体ID + 認証キー1) twice in one file -------------------------------------


@pytest.mark.parametrize("batch", [5_000, 2])  # in one batch of rows written, or in two
def test_the_same_member_twice_in_a_json_file_is_refused(db_path, tmp_path, capsys, monkeypatch, batch):
    monkeypatch.setattr(roster, "BATCH", batch)
    path = tmp_path / "twice.json"
    # 認証キー1 "１００２" is "1002" once normalised; the same key in another organisation is another member
    doc = {"organisations": [org("BO900008", [member("1002")]),
                             org(members=[member("1001"), member("1002"), member("1003"), member("１００２", "別人 です")])]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused(capsys, db_path, ["import", str(path)], "organisations[1].members[3]", "'auth_key_1'", "'1002'",
            "BO900009", "appears twice")


def test_a_member_already_in_the_database_twice_in_a_reimport_is_refused(db_path, tmp_path, capsys):
    path = tmp_path / "roster.json"
    path.write_text(json.dumps({"organisations": [org(members=[member("1"), member("2")])]}, ensure_ascii=False),
                    encoding="utf-8")
    assert run(capsys, "--db", db_path, "import", str(path))[0] == 0
    path.write_text(json.dumps({"organisations": [org(members=[member("1", "更新 一"), member("2"),
                                                               member("1", "更新 二")])]}, ensure_ascii=False),
                    encoding="utf-8")
    refused(capsys, db_path, ["import", str(path)], "organisations[0].members[2]", "'1'", "appears twice")
    # each once: the re-import updates them
    path.write_text(json.dumps({"organisations": [org(members=[member("1", "更新 一"), member("2")])]},
                               ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(capsys, "--db", db_path, "import", str(path))
    assert code == 0 and "(0 new, 2 updated)" in out
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select name from members where group_id = 'BO900009' and auth_key_1 = '1'").fetchone() \
            == ("更新 一",)


CSV_HEAD = "auth_key_1,auth_key_2,name,kana,birth_date\n"


@pytest.mark.parametrize("batch", [5_000, 2])
def test_the_same_member_twice_in_a_csv_is_refused_naming_the_line(db_path, tmp_path, capsys, monkeypatch, batch):
    monkeypatch.setattr(roster, "BATCH", batch)
    path = tmp_path / "twice.csv"
    path.write_text(CSV_HEAD + "S1,1,試験 一,シケン イチ,1990-01-01\n\n"  # a blank line: lines are not rows
                    + "S2,1,試験 二,シケン ニ,1990-01-01\nS3,1,試験 三,シケン サン,1990-01-01\n"
                    + "S1,2,別人 です,ベツジン デス,1991-01-01\n", encoding="utf-8")
    refused(capsys, db_path, ["import-roster", "BO200002", str(path)], "line 6", "'S1'", "appears twice")
    # S2001 is in the demo roster already: twice in the file is refused too
    path.write_text(CSV_HEAD + "S2001,1,試験 一,シケン イチ,1990-01-01\nS2001,2,試験 二,シケン ニ,1990-01-01\n",
                    encoding="utf-8")
    refused(capsys, db_path, ["import-roster", "BO200002", str(path)], "line 3", "'S2001'", "appears twice")


# --- CSV encodings as Japanese HR systems write them ------------------------------------------

NAMES = [("髙橋 一郎", "タカハシ イチロウ"), ("渡邉 花子", "ワタナベ ハナコ"), ("山﨑 誠", "ヤマザキ マコト")]


def csv_rows(prefix: str) -> str:
    return CSV_HEAD + "".join(f"{prefix}{i},1,{name},{kana},1990-01-0{i + 1}\r\n" for i, (name, kana) in enumerate(NAMES))


def names(db_path, prefix: str) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("select name from members where group_id = 'BO200002' "
                                           "and auth_key_1 like ? order by auth_key_1", [prefix + "%"])]


def test_utf8_with_or_without_a_bom_and_cp932_with_its_flag(db_path, tmp_path, capsys):
    expected = [name for name, _ in NAMES]
    for prefix, data, flags in (("XB", b"\xef\xbb\xbf" + csv_rows("XB").encode("utf-8"), []),  # Excel's "CSV UTF-8"
                                ("XU", csv_rows("XU").encode("utf-8"), ["--encoding", "utf-8"]),
                                ("XS", csv_rows("XS").encode("cp932"), ["--encoding", "cp932"])):
        path = tmp_path / f"{prefix}.csv"
        path.write_bytes(data)
        code, out, err = run(capsys, "--db", db_path, "import-roster", "BO200002", str(path), *flags)
        assert code == 0 and "3 new" in out, err
        assert names(db_path, prefix) == expected


@pytest.mark.parametrize("lang, says", [("en", "Line 3 of the file cannot be read as utf-8 text, so nothing was "
                                                "imported. A CSV file saved in Shift-JIS"),
                                        ("ja", "ファイルの3行目をutf-8の文字として読めないため、何も取り込んでいません。")])
def test_shift_jis_without_its_flag_names_the_line_and_imports_nothing(db_path, tmp_path, capsys, lang, says):
    path = tmp_path / "sjis.csv"
    path.write_bytes((CSV_HEAD + "S9,1,Taro Yamada,ヤマダ タロウ,1990-01-01\n").encode("utf-8")
                     + csv_rows("S").split("\n", 1)[1].encode("cp932"))
    before = dump(db_path)
    code, _, err = run(capsys, "--db", db_path, "--lang", lang, "import-roster", "BO200002", str(path))
    assert code == 1 and says in err and "Traceback" not in err
    assert dump(db_path) == before
    code, _, err = run(capsys, "--db", db_path, "import-roster", "BO200002", str(path), "--encoding", "no-such")
    assert code == 1 and "unknown encoding 'no-such'" in err
    assert dump(db_path) == before


# --- malformed files: a clear message, no traceback, nothing written --------------------------

GOOD_JSON = json.dumps({"organisations": [org(members=[member(str(i)) for i in range(20)])]}, ensure_ascii=False)
MALFORMED_JSON = {
    "truncated": (GOOD_JSON[: len(GOOD_JSON) // 2].encode(), ["invalid JSON"]),
    "binary garbage": (bytes(range(256)) * 8, ["Line 2 of the file cannot be read as UTF-8"]),
    "a raw control character": (GOOD_JSON.replace("試験 花子", "試験\x01花子", 1).encode(), ["invalid JSON"]),
    "an escaped terminal escape": (GOOD_JSON.replace("試験 花子", "試験\\u001b[31m花子", 1).encode(),
                                   ["organisations[0].members[0]", "'name'", "control characters"]),
    "a 10,000-character name": (GOOD_JSON.replace("試験 花子", "長" * 10_000, 1).encode(),
                                ["organisations[0].members[0]", "'name'", "longer than"]),
    "nested ten thousand deep": (GOOD_JSON.replace('"members": [', '"members": [' + "[" * 10_000, 1).encode(),
                                 ["nested too deeply"]),
}


@pytest.mark.parametrize("case", list(MALFORMED_JSON))
def test_a_malformed_json_file_gets_a_message(db_path, tmp_path, capsys, case):
    data, named = MALFORMED_JSON[case]
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    err = refused(capsys, db_path, ["import", str(path)], *named)
    assert len(err) < 500  # the 10,000 characters are not echoed back


MALFORMED_CSV = {
    "binary garbage": (bytes(range(256)) * 8, ["Line 2 of the file cannot be read as utf-8"]),
    "a control character": ((CSV_HEAD + "S1,1,試験\x1b[31m花子,シケン ハナコ,1990-01-01\n").encode(),
                            ["line 2", "'name'", "control characters"]),
    "a 10,000-character name": ((CSV_HEAD + "S1,1," + "長" * 10_000 + ",シケン ハナコ,1990-01-01\n").encode(),
                                ["line 2", "'name'", "longer than"]),
    "a 200,000-character field": ((CSV_HEAD + "S1,1," + "長" * 200_000 + ",シケン ハナコ,1990-01-01\n").encode(),
                                  ["line 2", "unreadable CSV"]),
    "an open quote": ((CSV_HEAD + 'S1,1,"試験 花子,シケン ハナコ,1990-01-01\n').encode(), ["line 2", "expected 5 cells"]),
}


@pytest.mark.parametrize("case", list(MALFORMED_CSV))
def test_a_malformed_csv_file_gets_a_message(db_path, tmp_path, capsys, case):
    data, named = MALFORMED_CSV[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    err = refused(capsys, db_path, ["import-roster", "BO200002", str(path)], *named)
    assert len(err) < 500


def test_bytes_that_are_not_cp932_under_its_flag_name_the_line_and_import_nothing(db_path, tmp_path, capsys):
    """With `--encoding cp932` too: a byte pair Shift-JIS has no character for (0x85 0x40) names its line."""
    path = tmp_path / "broken-sjis.csv"
    lines = csv_rows("S").encode("cp932").split(b"\n")
    assert "渡邉".encode("cp932") in lines[2]
    lines[2] = lines[2].replace("渡邉".encode("cp932"), b"\x85\x40")  # line 3 of the file
    path.write_bytes(b"\n".join(lines))
    before = dump(db_path)
    for lang, says in (("en", "Line 3 of the file cannot be read as cp932 text, so nothing was imported."),
                       ("ja", "ファイルの3行目をcp932の文字として読めないため、何も取り込んでいません。")):
        code, _, err = run(capsys, "--db", db_path, "--lang", lang, "import-roster", "BO200002", str(path),
                           "--encoding", "cp932")
        assert code == 1 and says in err, err
        assert "--encoding cp932" not in err, "no advice to add the flag it was given"
        assert "Traceback" not in err
    assert dump(db_path) == before
