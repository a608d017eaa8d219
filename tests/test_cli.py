"""The data subcommands: import, import-roster, outbox, demo --reset (run in-process); and the real
command in a subprocess for closed pipes and Ctrl+C."""

from __future__ import annotations

import fcntl
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import termios
import time

import pytest

from bene_tui.services import outbox
from support.cli import run


@pytest.fixture
def db_path(ctx):
    return ctx.store.path


def count(path, sql):
    from bene_tui.store import is_postgres_url

    if is_postgres_url(path):
        from bene_tui.store.postgres import PgDatabase

        db = PgDatabase(path)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchone()[0]


def test_first_start_seeds_the_demo(tmp_path, capsys):
    path = str(tmp_path / "fresh.db")
    code, out, _ = run(capsys, "--db", path, "outbox")
    assert code == 0 and "No messages" in out
    assert count(path, "select count(*) from organisations") == 3
    assert count(path, "select count(*) from members") == 23


def _send(ctx):
    with ctx.tx():
        outbox.send(ctx, "+819012345678", "verification", "ja", code="123456")
        outbox.send(ctx, "taro.yamada@sample.co.jp", "verification", "ja", code="654321")
        outbox.send(ctx, "+819012345678", "login_id_notice", "ja", link="bene://login")


def test_outbox_json_fields_and_filters(ctx, db_path, capsys):
    _send(ctx)
    code, out, _ = run(capsys, "--db", db_path, "outbox", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["recipient"] for r in rows] == ["+819012345678", "taro.yamada@sample.co.jp", "+819012345678"]
    for key in ("id", "channel", "recipient", "sender", "subject", "body", "purpose", "code", "link", "status",
                "created_at"):
        assert key in rows[0]
    assert rows[1]["code"] == "654321" and rows[1]["channel"] == "email"
    assert rows[1]["sender"] == "benefitone-platform@benefit-one.co.jp"

    for typed in ("090-1234-5678", "09012345678", "+81 90 1234 5678", "０９０１２３４５６７８"):
        code, out, _ = run(capsys, "--db", db_path, "outbox", "--to", typed, "--json")
        assert [r["purpose"] for r in json.loads(out)] == ["login_id_notice", "verification"], typed

    code, out, _ = run(capsys, "--db", db_path, "outbox", "--to", "taro.yamada@SAMPLE.CO.JP", "--json", "--last")
    last = json.loads(out)
    assert isinstance(last, dict) and last["code"] == "654321"


def test_outbox_text_and_bad_recipient(ctx, db_path, capsys):
    _send(ctx)
    code, out, _ = run(capsys, "--db", db_path, "outbox", "--last")
    assert code == 0 and "090-1234-5678" in out and "bene://login" in out and out.count("#") == 1
    code, _, err = run(capsys, "--db", db_path, "outbox", "--to", "not a login")
    assert code == 2 and "not an e-mail address" in err
    code, out, _ = run(capsys, "--db", db_path, "outbox", "--to", "nobody@example.jp", "--json", "--last")
    assert code == 1 and json.loads(out) is None


ROSTER = {"organisations": [{
    "group_id": "BO900009", "name": "テスト商事", "services": ["benefit_station"],
    "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日"},
    "members": [{"auth_key_1": str(i), "auth_key_2": "19900101", "name": "試験 花子", "kana": "シケン ハナコ",
                 "birth_date": "1990-01-01"} for i in range(5)]}]}


def test_import_json(ctx, db_path, tmp_path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(ROSTER, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(capsys, "--db", db_path, "import", str(path))
    assert code == 0 and "1 organisation(s), 5 member record(s) (5 new, 0 updated)" in out
    assert count(db_path, "select count(*) from members where group_id = 'BO900009'") == 5


def test_import_bad_file_exits_1_naming_record_and_field(ctx, db_path, tmp_path, capsys):
    bad = json.loads(json.dumps(ROSTER))
    bad["organisations"][0]["members"][3]["birth_date"] = "1990-02-30"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    before = count(db_path, "select count(*) from members")
    code, out, err = run(capsys, "--db", db_path, "import", str(path))
    assert code == 1
    assert "organisations[0].members[3]" in err and "'birth_date'" in err and "nothing was imported" in err
    assert count(db_path, "select count(*) from members") == before
    assert count(db_path, "select count(*) from organisations") == 3
    code, _, err = run(capsys, "--db", db_path, "import", str(tmp_path / "missing.json"))
    assert code == 1 and "no such file" in err


def test_import_roster_csv(ctx, db_path, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("auth_key_1,auth_key_2,name,kana,birth_date\nS9001,202504,新人 一郎,シンジン イチロウ,2003-04-01\n",
                    encoding="utf-8")
    code, out, _ = run(capsys, "--db", db_path, "import-roster", "BO200002", str(path))
    assert code == 0 and "1 new" in out
    path.write_text("auth_key_1,auth_key_2,name,kana,birth_date\nS9002,202504,新人 二郎,しんじん じろう,2003-04-31\n",
                    encoding="utf-8")
    code, _, err = run(capsys, "--db", db_path, "import-roster", "BO200002", str(path))
    assert code == 1 and "line 2" in err and "'birth_date'" in err
    assert count(db_path, "select count(*) from members where group_id = 'BO200002'") == 8


def test_demo_reset_restores_after_changes(ctx, db_path, capsys):
    _send(ctx)
    with ctx.tx() as db:
        db.execute("delete from members where group_id = 'BO300003'")
        db.execute("delete from org_services where group_id = 'BO300003'")
        db.execute("delete from organisations where group_id = 'BO300003'")
    code, out, _ = run(capsys, "--db", db_path, "demo", "--reset")
    assert code == 0 and "Demo data restored" in out and "23 members" in out
    assert count(db_path, "select count(*) from organisations") == 3
    assert count(db_path, "select count(*) from members") == 23
    assert count(db_path, "select count(*) from outbox") == 0
    code, _, err = run(capsys, "--db", db_path, "demo")
    assert code == 2 and "--reset" in err


# ---------------------------------------------------------------------------------------------
# The real command in a subprocess: a reader that stops early, Ctrl+C. Never a traceback.


def _send_many(ctx, n: int = 1000) -> None:
    """Far more output than a pipe holds (64 KiB), so the command is still writing when the reader stops."""
    with ctx.tx():
        for i in range(n):
            outbox.send(ctx, f"reader{i}@example.jp", "verification", "ja", code="123456")


def _as_at_a_terminal() -> None:
    """The child starts with SIGINT as a shell gives it (default, unblocked): an earlier test of this
    worker may leave it ignored or blocked, and a child inherits both."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*argv: str) -> subprocess.Popen:
    # PYTHONFAULTHANDLER: a command that hangs is killed with SIGABRT and says where it was
    return subprocess.Popen([sys.executable, "-m", "bene_tui.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                            preexec_fn=_as_at_a_terminal)


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_outbox_into_a_reader_that_stops_after_one_line(ctx, db_path, json_flag):
    """`bene-tui outbox | head -1`: the command ends quietly with 141 (128 + SIGPIPE), no BrokenPipeError."""
    _send_many(ctx)
    proc = _cli("--db", db_path, "outbox", "--limit", "1000", *json_flag)
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert first.startswith(b"[" if json_flag else b"#1000 ")
    assert err == "", err


def test_ctrl_c_ends_a_command_with_one_line_and_130(ctx, db_path):
    """SIGINT while the command is busy (here: writing into a pipe nobody reads yet) ends it with
    one line on stderr and 130; nothing still buffered for the full pipe keeps it from exiting."""
    _send_many(ctx)
    proc = _cli("--db", db_path, "outbox", "--limit", "1000")
    nearly_full = fcntl.fcntl(proc.stdout.fileno(), fcntl.F_GETPIPE_SZ) - io.DEFAULT_BUFFER_SIZE
    waiting, seen = bytearray(4), -1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the pipe is full and stays so: the command is blocked in a write
        time.sleep(0.2)
        fcntl.ioctl(proc.stdout.fileno(), termios.FIONREAD, waiting)
        now = int.from_bytes(waiting, sys.byteorder)
        if now == seen >= nearly_full:
            break
        seen = now
    else:
        pytest.fail("the command never filled the pipe")
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        proc.wait(timeout=30)
        pytest.fail("the command did not end after SIGINT; it was at:\n" + proc.stderr.read().decode()[-4000:])
    err = proc.stderr.read().decode()
    proc.stdout.close()
    assert code == 130
    assert err.strip() == "bene-tui: interrupted.", err


# Every command that prints, not only `outbox`: a reader gone before the first line, and Ctrl+C while
# the command is blocked writing its output (its stdout a pipe that is already full).

def _printing_commands(tmp_path) -> dict[str, list[str]]:
    roster = tmp_path / "r.json"
    roster.write_text(json.dumps(ROSTER, ensure_ascii=False), encoding="utf-8")
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("auth_key_1,auth_key_2,name,kana,birth_date\nS9001,202504,新人 一郎,シンジン イチロウ,2003-04-01\n",
                        encoding="utf-8")
    return {
        "outbox": ["outbox"], "outbox-json": ["outbox", "--json"], "outbox-last": ["outbox", "--last"],
        "report": ["report"], "report-json": ["report", "--json"], "config": ["config"],
        "audit-export-jsonl": ["audit", "export", "--format", "jsonl"],
        "audit-export-csv": ["audit", "export", "--format", "csv"], "audit-prune": ["audit", "prune", "--yes"],
        "db-check": ["db", "check"], "key-export": ["key", "export"],
        "demo-list": ["demo", "--list"], "demo-save": ["demo", "--save", "snap"], "demo-reset": ["demo", "--reset"],
        "person-export": ["person", "export", "taro@example.jp", "--out", str(tmp_path / "taro.json")],
        "person-erase": ["person", "erase", "taro@example.jp", "--operator", "staff-1", "--yes"],
        "import": ["import", str(roster)], "import-roster": ["import-roster", "BO200002", str(csv_file)],
        "help": ["--help"],
    }


PRINTING = ["outbox", "outbox-json", "outbox-last", "report", "report-json", "config", "audit-export-jsonl",
            "audit-export-csv", "audit-prune", "db-check", "key-export", "demo-list", "demo-save", "demo-reset",
            "person-export", "person-erase", "import", "import-roster"]


def _world_for_every_command(ctx) -> None:
    from support.services import register

    register(ctx, gid="BO100001", key1="100234", key2="19850401")  # an account for `person`, rows for the
    # audit trail, a message for the outbox


@pytest.mark.sqlite_only  # the command line is the same on either store; one is enough
@pytest.mark.parametrize("name", [*PRINTING, "help"])
def test_every_command_ends_quietly_when_its_reader_is_gone(ctx, db_path, tmp_path, name):
    """`bene-tui <command> | true`: the reader is gone before the first line. Every command ends with
    141 and nothing on stderr (no BrokenPipeError, no "Exception ignored"), whoever writes its output
    (print, json, csv, Rich's tables); help is argparse's own (0)."""
    _world_for_every_command(ctx)
    argv = _printing_commands(tmp_path)[name]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "bene_tui.cli", "--db", db_path, *argv], stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert (proc.returncode, err) == ((0, "") if name == "help" else (141, "")), err


def _full_pipe() -> tuple[int, int]:
    """A pipe nobody reads, already full: the first write into it blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)  # the flag belongs to the pipe, which the command shares
    return read_end, write_end


def _blocked_in(pid: int, syscall: int, fd: int, timeout: float = 120) -> bool:
    """True once the process sits in that system call on that descriptor (/proc/PID/syscall)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fields = open(f"/proc/{pid}/syscall").read().split()
        except OSError:
            return False  # gone
        if len(fields) > 1 and fields[0] == str(syscall) and int(fields[1], 16) == fd:
            return True
        time.sleep(0.05)
    return False


WRITE, READ = 1, 0  # x86_64 system call numbers


@pytest.mark.sqlite_only
@pytest.mark.skipif(not os.path.exists("/proc/self/syscall") or os.uname().machine != "x86_64",
                    reason="needs Linux x86_64's /proc/PID/syscall")
@pytest.mark.parametrize("name", [*PRINTING, "key-import"])
def test_ctrl_c_ends_every_command_with_one_line_and_130(ctx, db_path, tmp_path, name):
    """SIGINT while the command is blocked writing its output (or, `key import`, reading its input):
    one line on stderr, 130, never a traceback."""
    _world_for_every_command(ctx)
    argv = ["key", "import"] if name == "key-import" else _printing_commands(tmp_path)[name]
    read_end, write_end = _full_pipe()
    stdin_r, stdin_w = os.pipe()  # nothing is ever written to it
    try:
        proc = subprocess.Popen([sys.executable, "-m", "bene_tui.cli", "--db", db_path, *argv], stdout=write_end,
                                stderr=subprocess.PIPE, stdin=stdin_r,
                                preexec_fn=_as_at_a_terminal)
        try:
            assert _blocked_in(proc.pid, READ if name == "key-import" else WRITE, 0 if name == "key-import" else 1), \
                f"never blocked: {proc.poll()} {proc.stderr.read().decode() if proc.poll() is not None else ''}"
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err = proc.stderr.read().decode()
    finally:
        for fd in (read_end, write_end, stdin_r, stdin_w):
            os.close(fd)
    assert "Traceback" not in err, err
    assert code == 130, err
    assert err.strip().splitlines()[-1].startswith("bene-tui:") and "interrupted" in err, err


def test_ctrl_c_at_the_pin_prompt_changes_nothing(monkeypatch, tmp_path, capsys):
    from bene_tui.services import pin

    def interrupted(prompt=""):
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", interrupted)
    code, _, err = run(capsys, "--db", str(tmp_path / "p.db"), "set-pin")
    assert code == 130 and err.strip() == "bene-tui: nothing was changed." and "Traceback" not in err
    assert not (tmp_path / "secrets.json").exists() or pin.SECRET_NAME not in (tmp_path / "secrets.json").read_text()
