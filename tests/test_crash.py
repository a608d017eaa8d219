"""A terminal killed with SIGKILL at any point of a flow (issue 6): the database still passes
`PRAGMA integrity_check`, nothing is half written, and the flow can be resumed or restarted."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import outbox, registration
from support.world import GOOD_PASSWORD

ORG = "KL000001"
KEY2 = "19800101"
PER_RUN = 100  # members a run may get through before it is killed
KILLS = 6

# The terminal: registrations one after another, as fast as it can; some are left at step 2
# (provisional, abandoned) or step 3 (verified, not completed), as people do.
CHILD = r"""
import os, sys
os.environ["BENE_TUI_NO_KEYRING"] = "1"
sys.path.insert(0, sys.argv[4])
from pathlib import Path
from bene_tui.services import registration
from bene_tui.core.clock import Clock
from bene_tui.core.config import Rules, Settings
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from support.world import CHEAP_ARGON2, GOOD_PASSWORD, START

db_path, secrets_path, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = Settings(db_path=db_path, terminal="doomed-kiosk", rules=Rules(**CHEAP_ARGON2))
ctx, _ = open_context(settings, clock=Clock(start=START), secret_store=SecretStore(Path(secrets_path), use_keyring=False))
ctx.hmac_key
print("ready", flush=True)
for i in range(first, first + %(per_run)d):
    key1 = f"K{i:05d}"
    flow_id = registration.start(ctx, "%(org)s", key1, "%(key2)s").flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", f"crash{i}@example.jp", GOOD_PASSWORD, True, "ja")
    if i %% 3 == 0:
        continue  # abandoned at step 3
    registration.verify_code(ctx, flow_id, message["code"])
    if i %% 5 == 0:
        continue  # abandoned at step 4
    account_id = registration.complete(ctx, flow_id, True)
    registration.grant_benefit(ctx, account_id)
print("finished", flush=True)
""" % {"per_run": PER_RUN, "org": ORG, "key2": KEY2}


@pytest.fixture
def crash_world(world, tmp_path):
    from bene_tui.services import roster

    members = [{"auth_key_1": f"K{i:05d}", "auth_key_2": KEY2, "name": f"停電 {i}", "kana": "テイデン タロウ",
                "birth_date": "1980-01-01"} for i in range(PER_RUN * KILLS)]
    path = tmp_path / "crash.json"
    path.write_text(json.dumps({"organisations": [{
        "group_id": ORG, "name": "停電株式会社", "services": ["benefit_station"],
        "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)"},
        "family": {"enabled": False, "max_degree": 2, "max_accounts": 10}, "members": members}]},
        ensure_ascii=False), encoding="utf-8")
    roster.import_file(world, path)
    world.hmac_key  # noqa: B018
    return world


def rows(db_path: Path, sql: str, args=()) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def assert_nothing_half_written(db_path: Path) -> None:
    """What each transaction writes together must be found together, whatever instant the kill came."""
    assert rows(db_path, "pragma integrity_check") == [("ok",)]
    assert rows(db_path, "pragma foreign_key_check") == []
    # a code and its message (the person's phone) are one write
    assert rows(db_path, "select c.id from codes c where not exists (select 1 from outbox o where o.flow_id = c.flow_id "
                         "and o.recipient = c.recipient and o.created_at = c.created_at and o.code is not null)") == []
    assert rows(db_path, "select o.id from outbox o where o.purpose = 'verification' and not exists "
                         "(select 1 from codes c where c.flow_id = o.flow_id and c.created_at = o.created_at)") == []
    # step 2: provisional account, flow state, code and audit together
    assert rows(db_path, "select a.id from accounts a where a.status = 'provisional' and not exists "
                         "(select 1 from flows f where f.account_id = a.id)") == []
    assert rows(db_path, "select f.id from flows f where f.kind = 'enrol' and f.state in ('provisional', 'verified') and "
                         "not exists (select 1 from accounts a where a.id = f.account_id)") == []
    assert rows(db_path, "select f.id from flows f where f.state = 'provisional' and not exists "
                         "(select 1 from codes c where c.flow_id = f.id)") == []
    # step 3: a used code means a verified (or completed) flow, and the other way round
    assert rows(db_path, "select c.id from codes c join flows f on f.id = c.flow_id where c.used_at is not null "
                         "and f.state not in ('verified', 'completed')") == []
    assert rows(db_path, "select f.id from flows f where f.state in ('verified', 'completed') and f.kind = 'enrol' and "
                         "not exists (select 1 from codes c where c.flow_id = f.id and c.used_at is not null)") == []
    # step 4: active account, link, completed flow and audit row together
    assert rows(db_path, "select a.id from accounts a where a.status = 'active' and not exists "
                         "(select 1 from account_members am where am.account_id = a.id)") == []
    assert rows(db_path, "select am.member_id from account_members am join accounts a on a.id = am.account_id "
                         "where a.status != 'active'") == []
    assert rows(db_path, "select f.id from flows f where f.state = 'completed' and not exists "
                         "(select 1 from account_members am where am.member_id = f.member_id)") == []
    assert rows(db_path, "select a.id from accounts a where a.status = 'active' and not exists (select 1 from audit "
                         "where action = 'registration.complete' and outcome = 'ok' and subject = 'account:' || a.id)") == []
    # step 5: a benefit is granted with its audit row
    assert rows(db_path, "select b.account_id from benefits b where not exists (select 1 from audit where "
                         "action = 'benefit.grant' and outcome = 'ok' and subject = 'account:' || b.account_id)") == []
    # no transaction was left open: a write lock can be taken at once
    conn = sqlite3.connect(db_path, timeout=0)
    try:
        conn.execute("begin immediate")
        conn.execute("rollback")
    finally:
        conn.close()


def finish_everything(ctx, first: int, last: int) -> int:
    """The people the killed terminal was serving come back: each ends with a linked account,
    resuming a verified flow where there is one, starting again otherwise."""
    finished = 0
    for i in range(first, last):
        key1 = f"K{i:05d}"
        member = ctx.db.execute("select id from members where group_id = ? and auth_key_1 = ?", [ORG, key1]).fetchone()[0]
        if ctx.db.execute("select 1 from account_members where member_id = ?", [member]).fetchone():
            continue
        touched = ctx.db.execute("select id, state from flows where member_id = ? order by created_at desc, rowid desc",
                                 [member]).fetchall()
        if not touched:
            continue  # the terminal never reached this person
        verified = [f for f, state in touched if state == "verified"]
        if verified:  # resume at step 4
            account_id = registration.complete(ctx, verified[0], True)
        else:  # start again from step 1 with the same login ID (their provisional registration is theirs)
            flow_id = registration.start(ctx, ORG, key1, KEY2).flow_id
            message = registration.submit_credentials(ctx, flow_id, "email", f"crash{i}@example.jp", GOOD_PASSWORD, True)
            assert outbox.latest(ctx, message["recipient"], "verification")["code"] == message["code"]
            registration.verify_code(ctx, flow_id, message["code"])
            account_id = registration.complete(ctx, flow_id, True)
        assert ctx.db.execute("select login_id, status from accounts where id = ?", [account_id]).fetchone() \
            == (f"crash{i}@example.jp", "active")
        finished += 1
    return finished


@pytest.mark.sqlite_only  # reads the file with sqlite3
def test_sigkill_at_random_points_leaves_a_sound_database_and_resumable_flows(crash_world, tmp_path):
    db_path, secrets = tmp_path / "bene.db", tmp_path / "secrets.json"
    tests_dir = str(Path(__file__).resolve().parent)
    rnd = random.Random(20260401)
    crash_world.store.close()
    killed_mid_run = total_touched = 0
    for run in range(KILLS):
        first = run * PER_RUN
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), str(secrets), str(first), tests_dir],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read()
        time.sleep(rnd.uniform(0.02, 0.6))  # somewhere inside its stream of transactions
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            killed_mid_run += 1
        child.wait(timeout=30)
        err = child.stderr.read()
        assert "Traceback" not in err, err
        assert_nothing_half_written(db_path)
        finished = finish_everything(crash_world, first, first + PER_RUN)
        crash_world.store.close()
        assert_nothing_half_written(db_path)
        # every person the terminal touched now holds exactly one linked, active account
        touched = rows(db_path, "select count(distinct member_id) from flows f join members m on m.id = f.member_id "
                                "where m.group_id = ? and m.auth_key_1 between ? and ?",
                       [ORG, f"K{first:05d}", f"K{first + PER_RUN - 1:05d}"])[0][0]
        linked = rows(db_path, "select count(*) from account_members am join members m on m.id = am.member_id "
                               "where m.group_id = ? and m.auth_key_1 between ? and ?",
                      [ORG, f"K{first:05d}", f"K{first + PER_RUN - 1:05d}"])[0][0]
        assert linked == touched, (run, touched, linked, finished)
        total_touched += touched
    assert killed_mid_run >= KILLS - 1  # (a run on a very fast machine might finish first)
    assert total_touched > KILLS  # the kills did land inside streams of registrations
    assert rows(db_path, "select login_key from accounts group by login_key having count(*) > 1") == []


def test_resume_after_kill_between_steps_needs_no_new_code(world, monkeypatch):
    """verify_code writes the used code and the verified state in one transaction: a flow is
    never left with its code spent and its state still waiting for it."""
    from bene_tui.services import flows

    flow_id = registration.start(world, "TS000001", "1001", "19850401").flow_id
    message = registration.submit_credentials(world, flow_id, "email", "resume@example.jp", GOOD_PASSWORD, True)
    real_update = flows.update

    def dies_while_saving_the_state(ctx, fid, **fields):
        if fields.get("state") == "verified":
            raise KeyboardInterrupt  # as good as SIGKILL for the transaction: it never commits
        real_update(ctx, fid, **fields)

    monkeypatch.setattr(flows, "update", dies_while_saving_the_state)
    with pytest.raises(KeyboardInterrupt):
        registration.verify_code(world, flow_id, message["code"])
    monkeypatch.setattr(flows, "update", real_update)
    # nothing of that transaction remains: the code is still live, the flow still at step 3
    assert world.db.execute("select used_at from codes where flow_id = ?", [flow_id]).fetchone() == (None,)
    assert flows.get(world, flow_id)["state"] == "provisional"
    assert registration.verify_code(world, flow_id, message["code"])  # the same code still works
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, message["code"])
    assert e.value.key == "error.flow_state"
