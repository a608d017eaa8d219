"""Where people get stuck (issue 16): the aggregates kept with the audit trail, and `report`."""

from __future__ import annotations

import json


import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import report
from support.stuck_world import _stuck_world


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
