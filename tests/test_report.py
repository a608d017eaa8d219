"""Where people get stuck (issue 16): the aggregates kept with the audit trail, and `report`."""

from __future__ import annotations

import json

from dataclasses import replace

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, family, linking, outbox, recovery, registration, report
from conftest import GOOD_PASSWORD
from test_family import token_of

WRONG = "not-the-password-9"
NEW_PASSWORD = "another-long-pass-phrase-77"


def _on_terminal(ctx, name: str):
    other = replace(ctx, settings=replace(ctx.settings, terminal=name))
    other.__dict__.update({k: v for k, v in ctx.__dict__.items() if k in ("hmac_key", "db_id")})
    return other


def _stuck_world(world, clock) -> dict:
    """Registrations left at each step, on two terminals and two organisations, through the services."""
    # 1001 completes in five minutes, invites family, is locked out and resets the password.
    flow = registration.start(world, "TS000001", "1001", "19850401").flow_id
    clock.advance(60)
    message = registration.submit_credentials(world, flow, "email", "taro@example.jp", GOOD_PASSWORD, True, "ja")
    clock.advance(120)
    registration.verify_code(world, flow, message["code"])
    clock.advance(120)
    taro = registration.complete(world, flow, True)
    invited = family.invite(world, taro, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15", "hanako@example.jp", "ja")
    family.approve(world, token_of(invited["message"]), taro)
    for _ in range(world.rules.login_free_failures):
        with pytest.raises(BeneError):
            auth.login(world, "benefit_station", "taro@example.jp", WRONG)
    started = recovery.start_reset(world, "taro@example.jp", "ja")
    recovery.check_reset_code(world, started["flow_id"], outbox.latest(world, "taro@example.jp", "password_reset")["code"])
    recovery.set_new_password(world, started["flow_id"], NEW_PASSWORD)
    # 1003 reaches step 3 and asks for the code again, but never enters it.
    flow = registration.start(world, "TS000001", "1003", "19781120").flow_id
    registration.submit_credentials(world, flow, "email", "hanako3@example.jp", GOOD_PASSWORD, True, "ja")
    clock.advance(world.rules.code_resend_after)
    registration.resend_code(world, flow)
    # 1004 stops after step 1; a wrong key 2 and an already linked member are step-1 refusals.
    registration.start(world, "TS000001", "1004", "19950303")
    for key1, key2 in (("1001", "20000101"), ("1001", "19850401")):
        with pytest.raises(BeneError):
            registration.start(world, "TS000001", key1, key2)
    # Another organisation, on another terminal, the next day.
    clock.advance(86400)
    other = _on_terminal(world, "kiosk-2")
    member = world.db.execute("select auth_key_1, auth_key_2 from members where group_id = 'TS000002' "
                              "order by auth_key_1 limit 1").fetchone()
    flow = registration.start(other, "TS000002", *member).flow_id
    linking.authenticate(other, flow, "taro@example.jp", NEW_PASSWORD)  # 「すでにお持ちの方」: linked to Taro's
    linking.complete(other, flow, True)
    return {"taro": taro}


def test_counts_each_step_per_day_org_and_terminal(world, clock):
    _stuck_world(world, clock)
    got = report.summary(world)
    t = got["totals"]
    assert (t["started"], t["step2"], t["code_entered"], t["completed"]) == (4, 2, 1, 1)
    assert (t["dropped_step1"], t["dropped_step2"], t["dropped_step3"]) == (2, 1, 0)
    assert (t["code_sent"], t["codes_not_entered"]) == (3, 2)
    assert (t["step1_refused"], t["lockouts"], t["resets"], t["linked"]) == (2, 1, 1, 1)
    assert (t["family_invited"], t["family_approved"], t["family_registered"]) == (1, 1, 0)
    assert 270 <= t["median_seconds"] <= 300  # one completion, 300 s after step 1: the 240-300 s bucket
    day1, day2 = got["days"]
    assert (day1["day"], day1["started"], day2["day"], day2["started"]) == ("2026-04-01", 3, "2026-04-02", 1)
    rows = {(r["day"], r["org"], r["terminal"]): r for r in got["rows"]}
    assert set(rows) == {("2026-04-01", "TS000001", "test-terminal"), ("2026-04-02", "TS000002", "kiosk-2")}
    assert (rows[("2026-04-02", "TS000002", "kiosk-2")]["started"], rows[("2026-04-02", "TS000002", "kiosk-2")]["linked"]) == (1, 1)
    assert report.summary(world, org="ts000002")["totals"]["started"] == 1
    assert report.summary(world, terminal="test-terminal")["totals"]["started"] == 3
    assert report.summary(world, since="2026-04-02")["totals"]["completed"] == 0
    assert report.summary(world, until="2026/4/1")["totals"]["completed"] == 1


def test_rebuild_from_the_audit_trail_gives_the_same_counts(world, clock):
    """The migration's backfill derives what the live counting kept (rows written before it existed)."""
    _stuck_world(world, clock)
    kept = report.summary(world)
    # Older completion rows carry no duration: it is read from the flow.
    with world.tx() as db:
        for row_id, detail in db.execute("select id, detail from audit where action = 'registration.complete'").fetchall():
            older = {k: v for k, v in json.loads(detail).items() if k != "seconds"}
            db.execute("update audit set detail = ? where id = ?", [json.dumps(older), row_id])
        db.execute("update daily_stats set started = 99")  # (rebuilt from nothing but the trail)
        report.rebuild(db)
    assert report.summary(world) == kept


@pytest.mark.parametrize("bad", ["2026-13-40", "[b]", "yesterday"])
def test_bad_dates_are_refused_by_field(world, bad):
    with pytest.raises(BeneError) as e:
        report.summary(world, since=bad)
    assert (e.value.key, e.value.field) == ("ops.error.date", "since")


def test_median_is_interpolated_inside_its_bucket():
    def hist(**n):
        return [n.get(c, 0) for c in report.BUCKET_COLUMNS]

    assert report.median_seconds(hist()) is None
    assert report.median_seconds(hist(dur_60=2)) == 45.0  # 30-60 s, half way: the middle of the bucket
    assert report.median_seconds(hist(dur_30=1, dur_inf=3)) == 86400.0
    assert report.median_seconds(hist(dur_30=1, dur_60=1, dur_90=2)) == 60.0
