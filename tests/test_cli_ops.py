"""bene-tui report and bene-tui person export|erase (run in-process)."""

from __future__ import annotations

import json

import pytest

from bene_tui.services import report
from support.cli import run
from support.stuck_world import _stuck_world


def test_report_json_schema(world, clock, capsys):
    _stuck_world(world, clock)
    code, out, err = run(capsys, "--db", world.store.path, "report", "--json", "--org", "TS000001")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert set(data) == {"since", "until", "org", "terminal", "totals", "days", "rows"}
    assert data["org"] == "TS000001" and data["since"] is None
    metrics = set(report.SHOWN) | {"median_seconds"}
    assert set(data["totals"]) == metrics
    assert data["totals"]["started"] == 3 and data["totals"]["completed"] == 1
    assert [set(d) for d in data["days"]] == [metrics | {"day"}]
    assert [(r["day"], r["org"], r["terminal"]) for r in data["rows"]] == [("2026-04-01", "TS000001", "test-terminal")]


def test_report_table(world, clock, capsys):
    _stuck_world(world, clock)
    code, out, _ = run(capsys, "--db", world.store.path, "report", "--since", "2026-04-01", "--until", "2026-04-01")
    assert code == 0
    assert "started 3 → step2 2 → code_entered 1 → completed 1" in out
    assert "TS000001" in out and "TS000002" not in out


@pytest.mark.parametrize("flag", ["--since", "--until"])
@pytest.mark.parametrize("bad", ["2026-13-40", "[b]"])
def test_report_bad_date_is_a_clear_message(world, capsys, flag, bad):
    code, out, err = run(capsys, "--db", world.store.path, "report", flag, bad)
    assert code == 2 and out == ""
    assert err == f"bene-tui report: {flag}: Please enter a valid date (e.g. 2026-04-01).\n"


# -- bene-tui person export|erase ----------------------------------------------------------------

def test_person_export_writes_a_private_file(world, capsys, tmp_path):
    import os
    import stat

    from support.services import TARO, _people

    _people(world)
    out = tmp_path / "taro.json"
    code, stdout, err = run(capsys, "--db", world.store.path, "person", "export", "TARO@example.jp", "--out", str(out),
                            "--operator", "佐々木")
    assert code == 0 and err == "" and str(out) in stdout and "Member records 1" in stdout
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["account"]["login_id"] == TARO
    # The default place: exports/ in the data directory.
    code, stdout, _ = run(capsys, "--db", world.store.path, "person", "export", TARO)
    path = stdout.split(": ", 1)[1].splitlines()[0]
    assert code == 0 and "/exports/bene-account-" in path and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_person_erase_asks_unless_yes(world, capsys, monkeypatch):
    from bene_tui.services import auth
    from support.services import TARO, _people

    people = _people(world)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, out, err = run(capsys, "--db", world.store.path, "person", "erase", TARO, "--operator", "佐々木")
    assert code == 2 and "--yes" in err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, err = run(capsys, "--db", world.store.path, "person", "erase", TARO, "--operator", "佐々木")
    assert code == 1 and world.db["accounts"].get(people["taro"])["login_id"] == TARO
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    code, out, err = run(capsys, "--db", world.store.path, "person", "erase", TARO, "--operator", "佐々木")
    assert code == 0 and out.startswith("Erased.")
    with pytest.raises(Exception) as e:
        auth.login(world, "benefit_station", TARO, "kumo-no-ue-de-odoru-neko-42")
    assert e.value.key == auth.CASE1


@pytest.mark.parametrize("argv, message", [
    (["erase", "taro@example.jp", "--operator", "a:b", "--yes"], "bene-tui person erase: --operator: "),
    (["erase", "nobody@example.jp", "--operator", "佐々木", "--yes"], "bene-tui person erase: LOGIN_ID: No Bene Account"),
    (["export", "not a login", "--operator", "佐々木"], "bene-tui person export: LOGIN_ID: Not a valid login ID."),
])
def test_person_refusals_are_clear(world, capsys, argv, message):
    from support.services import _people

    _people(world)
    code, out, err = run(capsys, "--db", world.store.path, "person", *argv)
    assert code == 2 and out == "" and err.startswith(message) and "Traceback" not in err
