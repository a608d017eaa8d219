"""Registration rules (SPEC §3.1, §4) at the service level, on a fixed clock."""

from __future__ import annotations

import pytest

from bene_tui.core.errors import BeneError, Throttled
from bene_tui.services import outbox, registration
from support.world import GOOD_PASSWORD


def start(ctx, key1="1001", key2="19850401", gid="TS000001"):
    return registration.start(ctx, gid, key1, key2).flow_id


def provisional(ctx, login="taro@example.jp", kind="email", **kw):
    flow_id = start(ctx, **kw)
    message = registration.submit_credentials(ctx, flow_id, kind, login, GOOD_PASSWORD, True, "ja")
    return flow_id, message


def test_full_registration_links_member_and_activates(world):
    flow_id, message = provisional(world)
    assert message["channel"] == "email" and message["sender"] == "benefitone-platform@benefit-one.co.jp"
    assert message["code"] in message["body"]
    assert registration.verify_code(world, flow_id, message["code"])
    account_id = registration.complete(world, flow_id, True)
    acct = world.db["accounts"].get(account_id)
    assert acct["status"] == "active" and acct["login_id"] == "taro@example.jp"
    assert world.db.execute("select account_id from account_members").fetchall() == [(account_id,)]
    assert registration.grant_benefit(world, account_id) is True
    assert registration.grant_benefit(world, account_id) is False
    actions = [r[0] for r in world.db.execute("select action from audit order by id")]
    for a in ("registration.step1", "registration.provisional", "code.sent", "code.checked", "registration.complete", "benefit.grant"):
        assert a in actions


def test_full_width_input_is_normalised(world):
    flow_id = registration.start(world, "ＴＳ０００００１", "１００１", "１９８５０４０１").flow_id
    message = registration.submit_credentials(world, flow_id, "sms", "０９０−１２３４−５６７８", GOOD_PASSWORD, True)
    assert message["recipient"] == "+819012345678" and message["channel"] == "sms"


@pytest.mark.parametrize("key2", ["19850402", "", "1985040１x"])
def test_step1_generic_error(world, key2):
    with pytest.raises(BeneError) as e:
        registration.start(world, "TS000001", "1001", key2)
    assert e.value.key in ("error.step1_mismatch", "error.required")


def test_step1_same_message_for_every_mismatch(world):
    keys = set()
    for gid, k1, k2 in [("XX999999", "1001", "19850401"), ("TS000001", "9999", "19850401"), ("TS000001", "1001", "20000101")]:
        with pytest.raises(BeneError) as e:
            registration.start(world, gid, k1, k2)
        keys.add((e.value.key, e.value.field))
    assert keys == {("error.step1_mismatch", "group_id")}


def test_step1_throttles_terminal_after_five_failures(world, clock):
    for _ in range(5):
        with pytest.raises(BeneError):
            registration.start(world, "TS000001", "1001", "bad")
    with pytest.raises(Throttled) as e:
        registration.start(world, "TS000001", "1001", "19850401")
    assert e.value.params["seconds"] <= 61
    clock.advance(61)
    assert registration.start(world, "TS000001", "1001", "19850401").flow_id
    # the next failure waits longer
    with pytest.raises(BeneError):
        registration.start(world, "TS000001", "1001", "bad")
    with pytest.raises(Throttled) as e:
        registration.start(world, "TS000001", "1001", "19850401")
    assert e.value.params["seconds"] > 61


@pytest.mark.parametrize("password,key", [
    ("short", "error.password_too_short"),
    ("x" * 129, "error.password_too_long"),
    ("password1234", "error.password_guessable"),
    ("aaaaaaaaaaaaaa", "error.password_guessable"),
    ("taro.suzuki@example.jp-xyz", "error.password_contains_login_id"),
])
def test_password_policy_states_reason(world, password, key):
    flow_id = start(world)
    with pytest.raises(BeneError) as e:
        registration.submit_credentials(world, flow_id, "email", "taro.suzuki@example.jp", password, True)
    assert e.value.key == key and e.value.field == "password"
    assert world.db["accounts"].count == 0


def test_terms_must_be_agreed(world):
    flow_id = start(world)
    with pytest.raises(BeneError) as e:
        registration.submit_credentials(world, flow_id, "email", "a@example.jp", GOOD_PASSWORD, False)
    assert e.value.key == "error.terms_required"


def test_password_is_argon2id_and_code_only_hashed(world):
    flow_id, message = provisional(world)
    acct = world.db.execute("select password_hash from accounts").fetchone()[0]
    assert acct.startswith("$argon2id$") and GOOD_PASSWORD not in acct
    stored = world.db.execute("select code_hash from codes").fetchone()[0]
    assert message["code"] not in stored and len(stored) == 64


def test_a_hash_made_ahead_is_stored_only_for_its_own_password_and_parameters(world):
    from dataclasses import replace

    from bene_tui.services import passwords

    ahead = registration.hash_ahead(world, GOOD_PASSWORD)
    flow_id = start(world)
    registration.submit_credentials(world, flow_id, "email", "taro@example.jp", GOOD_PASSWORD, True, "ja", ahead)
    assert world.db.execute("select password_hash from accounts").fetchone()[0] == ahead.hash

    other = passwords.Prehashed(GOOD_PASSWORD, ahead.hash)  # made for this password, but ...
    assert passwords.hash_for(GOOD_PASSWORD + "x", world.rules, other) != ahead.hash  # ... not for another
    stronger = replace(world.rules, argon2_time_cost=world.rules.argon2_time_cost + 1)
    assert passwords.hash_for(GOOD_PASSWORD, stronger, other) != ahead.hash  # nor under other parameters
    assert passwords.verify_password(passwords.hash_for(GOOD_PASSWORD + "x", world.rules, other),
                                     GOOD_PASSWORD + "x", world.rules)


def test_already_registered_login_id(world):
    flow_id, message = provisional(world)
    registration.verify_code(world, flow_id, message["code"])
    registration.complete(world, flow_id, True)
    other = start(world, key1="1004", key2="19950303")
    with pytest.raises(BeneError) as e:
        registration.submit_credentials(world, other, "email", "TARO@EXAMPLE.JP", GOOD_PASSWORD, True)
    assert e.value.key == "registration.already_registered"


def test_five_wrong_codes_void_it(world):
    flow_id, message = provisional(world)
    wrong = "000000" if message["code"] != "000000" else "111111"
    for i in range(4):
        with pytest.raises(BeneError) as e:
            registration.verify_code(world, flow_id, wrong)
        assert e.value.key == "error.code_wrong"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, wrong)
    assert e.value.key == "error.code_void"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, message["code"])
    assert e.value.key == "error.code_void"


def test_code_expires_then_resend(world, clock):
    flow_id, message = provisional(world)
    clock.advance(10 * 60 + 1)
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, message["code"])
    assert e.value.key == "error.code_expired"
    new = registration.resend_code(world, flow_id)
    assert registration.verify_code(world, flow_id, new["code"])


def test_resend_too_early_and_hourly_limit(world, clock):
    flow_id, message = provisional(world)
    with pytest.raises(Throttled) as e:
        registration.resend_code(world, flow_id)
    assert e.value.key == "error.resend_too_early"
    for _ in range(4):
        clock.advance(61)
        last = registration.resend_code(world, flow_id)
    clock.advance(61)
    with pytest.raises(Throttled) as e:
        registration.resend_code(world, flow_id)
    assert e.value.key == "error.too_many_codes"
    # resending voided the old codes: only the last one works
    with pytest.raises(BeneError):
        registration.verify_code(world, flow_id, message["code"] if message["code"] != last["code"] else "999999")
    assert registration.verify_code(world, flow_id, last["code"])


def test_code_single_use(world):
    flow_id, message = provisional(world)
    registration.verify_code(world, flow_id, message["code"])
    with pytest.raises(BeneError):
        registration.verify_code(world, flow_id, message["code"])


def test_provisional_kept_24h_then_login_id_free(world, clock):
    flow_id, message = provisional(world, login="held@example.jp")
    registration.verify_code(world, flow_id, message["code"])  # held once its owner entered the code
    other = start(world, key1="1004", key2="19950303")
    with pytest.raises(BeneError):
        registration.submit_credentials(world, other, "email", "held@example.jp", GOOD_PASSWORD, True)
    clock.advance(24 * 3600 + 1)
    other = start(world, key1="1004", key2="19950303")
    msg = registration.submit_credentials(world, other, "email", "held@example.jp", GOOD_PASSWORD, True)
    assert msg["recipient"] == "held@example.jp"
    # the abandoned row stays as a tombstone, so its id (named by audit rows) is never reused
    rows = world.db.execute("select status, login_key from accounts order by id").fetchall()
    assert rows[0][0] == "removed" and rows[0][1].startswith("ended:") and rows[1] == ("provisional", "held@example.jp")


def test_same_person_resumes_within_24h(world, clock):
    provisional(world, login="back@example.jp")
    clock.advance(3600)
    flow_id = start(world)
    msg = registration.submit_credentials(world, flow_id, "email", "back@example.jp", GOOD_PASSWORD, True)
    registration.verify_code(world, flow_id, msg["code"])
    assert registration.complete(world, flow_id, True)
    assert world.db["accounts"].count == 1


def test_wrong_name_completes_nothing(world):
    flow_id, message = provisional(world)
    registration.verify_code(world, flow_id, message["code"])
    org = registration.report_wrong_name(world, flow_id)
    assert org == "テスト商事株式会社"
    with pytest.raises(BeneError):
        registration.complete(world, flow_id, True)
    assert world.db["account_members"].count == 0
    assert world.db.execute("select status from accounts").fetchone()[0] == "provisional"


def test_member_already_linked(world):
    flow_id, message = provisional(world)
    registration.verify_code(world, flow_id, message["code"])
    registration.complete(world, flow_id, True)
    with pytest.raises(BeneError) as e:
        start(world)
    assert e.value.key == "error.member_already_linked"


def test_outbox_text_in_english(world):
    flow_id = start(world)
    msg = registration.submit_credentials(world, flow_id, "email", "en@example.jp", GOOD_PASSWORD, True, "en")
    assert "Verification code" in msg["body"] and msg["subject"].startswith("[Bene Account]")
    assert outbox.latest(world, "en@example.jp")["id"] == msg["id"]


@pytest.mark.parametrize("bad", ["\x1b[31mx@example.jp", "x" * 10_000, "[b]a@b.jp", "'; drop table accounts; --", "😀@example.jp"])
def test_hostile_login_ids_refused_cleanly(world, bad):
    flow_id = start(world)
    with pytest.raises(BeneError) as e:
        registration.submit_credentials(world, flow_id, "email", bad, GOOD_PASSWORD, True)
    assert e.value.field == "login_id"
    assert world.db["accounts"].count == 0


# -- step 2 is no oracle and no squatting tool -------------------------------------------------

def registered(ctx, login="taro@example.jp"):
    flow_id, message = provisional(ctx, login=login)
    registration.verify_code(ctx, flow_id, message["code"])
    return registration.complete(ctx, flow_id, True)


def test_already_registered_answers_count_like_step1_failures(world, clock):
    registered(world)
    other = start(world, key1="1004", key2="19950303")  # their own 団体ID and keys
    for _ in range(5):
        with pytest.raises(BeneError) as e:
            registration.submit_credentials(world, other, "email", "taro@example.jp", GOOD_PASSWORD, True)
        assert e.value.key == "registration.already_registered"
    for attempt in (lambda: registration.submit_credentials(world, other, "email", "free@example.jp",
                                                           GOOD_PASSWORD, True),
                    lambda: start(world, key1="1004", key2="19950303")):  # restarting step 1 waits too
        with pytest.raises(Throttled) as e:
            attempt()
        assert (e.value.key, e.value.params["seconds"]) == ("error.throttled", 61)
    clock.advance(61)
    with pytest.raises(BeneError):
        registration.submit_credentials(world, other, "email", "taro@example.jp", GOOD_PASSWORD, True)
    with pytest.raises(Throttled) as e:  # growing, as step 1's wait does
        start(world, key1="1004", key2="19950303")
    assert e.value.params["seconds"] == 121
    rows = world.db.execute("select failures from throttle where key = 'step1:test-terminal'").fetchall()
    assert rows == [(6,)]  # one count for step 1 and step 2


def test_a_squatters_provisional_registration_blocks_nobody(world):
    squatter, squatted = provisional(world, login="owner@example.jp", key1="1004", key2="19950303")
    owner, mine = provisional(world, login="Owner@example.jp")  # goes ahead: a fresh code to the ID
    sent = world.db.execute("select count(*) from outbox where recipient in ('owner@example.jp', 'Owner@example.jp')"
                            " and purpose = 'verification'").fetchone()
    assert sent == (2,)
    rows = world.db.execute("select status, verified_at from accounts where login_key = 'owner@example.jp'").fetchall()
    assert rows == [("provisional", None), ("provisional", None)]
    assert registration.verify_code(world, owner, mine["code"])  # the first valid code wins
    account_id = registration.complete(world, owner, True)

    with pytest.raises(BeneError) as e:  # the other flow's valid code: told at step 3, offered linking
        registration.verify_code(world, squatter, squatted["code"])
    assert (e.value.key, e.value.field) == ("registration.now_registered", "code")
    flow = world.db["flows"].get(squatter)
    assert (flow["state"], flow["account_id"]) == ("identified", None)  # back to the choice: linking may follow
    rows = world.db.execute("select id, status from accounts where login_key = 'owner@example.jp'").fetchall()
    assert rows == [(account_id, "active")]  # the squatter's registration released (a tombstone)
    assert world.db.execute("select reason from audit where action = 'registration.step3'").fetchall() == [
        ("login ID verified by another registration first",)]


def test_a_login_id_whose_code_was_entered_is_held(world):
    first, message = provisional(world, login="held2@example.jp")
    late = start(world, key1="1004", key2="19950303")
    provisional_late = registration.submit_credentials(world, late, "email", "held2@example.jp", GOOD_PASSWORD, True)
    registration.verify_code(world, first, message["code"])  # held now, step 4 still to come
    other = start(world, key1="1003", key2="19781120")
    with pytest.raises(BeneError) as e:
        registration.submit_credentials(world, other, "email", "held2@example.jp", GOOD_PASSWORD, True)
    assert e.value.key == "registration.already_registered"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, late, provisional_late["code"])
    assert e.value.key == "registration.now_registered"
