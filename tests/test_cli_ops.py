"""bene-tui report and bene-tui person export|erase (run in-process)."""

from __future__ import annotations

import json

import pytest

from bene_tui import report
from test_cli import run
from test_report import _stuck_world


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
