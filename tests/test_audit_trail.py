"""The audit trail out (issue 16, point 2): `bene-tui audit export` and `bene-tui audit prune`."""

from __future__ import annotations

import csv
import io
import json
import stat

import pytest

from bene_tui import cli
from bene_tui.core.errors import BeneError
from bene_tui.services import audit, audit_trail, auth, family, recovery, registration
from support.world import GOOD_PASSWORD
from support.services import FAMILY_PASSWORD, invite, member, token_of

NEW_PASSWORD = "yama-no-mukou-ni-hikaru-hoshi-93"
DAY = 86400


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows_at(ctx, clock, days_ago: list[int]) -> None:
    """One audit row per entry, dated that many days before the test's clock."""
    now = clock.now()
    for n in days_ago:
        clock._fixed = now - n * DAY
        with ctx.tx():
            audit.record(ctx, "test.row", f"day:{n}", "ok", n=n)
    clock._fixed = now


def actions(ctx) -> list[tuple]:
    return [tuple(r) for r in ctx.db.execute("select id, action, subject from audit order by id")]


def test_export_jsonl_and_csv_in_id_order_with_days_included(world, clock, capsys):
    with world.tx() as db:
        db.execute("delete from audit")
    rows_at(world, clock, [10, 5, 4, 0])  # 2026-03-22, 03-27, 03-28, 04-01 (JST)
    code, out, _ = run(capsys, "--db", world.store.path, "audit", "export", "--format", "jsonl",
                       "--since", "2026-03-27", "--until", "2026-03-28")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["subject"] for r in lines] == ["day:5", "day:4"]
    assert lines[0]["detail"] == {"n": 5} and lines[0]["at"].startswith("2026-03-27T") and lines[0]["at"].endswith(".000+09:00")
    assert list(lines[0]) == list(audit_trail.COLUMNS)

    code, out, _ = run(capsys, "--db", world.store.path, "audit", "export", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["subject"] for r in table][:4] == ["day:10", "day:5", "day:4", "day:0"]
    assert json.loads(table[0]["detail"]) == {"n": 10}
    # each export is itself on the trail
    assert [a for _, a, _ in actions(world)][-2:] == ["audit.export", "audit.export"]


def test_export_to_a_file_is_private_and_whole(world, tmp_path, capsys, monkeypatch):
    out = tmp_path / "trail.csv"
    out.write_text("old")
    out.chmod(0o644)
    code, _, err = run(capsys, "--db", world.store.path, "audit", "export", "--format", "csv", "--out", str(out))
    assert code == 0 and "Exported" in err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("id,at,terminal")

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(audit_trail, "export", broken)
    with pytest.raises(OSError):
        cli.main(["--db", world.store.path, "audit", "export", "--format", "csv", "--out", str(tmp_path / "b.csv")])
    assert not list(tmp_path.glob("b.csv*"))  # no half-written file left behind


def test_export_fetches_in_batches_and_reports_progress(world, clock, monkeypatch):
    rows_at(world, clock, [1] * 7)
    monkeypatch.setattr(audit_trail, "FETCH", 3)
    seen, buf = [], io.StringIO()
    total = audit_trail.count(world)
    done = audit_trail.export(world, buf, "jsonl", progress=seen.append)
    assert done == total == len(buf.getvalue().splitlines())
    assert seen == [n for n in range(3, total + 1, 3)] + [total]


@pytest.mark.parametrize("argv, message", [
    (["--since", "2026-02-30"], "not a date"),
    (["--since", "2026-04-02", "--until", "2026-04-01"], "before --since"),
])
def test_export_bad_dates_are_refused(world, capsys, argv, message):
    code, out, err = run(capsys, "--db", world.store.path, "audit", "export", "--format", "jsonl", *argv)
    assert code == 2 and message in err and not out


def test_prune_in_batches_records_itself_and_never_reuses_ids(world, clock, capsys, monkeypatch):
    rows_at(world, clock, [30, 20, 20, 20, 2, 1])
    before = actions(world)
    top = before[-1][0]
    monkeypatch.setattr(audit_trail, "PRUNE_BATCH", 2)
    batches = []
    real_tx = world.store.tx

    def counting_tx():
        batches.append(1)
        return real_tx()

    monkeypatch.setattr(type(world.store), "tx", lambda self: counting_tx())
    cutoff = audit_trail.parse_day("2026-03-20")  # 12 days before the clock: removes the 30- and 20-day rows
    result = audit_trail.prune(world, cutoff)
    old = [r for r in before if r[2] in ("day:30", "day:20")]
    assert result.removed == len(old) == 4
    assert len(batches) == 2 + 1  # two batches of two, then the prune's own row
    after = actions(world)
    assert not set(old) & set(after) and [r for r in before if r not in old] == after[:-1]
    last = next(world.db.query("select * from audit order by id desc limit 1"))
    assert last["action"] == "audit.prune" and last["id"] > top
    assert json.loads(last["detail"]) == {"removed": 4, "before": "2026-03-20T00:00:00.000+09:00"}

    # everything, including the newest rows: the prune's row still gets a fresh id
    audit_trail.prune(world, audit_trail.parse_day("2030-01-01"))
    (only,) = actions(world)
    assert only[1] == "audit.prune" and only[0] > last["id"]


def test_prune_without_before_uses_the_retention(world, clock, capsys, monkeypatch):
    import time
    from datetime import datetime, timedelta

    from bene_tui.core.clock import JST

    monkeypatch.setenv("BENE_TUI_AUDIT_RETENTION_DAYS", "7")
    with world.tx() as db:
        db.execute("delete from audit")
    clock._fixed = time.time()  # the command runs on the real clock
    rows_at(world, clock, [9, 8, 6, 0])
    code, out, _ = run(capsys, "--db", world.store.path, "audit", "prune", "--yes")
    cutoff = (datetime.now(JST).date() - timedelta(days=7)).isoformat()
    assert code == 0 and f"Removed 2 audit row(s) before {cutoff} 00:00" in out
    assert [s for _, _, s in actions(world)] == ["day:6", "day:0", "terminal:test-terminal"]


def test_prune_asks_first_and_refuses_without_a_terminal(world, clock, capsys):
    rows_at(world, clock, [30])
    code, out, err = run(capsys, "--db", world.store.path, "audit", "prune", "--before", "2026-03-10")
    assert code == 2 and "add --yes" in err and "1 audit row(s)" in err
    assert any(s == "day:30" for _, _, s in actions(world))


def test_no_password_code_or_token_in_any_export_of_a_full_world(world, clock, capsys):
    """Every flow that handles a secret, then both exports searched for each secret used."""
    secrets = {GOOD_PASSWORD, NEW_PASSWORD, FAMILY_PASSWORD, "wrong-password-123456"}
    taro = member(world)  # registration: its code
    with pytest.raises(BeneError):
        auth.verify_credentials(world, "taro@example.jp", "wrong-password-123456")
    auth.verify_credentials(world, "taro@example.jp", GOOD_PASSWORD)
    flow = recovery.start_reset(world, "taro@example.jp")["flow_id"]
    code = world.db.execute("select code from outbox where purpose = 'password_reset' order by id desc").fetchone()[0]
    secrets.add(code)
    with pytest.raises(BeneError):
        recovery.check_reset_code(world, flow, "000000" if code != "000000" else "111111")
    assert recovery.check_reset_code(world, flow, code)
    recovery.set_new_password(world, flow, NEW_PASSWORD)
    approval = invite(world, taro)["message"]
    invitation = family.approve(world, token_of(approval), taro)
    family.register(world, token_of(invitation), "山田 花子", "19870615", FAMILY_PASSWORD, True, "ja")
    flow2 = registration.start(world, "TS000001", "1003", "19781120").flow_id
    registration.submit_credentials(world, flow2, "sms", "090-1234-5678", GOOD_PASSWORD, True)
    for row in world.db.query("select code, link from outbox"):
        if row["code"]:
            secrets.add(row["code"])
        if row["link"] and "token=" in row["link"]:
            secrets.add(row["link"].split("token=")[1].split("&")[0])
    assert len(secrets) >= 9  # four passwords, three codes at least, two tokens
    actions_done = {a for _, a, _ in actions(world)}
    assert {"registration.complete", "auth.login", "family.register"} <= actions_done

    for fmt in ("jsonl", "csv"):
        code, out, _ = run(capsys, "--db", world.store.path, "audit", "export", "--format", fmt)
        assert code == 0 and out.count("\n") > 20
        leaked = [s for s in secrets if s in out]
        assert not leaked, (fmt, leaked)


def test_an_interrupted_prune_says_how_much_it_removed(world, clock, monkeypatch):
    rows_at(world, clock, [30] * 5)
    monkeypatch.setattr(audit_trail, "PRUNE_BATCH", 2)

    def stop(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        audit_trail.prune(world, audit_trail.parse_day("2026-03-20"), progress=stop)
    last = next(world.db.query("select * from audit order by id desc limit 1"))
    assert (last["action"], last["outcome"]) == ("audit.prune", "interrupted")
    assert json.loads(last["detail"])["removed"] == 2
    assert sum(1 for _, _, s in actions(world) if s == "day:30") == 3


def test_export_to_a_place_that_cannot_be_written(world, tmp_path, capsys):
    code, out, err = run(capsys, "--db", world.store.path, "audit", "export", "--format", "csv",
                         "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    assert code == 1 and "cannot write" in err and "No such file" in err and "Traceback" not in err


def test_the_progress_bar_only_on_a_terminal(world, capsys, monkeypatch):
    code, out, err = run(capsys, "--db", world.store.path, "audit", "export", "--format", "jsonl")
    assert code == 0 and err == ""  # a pipe or a file: nothing but the rows
    monkeypatch.setattr(type(__import__("sys").stderr), "isatty", lambda self: True, raising=False)
    code, out, err = run(capsys, "--db", world.store.path, "audit", "export", "--format", "jsonl")
    assert code == 0 and "exporting" in err and "exporting" not in out
    assert all(line.startswith("{") for line in out.splitlines())


def test_an_export_reads_one_snapshot_while_other_terminals_write(world, clock, tmp_path, monkeypatch):
    """The count and the rows agree, and rows committed meanwhile by another terminal stay out."""
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore
    from bene_tui.store import read_snapshot
    from support.world import make_settings

    rows_at(world, clock, [1] * 6)
    other, _ = open_context(make_settings(tmp_path), clock=clock,
                            secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    monkeypatch.setattr(audit_trail, "FETCH", 2)

    def meanwhile(done):
        with other.tx():
            audit.record(other, "test.meanwhile", "day:late", "ok")

    buf = io.StringIO()
    try:
        with read_snapshot(world.db):
            total = audit_trail.count(world)
            done = audit_trail.export(world, buf, "jsonl", progress=meanwhile)
    finally:
        other.store.close()
    assert done == total == len(buf.getvalue().splitlines())
    assert "day:late" not in buf.getvalue()
    assert audit_trail.count(world) == total + len(range(2, total + 1, 2)) + 1  # they were committed


@pytest.mark.postgresql_only
def test_on_postgresql_the_export_streams_through_a_server_side_cursor(world, clock, monkeypatch):
    """Bounded memory: the rows stay on the server, FETCH at a time (a plain psycopg cursor would
    bring all of them into this process before the first is written)."""
    rows_at(world, clock, [1] * 5)
    monkeypatch.setattr(audit_trail, "FETCH", 2)
    seen = []

    def look(done):
        seen.append(world.db.execute("select count(*) from pg_cursors where name like 'bene_stream_%'"
                                     ).fetchone()[0])

    audit_trail.export(world, io.StringIO(), "csv", progress=look)
    assert seen[0] == 1  # open while the rows are written
    assert world.db.execute("select count(*) from pg_cursors").fetchone()[0] == 0  # and closed after
    assert not world.db.conn.in_transaction
