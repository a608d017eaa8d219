"""Private files (security issue, point 5): the database and its -wal/-shm hold every member's
認証キー and the outbox, so they are 0600 and the app's data directory 0700 whatever the umask;
files and directories of an older version are tightened; a demo reset leaves nothing it deleted
readable in the files."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bene_tui import cli
from bene_tui.services import outbox, registration, roster
from support.world import GOOD_PASSWORD

ROOT = Path(__file__).resolve().parents[1]  # `python -m` imports this checkout's bene_tui

pytestmark = pytest.mark.sqlite_only  # about SQLite files themselves (their bytes, modes, dumps)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run_cli(env, *argv, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real command in its own process, with the umask that would make every file world-readable."""
    return subprocess.run([sys.executable, "-m", "bene_tui.cli", *argv], env=env, capture_output=True, text=True,
                          input=stdin, timeout=120, cwd=ROOT, preexec_fn=lambda: os.umask(0))


@pytest.fixture
def default_dir_env(tmp_path):
    """The environment of a first start on the default data directory (no --db, no secrets file)."""
    env = {k: v for k, v in os.environ.items() if k not in ("BENE_TUI_DB", "BENE_TUI_SECRETS_FILE")}
    return env, tmp_path / "xdg" / "bene-tui"


@pytest.fixture
def open_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def test_first_start_through_the_cli_makes_the_directory_and_every_file_private(default_dir_env):
    env, data_dir = default_dir_env
    for argv, stdin in ((["demo", "--reset"], None), (["set-pin"], "482915\n482915\n")):  # the PIN: secrets.json
        done = run_cli(env, *argv, stdin=stdin)
        assert done.returncode == 0, done.stderr
    assert (data_dir / "bene.db").exists() and (data_dir / "secrets.json").exists()
    assert mode(data_dir) == 0o700
    assert {p.name: mode(p) for p in data_dir.iterdir()} == {p.name: 0o600 for p in data_dir.iterdir()}


async def test_a_running_app_keeps_the_wal_and_shm_private(open_umask, app_factory, tmp_path):
    from textual.widgets import Button

    from helpers import wait_for

    app = app_factory()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.ctx is not None and list(app.screen.query(Button)), what="the app open")
        names = ("bene.db", "bene.db-wal", "bene.db-shm")
        assert {n: mode(tmp_path / n) for n in names} == dict.fromkeys(names, 0o600)


def _legacy_files(data_dir) -> None:
    """A database as an older version left it: 0644 files (a WAL with committed rows in it) in a 0755 directory."""
    data_dir.mkdir(parents=True)
    os.chmod(data_dir, 0o755)
    scratch = data_dir.parent / "scratch.db"
    old = os.umask(0o022)
    try:
        conn = sqlite3.connect(scratch)
        conn.execute("pragma journal_mode = wal")
        conn.execute("pragma wal_autocheckpoint = 0")
        conn.execute("create table legacy (x)")
        conn.execute("insert into legacy values ('still here')")
        conn.commit()
        for suffix in ("", "-wal"):  # copied while open, as after a crash: the row is only in the WAL
            shutil.copy(f"{scratch}{suffix}", data_dir / f"bene.db{suffix}")
        conn.close()
    finally:
        os.umask(old)
    assert mode(data_dir / "bene.db") == mode(data_dir / "bene.db-wal") == 0o644


def test_files_and_directory_of_an_older_version_are_tightened(default_dir_env):
    env, data_dir = default_dir_env
    _legacy_files(data_dir)
    done = run_cli(env, "outbox")
    assert done.returncode == 0, done.stderr
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "bene.db") == 0o600
    with sqlite3.connect(data_dir / "bene.db") as conn:  # the WAL was read, not lost
        assert conn.execute("select x from legacy").fetchall() == [("still here",)]
        assert conn.execute("select count(*) from organisations").fetchone()[0] == 3


def test_a_directory_the_user_chose_keeps_its_mode(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    fresh = tmp_path / "new" / "dir"
    env = dict(os.environ)
    for db in (shared / "bene.db", fresh / "bene.db"):
        done = run_cli(env, "--db", str(db), "outbox")
        assert done.returncode == 0, done.stderr
        assert mode(db) == 0o600
    assert mode(shared) == 0o755  # like /tmp: not ours to change
    assert mode(fresh) == 0o700  # made by the app for its file


def test_demo_reset_leaves_nothing_it_deleted_in_the_files(world, tmp_path, capsys):
    """Codes, login IDs, message bodies and member keys: gone from the database file, its free
    pages and the WAL after `bene-tui demo --reset`."""
    doc = {"organisations": [{
        "group_id": "ZZ000001", "name": "削除 確認", "services": ["benefit_station"],
        "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日"},
        "members": [{"auth_key_1": "KEY1-ERASE-ME", "auth_key_2": "KEY2-ERASE-ME", "name": "消去 太郎",
                     "kana": "ショウキョ タロウ", "birth_date": "1980-01-01"}]}]}
    path = tmp_path / "erase.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    roster.import_file(world, path)
    login = "erase.me.please@example.jp"
    flow_id = registration.start(world, "ZZ000001", "KEY1-ERASE-ME", "KEY2-ERASE-ME").flow_id
    message = registration.submit_credentials(world, flow_id, "email", login, GOOD_PASSWORD, True)
    secrets = [message["code"].encode(), login.encode(), b"KEY1-ERASE-ME", b"KEY2-ERASE-ME",
               "消去 太郎".encode(), message["body"].splitlines()[0].encode()]

    def files() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("bene.db*"))

    with world.tx():  # a busy terminal's outbox: more pages than the demo data fills again
        for i in range(2_000):
            outbox.send(world, f"user{i}@example.jp", "verification", "ja", code=f"{i:06d}")
    assert all(s in files() for s in secrets)  # there to be found before the reset
    world.store.close()
    other_terminal = sqlite3.connect(tmp_path / "bene.db")  # idle, keeps the WAL file from being removed
    other_terminal.execute("select count(*) from members").fetchall()
    try:
        assert cli.main(["--db", str(tmp_path / "bene.db"), "demo", "--reset"]) == 0
        assert "Demo data restored" in capsys.readouterr().out
        data = files()
    finally:
        other_terminal.close()
    assert [s for s in secrets if s in data] == []
    with sqlite3.connect(tmp_path / "bene.db") as conn:
        assert conn.execute("select count(*) from members").fetchone()[0] == 23
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
