"""Linking a member record to an existing Bene Account (SPEC §3.2), at the service level."""

from __future__ import annotations

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, linking, registration
from support.world import GOOD_PASSWORD
from support.services import WRONG, register

CITY = ("TS000002", "A-77", "M9001")  # the same person as TS000001/1001 (山田 太郎), at another employer


def start(ctx, member=CITY) -> str:
    return registration.start(ctx, *member).flow_id


def test_second_organisation_links_to_the_same_account(world):
    account_id = register(world)
    assert registration.grant_benefit(world, account_id) is True
    with pytest.raises(BeneError) as e:
        auth.login(world, "bene_wellness", "taro@example.jp", GOOD_PASSWORD)
    assert e.value.key == "login.case2" and e.value.params["services"] == ["benefit_station", "bene_learning"]

    flow_id = start(world)
    assert linking.authenticate(world, flow_id, "taro@example.jp", GOOD_PASSWORD) == {
        "account_id": account_id, "login_id": "taro@example.jp"}
    flow = world.db["flows"].get(flow_id)
    assert (flow["state"], flow["account_id"]) == ("link_authenticated", account_id)
    assert registration.registered_name(world, flow_id)["org_name"] == "テスト市役所"
    assert linking.complete(world, flow_id, True) == account_id

    members = world.db.execute("select m.group_id, m.auth_key_1 from account_members am join members m "
                               "on m.id = am.member_id where am.account_id = ? order by m.group_id",
                               [account_id]).fetchall()
    assert members == [("TS000001", "1001"), ("TS000002", "A-77")]
    assert auth.login(world, "bene_wellness", "taro@example.jp", GOOD_PASSWORD)["account_id"] == account_id
    assert auth.profile(world, account_id)["services"] == ["benefit_station", "bene_learning", "bene_wellness"]
    assert registration.grant_benefit(world, account_id) is False  # 初回特典 once per account
    actions = [(r[0], r[1]) for r in world.db.execute(
        "select action, outcome from audit where action like 'link.%' order by id")]
    assert actions == [("link.login", "ok"), ("link.complete", "ok")]
    assert world.db["accounts"].count == 1


def test_wrong_password_is_case1_and_counts_toward_the_login_lockout(world, clock):
    account_id = register(world)
    for _ in range(4):
        with pytest.raises(BeneError):
            auth.login(world, "benefit_station", "taro@example.jp", WRONG)
    flow_id = start(world)
    with pytest.raises(BeneError) as e:
        linking.authenticate(world, flow_id, "taro@example.jp", WRONG)
    assert e.value.key == "login.case1" and "locked until" in e.value.staff
    with pytest.raises(BeneError) as e:
        linking.authenticate(world, flow_id, "taro@example.jp", GOOD_PASSWORD)
    assert e.value.key == "login.case1" and e.value.staff.startswith("account locked until")
    with pytest.raises(BeneError) as e:
        linking.authenticate(world, flow_id, "nobody@example.jp", GOOD_PASSWORD)
    assert (e.value.key, e.value.staff) == ("login.case1", "unknown login ID")
    assert world.db["flows"].get(flow_id)["state"] == "identified"
    clock.advance(61)
    assert linking.authenticate(world, flow_id, "taro@example.jp", GOOD_PASSWORD)["account_id"] == account_id
    assert world.db["account_members"].count == 1  # nothing linked before step 4


def test_provisional_account_cannot_be_linked_until_verified(world):
    flow_id = registration.start(world, "TS000001", "1001", "19850401").flow_id
    message = registration.submit_credentials(world, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True)
    city = start(world)
    with pytest.raises(BeneError) as e:
        linking.authenticate(world, city, "taro@example.jp", GOOD_PASSWORD)
    assert e.value.key == "link.provisional"
    registration.verify_code(world, flow_id, message["code"])
    registration.complete(world, flow_id, True)
    assert linking.authenticate(world, city, "taro@example.jp", GOOD_PASSWORD)
    assert linking.complete(world, city, True)


def test_a_linked_record_cannot_be_linked_again(world):
    taro = register(world)
    register(world, login="misaki@example.jp", key1="A-78", key2="M9002", gid="TS000002")
    # step 1 already says so for a linked record
    with pytest.raises(BeneError) as e:
        registration.start(world, "TS000001", "1001", "19850401")
    assert e.value.key == "error.member_already_linked"
    # two terminals start linking the same record; the second to finish is told clearly
    first, second = start(world), start(world)
    linking.authenticate(world, first, "taro@example.jp", GOOD_PASSWORD)
    linking.authenticate(world, second, "misaki@example.jp", GOOD_PASSWORD)
    linking.complete(world, first, True)
    with pytest.raises(BeneError) as e:
        linking.complete(world, second, True)
    assert e.value.key == "error.member_already_linked"
    assert world.db.execute("select account_id from account_members where member_id = "
                            "(select id from members where auth_key_1 = 'A-77')").fetchall() == [(taro,)]
    third = world.db["flows"].get(second)  # the refused flow stays where it was
    assert third["state"] == "link_authenticated"
    refused = world.db.execute("select reason from audit where action = 'link.complete' and outcome = 'refused'").fetchone()
    assert refused == ("member linked meanwhile",)


def test_complete_needs_the_tick_and_the_login(world):
    register(world)
    flow_id = start(world)
    with pytest.raises(BeneError) as e:
        linking.complete(world, flow_id, True)
    assert e.value.key == "error.flow_state"
    linking.authenticate(world, flow_id, "taro@example.jp", GOOD_PASSWORD)
    with pytest.raises(BeneError) as e:
        linking.complete(world, flow_id, False)
    assert (e.value.key, e.value.field) == ("error.confirm_required", "confirm")
    assert world.db["account_members"].count == 1


def test_family_account_cannot_hold_a_member_record(world):
    from bene_tui.services import passwords

    owner = register(world)
    with world.tx() as db:
        db["accounts"].insert({
            "login_id": "kid@example.jp", "login_key": "kid@example.jp", "login_kind": "email",
            "password_hash": passwords.hash_password(GOOD_PASSWORD, world.rules), "status": "active",
            "kind": "family", "family_of": owner, "created_at": world.now(), "failed_logins": 0})
    flow_id = registration.start(world, "TS000002", "A-78", "M9002").flow_id
    with pytest.raises(BeneError) as e:
        linking.authenticate(world, flow_id, "kid@example.jp", GOOD_PASSWORD)
    assert e.value.key == "link.family_account"


def test_choosing_to_link_after_a_provisional_registration_frees_that_login_id(world):
    account_id = register(world)
    flow_id = start(world)
    registration.submit_credentials(world, flow_id, "email", "city.taro@example.jp", GOOD_PASSWORD, True)
    assert world.db["accounts"].count == 2
    linking.authenticate(world, flow_id, "taro@example.jp", GOOD_PASSWORD)
    live = world.db.execute("select id from accounts where status != 'removed' and login_key not like 'ended:%'")
    assert [r[0] for r in live] == [account_id]
    assert world.db.execute("select count(*) from accounts where login_key = 'city.taro@example.jp'").fetchone()[0] == 0
    linking.complete(world, flow_id, True)
    assert world.db.execute("select reason from audit where action = 'registration.provisional_abandoned'").fetchone()
