"""Helpdesk services: search, the timeline, and the operator's actions with their audit rows."""

from __future__ import annotations

import json
import re
import sys

import pytest

from bene_tui.core.errors import BeneError, Throttled
from bene_tui.services import auth, family, helpdesk, outbox, recovery, registration
from bene_tui.store import is_postgres_url
from support.world import GOOD_PASSWORD, TEST_WORLD


def member_id(ctx, group_id, key1):
    return ctx.db.execute("select id from members where group_id = ? and auth_key_1 = ?", [group_id, key1]).fetchone()[0]


def provisional(ctx, login="090-1234-5678", kind="sms", key1="1001", key2="19850401", gid="TS000001"):
    flow_id = registration.start(ctx, gid, key1, key2).flow_id
    message = registration.submit_credentials(ctx, flow_id, kind, login, GOOD_PASSWORD, True, "ja")
    return flow_id, message


def active(ctx, clock, login="taro@example.jp", kind="email", **kw):
    flow_id, message = provisional(ctx, login, kind, **kw)
    registration.verify_code(ctx, flow_id, message["code"])
    return registration.complete(ctx, flow_id, True)


def refs(rows):
    return [r["ref"] for r in rows]


def operator_rows(ctx, action):
    return list(ctx.db.query("select * from audit where action = ? order by id", [action]))


# -- search ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["090-1234-5678", "09012345678", "+81 90 1234 5678", "０９０－１２３４－５６７８",
                                   "1234-5678"])
def test_search_by_mobile_login_id_in_any_form(world, clock, typed):
    active(world, clock, "090-1234-5678", "sms")
    found = helpdesk.search(world, typed)
    assert [(r["kind"], r["login_id"], r["name"], r["status"]) for r in found] == [
        ("account", "+819012345678", "山田 太郎", "active")]


@pytest.mark.parametrize("typed", ["Taro.Yamada@EXAMPLE.jp", "taro.yamada@example.jp", "ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｊｐ",
                                   "yamada@exam"])
def test_search_by_email_login_id(world, clock, typed):
    account_id = active(world, clock, "taro.yamada@example.jp")
    assert refs(helpdesk.search(world, typed)) == [f"account:{account_id}"]


def test_search_by_kana_and_kanji_partial(world, clock):
    account_id = active(world, clock)  # TS000001/1001 山田 太郎 now holds an account
    a77 = member_id(world, "TS000002", "A-77")  # the other 山田 太郎, no account
    for typed in ("ヤマダ", "やまだ　たろう", "ﾔﾏﾀﾞﾀﾛｳ", "山田太郎", "田 太"):
        found = helpdesk.search(world, typed)
        assert f"account:{account_id}" in refs(found), typed
        assert f"member:{a77}" in refs(found), typed
        assert f"member:{member_id(world, 'TS000001', '1001')}" not in refs(found), "a held member shows as its account"
    found = {r["ref"]: r for r in helpdesk.search(world, "タカハシミサキ")}
    a78 = found[f"member:{member_id(world, 'TS000002', 'A-78')}"]
    assert a78["status"] == "no_account" and a78["name"] == "高橋 美咲" and a78["groups"] == ["TS000002"]
    assert all("タカハシ" in r["kana"] for r in found.values())
    assert helpdesk.search(world, "存在しない名前") == []


@pytest.mark.sqlite_only
def test_name_prefixes_go_through_the_indexes_and_fragments_stop_on_time(world, clock, monkeypatch):
    """At 10 million members a scan of the names takes seconds: a family name, a full name (with or
    without its space) and a kana prefix are found without one; a fragment from the middle of a
    name is looked for within helpdesk.SCAN_SECONDS, and the result says when it was cut short."""
    a77 = f"member:{member_id(world, 'TS000002', 'A-77')}"  # 山田 太郎 / ヤマダ タロウ
    plan = " ".join(str(r[3]) for r in world.db.execute("explain query plan select id from members where name glob ?",
                                                        ["山田*"]))
    assert "USING INDEX idx_members_name" in plan
    monkeypatch.setattr(helpdesk, "SCAN_SECONDS", 0.0)  # every scan cut at once
    for typed in ("山田", "山田太郎", "山田 太", "ヤマダ", "やまだたろう", "ﾔﾏﾀﾞ ﾀ"):
        found = helpdesk.search(world, typed)
        assert a77 in refs(found), typed
    middle = helpdesk.search(world, "田太")
    assert middle.cut_short and a77 not in refs(middle)
    assert a77 in refs(helpdesk.search(world, "ｔｓ０００００２"))  # a 団体ID: through its key
    monkeypatch.setattr(helpdesk, "SCAN_SECONDS", 5.0)
    middle = helpdesk.search(world, "田太")
    assert a77 in refs(middle) and not middle.cut_short
    assert helpdesk.search(world, "[*?") == []  # GLOB's own characters are only text


def _scans(monkeypatch) -> list[tuple[str, list]]:
    """The statements the search's scans run (store.scan_budget), with their values, on either store."""
    from bene_tui.store import sqlite as store_sqlite

    seen: list[tuple[str, list]] = []
    classes = [store_sqlite.ScanBudget]
    if "bene_tui.store.postgres" in sys.modules:
        classes.append(sys.modules["bene_tui.store.postgres"].PgScanBudget)
    for cls in classes:
        real = cls.__dict__["_run"]

        def spy(self, sql, args, real=real):
            seen.append((sql, list(args)))
            return real(self, sql, args)

        monkeypatch.setattr(cls, "_run", spy)
    return seen


def _plan(ctx, sql: str, args: list) -> str:
    if is_postgres_url(ctx.store.path):
        ctx.db.execute("set enable_seqscan = off")  # a few rows: show what the planner would use at 10 M
        return "\n".join(r[0] for r in ctx.db.execute("explain " + sql, args).fetchall())
    return "\n".join(str(r[-1]) for r in ctx.db.execute("explain query plan " + sql, args).fetchall())


@pytest.mark.parametrize("typed, name", [("藤花", "佐藤 花子"), ("橋美咲", "高橋 美咲"), ("ウハナ", "佐藤 花子"),
                                         ("しみさ", "高橋 美咲")])
def test_a_fragment_of_a_name_is_looked_for_among_the_names_and_members_read_by_index(world, monkeypatch,
                                                                                      typed, name):
    """At 10 M members a fragment from the middle of a name, across its space (藤花 for 佐藤 花子),
    read members until it had found a hundred: 100-140 ms on PostgreSQL, the whole scan budget on
    SQLite. It is looked for among the roster's distinct names (member_names), and members are
    read only through their name and kana indexes, by the names it matched."""
    seen = _scans(monkeypatch)
    found = helpdesk.search(world, typed)
    assert name in [r["name"] for r in found] and not found.cut_short, typed
    monkeypatch.undo()
    read = [(sql, args) for sql, args in seen if re.search(r"\bfrom members\b", sql)]
    assert read, seen
    for sql, args in read:
        plan = _plan(world, sql, args)
        assert re.search(r"\bidx_members_(name|kana)\b", plan) and "SCAN members" not in plan, (sql, plan)
    assert any("from member_names" in sql for sql, _ in seen)


def test_the_names_searched_follow_the_roster(world, tmp_path):
    """A re-import that renames a member: found by a fragment of the new name, no longer by the
    old one, which leaves member_names (nobody else has it); the table holds each name of the
    roster once and nothing else."""
    from bene_tui.services import roster

    doc = json.loads(json.dumps(TEST_WORLD))
    (misaki,) = [m for m in doc["organisations"][1]["members"] if m["auth_key_1"] == "A-78"]
    misaki.update(name="高橋 美紀", kana="タカハシ ミキ")
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    roster.import_file(world, path)
    a78 = f"member:{member_id(world, 'TS000002', 'A-78')}"
    assert a78 in refs(helpdesk.search(world, "橋美紀")) and a78 in refs(helpdesk.search(world, "シミキ"))
    assert helpdesk.search(world, "橋美咲") == [] and helpdesk.search(world, "シミサ") == []
    db = world.db
    kept = {}
    for col in ("name", "kana"):
        kept[col] = sorted(r[0] for r in db.execute("select value from member_names where col = ?", [col]))
        assert kept[col] == sorted(r[0] for r in db.execute(f"select distinct {col} from members where {col} != ''"))
    assert "高橋 美紀" in kept["name"] and "高橋 美咲" not in kept["name"] and "タカハシ ミサキ" not in kept["kana"]


def test_search_by_group_id_lists_its_roster(world, clock):
    flow_id, _ = provisional(world, key1="A-78", key2="M9002", gid="TS000002", login="misaki@example.jp", kind="email")
    found = helpdesk.search(world, "ｔｓ０００００２")
    by_ref = {r["ref"]: r for r in found}
    assert len(found) == 2
    a77 = f"member:{member_id(world, 'TS000002', 'A-77')}"
    assert by_ref[a77]["status"] == "no_account" and by_ref[a77]["name"] == "山田 太郎"
    # A provisional registration shows as its (provisional) account, with the member's name.
    (prov,) = [r for r in found if r["kind"] == "account"]
    assert prov["status"] == "provisional" and prov["name"] == "高橋 美咲" and prov["login_id"] == "misaki@example.jp"


def test_search_finds_family_invitations_and_markup_names(world, clock):
    account_id = active(world, clock)
    inv = family.invite(world, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1986-02-03", "hanako@example.jp")
    found = helpdesk.search(world, "hanako@example.jp")
    assert refs(found) == [f"invitation:{inv['invitation_id']}"]
    assert found[0]["status"] == "invitation_approval_pending"
    markup = helpdesk.search(world, "[b]")
    assert [r["name"] for r in markup] == ["[b]太郎[/b]"]


def test_search_refuses_empty_and_control_characters(world):
    with pytest.raises(BeneError) as e:
        helpdesk.search(world, "  ")
    assert e.value.key == "error.required"
    with pytest.raises(BeneError) as e:
        helpdesk.search(world, "山田\x1b[31m")
    assert e.value.key == "error.control_chars"


# -- the timeline ------------------------------------------------------------------------------

def test_timeline_has_flows_audit_and_outbox_newest_first(world, clock):
    flow_id, first = provisional(world)
    clock.advance(120)
    second = registration.resend_code(world, flow_id)
    clock.advance(60)
    with pytest.raises(BeneError):
        registration.verify_code(world, flow_id, "000000" if second["code"] != "000000" else "111111")
    clock.advance(60)
    registration.verify_code(world, flow_id, second["code"])
    clock.advance(60)
    account_id = registration.complete(world, flow_id, True)
    clock.advance(600)
    with pytest.raises(BeneError):
        auth.login(world, "benefit_station", "090-1234-5678", "wrong-password-here")

    tl = helpdesk.person(world, f"account:{account_id}")["timeline"]
    times = [e["at"] for e in tl]
    assert times == sorted(times, reverse=True)
    assert {e["source"] for e in tl} == {"flow", "audit", "outbox"}
    # Newest first: the failed login, then the completion, ..., the first code at the bottom.
    assert tl[0]["source"] == "audit" and tl[0]["action"] == "auth.login" and tl[0]["reason"].startswith("wrong password")
    whats = [(e.get("action"), e.get("subject")) for e in tl]
    assert whats.index(("registration.complete", f"account:{account_id}")) < whats.index(("code.checked", f"flow:{flow_id}"))
    messages = [e for e in tl if e["source"] == "outbox"]
    assert [m["id"] for m in messages] == [second["id"], first["id"]]
    # Codes and links never appear in the helpdesk's view.
    text = json.dumps(tl, ensure_ascii=False)
    assert first["code"] not in text and second["code"] not in text
    # The flow stands at its start, below the step-1 row of the same moment; its state is today's.
    assert (tl[-1]["source"], tl[-1]["kind"], tl[-1]["state"]) == ("flow", "enrol", "completed")
    assert tl[-2]["source"] == "audit" and tl[-2]["action"] == "registration.step1"
    # Each sent code's row names its message and how its delivery went.
    sent = [e["message"] for e in tl if e.get("action") == "code.sent"]
    assert [(m["channel"], m["purpose"], m["status"]) for m in sent] == [("sms", "verification", "sent")] * 2


def test_timeline_of_a_member_without_account(world, clock):
    with pytest.raises(BeneError):
        registration.start(world, "TS000002", "A-77", "wrong")  # audited per terminal, not per member
    flow_id = registration.start(world, "TS000002", "A-77", "M9001").flow_id
    data = helpdesk.person(world, f"member:{member_id(world, 'TS000002', 'A-77')}")
    assert data["account"] is None and data["members"][0]["name"] == "山田 太郎"
    assert [(e["source"], e.get("action"), e.get("subject"), e.get("state")) for e in data["timeline"]] == [
        ("audit", "registration.step1", f"member:{member_id(world, 'TS000002', 'A-77')}", None),
        ("flow", None, None, "identified")]
    assert data["timeline"][1]["terminal"] == "test-terminal"
    assert data["timeline"][1]["id"] == flow_id
    with pytest.raises(BeneError) as e:
        helpdesk.person(world, "account:99999")
    assert e.value.key == "hd.error.no_person"


# -- actions -----------------------------------------------------------------------------------

def test_resend_code_for_provisional_registration(world, clock):
    flow_id, first = provisional(world)
    person = helpdesk.person(world, f"account:{world.db.execute('select id from accounts').fetchone()[0]}")
    assert {"action": "resend_code", "target": flow_id} in [{k: a[k] for k in ("action", "target")} for a in person["actions"]]
    # The limits apply to the helpdesk too: not within 60 s; the refusal is audited.
    with pytest.raises(Throttled):
        helpdesk.resend_code(world, flow_id, "suzuki")
    (refused,) = operator_rows(world, "helpdesk.resend_code")
    assert refused["outcome"] == "refused" and refused["actor"] == "operator:suzuki"
    clock.advance(61)
    message = helpdesk.resend_code(world, flow_id, "suzuki")
    assert message["recipient"] == "+819012345678" and message["purpose"] == "verification"
    ok = operator_rows(world, "helpdesk.resend_code")[-1]
    assert ok["outcome"] == "ok" and ok["actor"] == "operator:suzuki" and ok["subject"] == f"flow:{flow_id}"
    sent = world.db.execute("select actor from audit where action = 'code.sent' order by id desc limit 1").fetchone()
    assert sent[0] == "operator:suzuki"
    # The old code is void, the new one works for the person.
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, first["code"])
    assert e.value.key == "error.code_replaced"  # told it was replaced by the newer code
    assert registration.verify_code(world, flow_id, message["code"])


def test_resend_code_for_password_reset(world, clock):
    account_id = active(world, clock)
    started = recovery.start_reset(world, "taro@example.jp")
    clock.advance(61)
    message = helpdesk.resend_code(world, started["flow_id"], "suzuki")
    assert message["purpose"] == "password_reset" and message["recipient"] == "taro@example.jp"
    assert recovery.check_reset_code(world, started["flow_id"], message["code"])
    # A reset for an unknown login ID has nobody to send to.
    unknown = recovery.start_reset(world, "nobody@example.jp")
    clock.advance(61)
    with pytest.raises(BeneError) as e:
        helpdesk.resend_code(world, unknown["flow_id"], "suzuki")
    assert e.value.key == "hd.error.not_resendable"
    assert account_id


def test_unlock_account(world, clock):
    account_id = active(world, clock)
    for _ in range(6):
        with pytest.raises(BeneError):
            auth.login(world, "benefit_station", "taro@example.jp", "not-the-password-1")
    acct = world.db["accounts"].get(account_id)
    assert acct["locked_until"] > clock.now() and acct["failed_logins"] == 5
    assert any(a["action"] == "unlock" for a in helpdesk.person(world, f"account:{account_id}")["actions"])
    result = helpdesk.unlock_account(world, account_id, "suzuki")
    assert result == {"account_id": account_id, "failures": 5, "was_locked": True}
    acct = world.db["accounts"].get(account_id)
    assert (acct["failed_logins"], acct["locked_until"], acct["last_failed_at"]) == (0, None, None)
    (row,) = operator_rows(world, "helpdesk.unlock")
    assert row["actor"] == "operator:suzuki" and row["subject"] == f"account:{account_id}" and row["outcome"] == "ok"
    assert "was locked until" in row["reason"]
    assert auth.login(world, "benefit_station", "taro@example.jp", GOOD_PASSWORD)["account_id"] == account_id
    with pytest.raises(BeneError) as e:
        helpdesk.unlock_account(world, account_id, "suzuki")
    assert e.value.key == "hd.error.not_locked"
    assert operator_rows(world, "helpdesk.unlock")[-1]["outcome"] == "refused"


def test_cancel_invitation_voids_its_link(world, clock):
    account_id = active(world, clock)
    inv = family.invite(world, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1986-02-03", "hanako@example.jp")
    link = inv["message"]["link"]
    person = helpdesk.person(world, f"account:{account_id}")
    assert [a["target"] for a in person["actions"] if a["action"] == "cancel_invitation"] == [inv["invitation_id"]]
    helpdesk.cancel_invitation(world, inv["invitation_id"], "suzuki")
    assert world.db["invitations"].get(inv["invitation_id"])["state"] == "cancelled"
    assert world.db.execute("select count(*) from tokens where invitation_id = ? and voided_at is null",
                            [inv["invitation_id"]]).fetchone()[0] == 0
    (row,) = operator_rows(world, "helpdesk.cancel_invitation")
    assert row["actor"] == "operator:suzuki" and row["subject"] == f"invitation:{inv['invitation_id']}"
    token = link.split("token=")[1]
    with pytest.raises(BeneError) as e:
        family.approve(world, token, account_id)
    assert e.value.key == "family.link.cancelled"
    with pytest.raises(BeneError) as e:
        helpdesk.cancel_invitation(world, inv["invitation_id"], "suzuki")
    assert e.value.key == "hd.error.not_cancellable"


def test_end_provisional_frees_the_login_id(world, clock):
    flow_id, first = provisional(world)
    account_id = world.db.execute("select id from accounts where login_key = '+819012345678'").fetchone()[0]
    result = helpdesk.end_provisional(world, account_id, "suzuki")
    assert result == {"member_id": member_id(world, "TS000001", "1001")}
    ended = world.db["accounts"].get(account_id)  # kept, so its id (and audit rows) are never someone else's
    assert (ended["status"], ended["login_key"], ended["login_id"]) == ("removed", f"ended:{account_id}", "+819012345678")
    assert world.db["flows"].get(flow_id)["state"] == "ended"
    assert world.db.execute("select count(*) from codes where flow_id = ? and voided_at is null", [flow_id]).fetchone()[0] == 0
    rows = operator_rows(world, "helpdesk.end_provisional")
    assert {r["subject"] for r in rows} == {f"account:{account_id}", f"flow:{flow_id}"}
    assert {r["actor"] for r in rows} == {"operator:suzuki"}
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, first["code"])
    assert e.value.key == "error.flow_expired"
    # Someone else may now register this login ID.
    other_flow, message = provisional(world, key1="1004", key2="19950303")
    assert message["recipient"] == "+819012345678"
    new_id = world.db.execute("select id from accounts where login_key = '+819012345678'").fetchone()[0]
    assert new_id != account_id
    # The new holder's view has only their own procedure and name; the ended one stays with its member.
    assert [f["id"] for f in helpdesk.person(world, f"account:{new_id}")["flows"]] == [other_flow]
    assert [m["name"] for m in helpdesk.person(world, f"account:{new_id}")["members"]] == ["鈴木 一郎"]
    assert refs(helpdesk.search(world, "090-1234-5678")) == [f"account:{new_id}"]
    old = helpdesk.person(world, f"member:{member_id(world, 'TS000001', '1001')}")
    assert any((e.get("action"), e.get("subject")) == ("helpdesk.end_provisional", f"account:{account_id}")
               for e in old["timeline"])
    assert helpdesk.person(world, f"account:{account_id}")["account"]["status"] == "removed"
    assert helpdesk.person(world, f"account:{account_id}")["actions"] == []
    # An active account is not a provisional registration.
    active_id = active(world, clock, "hanako@example.jp", key1="1003", key2="19781120")
    with pytest.raises(BeneError) as e:
        helpdesk.end_provisional(world, active_id, "suzuki")
    assert e.value.key == "hd.error.not_provisional"


def test_operator_name_is_checked(world):
    with pytest.raises(BeneError):
        helpdesk.unlock_account(world, 1, "")
    with pytest.raises(BeneError) as e:
        helpdesk.unlock_account(world, 1, "evil:admin")
    assert e.value.key == "hd.error.operator"


def test_helpdesk_imports_no_textual():
    import subprocess
    import sys

    code = "import sys, bene_tui.services.helpdesk, bene_tui.services.guide; print(any(m.split('.')[0] in ('textual', 'rich') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_staff_reasons_say_what_happened(world, clock):
    """The helpdesk sees the real reason: which key, how many attempts are left, until when."""
    flow_id, first = provisional(world)
    wrong = "000000" if first["code"] != "000000" else "111111"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, wrong)
    assert e.value.staff == "wrong code, 4 attempts left"
    for _ in range(4):
        with pytest.raises(BeneError) as e:
            registration.verify_code(world, flow_id, wrong)
    assert e.value.staff == "5 wrong entries: code voided"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, first["code"])
    assert e.value.key == "error.code_void" and e.value.staff == "the code was voided after 5 wrong entries"
    clock.advance(61)
    second = registration.resend_code(world, flow_id)
    clock.advance(601)
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, second["code"])
    assert e.value.key == "error.code_expired" and e.value.staff == "code expired"
    with pytest.raises(BeneError) as e:
        registration.verify_code(world, flow_id, second["code"])
    assert e.value.staff.startswith("the code expired at 2026-04-01 ") and e.value.staff.endswith(" JST")
    # Step 1: which part was wrong, and the terminal's wait with its end.
    reasons = []
    for gid, k1, k2 in [("XX999999", "1", "2"), ("TS000001", "9999", "2"), ("TS000001", "1002", "2"),
                        ("TS000001", "1002", "3"), ("TS000001", "1002", "4")]:
        with pytest.raises(BeneError) as e:
            registration.start(world, gid, k1, k2)
        reasons.append(e.value.staff)
    assert reasons[:3] == ["unknown group ID", "unknown auth key 1", "wrong auth key 2"]
    with pytest.raises(Throttled) as e:
        registration.start(world, "TS000001", "1002", "19900512")
    assert e.value.staff.startswith("step1:test-terminal waits until 2026-04-01 ")
    assert e.value.staff.endswith(" JST after 5 failures")
    # A procedure that has ended.
    clock.advance(24 * 3600)
    with pytest.raises(BeneError) as e:
        registration.resend_code(world, flow_id)
    assert e.value.key == "error.flow_expired" and e.value.staff.startswith("enrol flow ended or expired at 2026-04-")


def test_a_reused_account_id_does_not_mix_two_people(world, clock):
    """An abandoned provisional account frees its login ID after 24 h; its row stays as a tombstone,
    so the next holder gets a new id and their view shows none of the earlier person's history."""
    first_flow, _ = provisional(world)  # 山田 太郎, 090-1234-5678
    old_id = world.db.execute("select max(id) from accounts").fetchone()[0]
    clock.advance(24 * 3600 + 1)
    second_flow, _ = provisional(world, key1="1004", key2="19950303")  # 鈴木 一郎 takes the same login ID
    new_id = world.db.execute("select id from accounts where login_key = '+819012345678'").fetchone()[0]
    assert new_id != old_id  # ids are never handed on
    assert world.db["accounts"].get(old_id)["status"] == "removed"
    data = helpdesk.person(world, f"account:{new_id}")
    assert [m["name"] for m in data["members"]] == ["鈴木 一郎"]
    assert [f["id"] for f in data["flows"]] == [second_flow]
    assert all(first_flow not in (e.get("subject") or "") and e["id"] != first_flow for e in data["timeline"])
    assert all(e["at"] >= clock.now() for e in data["timeline"] if e["source"] in ("audit", "outbox"))
    assert len([e for e in data["timeline"] if e["source"] == "outbox"]) == 1


def test_search_finds_a_registered_family_account_by_name(world, clock):
    account_id = active(world, clock)
    inv = family.invite(world, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1986-02-03", "hanako@example.jp")
    family.approve(world, inv["message"]["link"].split("token=")[1], account_id)
    token = outbox.latest(world, "hanako@example.jp", "invitation")["link"].split("token=")[1]
    family_id = family.register(world, token, "山田 花子", "1986-02-03", GOOD_PASSWORD, True)
    for typed in ("やまだはなこ", "山田花子", "hanako@example.jp"):
        found = {r["ref"]: r for r in helpdesk.search(world, typed)}
        assert f"account:{family_id}" in found, typed
        assert found[f"account:{family_id}"]["account_kind"] == "family" and found[f"account:{family_id}"]["name"] == "山田 花子"
        assert f"invitation:{inv['invitation_id']}" not in found  # registered: the account stands for it
    data = helpdesk.person(world, f"account:{family_id}")
    assert data["account"]["kind"] == "family" and data["invitations"][0]["state"] == "registered"
    assert any(e.get("action") == "family.register" for e in data["timeline"])
