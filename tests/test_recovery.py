"""The three "I forgot ..." procedures (SPEC §3.4), at the service level."""

from __future__ import annotations

import pytest

from bene_tui.core.errors import BeneError, Throttled
from bene_tui.services import auth, recovery
from support.world import GOOD_PASSWORD
from support.services import WRONG, register

NEW_PASSWORD = "hoshi-zora-no-shita-de-utau-kaeru-7"


def outbox(ctx, recipient=None, purpose=None):
    sql, args = "select * from outbox where true", []
    if recipient:
        sql, args = sql + " and recipient = ?", args + [recipient]
    if purpose:
        sql, args = sql + " and purpose = ?", args + [purpose]
    return list(ctx.db.query(sql + " order by id", args))


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# -- ベネアカウントが不明 --------------------------------------------------------------------------

def test_forgot_login_id_masks_it_and_sends_it_in_full(world):
    account_id = register(world, login="taro.yamada@example.jp")
    result = recovery.forgot_login_id(world, "ts000001", "１００１", "19850401", "ja")
    assert result == {"masked": "ta*********@ex*****.jp", "channel": "email"}
    [message] = outbox(world, "taro.yamada@example.jp", "login_id_notice")
    assert "taro.yamada@example.jp" in message["body"]
    row = world.db.execute("select action, outcome from audit where subject = ?", [f"account:{account_id}"]).fetchall()
    assert ("recovery.forgot_id", "ok") in row


def test_forgot_login_id_of_a_mobile_number(world):
    register(world, login="090-1234-5678")
    assert recovery.forgot_login_id(world, "TS000001", "1001", "19850401")["masked"] == "090-****-5678"
    assert outbox(world, "+819012345678", "login_id_notice")[0]["channel"] == "sms"


def test_forgot_login_id_wrong_keys_are_step1_errors_and_throttled(world):
    register(world)
    for _ in range(5):
        with pytest.raises(BeneError) as e:
            recovery.forgot_login_id(world, "TS000001", "1001", "19990101")
        assert e.value.key == "error.step1_mismatch"
    with pytest.raises(Throttled):
        recovery.forgot_login_id(world, "TS000001", "1001", "19850401")
    assert outbox(world, purpose="login_id_notice") == []
    assert world.db.execute("select count(*) from audit where action = 'recovery.forgot_id' "
                            "and outcome = 'refused'").fetchone() == (5,)


def test_forgot_login_id_without_an_account(world):
    with pytest.raises(BeneError) as e:
        recovery.forgot_login_id(world, "TS000001", "1004", "19950303")
    assert e.value.key == "recovery.no_account"
    assert outbox(world) == []


# -- パスワードが不明 ---------------------------------------------------------------------------

def test_password_reset_end_to_end(world, clock):
    account_id = register(world)
    for _ in range(5):  # a locked account: the reset clears the lockout
        with pytest.raises(BeneError):
            auth.login(world, "benefit_station", "taro@example.jp", WRONG)
    started = recovery.start_reset(world, "TARO@example.jp", "ja")
    assert started["shown"] == "TARO@example.jp" and started["recipient"] == "taro@example.jp"
    [message] = outbox(world, "taro@example.jp", "password_reset")
    assert message["flow_id"] == started["flow_id"]
    assert recovery.check_reset_code(world, started["flow_id"], message["code"])
    with pytest.raises(BeneError) as e:
        recovery.set_new_password(world, started["flow_id"], "password1234")
    assert e.value.key == "error.password_guessable"
    recovery.set_new_password(world, started["flow_id"], NEW_PASSWORD, "ja")

    row = world.db["accounts"].get(account_id)
    assert (row["failed_logins"], row["locked_until"]) == (0, None)
    with pytest.raises(BeneError) as e:
        auth.login(world, "benefit_station", "taro@example.jp", GOOD_PASSWORD)
    assert e.value.staff.startswith("wrong password")
    assert auth.login(world, "benefit_station", "taro@example.jp", NEW_PASSWORD)["account_id"] == account_id
    [notice] = outbox(world, "taro@example.jp", "notice")
    assert "パスワード再設定完了" in notice["subject"] and "再設定されました" in notice["body"]
    audit = world.db.execute("select outcome, reason from audit where action = 'recovery.password_reset'").fetchall()
    assert audit == [("ok", "password replaced; lockout cleared")]
    assert NEW_PASSWORD not in str(world.db.execute("select * from audit").fetchall())
    # the flow is over: its code cannot be used again, nor can the password be set twice
    with pytest.raises(BeneError):
        recovery.check_reset_code(world, started["flow_id"], message["code"])
    with pytest.raises(BeneError):
        recovery.set_new_password(world, started["flow_id"], NEW_PASSWORD + "x")


def test_unknown_login_id_gets_the_same_answer_and_the_same_flow(world):
    register(world)
    known = recovery.start_reset(world, "taro@example.jp")
    unknown = recovery.start_reset(world, "nobody@example.jp")
    assert set(known) == set(unknown) and unknown["shown"] == "nobody@example.jp"
    flows = {r["login_id"]: r for r in world.db.query("select * from flows where kind = 'password_reset'")}
    assert flows["nobody@example.jp"]["state"] == flows["taro@example.jp"]["state"] == "code_sent"
    assert flows["nobody@example.jp"]["expires_at"] == flows["taro@example.jp"]["expires_at"]
    assert outbox(world, "nobody@example.jp") == []
    assert world.db.execute("select reason from audit where subject = 'login:nobody@example.jp'").fetchone() == (
        "unknown login ID: no code sent",)
    # wrong entries, resend interval and expiry answer the same way
    code = outbox(world, "taro@example.jp", "password_reset")[0]["code"]
    answers = {}
    for name, started in (("known", known), ("unknown", unknown)):
        keys = []
        with pytest.raises(Throttled) as e:
            recovery.resend_reset_code(world, started["flow_id"])
        keys.append(e.value.key)
        for _ in range(5):
            with pytest.raises(BeneError) as e:
                recovery.check_reset_code(world, started["flow_id"], other_code(code))
            keys.append((e.value.key, e.value.params.get("left")))
        answers[name] = keys
        with world.tx() as db:
            db.execute("delete from throttle")  # the terminal's count is tested elsewhere
    assert answers["known"] == answers["unknown"]
    assert answers["known"][-1] == ("error.code_void", None)


def test_reset_code_expires_and_a_new_one_works(world, clock):
    register(world)
    started = recovery.start_reset(world, "taro@example.jp")
    old = outbox(world, "taro@example.jp", "password_reset")[-1]["code"]
    clock.advance(10 * 60 + 1)
    with pytest.raises(BeneError) as e:
        recovery.check_reset_code(world, started["flow_id"], old)
    assert e.value.key == "error.code_expired"
    recovery.resend_reset_code(world, started["flow_id"])
    new = outbox(world, "taro@example.jp", "password_reset")[-1]["code"]
    if new != old:  # the voided code stays void
        with pytest.raises(BeneError):
            recovery.check_reset_code(world, started["flow_id"], old)
    assert recovery.check_reset_code(world, started["flow_id"], new)


def test_reset_code_of_another_flow_does_not_work(world):
    register(world)
    first = recovery.start_reset(world, "taro@example.jp")
    code = outbox(world, "taro@example.jp", "password_reset")[-1]["code"]
    unknown = recovery.start_reset(world, "nobody@example.jp")
    with pytest.raises(BeneError) as e:
        recovery.check_reset_code(world, unknown["flow_id"], code)
    assert e.value.key == "error.code_wrong"
    assert recovery.check_reset_code(world, first["flow_id"], code)


def test_wrong_reset_codes_throttle_the_terminal(world, clock):
    register(world)
    started = recovery.start_reset(world, "nobody@example.jp")
    for _ in range(5):
        with pytest.raises(BeneError):
            recovery.check_reset_code(world, started["flow_id"], "000000")
    with pytest.raises(Throttled) as e:
        recovery.start_reset(world, "taro@example.jp")
    assert e.value.key == "error.throttled" and e.value.params["seconds"] <= 61
    clock.advance(61)
    assert recovery.start_reset(world, "taro@example.jp")


def test_reset_sends_are_capped_silently(world, clock):
    register(world)
    for _ in range(6):
        started = recovery.start_reset(world, "taro@example.jp")
        clock.advance(61)
    # at most 5 codes an hour per recipient: registration's code and 4 reset codes
    assert [m["purpose"] for m in outbox(world, "taro@example.jp")] == ["verification"] + ["password_reset"] * 4
    assert started["shown"] == "taro@example.jp"  # the same answer
    reasons = [r[0] for r in world.db.execute("select reason from audit where action = 'recovery.reset_requested'")]
    assert reasons[-1].startswith("no code sent")


# -- 認証キーが不明 ----------------------------------------------------------------------------

def test_forgot_keys_sends_them_to_the_e_mail_on_file(world):
    assert recovery.forgot_keys(world, "TS000001", "やまだ たろう", "1985/04/01", "ja") is None
    [message] = outbox(world, "taro@test-shoji.example.jp", "auth_key_notice")
    assert "社員番号: 1001" in message["body"] and "生年月日(YYYYMMDD): 19850401" in message["body"]
    assert "山田 太郎" in message["body"]
    rows = world.db.execute("select subject, outcome, reason, coalesce(detail, '') from audit "
                            "where action = 'recovery.forgot_keys'").fetchall()
    assert rows[0][1:3] == ("ok", "keys sent to the e-mail on file")
    assert "19850401" not in str(rows) and "1001" not in rows[0][3]


def test_forgot_keys_in_english_uses_the_english_labels(world):
    recovery.forgot_keys(world, "TS000002", "タカハシ ミサキ", "19920808", "en")
    [message] = outbox(world, "misaki@city.example.jp")
    assert "Staff number: A-78" in message["body"] and "Member number: M9002" in message["body"]


def test_forgot_keys_no_match_is_the_same_answer(world):
    assert recovery.forgot_keys(world, "TS000001", "ヤマダ タロウ", "1985-04-02") is None
    assert recovery.forgot_keys(world, "XX000000", "ヤマダ タロウ", "1985-04-01") is None
    assert outbox(world) == []
    assert world.db.execute("select count(*) from audit where action = 'recovery.forgot_keys' "
                            "and reason = 'no member matched'").fetchone() == (2,)


def test_forgot_keys_every_request_counts_on_the_terminal(world, clock):
    for i in range(5):
        recovery.forgot_keys(world, "TS000001", "ヤマダ タロウ", "1985-04-01" if i % 2 else "1970-01-01")
    with pytest.raises(Throttled):
        recovery.forgot_keys(world, "TS000001", "ヤマダ タロウ", "1985-04-01")
    clock.advance(61)
    recovery.forgot_keys(world, "TS000001", "ヤマダ タロウ", "1985-04-01")
    assert len(outbox(world, "taro@test-shoji.example.jp")) == 3


@pytest.mark.parametrize("kana,birth,field", [("Yamada", "1985-04-01", "kana"), ("ヤマダ", "1985-13-01", "birth_date")])
def test_forgot_keys_input_errors_stand_by_their_field(world, kana, birth, field):
    with pytest.raises(BeneError) as e:
        recovery.forgot_keys(world, "TS000001", kana, birth)
    assert e.value.field == field


# -- the same answers at every count (no account oracle) ----------------------------------------

QUIET = 2 * 3600  # longer than every window (throttle, code and notice caps): the next run starts afresh


def said(error: BeneError) -> tuple:
    """All a person is told of a refusal (the real reason, `staff`, is for the helpdesk only)."""
    return type(error).__name__, error.key, error.field, error.params


def run(out: list, clock, fn, *args):
    """fn(*args), its answer written down; a terminal told to wait waits, then tries again."""
    try:
        result = fn(*args)
    except Throttled as e:
        out.append(said(e))
        if e.key != "error.throttled":
            return None
        clock.advance(e.params["seconds"])
        return run(out, clock, fn, *args)
    except BeneError as e:
        out.append(said(e))
        return None
    out.append({k: v for k, v in result.items() if k != "flow_id"} if isinstance(result, dict) else result)
    return result


def reset_transcript(ctx, clock, login: str) -> str:
    """Ten requests, each followed by two wrong codes, a resend and one more wrong code."""
    clock.advance(QUIET)
    out: list = []
    for _ in range(10):
        started = run(out, clock, recovery.start_reset, ctx, login, "ja")
        sent = outbox(ctx, login, "password_reset")
        wrong = other_code(sent[-1]["code"] if sent else "000000")
        for _ in range(2):
            run(out, clock, recovery.check_reset_code, ctx, started["flow_id"], wrong)
        clock.advance(61)
        run(out, clock, recovery.resend_reset_code, ctx, started["flow_id"], "ja")
        run(out, clock, recovery.check_reset_code, ctx, started["flow_id"], wrong)
        clock.advance(61)
    return repr(out).replace(login, "<ID>")


def test_forgot_password_answers_the_same_at_every_count(world, clock):
    register(world)
    known = reset_transcript(world, clock, "taro@example.jp")
    unknown = reset_transcript(world, clock, "nobody@example.jp")
    assert known == unknown
    assert "too_many" not in known and "'error.code_void'" in known and "'error.throttled'" in known
    # the codes went to the account only, and only five an hour; the unknown ID's flows went through
    # the same code rows and counters, with nothing ever sent
    sent = len(outbox(world, "taro@example.jp", "password_reset"))
    assert 10 <= sent < 20  # 20 asked for: some held back by the hourly cap, silently
    assert outbox(world, "nobody@example.jp") == []
    counts = dict(world.db.execute("select recipient, count(*) from codes where purpose = 'password_reset' "
                                   "group by recipient").fetchall())
    assert counts == {"taro@example.jp": sent, "nobody@example.jp": sent}


def forgot_id_transcript(ctx, clock, *keys: str) -> list:
    clock.advance(QUIET)
    out: list = []
    for _ in range(10):
        run(out, clock, recovery.forgot_login_id, ctx, *keys, "ja")
    return out


def test_forgot_login_id_answers_the_same_at_every_count(world, clock):
    register(world, login="taro.yamada@example.jp")
    held = forgot_id_transcript(world, clock, "TS000001", "1001", "19850401")
    assert held == [{"masked": "ta*********@ex*****.jp", "channel": "email"}] * 10  # not capped on screen
    assert len(outbox(world, "taro.yamada@example.jp", "login_id_notice")) == 5  # capped in the outbox
    assert set(map(repr, forgot_id_transcript(world, clock, "TS000001", "1004", "19950303"))) == {
        repr(("BeneError", "recovery.no_account", None, {}))}
    wrong_key = forgot_id_transcript(world, clock, "TS000001", "1001", "19990101")
    assert wrong_key == forgot_id_transcript(world, clock, "TS000001", "9999", "19850401") \
        == forgot_id_transcript(world, clock, "XX000000", "1001", "19850401")
    assert ("Throttled", "error.throttled", None, {"seconds": 61}) in wrong_key


def forgot_keys_transcript(ctx, clock, *person: str) -> list:
    clock.advance(QUIET)
    out: list = []
    for _ in range(10):
        run(out, clock, recovery.forgot_keys, ctx, "TS000001", *person, "ja")
    return out


def test_forgot_keys_answers_the_same_at_every_count(world, clock):
    matched = forgot_keys_transcript(world, clock, "ヤマダ タロウ", "1985-04-01")
    assert matched == forgot_keys_transcript(world, clock, "ヤマダ タロウ", "1985-04-02")
    assert matched.count(None) == 10 and ("Throttled", "error.throttled", None, {"seconds": 61}) in matched
    assert len(outbox(world, "taro@test-shoji.example.jp", "auth_key_notice")) == 5
