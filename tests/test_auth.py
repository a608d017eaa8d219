"""Login and its error cases (SPEC §3.3) and the lockout rules (§4), at the service level."""

from __future__ import annotations

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, passwords
from support.world import GOOD_PASSWORD
from support.services import WRONG, register


def case1(ctx, login_id, password=WRONG, service="benefit_station") -> BeneError:
    with pytest.raises(BeneError) as e:
        auth.login(ctx, service, login_id, password)
    assert e.value.key == "login.case1"
    return e.value


def audit_rows(ctx, subject):
    return list(ctx.db.query("select * from audit where subject = ? order by id", [subject]))


def acct(ctx, account_id):
    return ctx.db["accounts"].get(account_id)


def test_login_ok(world):
    account_id = register(world)
    result = auth.login(world, "benefit_station", "taro@example.jp", GOOD_PASSWORD)
    assert result == {"account_id": account_id, "login_id": "taro@example.jp",
                      "service_id": "benefit_station", "kind": "member"}
    last = audit_rows(world, f"account:{account_id}")[-1]
    assert (last["action"], last["outcome"]) == ("auth.login", "ok")
    # the login ID is found however it is typed (full width, upper-case domain)
    assert auth.login(world, "bene_learning", "ｔａｒｏ＠EXAMPLE.JP", GOOD_PASSWORD)["account_id"] == account_id


def test_case1_is_one_answer_with_the_real_reason_for_staff(world):
    account_id = register(world)
    unknown = case1(world, "nobody@example.jp")
    wrong = case1(world, "taro@example.jp")
    garbage = case1(world, "not a login id")
    for e in (unknown, wrong, garbage):
        assert (e.key, e.field, e.params) == ("login.case1", None, {})
    assert unknown.staff == "unknown login ID"
    assert wrong.staff.startswith("wrong password (1 consecutive)")
    assert audit_rows(world, "login:nobody@example.jp")[-1]["reason"] == "unknown login ID"
    row = audit_rows(world, f"account:{account_id}")[-1]
    assert (row["action"], row["outcome"], row["reason"]) == ("auth.login", "refused", "wrong password (1 consecutive)")
    assert acct(world, account_id)["failed_logins"] == 1
    assert all(GOOD_PASSWORD not in (r[0] or "") and WRONG not in (r[0] or "")
               for r in world.db.execute("select coalesce(reason, '') || coalesce(detail, '') from audit"))


def test_same_work_whether_or_not_the_login_id_exists(world, monkeypatch):
    register(world)
    calls = []
    real = passwords.verify_password

    def spy(stored, password, rules):
        calls.append(stored)
        return real(stored, password, rules)

    monkeypatch.setattr(passwords, "verify_password", spy)
    case1(world, "nobody@example.jp")
    case1(world, "taro@example.jp")
    assert len(calls) == 2 and calls[0] is None and calls[1].startswith("$argon2id$")


def test_lockout_grows_and_is_capped(world, clock):
    account_id = register(world)
    for i in range(1, 5):
        e = case1(world, "taro@example.jp")
        assert "locked" not in e.staff
        clock.advance(1)
    e = case1(world, "taro@example.jp")  # the 5th consecutive failure locks for 60 s
    assert "locked until" in e.staff
    locked_at = clock.now()
    assert acct(world, account_id)["locked_until"] == locked_at + 60
    # while locked even the right password gets Case 1, and nothing is counted
    clock.advance(59)
    e = case1(world, "taro@example.jp", GOOD_PASSWORD)
    assert e.staff == f"account locked until {auth.stamp(locked_at + 60)} (5 consecutive failures)"
    assert e.staff.startswith("account locked until 2026-04-01 ")
    case1(world, "taro@example.jp")
    assert acct(world, account_id)["failed_logins"] == 5
    # after the wait, each further failure waits 60 s longer
    waits = []
    for _ in range(16):
        clock.advance(acct(world, account_id)["locked_until"] - clock.now())
        case1(world, "taro@example.jp")
        waits.append(acct(world, account_id)["locked_until"] - clock.now())
    assert waits[:3] == [120, 180, 240]
    assert max(waits) == 15 * 60 and waits[-1] == 15 * 60
    # the right password after the wait opens it and clears the count
    clock.advance(15 * 60)
    assert auth.login(world, "benefit_station", "taro@example.jp", GOOD_PASSWORD)["account_id"] == account_id
    row = acct(world, account_id)
    assert (row["failed_logins"], row["locked_until"], row["first_failed_at"]) == (0, None, None)


def test_count_resets_after_12_hours(world, clock):
    account_id = register(world)
    for _ in range(4):
        case1(world, "taro@example.jp")
    clock.advance(12 * 3600)
    for _ in range(4):
        case1(world, "taro@example.jp")
    assert acct(world, account_id)["failed_logins"] == 4
    assert acct(world, account_id)["locked_until"] is None
    e = case1(world, "taro@example.jp")
    assert "locked until" in e.staff and acct(world, account_id)["failed_logins"] == 5


def test_never_more_than_100_failures_an_hour(world, clock):
    account_id = register(world)
    world.rules.login_free_failures = 10_000  # only the hourly ceiling is left
    first = clock.now()
    for _ in range(100):
        case1(world, "taro@example.jp")
        clock.advance(10)
    e = case1(world, "taro@example.jp", GOOD_PASSWORD)
    assert e.staff.startswith("account locked until")
    assert acct(world, account_id)["locked_until"] == first + 3600
    assert acct(world, account_id)["failed_logins"] == 100
    clock.advance(first + 3600 - clock.now())
    assert auth.login(world, "benefit_station", "taro@example.jp", GOOD_PASSWORD)


def test_case2_lists_the_usable_services(world):
    account_id = register(world, login="hanako@example.jp", key1="1003", key2="19781120")
    with pytest.raises(BeneError) as e:
        auth.login(world, "bene_learning", "hanako@example.jp", GOOD_PASSWORD)
    assert e.value.key == "login.case2" and e.value.params["services"] == ["benefit_station"]
    row = audit_rows(world, f"account:{account_id}")[-1]
    assert (row["outcome"], row["reason"]) == ("refused", "inactive for service bene_learning")
    assert acct(world, account_id)["failed_logins"] == 0
    assert auth.login(world, "benefit_station", "hanako@example.jp", GOOD_PASSWORD)


def test_right_password_resets_the_consecutive_count(world):
    account_id = register(world)
    for _ in range(4):
        case1(world, "taro@example.jp")
    auth.login(world, "benefit_station", "taro@example.jp", GOOD_PASSWORD)
    case1(world, "taro@example.jp")
    assert acct(world, account_id)["failed_logins"] == 1


@pytest.mark.parametrize("status", ["removed", "provisional"])
def test_removed_or_unverified_account_gets_case1(world, status):
    account_id = register(world)
    with world.tx() as db:
        db["accounts"].update(account_id, {"status": status, "expires_at": world.now() + 3600})
    e = case1(world, "taro@example.jp", GOOD_PASSWORD)
    assert status in e.staff
    assert status in audit_rows(world, f"account:{account_id}")[-1]["reason"]


def test_family_account_may_use_benefit_station_only(world):
    member_account = register(world)
    with world.tx() as db:
        family_id = db["accounts"].insert({
            "login_id": "hanako.family@example.jp", "login_key": "hanako.family@example.jp", "login_kind": "email",
            "password_hash": passwords.hash_password(GOOD_PASSWORD, world.rules), "status": "active",
            "kind": "family", "family_of": member_account, "created_at": world.now(), "failed_logins": 0,
        }).last_pk
    assert auth.login(world, "benefit_station", "hanako.family@example.jp", GOOD_PASSWORD)["kind"] == "family"
    with pytest.raises(BeneError) as e:
        auth.login(world, "bene_learning", "hanako.family@example.jp", GOOD_PASSWORD)
    assert e.value.key == "login.case2" and e.value.params["services"] == ["benefit_station"]
    assert auth.profile(world, family_id)["kind"] == "family"


def test_unknown_service_is_refused(world):
    register(world)
    with pytest.raises(BeneError) as e:
        auth.login(world, "no_such_service", "taro@example.jp", GOOD_PASSWORD)
    assert e.value.key == "login.choose_service"


def test_profile(world):
    account_id = register(world)
    p = auth.profile(world, account_id)
    assert p["name"] == "山田 太郎" and p["login_id"] == "taro@example.jp"
    assert p["organisations"] == [{"group_id": "TS000001", "name": "テスト商事株式会社"}]
    assert p["services"] == ["benefit_station", "bene_learning"]
