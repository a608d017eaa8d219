"""Family invitations at the service level (SPEC §3.5, §4), on a fixed clock."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.core.i18n import catalogue
from bene_tui.services import auth, family, outbox, passwords, relationships
from support.services import FAMILY_PASSWORD, member, token_of, invite, invited


def state(ctx, invitation_id) -> str:
    return ctx.db["invitations"].get(invitation_id)["state"]


def audit_actions(ctx, subject=None) -> list[tuple[str, str]]:
    sql = "select action, outcome from audit" + (" where subject = ?" if subject else "") + " order by id"
    return [tuple(r) for r in ctx.db.execute(sql, [subject] if subject else [])]


def link_error(fn, *args) -> str:
    with pytest.raises(BeneError) as e:
        fn(*args)
    return e.value.key


# ---------------------------------------------------------------------------------------------


def test_nine_steps_at_service_level(world):
    acc = member(world)
    result = invite(world, acc)
    inv_id = result["invitation_id"]
    approval = result["message"]
    # step 4: the approval request goes to the member's own login ID, with a real-looking link
    assert approval["recipient"] == "taro@example.jp" and approval["purpose"] == "approval_request"
    assert approval["link"].startswith("https://bene-account.local/family/approve?token=")
    assert approval["link"] in approval["body"] and "山田 花子" in approval["body"] and "配偶者" in approval["body"]
    assert "72" in approval["body"]
    assert state(world, inv_id) == "approval_pending"
    # steps 5-6: the member sees the invitation and approves
    view = family.approval_view(world, token_of(approval), acc)
    assert view["name"] == "山田 花子" and view["birth_date"] == "1987-06-15" and view["relationship"] == "spouse"
    invitation = family.approve(world, token_of(approval), acc)
    # step 7: the invitation goes to the family member's contact
    assert invitation["recipient"] == "hanako@example.jp" and invitation["purpose"] == "invitation"
    assert invitation["link"].startswith("https://bene-account.local/family/invite?token=")
    assert invitation["link"] in invitation["body"] and "7日" in invitation["body"]
    assert state(world, inv_id) == "invited"
    # step 8: the family side never sees the birth date it must type
    view = family.invitation_view(world, token_of(invitation))
    assert "birth_date" not in view and view["member_name"] == "山田 太郎"
    family_id = family.register(world, token_of(invitation), "山田 花子", "19870615", FAMILY_PASSWORD, True, "ja")
    # step 9: the family account
    acct = world.db["accounts"].get(family_id)
    assert (acct["kind"], acct["status"], acct["family_of"], acct["login_id"]) == (
        "family", "active", acc, "hanako@example.jp")
    assert passwords.verify_password(acct["password_hash"], FAMILY_PASSWORD, world.rules)
    inv = world.db["invitations"].get(inv_id)
    assert inv["state"] == "registered" and inv["family_account_id"] == family_id
    notice = outbox.latest(world, "taro@example.jp")
    assert notice["purpose"] == "notice" and "山田 花子" in notice["body"]
    actions = [a for a, _ in audit_actions(world)]
    for a in ("family.invite", "family.approve", "family.register"):
        assert a in actions
    # and it can log in — to ベネフィット・ステーション only (Case 2 elsewhere)
    assert auth.login(world, "benefit_station", "hanako@example.jp", FAMILY_PASSWORD)["kind"] == "family"
    with pytest.raises(BeneError) as e:
        auth.login(world, "bene_learning", "hanako@example.jp", FAMILY_PASSWORD)
    assert e.value.key == "login.case2" and e.value.params["services"] == ["benefit_station"]


def test_tokens_are_random_hashed_and_never_stored_in_clear(world):
    acc = member(world)
    result = invite(world, acc)
    token = token_of(result["message"])
    assert len(token) >= 22  # base64url: 22 characters carry 132 bits; ours carry 192
    import base64

    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    row = world.db.execute("select token_hash, purpose from tokens").fetchone()
    assert row[0] != token and len(row[0]) == 64 and row[1] == family.APPROVE
    # nowhere in the database but the outbox (which stands for the person's mailbox)
    for table in ("tokens", "invitations", "audit", "flows", "settings", "accounts"):
        for r in world.db.execute(f"select * from {table}"):
            assert token not in json.dumps(list(r), ensure_ascii=False, default=str), table
    second = invite(world, acc, contact="ichiro@example.jp", relationship="child")
    assert token_of(second["message"]) != token


def test_birth_date_mismatch_then_success(world):
    acc = member(world)
    inv_id, token = invited(world, acc)
    with pytest.raises(BeneError) as e:
        family.register(world, token, "山田 花子", "1987-06-16", FAMILY_PASSWORD, True)
    assert e.value.key == "family.error.birth_date_mismatch" and e.value.field == "birth_date"
    assert e.value.params["left"] == 4
    assert world.db["invitations"].get(inv_id)["attempts"] == 1
    assert world.db.execute("select count(*) from accounts where kind = 'family'").fetchone()[0] == 0
    assert ("family.register", "refused") in audit_actions(world, f"invitation:{inv_id}")
    # full-width digits are the same date
    family.register(world, token, "山田 花子", "１９８７／６／１５", FAMILY_PASSWORD, True)
    assert state(world, inv_id) == "registered"


def test_fifth_mismatch_locks_the_invitation(world):
    acc = member(world)
    inv_id, token = invited(world, acc)
    for left in (4, 3, 2, 1):
        with pytest.raises(BeneError) as e:
            family.register(world, token, "山田 花子", "2000-01-01", FAMILY_PASSWORD, True)
        assert e.value.params["left"] == left
    with pytest.raises(BeneError) as e:
        family.register(world, token, "山田 花子", "2000-01-01", FAMILY_PASSWORD, True)
    assert e.value.key == "family.error.locked_now"
    assert state(world, inv_id) == "locked"
    # even the right birth date no longer works; the link says why
    assert link_error(family.register, world, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True) == "family.link.locked"
    assert link_error(family.invitation_view, world, token) == "family.link.locked"
    assert ("family.locked", "ok") in audit_actions(world, f"invitation:{inv_id}")
    row = family.overview(world, acc)["rows"][0]
    assert row["state"] == "locked" and not row["resend"] and not row["cancel"]
    # the member must invite again: the contact is free for a new invitation
    assert invite(world, acc)["invitation_id"] != inv_id


def test_validation_before_counting(world):
    """Only a real birth-date mismatch counts; other mistakes are told without cost."""
    acc = member(world)
    inv_id, token = invited(world, acc)
    cases = [
        (("", "1987-06-15", FAMILY_PASSWORD, True), "error.required"),
        (("山田 花子", "1987-13-01", FAMILY_PASSWORD, True), "error.date"),
        (("山田 花子", "1987-06-15", FAMILY_PASSWORD, False), "error.terms_required"),
        (("山田 花子", "1987-06-15", "short", True), "error.password_too_short"),
        (("山田 花子", "1987-06-15", "hanako@example.jp-long", True), "error.password_contains_login_id"),
    ]
    for args, key in cases:
        assert link_error(family.register, world, token, *args) == key
    assert world.db["invitations"].get(inv_id)["attempts"] == 0


def test_expired_links(world, clock):
    acc = member(world)
    result = invite(world, acc)
    clock.advance(72 * 3600 + 1)
    assert link_error(family.approval_view, world, token_of(result["message"]), acc) == "family.link.expired_approve"
    assert link_error(family.approve, world, token_of(result["message"]), acc) == "family.link.expired_approve"
    assert family.overview(world, acc)["rows"][0]["state"] == "expired"
    # resend revives it with a fresh link
    fresh = family.resend(world, acc, result["invitation_id"], "ja")
    invitation = family.approve(world, token_of(fresh), acc)
    clock.advance(7 * 86400 + 1)
    assert link_error(family.invitation_view, world, token_of(invitation)) == "family.link.expired_invite"
    assert link_error(family.register, world, token_of(invitation), "山田 花子", "1987-06-15",
                      FAMILY_PASSWORD, True) == "family.link.expired_invite"
    assert state(world, result["invitation_id"]) == "invited"
    assert family.overview(world, acc)["rows"][0]["state"] == "expired"
    again = family.resend(world, acc, result["invitation_id"])
    assert again["purpose"] == "invitation" and again["recipient"] == "hanako@example.jp"
    family.register(world, token_of(again), "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    assert state(world, result["invitation_id"]) == "registered"


def test_links_work_once(world):
    acc = member(world)
    result = invite(world, acc)
    invitation = family.approve(world, token_of(result["message"]), acc)
    assert link_error(family.approve, world, token_of(result["message"]), acc) == "family.link.used_approve"
    family.register(world, token_of(invitation), "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    assert link_error(family.invitation_view, world, token_of(invitation)) == "family.link.used_invite"
    assert link_error(family.register, world, token_of(invitation), "山田 花子", "1987-06-15",
                      FAMILY_PASSWORD, True) == "family.link.used_invite"
    assert world.db.execute("select count(*) from accounts where kind = 'family'").fetchone()[0] == 1


def test_resend_replaces_the_link(world, clock):
    acc = member(world)
    result = invite(world, acc)
    inv_id = result["invitation_id"]
    with pytest.raises(BeneError) as e:  # not within the first minute
        family.resend(world, acc, inv_id)
    assert e.value.key == "family.error.resend_too_early"
    clock.advance(61)
    new = family.resend(world, acc, inv_id)
    assert new["link"] != result["message"]["link"] and new["recipient"] == "taro@example.jp"
    assert link_error(family.approval_view, world, token_of(result["message"]), acc) == "family.link.replaced"
    invitation = family.approve(world, token_of(new), acc)
    clock.advance(61)
    invitation2 = family.resend(world, acc, inv_id)
    assert invitation2["purpose"] == "invitation"
    assert link_error(family.invitation_view, world, token_of(invitation)) == "family.link.replaced"
    assert family.invitation_view(world, token_of(invitation2))["name"] == "山田 花子"
    assert [a for a, o in audit_actions(world, f"invitation:{inv_id}") if a == "family.resend" and o == "ok"] == [
        "family.resend", "family.resend"]


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
    lambda t: t[:10],  # cut off
    lambda t: "",  # no token at all
    lambda t: t + "<script>",  # junk appended
    lambda t: "x" * 5000,  # overlong
])
def test_tampered_links(world, mangle):
    acc = member(world)
    result = invite(world, acc)
    token = mangle(token_of(result["message"]))
    assert link_error(family.approval_view, world, token, acc) == "family.link.invalid"
    assert link_error(family.approve, world, token, acc) == "family.link.invalid"
    assert link_error(family.invitation_view, world, token) == "family.link.invalid"
    assert state(world, result["invitation_id"]) == "approval_pending"


def test_a_token_works_only_for_its_own_purpose(world):
    acc = member(world)
    result = invite(world, acc)
    assert link_error(family.invitation_view, world, token_of(result["message"])) == "family.link.invalid"
    invitation = family.approve(world, token_of(result["message"]), acc)
    assert link_error(family.approve, world, token_of(invitation), acc) == "family.link.invalid"


def test_only_the_inviting_member_can_approve(world):
    acc = member(world)
    other = member(world, key1="1004", key2="19950303", login="ichiro@example.jp")
    result = invite(world, acc)
    token = token_of(result["message"])
    assert link_error(family.approval_view, world, token, other) == "family.error.not_your_invitation"
    assert link_error(family.approve, world, token, other) == "family.error.not_your_invitation"
    assert link_error(family.approve, world, token, None) == "family.error.not_your_invitation"
    assert state(world, result["invitation_id"]) == "approval_pending"
    assert ("family.approve", "refused") in audit_actions(world, f"invitation:{result['invitation_id']}")
    assert outbox.latest(world, "hanako@example.jp") is None
    family.approve(world, token, acc)  # the link still works for its owner
    assert state(world, result["invitation_id"]) == "invited"


def test_relationship_the_organisation_does_not_allow(world):
    acc = member(world)
    with world.tx() as db:
        db["organisations"].update("TS000001", {"family_max_degree": 1})
    pol = family.policy(world, acc)
    assert "child" in pol.relationships and "sibling" not in pol.relationships and "grandchild" not in pol.relationships
    with pytest.raises(BeneError) as e:
        invite(world, acc, relationship="sibling")
    assert e.value.key == "family.error.relationship_not_allowed" and e.value.field == "relationship"
    assert ("family.invite", "refused") in audit_actions(world, f"account:{acc}")
    assert world.db.execute("select count(*) from invitations").fetchone()[0] == 0
    with pytest.raises(BeneError) as e:
        invite(world, acc, relationship="cousin")  # not on the list at all
    assert e.value.key == "family.error.relationship_required"
    invite(world, acc, relationship="spouse_father")
    with world.tx() as db:
        db["organisations"].update("TS000001", {"family_max_degree": 0})
    assert family.policy(world, acc).relationships == ["spouse"]


def test_policy_narrowed_after_the_invitation_refuses_approval(world):
    acc = member(world)
    result = invite(world, acc, relationship="grandchild")
    with world.tx() as db:
        db["organisations"].update("TS000001", {"family_max_degree": 1})
    assert link_error(family.approve, world, token_of(result["message"]), acc) == "family.error.relationship_not_allowed"


def test_organisation_without_family_use(world):
    acc = member(world, key1="A-77", key2="M9001", gid="TS000002", login="yamada@city.example.jp")
    data = family.overview(world, acc)
    assert data["policy"].enabled is False and data["can_invite"] is False
    with pytest.raises(BeneError) as e:
        invite(world, acc)
    assert e.value.key == "family.error.not_available"
    assert world.db.execute("select count(*) from invitations").fetchone()[0] == 0


def test_family_accounts_cannot_invite(world):
    acc = member(world)
    _, token = invited(world, acc)
    fam = family.register(world, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    assert family.policy(world, fam).enabled is False
    with pytest.raises(BeneError) as e:
        invite(world, fam, contact="someone@example.jp")
    assert e.value.key == "family.error.not_available"


def test_max_accounts(world, clock):
    acc = member(world)
    with world.tx() as db:
        db["organisations"].update("TS000001", {"family_max_accounts": 2})
    first = invite(world, acc, contact="a@example.jp")
    invite(world, acc, contact="b@example.jp", relationship="child")
    with pytest.raises(BeneError) as e:
        invite(world, acc, contact="c@example.jp", relationship="child")
    assert e.value.key == "family.error.max_accounts" and e.value.params["max"] == 2
    data = family.overview(world, acc)
    assert data["used"] == 2 and data["can_invite"] is False
    # a cancelled invitation frees its place
    family.cancel(world, acc, first["invitation_id"])
    invite(world, acc, contact="c@example.jp", relationship="child")
    # expired invitations free theirs too, but cannot be revived while the places are taken
    clock.advance(72 * 3600 + 1)
    invite(world, acc, contact="d@example.jp", relationship="father")
    invite(world, acc, contact="e@example.jp", relationship="mother")
    expired = [r for r in family.overview(world, acc)["rows"] if r["state"] == "expired"]
    assert expired
    with pytest.raises(BeneError) as e:
        family.resend(world, acc, expired[0]["id"])
    assert e.value.key == "family.error.max_accounts"


def test_default_max_accounts_is_ten(world):
    acc = member(world)
    assert family.policy(world, acc).max_accounts == 10 == world.rules.family_max_accounts
    for i in range(10):
        invite(world, acc, contact=f"kid{i}@example.jp", relationship="child")
    with pytest.raises(BeneError) as e:
        invite(world, acc, contact="kid10@example.jp", relationship="child")
    assert e.value.key == "family.error.max_accounts"


def test_contact_may_not_be_an_existing_login_id_or_pending(world):
    acc = member(world)
    member(world, key1="1004", key2="19950303", login="Ichiro@Example.jp")
    for contact in ("taro@example.jp", "ichiro@example.jp", "ICHIRO@example.JP"):
        with pytest.raises(BeneError) as e:
            invite(world, acc, contact=contact)
        assert e.value.key == "family.error.contact_registered" and e.value.field == "contact"
    invite(world, acc, contact="090-1111-2222")
    with pytest.raises(BeneError) as e:
        invite(world, acc, contact="+81 90 1111 2222")
    assert e.value.key == "family.error.contact_pending"
    invite(world, acc, contact="Hana@example.jp", relationship="child")
    with pytest.raises(BeneError) as e:
        invite(world, acc, contact="hana@example.jp", relationship="child")
    assert e.value.key == "family.error.contact_pending"


def test_sms_contact(world):
    acc = member(world)
    _, token = invited(world, acc, contact="０９０−５５５５−６６６６")
    message = outbox.latest(world, "+819055556666")
    assert message["channel"] == "sms" and message["link"] in message["body"]
    fam = family.register(world, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    acct = world.db["accounts"].get(fam)
    assert acct["login_id"] == "+819055556666" and acct["login_kind"] == "sms"
    assert auth.login(world, "benefit_station", "090-5555-6666", FAMILY_PASSWORD)["account_id"] == fam


def test_contact_registered_between_invitation_and_registration(world):
    acc = member(world)
    inv_id, token = invited(world, acc)
    member(world, key1="1004", key2="19950303", login="hanako@example.jp")
    assert link_error(family.register, world, token, "山田 花子", "1987-06-15",
                      FAMILY_PASSWORD, True) == "family.error.contact_registered_now"
    assert state(world, inv_id) == "invited"


@pytest.mark.parametrize("bad", [
    dict(name=""), dict(kana="山田"), dict(birth_date="2099-01-01"), dict(birth_date="19871315"),
    dict(contact="not-an-address"), dict(contact="03-1234-5678"), dict(relationship=None),
])
def test_invite_form_errors(world, bad):
    acc = member(world)
    with pytest.raises(BeneError) as e:
        invite(world, acc, **bad)
    assert e.value.field == (list(bad)[0])
    assert world.db.execute("select count(*) from invitations").fetchone()[0] == 0


def test_cancel_stops_every_link(world):
    acc = member(world)
    result = invite(world, acc)
    family.cancel(world, acc, result["invitation_id"])
    assert link_error(family.approval_view, world, token_of(result["message"]), acc) == "family.link.cancelled"
    second = invite(world, acc, contact="ichiro@example.jp", relationship="child")
    invitation = family.approve(world, token_of(second["message"]), acc)
    family.cancel(world, acc, second["invitation_id"])
    assert link_error(family.invitation_view, world, token_of(invitation)) == "family.link.cancelled"
    assert state(world, second["invitation_id"]) == "cancelled"
    assert ("family.cancel", "ok") in audit_actions(world, f"invitation:{second['invitation_id']}")
    with pytest.raises(BeneError) as e:
        family.cancel(world, acc, second["invitation_id"])
    assert e.value.key == "family.error.cannot_cancel"


def test_remove_family_account(world):
    acc = member(world)
    inv_id, token = invited(world, acc)
    fam = family.register(world, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    with pytest.raises(BeneError) as e:
        family.resend(world, acc, inv_id)
    assert e.value.key == "family.error.cannot_resend"
    family.remove(world, acc, inv_id)
    assert world.db["accounts"].get(fam)["status"] == "removed"
    assert state(world, inv_id) == "removed"
    with pytest.raises(BeneError) as e:
        auth.login(world, "benefit_station", "hanako@example.jp", FAMILY_PASSWORD)
    assert e.value.key == "login.case1"
    assert ("family.remove", "ok") in audit_actions(world, f"account:{fam}")
    assert ("family.register", "ok") in audit_actions(world, f"account:{fam}")  # the past stays
    assert family.overview(world, acc)["rows"][0]["state"] == "removed"
    # the same person can be invited again; the old row gets a new life
    _, token2 = invited(world, acc)
    again = family.register(world, token2, "山田 花子", "1987-06-15", "umi-no-soko-ni-nemuru-tako-3", True)
    assert again == fam and world.db["accounts"].get(fam)["status"] == "active"
    assert auth.login(world, "benefit_station", "hanako@example.jp", "umi-no-soko-ni-nemuru-tako-3")


def test_another_member_cannot_touch_my_invitations(world):
    acc = member(world)
    other = member(world, key1="1004", key2="19950303", login="ichiro@example.jp")
    result = invite(world, acc)
    for fn in (family.resend, family.cancel, family.remove):
        with pytest.raises(BeneError) as e:
            fn(world, other, result["invitation_id"])
        assert e.value.key == "family.error.no_such_invitation"
    assert family.overview(world, other)["rows"] == []


def test_the_family_members_own_name_wins(world):
    acc = member(world)
    inv_id, token = invited(world, acc, name="山田 はなこ")
    family.register(world, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    assert world.db["invitations"].get(inv_id)["name"] == "山田 花子"


def test_english_mail(world):
    acc = member(world)
    result = family.invite(world, acc, "Hanako Yamada", "ヤマダ ハナコ", "child", "2010-01-01", "hanako@example.jp", "en")
    assert "(Child)" in result["message"]["body"] and "72 hours" in result["message"]["body"]
    invitation = family.approve(world, token_of(result["message"]), acc)
    assert "7 days" in invitation["body"] and invitation["subject"].startswith("[Bene Account]")


def test_relationship_list():
    codes = [r.code for r in relationships.RELATIONSHIPS]
    assert len(codes) == len(set(codes))
    assert relationships.get("spouse").degree == 0
    assert {r.degree for r in relationships.RELATIONSHIPS} == {0, 1, 2}
    by_degree = {d: {r.code for r in relationships.allowed(d)} for d in (0, 1, 2)}
    assert by_degree[0] == {"spouse"}
    assert {"father", "mother", "child", "spouse_father", "spouse_mother", "child_spouse"} <= by_degree[1]
    assert {"grandfather", "grandmother", "grandchild", "sibling", "spouse_sibling", "spouse_grandparent",
            "sibling_spouse"} <= by_degree[2]
    assert not by_degree[1] & {"grandchild", "sibling", "spouse_sibling"}
    for lang in ("ja", "en"):
        for r in relationships.RELATIONSHIPS:
            assert r.label_key in catalogue(lang)


def test_family_catalogue_keys_match():
    from bene_tui.core.i18n import placeholders

    ja = {k: v for k, v in catalogue("ja").items() if k.startswith("family.")}
    en = {k: v for k, v in catalogue("en").items() if k.startswith("family.")}
    assert ja.keys() == en.keys()
    for k in ja:
        assert placeholders(ja[k]) == placeholders(en[k]), k
    for official in ("家族設定", "家族アカウントを追加する", "招待", "承認", "設定"):
        assert official in ja.values()
    for state in family.STATES:
        assert f"family.state.{state}" in ja


def test_services_do_not_import_textual():
    code = ("import sys; import bene_tui.services.family, bene_tui.services.relationships; "
            "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_demo_reset_clears_invitations_and_tokens(world):
    from bene_tui.services import roster

    acc = member(world)
    _, token = invited(world, acc)
    family.register(world, token, "山田 花子", "1987-06-15", FAMILY_PASSWORD, True)
    roster.reset_demo(world)
    for table in ("invitations", "tokens", "accounts"):
        assert world.db.execute(f"select count(*) from {table}").fetchone()[0] == 0
