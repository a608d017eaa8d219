"""Set-ups through the services: registered accounts, family invitations, a person with data."""

from __future__ import annotations

import pytest

from bene_tui.core.errors import BeneError
from bene_tui.services import auth, family, links, registration
from support.world import GOOD_PASSWORD

WRONG = "this-is-not-the-password-9"


def register(ctx, login="taro@example.jp", gid="TS000001", key1="1001", key2="19850401",
             password=GOOD_PASSWORD) -> int:
    """An active account, registered through the registration services (code from the outbox)."""
    flow_id = registration.start(ctx, gid, key1, key2).flow_id
    kind = "email" if "@" in login else "sms"
    message = registration.submit_credentials(ctx, flow_id, kind, login, password, True, "ja")
    registration.verify_code(ctx, flow_id, message["code"])
    return registration.complete(ctx, flow_id, True)


FAMILY_PASSWORD = "sakura-no-shita-de-nemuru-inu-7"


def member(ctx, key1="1001", key2="19850401", gid="TS000001", login="taro@example.jp") -> int:
    """An active member account, registered through the registration services."""
    flow_id = registration.start(ctx, gid, key1, key2).flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD, True, "ja")
    registration.verify_code(ctx, flow_id, message["code"])
    return registration.complete(ctx, flow_id, True)


def token_of(message: dict) -> str:
    path, params = links.parse(message["link"])
    return params["token"]


def invite(ctx, account_id, contact="hanako@example.jp", relationship="spouse", birth_date="1987-06-15",
           name="山田 花子", kana="ヤマダ ハナコ") -> dict:
    return family.invite(ctx, account_id, name, kana, relationship, birth_date, contact, "ja")


def invited(ctx, account_id, **kw) -> tuple[int, str]:
    """Invite and approve: the invitation id and the family member's link token."""
    result = invite(ctx, account_id, **kw)
    message = family.approve(ctx, token_of(result["message"]), account_id)
    return result["invitation_id"], token_of(message)


TARO = "taro@example.jp"


ICHIRO = "ichiro@example.jp"


def _people(world) -> dict:
    """Taro (with a family invitation and failed logins) and Ichiro, registered through the services."""
    taro = member(world, login=TARO)
    invited = family.invite(world, taro, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-15", "hanako@example.jp", "ja")
    family.approve(world, token_of(invited["message"]), taro)
    with pytest.raises(BeneError):
        auth.login(world, "benefit_station", TARO, "wrong-password-123")
    ichiro = member(world, key1="1004", key2="19950303", login=ICHIRO)
    return {"taro": taro, "ichiro": ichiro, "invitation": invited["invitation_id"]}
