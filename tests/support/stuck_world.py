"""Registrations stuck at each step (issue 16), for the report and the 運用状況 screen."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, family, linking, outbox, recovery, registration
from support.services import token_of
from support.world import GOOD_PASSWORD

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
