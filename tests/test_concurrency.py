"""Many terminals on one database file (issue 6): real processes (multiprocessing, spawn) registering,
linking and logging in at once on one SQLite file.

What must hold: no "database is locked" escaping, no lost write, no duplicate login ID, no member
record linked twice; two terminals racing for one login ID or one member record: one wins, the
other gets the already-registered / already-linked answer (a BeneError, never an IntegrityError).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import sys
import time
import traceback
from pathlib import Path

import pytest

from bene_tui import store
from bene_tui.core.errors import BeneError
from bene_tui.services import identify, registration
from bene_tui.store import is_postgres_url
from support.world import GOOD_PASSWORD

ORG = "RC000001"
KEY2 = "19800101"
N_MEMBERS = 120
JOIN_TIMEOUT = 240  # seconds: generous, the machine is shared


def member_key(i: int) -> str:
    return f"R{i:05d}"


# ---------------------------------------------------------------------------------------------
# What each terminal process runs. Top-level functions: spawn pickles them by name.


def _open(db_path: str, secrets_path: str, terminal: str, busy_timeout_ms: int | None = None):
    os.environ["BENE_TUI_NO_KEYRING"] = "1"
    from bene_tui import store as store_mod
    from bene_tui.core.clock import Clock
    from bene_tui.core.config import Rules, Settings
    from bene_tui.services.context import open_context
    from bene_tui.services.secret_store import SecretStore
    from support.world import CHEAP_ARGON2, START

    if busy_timeout_ms is not None:
        store_mod.sqlite.BUSY_TIMEOUT_MS = busy_timeout_ms  # read when each connection opens
    settings = Settings(db_path=db_path, terminal=terminal, rules=Rules(**CHEAP_ARGON2))
    ctx, _ = open_context(settings, clock=Clock(start=START), secret_store=SecretStore(Path(secrets_path), use_keyring=False))
    return ctx


def _register(ctx, key1: str, login: str) -> int:
    """The whole of SPEC §3.1 through the services, the code read from the outbox as a person would."""
    from bene_tui.services import outbox

    flow_id = registration.start(ctx, ORG, key1, KEY2).flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD, True, "ja")
    assert outbox.latest(ctx, message["recipient"], "verification")["code"] == message["code"]
    registration.verify_code(ctx, flow_id, message["code"])
    account_id = registration.complete(ctx, flow_id, True)
    registration.grant_benefit(ctx, account_id)
    return account_id


def _link(ctx, key1: str, login: str) -> int:
    from bene_tui.services import linking

    flow_id = registration.start(ctx, ORG, key1, KEY2).flow_id
    linking.authenticate(ctx, flow_id, login, GOOD_PASSWORD)
    return linking.complete(ctx, flow_id, True)


def job_mixed(ctx, payload, barrier):
    """A busy kiosk: registrations, one linking, logins, a mistyped step 1, outbox reads."""
    from bene_tui.services import auth, outbox

    barrier.wait(timeout=120)
    out = {"registered": {}, "linked": None, "logins": 0, "refusals": []}
    for key1, login in payload["register"]:
        out["registered"][key1] = _register(ctx, key1, login)
        outbox.recipients_summary(ctx, None, 50)
        for _ in range(payload["logins_each"]):
            auth.login(ctx, "benefit_station", payload["base_login"], GOOD_PASSWORD)
            out["logins"] += 1
    out["linked"] = _link(ctx, payload["link"], payload["base_login"])
    try:
        registration.start(ctx, ORG, payload["link"], "20000101")  # mistyped key 2: counted, generic answer
    except BeneError as e:
        out["refusals"].append(e.key)
    return out


def job_race_login_id(ctx, payload, barrier):
    """Each round: a different member per terminal, the SAME login ID, submitted at the same moment
    (every one goes ahead: an unverified provisional registration holds nothing), then each valid
    code entered at the same moment (the first wins)."""
    results = []
    for key1, login in payload["rounds"]:
        flow_id = registration.start(ctx, ORG, key1, KEY2).flow_id
        barrier.wait(timeout=120)
        try:  # beyond the hourly codes to one recipient, a terminal is told so (and sends nothing)
            message, refused = registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD,
                                                               True, "ja"), None
        except BeneError as e:
            message, refused = None, e.key
        barrier.wait(timeout=120)
        if message is None:
            results.append((refused, flow_id))
            continue
        try:
            registration.verify_code(ctx, flow_id, message["code"])
            results.append(("ok", flow_id))
        except BeneError as e:
            results.append((e.key, flow_id))
    return results


def job_race_member(ctx, payload, barrier):
    """Each round: the SAME member record, completed at the same moment by registering or by linking."""
    from bene_tui.services import linking

    results = []
    for key1, how, login in payload["rounds"]:
        flow_id = registration.start(ctx, ORG, key1, KEY2).flow_id
        if how == "register":
            message = registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD, True, "ja")
            registration.verify_code(ctx, flow_id, message["code"])
            finish = registration.complete
        else:
            linking.authenticate(ctx, flow_id, login, GOOD_PASSWORD)
            finish = linking.complete
        barrier.wait(timeout=120)
        try:
            results.append(("ok", finish(ctx, flow_id, True)))
        except BeneError as e:
            results.append((e.key, None))
    return results


def job_sixteen(ctx, payload, barrier):
    """Three races in a row, all terminals released together for each: the same login ID (each for
    another member), the same member record (each with its own login ID), a wrong code for one flow."""
    login = job_race_login_id(ctx, {"rounds": [payload["login_race"]]}, barrier)[0][0]
    member = job_race_member(ctx, {"rounds": [payload["member_race"]]}, barrier)[0][0]
    barrier.wait(timeout=120)
    try:
        registration.verify_code(ctx, payload["code_flow"], payload["wrong_code"])
        code = "ok"
    except BeneError as e:
        code = e.key
    return login, member, code


def _until_done(step, done=lambda: False):
    """A person pressing the button again after "busy, try again", until the step has happened."""
    busy = 0
    while True:
        try:
            return step(), busy
        except Exception as exc:  # noqa: BLE001 — only "busy" may come back, never a traceback
            if not (store.is_busy(exc) or (isinstance(exc, BeneError) and exc.key == "error.busy")):
                if busy and done():  # it went through just before the connection dropped
                    return None, busy
                raise
            busy += 1
            time.sleep(0.2)
            try:
                if done():
                    return None, busy
            except Exception:  # noqa: BLE001 — still down
                pass


def job_register_through_restart(ctx, payload, barrier):
    """Registrations one after another while the server restarts; each step retried when busy."""
    from bene_tui.services import outbox

    barrier.wait(timeout=120)
    done, busy = [], 0

    def state_is(flow_id, state):
        return lambda: ctx.db.execute("select state from flows where id = ?", [flow_id]).fetchone()[0] == state

    for key1, login in payload["register"]:
        flow_id, b1 = _until_done(lambda: registration.start(ctx, ORG, key1, KEY2).flow_id)
        _, b2 = _until_done(lambda: registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD,
                                                                     True, "ja"), state_is(flow_id, "provisional"))
        code = outbox.latest(ctx, login)["code"]
        _, b3 = _until_done(lambda: registration.verify_code(ctx, flow_id, code), state_is(flow_id, "verified"))
        account, b4 = _until_done(lambda: registration.complete(ctx, flow_id, True), state_is(flow_id, "completed"))
        busy += b1 + b2 + b3 + b4
        done.append(login)
    return done, busy


def job_write_loop(ctx, payload, barrier):
    barrier.wait(timeout=120)
    done = 0
    for key1, login in payload["register"]:
        _register(ctx, key1, login)
        done += 1
    return done


def job_read_loop(ctx, payload, barrier):
    """Reads outside any transaction, with a busy timeout of 0: any SQLITE_BUSY would raise at once."""
    from bene_tui.services import outbox

    assert ctx.db.execute("pragma busy_timeout").fetchone()[0] == 0
    barrier.wait(timeout=120)
    reads, deadline = 0, time.monotonic() + payload["seconds"]
    while time.monotonic() < deadline:
        outbox.recipients_summary(ctx, None, 50)
        outbox.messages(ctx, limit=20)
        assert identify.organisation(ctx, ORG) is not None
        ctx.db.execute("select count(*) from accounts where status = 'active'").fetchone()
        list(ctx.db.query("select * from members where group_id = ? and auth_key_1 = ?", [ORG, member_key(7)]))
        reads += 1
    return reads


def job_open_fresh(ctx_args, payload, barrier):
    """Terminals switched on together on a file that does not exist yet."""
    barrier.wait(timeout=120)
    ctx = _open(*ctx_args)
    return {"db_id": ctx.db_id, "key": ctx.hmac_key.hex(),
            "members": ctx.db.execute("select count(*) from members").fetchone()[0]}


JOBS = {f.__name__: f for f in (job_mixed, job_race_login_id, job_race_member, job_write_loop, job_read_loop,
                                job_open_fresh, job_sixteen, job_register_through_restart)}


def _terminal(job: str, db_path: str, secrets_path: str, terminal: str, busy_timeout_ms, payload, barrier, queue):
    try:
        if job == "job_open_fresh":
            result = JOBS[job]((db_path, secrets_path, terminal), payload, barrier)
        else:
            ctx = _open(db_path, secrets_path, terminal, busy_timeout_ms)
            ctx.hmac_key  # noqa: B018  (read once before the race, as a running terminal would have)
            result = JOBS[job](ctx, payload, barrier)
        queue.put((terminal, "ok", result))
    except BaseException as exc:  # noqa: BLE001 — everything goes back to the test
        barrier.abort()
        queue.put((terminal, "crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def run_terminals(db_path: Path, jobs: list[tuple[str, dict]], busy_timeout_ms: int | None = None) -> list:
    """Start one process per job, release them together, return their results in job order.

    Any exception in a terminal (sqlite3 errors, IntegrityError, an unexpected BeneError in a
    job that expects none) fails the test with its traceback.
    """
    mp = multiprocessing.get_context("spawn")
    barrier, queue = mp.Barrier(len(jobs)), mp.Queue()
    secrets_path = str(Path(db_path).parent / "secrets.json")
    procs = []
    for i, (job, payload) in enumerate(jobs):
        p = mp.Process(target=_terminal, args=(job, target(db_path), secrets_path, f"kiosk-{i}", busy_timeout_ms,
                                               payload, barrier, queue))
        p.start()
        procs.append(p)
    results, deadline = {}, time.monotonic() + JOIN_TIMEOUT
    try:
        while len(results) < len(jobs):
            terminal, status, result = queue.get(timeout=max(1, deadline - time.monotonic()))
            results[terminal] = (status, result)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    crashes = {t: r for t, (s, r) in results.items() if s != "ok"}
    assert not crashes, "\n\n".join(f"{t}:\n{r}" for t, r in crashes.items())
    return [results[f"kiosk-{i}"][1] for i in range(len(jobs))]


# ---------------------------------------------------------------------------------------------
# Fixtures and checks.


@pytest.fixture
def shared(world, tmp_path):
    """The test world plus an organisation of N_MEMBERS records, on tmp_path/bene.db; the parent's
    connection is closed so that only the terminals hold the file."""
    roster_world = {"organisations": [{
        "group_id": ORG, "name": "レース株式会社", "services": ["benefit_station", "bene_learning"],
        "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)"},
        "family": {"enabled": True, "max_degree": 2, "max_accounts": 10},
        "members": [{"auth_key_1": member_key(i), "auth_key_2": KEY2, "name": f"競争 {i}号",
                     "kana": "キョウソウ タロウ", "birth_date": "1980-01-01"} for i in range(N_MEMBERS)],
    }]}
    from bene_tui.services import roster

    path = tmp_path / "race.json"
    path.write_text(json.dumps(roster_world, ensure_ascii=False), encoding="utf-8")
    roster.import_file(world, path)
    world.hmac_key  # noqa: B018  (made once, as on a terminal that ran before)
    return world


def target(db_path: Path) -> str:
    """What the terminals open: the SQLite file, or this test's PostgreSQL database (conftest.db_target)."""
    from support.world import _DB_TARGETS

    return _DB_TARGETS.get(str(Path(db_path).parent), str(db_path))


def db_rows(db_path: Path, sql: str, args=()) -> list[tuple]:
    if is_postgres_url(target(db_path)):
        from bene_tui.store.postgres import PgDatabase

        db = PgDatabase(target(db_path))
        try:
            return [tuple(r) for r in db.execute(sql, list(args)).fetchall()]
        finally:
            db.close()
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def member_id(db_path: Path, key1: str) -> int:
    return db_rows(db_path, "select id from members where group_id = ? and auth_key_1 = ?", [ORG, key1])[0][0]


def assert_consistent(db_path: Path) -> None:
    """Invariants no interleaving may break."""
    if not is_postgres_url(target(db_path)):  # PostgreSQL checks its foreign keys itself
        assert db_rows(db_path, "pragma integrity_check") == [("ok",)]
        assert db_rows(db_path, "pragma foreign_key_check") == []
    assert db_rows(db_path, "select login_key from accounts group by login_key having count(*) > 1") == []
    # every link points at an active account; every active member account holds at least one record
    assert db_rows(db_path, "select am.member_id from account_members am join accounts a on a.id = am.account_id "
                            "where a.status != 'active'") == []
    assert db_rows(db_path, "select a.id from accounts a where a.status = 'active' and a.kind = 'member' and not exists "
                            "(select 1 from account_members am where am.account_id = a.id)") == []


def register_base_accounts(ctx, n: int, first: int) -> list[str]:
    """Active accounts made before the terminals start (for linking and logging in)."""
    logins = []
    for i in range(n):
        login = f"base{first + i}@example.jp"
        _register(ctx, member_key(first + i), login)
        logins.append(login)
    return logins


# ---------------------------------------------------------------------------------------------
# The tests.


def test_terminals_register_link_and_log_in_at_once(shared, tmp_path):
    db_path = tmp_path / "bene.db"
    terminals, per_terminal = 4, 6
    base = register_base_accounts(shared, terminals, first=100)
    shared.store.close()
    jobs, next_member = [], 0
    for t in range(terminals):
        regs = [(member_key(next_member + j), f"kiosk{t}.user{j}@example.jp") for j in range(per_terminal)]
        next_member += per_terminal
        jobs.append(("job_mixed", {"register": regs, "link": member_key(110 + t), "base_login": base[t],
                                   "logins_each": 2}))
    results = run_terminals(db_path, jobs)

    # no lost write: every registration of every terminal is there, linked to its own account
    for (job, payload), result in zip(jobs, results):
        assert result["refusals"] == ["error.step1_mismatch"]
        assert result["logins"] == per_terminal * 2
        for key1, login in payload["register"]:
            account_id = result["registered"][key1]
            assert db_rows(db_path, "select login_id, status from accounts where id = ?", [account_id]) == [(login, "active")]
            assert db_rows(db_path, "select account_id from account_members where member_id = ?",
                           [member_id(db_path, key1)]) == [(account_id,)]
            assert db_rows(db_path, "select count(*) from benefits where account_id = ?", [account_id]) == [(1,)]
        base_id = db_rows(db_path, "select id from accounts where login_id = ?", [payload["base_login"]])[0][0]
        assert result["linked"] == base_id
        assert db_rows(db_path, "select account_id from account_members where member_id = ?",
                       [member_id(db_path, payload["link"])]) == [(base_id,)]
    registered = terminals * per_terminal
    assert db_rows(db_path, "select count(*) from accounts where login_id like 'kiosk%'") == [(registered,)]
    # the audit trail and the outbox saw every change exactly once
    assert db_rows(db_path, "select count(*) from audit where action = 'registration.complete' and outcome = 'ok'") \
        == [(registered + len(base),)]
    assert db_rows(db_path, "select count(*) from audit where action = 'auth.login' and outcome = 'ok'") \
        == [(terminals * per_terminal * 2,)]
    assert db_rows(db_path, "select count(*) from audit where action = 'link.complete' and outcome = 'ok'") == [(terminals,)]
    assert db_rows(db_path, "select count(*) from outbox where recipient like 'kiosk%' and purpose = 'verification'") \
        == [(registered,)]
    assert db_rows(db_path, "select count(*), count(distinct terminal) from audit where action = 'registration.step1' "
                            "and outcome = 'refused'") == [(terminals, terminals)]
    assert_consistent(db_path)


def test_race_for_one_login_id_one_wins_others_told_now_registered(shared, tmp_path):
    db_path = tmp_path / "bene.db"
    shared.store.close()
    terminals, rounds = 4, 3
    jobs = [("job_race_login_id", {"rounds": [(member_key(r * terminals + t), f"race{r}@example.jp")
                                              for r in range(rounds)]}) for t in range(terminals)]
    results = run_terminals(db_path, jobs)
    for r in range(rounds):
        outcomes = sorted(results[t][r][0] for t in range(terminals))
        assert outcomes == ["ok"] + ["registration.now_registered"] * (terminals - 1), outcomes
        winner_flow = next(results[t][r][1] for t in range(terminals) if results[t][r][0] == "ok")
        accounts = db_rows(db_path, "select id, status from accounts where login_key = ?", [f"race{r}@example.jp"])
        assert len(accounts) == 1 and accounts[0][1] == "provisional"  # the others released (tombstones)
        # the account belongs to the winner's flow; the losers' flows are back at step 2's choice
        flows = dict(db_rows(db_path, "select id, state from flows where id in (%s)" % ",".join("?" * terminals),
                             [results[t][r][1] for t in range(terminals)]))
        assert flows.pop(winner_flow) == "verified"
        assert set(flows.values()) == {"identified"}
        assert db_rows(db_path, "select account_id from flows where id = ?", [winner_flow]) == [(accounts[0][0],)]
        assert db_rows(db_path, "select count(*) from codes where recipient = ? and used_at is not null",
                       [f"race{r}@example.jp"]) == [(terminals,)]
        assert db_rows(db_path, "select count(*) from outbox where recipient = ?", [f"race{r}@example.jp"]) == [
            (terminals,)]
    losses = db_rows(db_path, "select count(*) from audit where action = 'registration.step3' and outcome = 'refused'")
    assert losses == [(rounds * (terminals - 1),)]
    assert_consistent(db_path)


def test_race_for_one_member_record_one_wins_others_told_already_linked(shared, tmp_path):
    db_path = tmp_path / "bene.db"
    terminals, rounds = 4, 2
    base = register_base_accounts(shared, terminals, first=100)  # terminals 2 and 3 link to theirs
    shared.store.close()
    jobs = []
    for t in range(terminals):
        how = "register" if t < 2 else "link"
        jobs.append(("job_race_member", {"rounds": [
            (member_key(r), how, f"member{r}.kiosk{t}@example.jp" if how == "register" else base[t])
            for r in range(rounds)]}))
    results = run_terminals(db_path, jobs)
    for r in range(rounds):
        outcomes = [results[t][r] for t in range(terminals)]
        assert sorted(o[0] for o in outcomes) == ["error.member_already_linked"] * (terminals - 1) + ["ok"], outcomes
        winner_account = next(o[1] for o in outcomes if o[0] == "ok")
        assert db_rows(db_path, "select account_id from account_members where member_id = ?",
                       [member_id(db_path, member_key(r))]) == [(winner_account,)]
        # a losing registration completes nothing: its account stays provisional, unlinked
        for t in range(2):
            if outcomes[t][0] != "ok":
                assert db_rows(db_path, "select status from accounts where login_id = ?",
                               [f"member{r}.kiosk{t}@example.jp"]) == [("provisional",)]
    assert_consistent(db_path)


def test_sixteen_terminals_one_winner_per_login_id_and_member_record_and_five_wrong_codes(shared, tmp_path):
    """16 processes at once (on SQLite and on PostgreSQL): one login ID → one account; one member
    record → one link; 16 wrong entries of one code → exactly 5 counted, the code void after them."""
    db_path = tmp_path / "bene.db"
    terminals = 16
    code_flow = registration.start(shared, ORG, member_key(119), KEY2).flow_id
    right = registration.submit_credentials(shared, code_flow, "email", "codes@example.jp", GOOD_PASSWORD, True,
                                            "ja")["code"]
    wrong = "000000" if right != "000000" else "111111"
    shared.store.close()
    jobs = [("job_sixteen", {"login_race": (member_key(t), "same@example.jp"),
                             "member_race": (member_key(50), "register", f"m50.kiosk{t}@example.jp"),
                             "code_flow": code_flow, "wrong_code": wrong}) for t in range(terminals)]
    results = run_terminals(db_path, jobs)
    logins, members, codes = (sorted(r[i] for r in results) for i in range(3))
    # Every terminal may go ahead with the login ID (an unverified registration holds nothing) until
    # the recipient's hourly codes run out; of those sent a code, the first valid one wins.
    sent = min(terminals, 5)  # Rules.code_sends_per_hour
    assert logins == sorted(["ok"] + ["registration.now_registered"] * (sent - 1)
                            + ["error.too_many_codes"] * (terminals - sent))
    assert db_rows(db_path, "select count(*) from accounts where login_key = 'same@example.jp' and "
                            "(status != 'provisional' or verified_at is not null)") == [(1,)]
    assert members == ["error.member_already_linked"] * (terminals - 1) + ["ok"]
    assert db_rows(db_path, "select count(*) from account_members where member_id = ?",
                   [member_id(db_path, member_key(50))]) == [(1,)]
    # four "wrong, n left", the fifth voids the code, and the eleven after it find no live code
    assert codes == ["error.code_void"] * 12 + ["error.code_wrong"] * 4
    assert db_rows(db_path, "select attempts, voided_at is not null from codes where flow_id = ?", [code_flow]) == \
        [(5, True)]
    assert_consistent(db_path)


@pytest.mark.postgresql_only
def test_server_restart_while_eight_terminals_register(shared, tmp_path, pg_server):
    """`pg_ctl restart -m fast` while 8 terminals register: they see "busy" (never another error),
    reconnect by themselves, and every registration is there exactly once, linked once."""
    import threading

    db_path = tmp_path / "bene.db"
    shared.store.close()
    terminals, each = 8, 5
    jobs = [("job_register_through_restart", {"register": [(member_key(t * each + j), f"fault{t}.{j}@example.jp")
                                                            for j in range(each)]}) for t in range(terminals)]

    def restart_when_busy():
        deadline = time.monotonic() + JOIN_TIMEOUT
        while time.monotonic() < deadline:
            if db_rows(db_path, "select count(*) from accounts where login_id like 'fault%'")[0][0] >= terminals:
                pg_server.restart()
                return
            time.sleep(0.05)

    restarter = threading.Thread(target=restart_when_busy)
    restarter.start()
    results = run_terminals(db_path, jobs)
    restarter.join()
    assert sum(busy for _, busy in results) > 0  # the restart was felt, and lived through
    logins = [login for done, _ in results for login in done]
    assert len(logins) == terminals * each
    rows = db_rows(db_path, "select login_id, status from accounts where login_id like 'fault%' order by login_id")
    assert rows == sorted((login, "active") for login in logins)
    assert db_rows(db_path, "select count(*) from account_members am join accounts a on a.id = am.account_id "
                            "where a.login_id like 'fault%'") == [(terminals * each,)]
    assert_consistent(db_path)


def test_reads_outside_transactions_never_wait_for_writers(shared, tmp_path):
    """WAL: readers see the last committed state and never get SQLITE_BUSY, even with a busy
    timeout of 0 (so none of the screens' reads can show "database is locked")."""
    db_path = tmp_path / "bene.db"
    shared.store.close()
    writers = [("job_write_loop", {"register": [(member_key(w * 30 + j), f"w{w}.{j}@example.jp") for j in range(30)]})
               for w in range(2)]
    readers = [("job_read_loop", {"seconds": 4.0}) for _ in range(2)]
    mp_jobs = writers + readers
    # writers keep the normal busy timeout (they queue for the write lock); readers get 0
    results = _run_mixed_timeouts(db_path, mp_jobs, {2: 0, 3: 0})
    assert results[0] == 30 and results[1] == 30
    assert results[2] > 0 and results[3] > 0
    assert_consistent(db_path)


def _run_mixed_timeouts(db_path: Path, jobs, timeouts: dict[int, int]) -> list:
    """run_terminals, with a busy timeout per terminal."""
    mp = multiprocessing.get_context("spawn")
    barrier, queue = mp.Barrier(len(jobs)), mp.Queue()
    secrets_path = str(Path(db_path).parent / "secrets.json")
    procs = [mp.Process(target=_terminal, args=(job, target(db_path), secrets_path, f"kiosk-{i}", timeouts.get(i),
                                                payload, barrier, queue))
             for i, (job, payload) in enumerate(jobs)]
    for p in procs:
        p.start()
    results = {}
    try:
        while len(results) < len(jobs):
            terminal, status, result = queue.get(timeout=JOIN_TIMEOUT)
            results[terminal] = (status, result)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    crashes = {t: r for t, (s, r) in results.items() if s != "ok"}
    assert not crashes, "\n\n".join(f"{t}:\n{r}" for t, r in crashes.items())
    return [results[f"kiosk-{i}"][1] for i in range(len(jobs))]


def test_terminals_switched_on_together_on_a_new_file(tmp_path):
    """The file is switched to WAL and the schema created once (no "table already exists", no
    "database is locked"), and every terminal ends up with the same database id and the same
    code-hashing key. (Each of the three failed before store.py/secret_store.py were fixed.)"""
    db_path = tmp_path / "fresh" / "bene.db"
    db_path.parent.mkdir()
    results = run_terminals(db_path, [("job_open_fresh", {}) for _ in range(6)])
    assert len({r["db_id"] for r in results}) == 1
    assert len({r["key"] for r in results}) == 1
    assert len({r["members"] for r in results}) == 1 and results[0]["members"] > 0
    assert_consistent(db_path)


# ---------------------------------------------------------------------------------------------
# In one process: what the services do when SQLite says busy, or a lost race reaches a constraint.


@pytest.mark.sqlite_only
def test_busy_database_becomes_bene_error_and_writes_nothing(world, tmp_path):
    world.db.conn.execute("pragma busy_timeout = 50")
    holder = sqlite3.connect(tmp_path / "bene.db", isolation_level=None)
    holder.execute("begin immediate")  # another terminal holding the write lock for too long
    try:
        flows_before = world.db.execute("select count(*) from flows").fetchone()[0]
        with pytest.raises(BeneError) as e:
            registration.start(world, "TS000001", "1001", "19850401")
        assert e.value.key == "error.busy" and "busy" in e.value.staff.lower()
        # reads go on meanwhile (WAL): step 1's lookup still answers
        assert identify.organisation(world, "TS000001")["name"] == "テスト商事株式会社"
        assert world.db.execute("select count(*) from flows").fetchone()[0] == flows_before
        assert not world.db.conn.in_transaction
    finally:
        holder.execute("rollback")
        holder.close()
    assert registration.start(world, "TS000001", "1001", "19850401").flow_id  # and it works once free


def test_is_busy_recognises_only_lock_errors():
    assert store.is_busy(sqlite3.OperationalError("database is locked"))
    assert not store.is_busy(sqlite3.OperationalError("no such table: x"))
    assert not store.is_busy(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not store.is_busy(ValueError("database is locked"))


@pytest.mark.sqlite_only  # another connection holds SQLite's write lock
async def test_busy_database_shows_a_message_not_a_traceback(app_factory, tmp_path, monkeypatch):
    from bene_tui.core.i18n import t
    from bene_tui.ui.screens.registration import Step1Screen, Step2Screen
    from helpers import screen_text, type_into, wait_for, wait_screen

    monkeypatch.setattr(store.sqlite, "BUSY_TIMEOUT_MS", 100)
    app = app_factory()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        await type_into(pilot, "#key1", "1001")
        await type_into(pilot, "#key2", "19850401")
        holder = sqlite3.connect(tmp_path / "bene.db", isolation_level=None)
        holder.execute("begin immediate")
        try:
            app.screen.query_one("#next").press()
            await wait_for(pilot, lambda: t("ja", "error.busy") in screen_text(pilot), what="busy message")
            assert isinstance(app.screen, Step1Screen)
            assert "Traceback" not in screen_text(pilot) and "locked" not in screen_text(pilot)
        finally:
            holder.execute("rollback")
            holder.close()
        app.screen.query_one("#next").press()  # the lock is gone: the same press goes through
        await wait_screen(pilot, Step2Screen)


def test_lost_race_for_login_id_is_now_registered_not_integrity_error(world, monkeypatch):
    """If the in-transaction check ever misses (another writer path, a future change), the unique
    index on held login keys still decides, and the loser hears the right answer."""
    from support.world import GOOD_PASSWORD as PW

    from bene_tui.services import accounts

    first = registration.start(world, "TS000001", "1001", "19850401").flow_id
    code1 = registration.submit_credentials(world, first, "email", "same@example.jp", PW, True)["code"]
    second = registration.start(world, "TS000002", "A-78", "M9002").flow_id
    code2 = registration.submit_credentials(world, second, "email", "SAME@example.jp", PW, True)["code"]
    registration.verify_code(world, first, code1)
    monkeypatch.setattr(accounts, "holder", lambda ctx, key: None)  # the check "misses"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, second, code2)
    assert e.value.key == "registration.now_registered" and e.value.field == "code"
    assert world.db.execute("select count(*) from accounts where verified_at is not null").fetchone()[0] == 1
    assert world.db.execute("select state from flows where id = ?", [second]).fetchone() == ("provisional",)


def test_lost_race_for_member_record_is_already_linked_not_integrity_error(world, monkeypatch):
    from support.world import GOOD_PASSWORD as PW

    flows = []
    for login in ("one@example.jp", "two@example.jp"):
        flow_id = registration.start(world, "TS000001", "1004", "19950303").flow_id
        message = registration.submit_credentials(world, flow_id, "email", login, PW, True)
        registration.verify_code(world, flow_id, message["code"])
        flows.append(flow_id)
    winner = registration.complete(world, flows[0], True)
    monkeypatch.setattr(identify, "linked_account", lambda ctx, member_id: None)  # the check "misses"
    with pytest.raises(BeneError) as e:
        registration.complete(world, flows[1], True)
    assert e.value.key == "error.member_already_linked"
    assert world.db.execute("select account_id from account_members am join members m on m.id = am.member_id "
                            "where m.auth_key_1 = '1004'").fetchall() == [(winner,)]
    assert world.db.execute("select status from accounts where login_id = 'two@example.jp'").fetchone() == ("provisional",)
    assert world.db.execute("select state from flows where id = ?", [flows[1]]).fetchone() == ("verified",)


@pytest.mark.postgresql_only
async def test_server_restart_shows_busy_then_the_screen_reconnects_by_itself(app_factory, pg_server, monkeypatch):
    """The server restarts while a screen waits, and again in the middle of step 1's transaction:
    the first goes unnoticed (the store reconnects), the second shows "busy, try again" (no
    traceback) and the same press then goes through."""
    from bene_tui.core.i18n import t
    from bene_tui.services import flows
    from bene_tui.ui.screens.registration import Step1Screen, Step2Screen
    from helpers import screen_text, type_into, wait_for, wait_screen

    real_create = flows.create
    restarts = []

    def create_then_restart(ctx, *args, **kw):
        if not restarts:  # once, with step 1's transaction open
            restarts.append(True)
            pg_server.restart()
        return real_create(ctx, *args, **kw)

    app = app_factory()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        pg_server.restart()  # between two screens: nobody notices
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        await type_into(pilot, "#key1", "1001")
        await type_into(pilot, "#key2", "19850401")
        monkeypatch.setattr(flows, "create", create_then_restart)
        app.screen.query_one("#next").press()
        await wait_for(pilot, lambda: t("ja", "error.busy") in screen_text(pilot), what="busy message")
        assert isinstance(app.screen, Step1Screen)
        assert "Traceback" not in screen_text(pilot) and "psycopg" not in screen_text(pilot)
        app.screen.query_one("#next").press()
        await wait_screen(pilot, Step2Screen)
    assert restarts == [True]


@pytest.mark.postgresql_only
async def test_server_restart_while_eight_screens_register(app_factory, shared, pg_server, tmp_path, monkeypatch):
    """Eight terminals (eight apps driven through their screens) each register two members. The
    server restarts (`pg_ctl restart -m fast`) while all eight have pressed 「登録する」 on Step 4 of
    their first: one inside the transaction, the others queued for the writer lock. Every screen
    shows "busy, try again" (never a traceback, never "unexpected"), the same press then completes
    the same flow over a new connection, and the second registration goes through: 16 accounts,
    each there once, active and linked once; every flow completed once."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import collections

    from bene_tui.services import audit
    from bene_tui.core.i18n import t
    from bene_tui.ui.screens.base import BaseScreen
    from bene_tui.ui.screens.registration import DoneScreen, Step1Screen, Step2Screen, Step3Screen, Step4Screen
    from bene_tui.ui.screens.start import StartScreen
    from helpers import messages_to, screen_text

    SIZE = (120, 50)

    terminals, each = 8, 2
    busy = t("ja", "error.busy")
    pressed, restarted, lock = [], threading.Event(), threading.Lock()
    real_complete, real_record = registration.complete, audit.record

    def complete(ctx, flow_id, *args, **kw):
        with lock:
            pressed.append(flow_id)
        return real_complete(ctx, flow_id, *args, **kw)

    def record(ctx, action, *args, **kw):  # inside registration.complete's transaction
        if action == "registration.complete" and not restarted.is_set():
            deadline = time.monotonic() + 20
            while len(set(pressed)) < terminals and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)  # the other seven are waiting for the writer lock now
            pg_server.restart()
            restarted.set()
        return real_record(ctx, action, *args, **kw)

    errors = collections.defaultdict(list)  # app → the keys of the messages its screens showed
    real_show_error = BaseScreen.show_error

    def show_error(screen, error, *args, **kw):
        errors[id(screen.app)].append(error.key)
        return real_show_error(screen, error, *args, **kw)

    monkeypatch.setattr(BaseScreen, "show_error", show_error)
    monkeypatch.setattr(registration, "complete", complete)
    monkeypatch.setattr(audit, "record", record)
    # Eight terminals are eight processes with threads of their own: here they share one loop,
    # whose default pool (6 threads on 2 cores) would hold fewer service calls than terminals.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=16))

    all_at_step4 = asyncio.Barrier(terminals)

    async def press_until(pilot, button_id: str, screen_cls) -> int:
        """Press; on "busy, try again", press again (as a person would) until `screen_cls` shows.
        Returns how many times the screen said busy."""
        busy_seen = 0
        while True:
            shown = len(errors[id(pilot.app)])
            await until(lambda: pilot.app.screen.query(f"#{button_id}"), f"#{button_id}")
            pilot.app.screen.query_one(f"#{button_id}").press()
            await until(lambda: isinstance(pilot.app.screen, screen_cls) or len(errors[id(pilot.app)]) > shown,
                        f"{screen_cls.__name__} or a message")
            if isinstance(pilot.app.screen, screen_cls):
                return busy_seen
            assert errors[id(pilot.app)][shown:] == ["error.busy"]  # never "unexpected", never a traceback
            text = screen_text(pilot)
            assert busy in text and "Traceback" not in text and "psycopg" not in text
            busy_seen += 1
            await asyncio.sleep(0.2)

    async def until(predicate, what: str, timeout: float = 120) -> None:
        """Polled, not through pilot.pause(): eight apps share this loop, and a pause waits for
        every widget of a screen that may be gone (popped) before it gets to them."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():
                    return
            except Exception:  # noqa: BLE001 — the screen is still mounting its widgets
                pass
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.05)

    async def fill(pilot, values: dict) -> None:
        for field, value in values.items():
            await until(lambda: pilot.app.screen.query(f"#{field}"), f"#{field}")
            pilot.app.screen.query_one(f"#{field}").value = value  # as typed (no pilot.pause: see until)

    async def terminal(i: int) -> tuple[list[str], list[int], int]:
        logins, flows_done, busy_seen = [], [], 0
        app = app_factory()
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: isinstance(pilot.app.screen, StartScreen), "the start screen")
            for j in range(each):
                login = f"screen{i}.{j}@example.jp"
                busy_seen += await press_until(pilot, "register", Step1Screen)
                await fill(pilot, {"group_id": ORG, "key1": member_key(i * each + j), "key2": KEY2})
                busy_seen += await press_until(pilot, "next", Step2Screen)
                await fill(pilot, {"login_id": login, "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
                pilot.app.screen.query_one("#agree").value = True
                busy_seen += await press_until(pilot, "submit", Step3Screen)
                await fill(pilot, {"code": messages_to(tmp_path, login)[-1]["code"]})
                busy_seen += await press_until(pilot, "send", Step4Screen)
                step4 = pilot.app.screen
                await until(lambda: str(step4.query_one("#name").render()).strip(), "the 姓名 on Step 4")
                step4.query_one("#confirm").value = True
                if j == 0:
                    await all_at_step4.wait()  # then all eight press at once
                busy_seen += await press_until(pilot, "complete", DoneScreen)
                logins.append(login)
                flows_done.append(step4.flow_id)
                await press_until(pilot, "top", StartScreen)
        return logins, flows_done, busy_seen

    results = await asyncio.gather(*(terminal(i) for i in range(terminals)))
    assert restarted.is_set()
    # every screen caught in the restart said "busy", and its same flow went on to the end
    assert [b for _, _, b in results] == [1] * terminals
    logins = sorted(login for done, _, _ in results for login in done)
    assert len(logins) == terminals * each
    db_path = tmp_path / "bene.db"
    assert db_rows(db_path, "select login_id, status from accounts where login_id like 'screen%' "
                            "order by login_id") == [(login, "active") for login in logins]
    assert db_rows(db_path, "select count(*), count(distinct am.member_id) from account_members am "
                            "join accounts a on a.id = am.account_id where a.login_id like 'screen%'") == \
        [(terminals * each, terminals * each)]
    flow_ids = [f for _, done, _ in results for f in done]
    assert db_rows(db_path, "select count(*) from flows where state = 'completed' and id in (%s)"
                   % ",".join("?" * len(flow_ids)), flow_ids) == [(terminals * each,)]
    assert db_rows(db_path, "select count(*) from audit where action = 'registration.complete' and outcome = 'ok' "
                            "and subject in (select 'account:' || id from accounts where login_id like 'screen%')") \
        == [(terminals * each,)]
    assert_consistent(db_path)


@pytest.mark.postgresql_only
@pytest.mark.parametrize("mode", ["demo", "kiosk", "helpdesk"])
async def test_server_away_for_seconds_the_screens_wait_and_go_on(app_factory, pg_server, mode):
    """The server is away for three seconds while a screen sits: the once-a-second reads (the shared
    clock, the outbox view, the demo's message watch) skip their turns instead of ending the app, and
    when it is back a flow goes through (the CI run that found this: the app ended on the clock's tick)."""
    import asyncio

    from bene_tui.ui.screens.registration import Step1Screen, Step2Screen
    from helpers import type_into, wait_for, wait_screen

    app = app_factory(mode=mode)
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.action_outbox()  # the outbox view polls too
        await pilot.pause()
        pg_server.down()
        try:
            await asyncio.sleep(3.2)  # three ticks of every timer with no server
            assert app.is_running and app._exception is None
        finally:
            pg_server.up()
        app.pop_screen()
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        await type_into(pilot, "#key1", "1001")
        await type_into(pilot, "#key2", "19850401")
        app.screen.query_one("#next").press()
        await wait_screen(pilot, Step2Screen)
