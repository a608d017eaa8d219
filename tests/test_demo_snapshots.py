"""Demo snapshots (issue 16, point 4): `bene-tui demo --save/--load/--list`, and the demo's
ctrl+t that rewinds to the snapshot the demo started from — through the real screens."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from bene_tui import cli
from bene_tui.services import registration, snapshots
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from bene_tui.ui.screens.demo import ConfirmResetScreen
from bene_tui.ui.screens.registration import Step1Screen
from bene_tui.ui.screens.start import StartScreen
from support.world import GOOD_PASSWORD, make_settings
from helpers import query, type_into, wait_for, wait_screen

SIZE = (160, 50)
TARO = ("TS000001", "1001", "19850401")


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def accounts(ctx) -> int:
    return ctx.db.execute("select count(*) from accounts").fetchone()[0]


def suffix(ctx) -> str:
    return snapshots.PG_SUFFIX if snapshots.is_postgres(ctx.store.path) else snapshots.SQLITE_SUFFIX


def other_terminal(tmp_path, clock=None):
    return open_context(make_settings(tmp_path), clock=clock,
                        secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))[0]


def logins_in(path: Path) -> list[str]:
    """The login IDs a snapshot file holds, read as a tool would (sqlite3; pg_restore's SQL text)."""
    if path.suffix == snapshots.SQLITE_SUFFIX:
        with sqlite3.connect(path) as snap:
            assert snap.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert snap.execute("pragma journal_mode").fetchone()[0] == "delete"  # one self-contained file
            return [r[0] for r in snap.execute("select login_id from accounts")]
    import subprocess

    sql = subprocess.run([snapshots.pg_tool("pg_restore"), "--data-only", "--table=accounts", "--file=-", str(path)],
                         capture_output=True, text=True, check=True).stdout
    rows = sql.split("FROM stdin;\n", 1)[1].split("\n\\.", 1)[0]
    return [line.split("\t")[1] for line in rows.splitlines()]


def register(ctx, login: str, member=TARO) -> None:
    flow = registration.start(ctx, *member).flow_id
    message = registration.submit_credentials(ctx, flow, "email", login, GOOD_PASSWORD, True, "ja")
    registration.verify_code(ctx, flow, message["code"])
    registration.complete(ctx, flow, True)


def test_save_is_private_and_consistent_while_another_terminal_writes(world, tmp_path, capsys):
    db = world.store.path
    register(world, "taro@example.jp")
    other = other_terminal(tmp_path)
    try:
        with other.tx() as odb:  # another terminal in the middle of a write
            odb.execute("update accounts set login_id = 'half@example.jp'")
            code, out, _ = run(capsys, "--db", db, "demo", "--save", "before-hanako")
    finally:
        other.store.close()
    assert code == 0 and "Saved snapshot before-hanako" in out
    path = snapshots.snapshots_dir() / f"before-hanako{suffix(world)}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert logins_in(path) == ["taro@example.jp"]
    assert accounts(world) == 1 and world.db.execute("select login_id from accounts").fetchone()[0] == "half@example.jp"
    code, out, _ = run(capsys, "--db", db, "demo", "--list")
    assert code == 0 and out.startswith("before-hanako ") and "MiB" in out


def test_load_replaces_the_contents_under_an_open_terminal(world, capsys):
    db = world.store.path
    register(world, "taro@example.jp")
    assert run(capsys, "--db", db, "demo", "--save", "one-account")[0] == 0
    register(world, "hanako@example.jp", ("TS000001", "1003", "19781120"))
    assert accounts(world) == 2
    for _ in range(6):  # often enough for psycopg to prepare it on the server (its prepare_threshold)
        world.db.execute("select login_id from accounts").fetchall()
    # `world` stays open, as a running terminal's connection would
    code, out, _ = run(capsys, "--db", db, "demo", "--load", "one-account")
    assert code == 0 and "Loaded snapshot one-account" in out
    assert world.db.execute("select login_id from accounts").fetchall() == [("taro@example.jp",)]
    if suffix(world) == snapshots.SQLITE_SUFFIX:
        assert world.db.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert world.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert snapshots.start_point(world) == "one-account"  # the demo now rewinds to it
    last = world.db.execute("select action, detail from audit order by id desc limit 1").fetchone()
    assert tuple(last) == ("demo.snapshot_load", '{"name": "one-account"}')
    register(world, "ichiro@example.jp", ("TS000001", "1004", "19950303"))  # the store works on
    assert world.db.execute("select count(*) from accounts").fetchone()[0] == 2


@pytest.mark.parametrize("name", ["../outside", "a/b", "[b]x[/b]", "x" * 41, ".hidden", "", "名前"])
def test_names_that_could_leave_the_folder_or_mark_up_are_refused(world, capsys, tmp_path, name):
    for flag in ("--save", "--load"):
        code, out, err = run(capsys, "--db", world.store.path, "demo", flag, name)
        assert code == 2 and "a snapshot name is 1 to 40 letters" in err and not out
    assert not snapshots.available() and not list(tmp_path.rglob("*.sqlite"))


def test_loading_what_is_not_there_or_not_a_snapshot(world, capsys):
    code, _, err = run(capsys, "--db", world.store.path, "demo", "--load", "nothing")
    assert code == 2 and "no snapshot named 'nothing'" in err
    (snapshots.snapshots_dir() / f"foreign{suffix(world)}").write_bytes(b"PGDMP not really")
    code, _, err = run(capsys, "--db", world.store.path, "demo", "--load", "foreign")
    assert code == 2 and "not a bene-tui snapshot" in err and "Traceback" not in err
    assert accounts(world) == 0 and world.db.execute("select count(*) from members").fetchone()[0] > 20


def test_postgresql_without_its_tools_says_what_is_needed(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(snapshots.shutil, "which", lambda tool: None)
    monkeypatch.setattr(snapshots, "PG_BINDIRS", str(tmp_path / "no-postgresql" / "*" / "bin"))
    monkeypatch.chdir(tmp_path)  # "nothing was opened" is checked here, where a URL taken for a path would land
    url = "postgresql://bene@localhost/bene"
    with pytest.raises(snapshots.SnapshotError, match="need pg_dump and pg_restore"):
        snapshots.save(url, "demo-a")
    for flag in ("--save", "--load"):
        code, out, err = run(capsys, "--db", url, "demo", flag, "demo-a")
        assert code == 2 and "need pg_dump and pg_restore" in err and "not found: pg_dump, pg_restore" in err
    assert not snapshots.available() and not Path("postgresql:").exists()  # nothing was opened


async def test_ctrl_t_rewinds_to_the_start_of_the_demo(app_factory, tmp_path, clock):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.modes.demo.start_snapshot == snapshots.AUTO)
        ctx = other_terminal(tmp_path, clock)
        register(ctx, "taro.rehearse@example.jp")  # the story, told once
        ctx.store.close()
        await pilot.press("f7")
        await pilot.press("enter")
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")

        await pilot.press("ctrl+t")
        dialog = await wait_screen(pilot, ConfirmResetScreen)
        assert "demo-start" in str(dialog.query_one(".lead").render())
        assert dialog.focused is dialog.query_one("#reset-no")
        await pilot.press("enter")  # Cancel: nothing changes
        await wait_screen(pilot, Step1Screen)
        assert query(tmp_path, "select count(*) as n from accounts") == [{"n": 1}]

        await pilot.press("ctrl+t")
        await wait_screen(pilot, ConfirmResetScreen)
        await pilot.press("shift+tab", "enter")
        await wait_for(pilot, lambda: any("demo-start" in str(n.message) for n in app._notifications), timeout=20)
        await wait_screen(pilot, StartScreen)
        assert len(app.screen_stack) == 2 and clock.offset == 0
        assert query(tmp_path, "select count(*) as n from accounts") == [{"n": 0}]
        groups = {r["group_id"] for r in query(tmp_path, "select group_id from organisations")}
        assert "TS000001" in groups  # the world as the demo started, not the bare demo data


async def test_a_rewind_point_that_vanished_is_said_and_the_demo_goes_on(app_factory, tmp_path):
    app = app_factory(mode="demo")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, StartScreen)
        await wait_for(pilot, lambda: app.modes.demo.start_snapshot == snapshots.AUTO)
        next(snapshots.snapshots_dir().glob(f"{snapshots.AUTO}.*")).unlink()
        await pilot.press("ctrl+t")
        await wait_screen(pilot, ConfirmResetScreen)
        await pilot.press("shift+tab", "enter")
        await wait_for(pilot, lambda: any("戻せませんでした" in str(n.message) for n in app._notifications), timeout=20)
        assert isinstance(app.screen, StartScreen) and app.is_running
        assert query(tmp_path, "select count(*) as n from members where group_id = 'TS000001'") == [{"n": 4}]


def test_a_snapshot_older_than_the_schema_is_loaded_and_migrated(world, capsys):
    """A snapshot saved by an older version (here: before m_daily_stats) loads into today's store:
    what later migrations made is replaced too, and they run again on the loaded contents."""
    from bene_tui.services import report
    from bene_tui.store.migrations import m

    register(world, "taro@example.jp")
    with world.tx() as db:  # the store as the older version left it
        db.execute("drop table daily_stats")
        db.execute("delete from _sqlite_migrations where name = 'm_daily_stats'")
    assert run(capsys, "--db", world.store.path, "demo", "--save", "older")[0] == 0
    world.store.close()
    world.store = type(world.store)(world.store.path)  # today's version opens it: migrated
    assert report.summary(world)["totals"]["completed"] == 1
    code, out, err = run(capsys, "--db", world.store.path, "demo", "--load", "older")
    assert code == 0 and "Loaded snapshot older" in out, err
    names = [r[0] for r in world.db.execute("select name from _sqlite_migrations order by id")]
    assert sorted(names) == sorted(x.name for x in m._migrations)
    assert report.summary(world)["totals"]["completed"] == 1  # rebuilt from the loaded trail
