"""Staff reasons in the agent's language.

The services write each staff reason once, in English (`BeneError(..., staff=...)`, the `reason` of
`audit.record`): the internal record, what the audit trail keeps. `say` turns it into the agent's
language from the catalogue (locales/<lang>/staff.toml): an ordered table of patterns whose named
groups become the text's parameters. A reason of several parts ("wrong password (5 consecutive);
locked until …") is said part by part. A text no pattern matches is shown as it is
(tests/test_staff_text.py finds every staff text in the services and makes sure none is left).
Pure Python: no textual import.
"""

from __future__ import annotations

import re
from functools import cache

from bene_tui.core.i18n import find, t

# A staff time: fmt_time's "2026-04-01 09:01" or auth.stamp's "2026-04-01 09:01:00 JST".
_MACROS = {"{AT}": r"(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?)(?: JST)?", "{N}": r"(?P<n>\d+)", "{ID}": r"(?P<id>\d+)"}
_TABLE = [
    (r"wrong password \({N} consecutive\)", "wrong_password"),
    (r"locked until {AT}", "locked_until"),
    (r"unknown login ID", "unknown_login_id"),
    (r"account removed", "account_removed"),
    (r"provisional registration expired", "provisional_expired"),
    (r"account locked until {AT} \({N} consecutive failures\)", "account_locked"),
    (r"account (?P<status>[a-z_]+) \(not verified yet\)", "not_verified"),
    (r"account (?P<status>[a-z_]+): not verified yet", "not_verified"),
    (r"account (?P<status>[a-z_]+): the registration was never completed", "never_completed"),
    (r"inactive for service (?P<service>[a-z_]+)", "inactive_for_service"),
    (r"no usable service", "no_usable_service"),
    (r"usable: (?P<services>.+)", "usable"),
    (r"account (?P<status>[a-z_]+)", "account_status"),
    (r"unknown group ID", "unknown_group_id"),
    (r"unknown auth key 1", "unknown_auth_key_1"),
    (r"wrong auth key 2", "wrong_auth_key_2"),
    (r"member record has no account", "member_has_no_account"),
    (r"no Bene Account holds this member record", "member_has_no_account"),
    (r"too many notices this hour", "too_many_notices"),
    (r"no member matched", "no_member_matched"),
    (r"no e-mail on file", "no_email_on_file"),
    (r"keys sent to the e-mail on file", "keys_sent"),
    (r"unknown login ID: no code sent", "reset_unknown_login_id"),
    (r"no code sent: (?P<why>.+)", "no_code_sent"),
    (r"password replaced", "password_replaced"),
    (r"lockout cleared", "lockout_cleared"),
    (r"member already linked", "member_linked"),
    (r"member record already linked to an account", "member_linked"),
    (r"member already linked to another account", "member_linked_other"),
    (r"member already linked to this account", "member_linked_this"),
    (r"member record linked to account {ID}", "member_linked_to"),
    (r"member record linked to account {ID} meanwhile", "member_linked_to_meanwhile"),
    (r"member linked meanwhile", "member_linked_meanwhile"),
    (r"member record linked by another terminal meanwhile", "member_linked_elsewhere"),
    (r"login ID already registered", "login_id_registered"),
    (r"login ID verified by another provisional registration", "login_id_verified_other"),
    (r"login ID verified by another registration first", "login_id_verified_first"),
    (r"login ID verified by another terminal meanwhile", "login_id_verified_elsewhere"),
    (r"login ID verified first by account {ID}", "login_id_verified_by"),
    (r"person chose to link an existing account instead", "chose_linking"),
    (r"person reports the registered name is wrong", "name_disputed"),
    (r"already granted", "already_granted"),
    (r"the account's registration is not complete", "registration_incomplete"),
    (r"family account cannot hold member records", "family_cannot_link"),
    (r"family account", "family_account"),
    (r"the account is no longer active", "account_inactive"),
    (r"wrong code, (?P<left>\d+) attempts left", "wrong_code"),
    (r"an earlier code, replaced by a resend", "code_replaced"),
    (r"(?P<left>\d+) attempts left", "attempts_left"),
    (r"no account holds this login ID", "no_account_for_login_id"),
    (r"account {ID} was erased", "account_erased"),
    (r"data disclosed to the person", "data_disclosed"),
    (r"personal data erased", "personal_data_erased"),
    (r"(?P<what>.+): database is locked", "database_busy_at"),
    (r"{N} wrong entries: code voided", "code_voided_now"),
    (r"code expired", "code_expired"),
    (r"no code was ever sent for this procedure", "code_never_sent"),
    (r"the code was already used at {AT}", "code_used_at"),
    (r"the code was voided after {N} wrong entries", "code_voided_after"),
    (r"the code expired at {AT}", "code_expired_at"),
    (r"the code was voided at {AT}", "code_voided_at"),
    (r"{N} codes sent to recipient within the hour", "too_many_codes"),
    (r"no account: the code is never sent", "code_not_sent_no_account"),
    (r"resend within the minimum interval", "resend_too_early"),
    (r"resend within a minute", "resend_within_minute"),
    (r"(?P<what>\S+) waits until {AT} after {N} failures", "throttled"),
    (r"no such flow", "no_such_flow"),
    (r"flow is (?P<kind>[a-z_]+), not (?P<kinds>.+)", "wrong_flow_kind"),
    (r"(?P<kind>[a-z_]+) flow ended or expired at {AT} \(state (?P<state>[a-z_]+)\)", "flow_ended"),
    (r"flow state (?P<state>[a-z_]+), expected (?P<states>.+)", "wrong_flow_state"),
    (r"bad person reference (?P<ref>.+)", "bad_person_ref"),
    (r"no account {ID} \(ended or never existed\)", "no_account_ended"),
    (r"no account {ID}", "no_account"),
    (r"no member record {ID}", "no_member"),
    (r"no invitation {ID}", "no_invitation"),
    (r"flow (?P<kind>[a-z_]+) is (?P<state>[a-z_]+): no code to resend", "not_resendable"),
    (r"no account behind this flow: nobody to send to", "nobody_to_send_to"),
    (r"no login failures to clear", "nothing_to_unlock"),
    (r"cleared {N} failures", "cleared_failures"),
    (r"was locked until {AT}", "was_locked_until"),
    (r"account is (?P<status>[a-z_]+), not provisional", "not_provisional"),
    (r"flow ended by the helpdesk", "flow_ended_by_helpdesk"),
    (r"provisional registration ended", "provisional_ended"),
    (r"login ID free", "login_id_free"),
    (r"family use not available for this account", "family_unavailable"),
    (r"(?P<rel>[a-z_]+) is degree (?P<degree>\d+)", "degree"),
    (r"the organisation allows up to (?P<max>\d+)", "degree_allowed"),
    (r"{N} family accounts and live invitations already", "family_full"),
    (r"the contact is an existing login ID(?: now)?", "contact_registered"),
    (r"the contact has a pending invitation", "contact_pending"),
    (r"another live invitation for the contact", "contact_pending"),
    (r"malformed token", "malformed_token"),
    (r"no such token \(mistyped or tampered\)", "no_such_token"),
    (r"token already used", "token_used"),
    (r"token replaced by a newer link", "token_replaced"),
    (r"token expired", "token_expired"),
    (r"invitation state (?P<inv_state>[a-z_]+) does not take this link", "link_not_for_state"),
    (r"invitation is (?P<inv_state>[a-z_]+)", "invitation_is"),
    (r"invitation (?P<inv_state>[a-z_]+)", "invitation_is"),
    (r"account {ID} is not the inviting account (?P<inviter>\d+)", "not_inviter"),
    (r"invitation {ID} is not this account's", "not_this_accounts"),
    (r"family use turned off since the invitation", "family_turned_off"),
    (r"the organisation narrowed its family policy since the invitation", "policy_narrowed"),
    (r"the inviting member can no longer use family accounts", "inviter_cannot"),
    (r"the contact was registered as a login ID after the invitation", "contact_registered_since"),
    (r"{N} wrong birth dates", "wrong_birth_dates"),
    (r"{N} wrong birth dates: locked", "wrong_birth_dates_locked"),
    (r"birth date differs from the member's entry \((?P<left>\d+) attempts left\)", "wrong_birth_date"),
    (r"no free family slot for a revived invitation", "no_free_slot"),
    (r"no operator PIN set", "no_pin"),
    (r"wrong PIN", "wrong_pin"),
    (r"no token", "no_token"),
    (r"wrong token", "wrong_token"),
    (r"foreign origin", "foreign_origin"),
    (r"SQLite busy after (?P<ms>\d+) ms: (?P<error>.+)", "busy"),
    (r"(?P<field>[a-z_0-9]+) is a (?P<type>\w+), not (?P<expected>.+)", "wrong_type"),
    (r"(?P<field>[a-z_0-9]+) is beyond SQLite's 64-bit integers", "too_big"),
]


def _compile(source: str) -> re.Pattern[str]:
    for macro, regex in _MACROS.items():
        source = source.replace(macro, regex)
    return re.compile(source)


@cache
def patterns() -> list[tuple[re.Pattern[str], str]]:
    """The table compiled, on the first staff text said: some 120 patterns take ~9 ms to compile,
    which every terminal's start would pay, and only the helpdesk says staff texts."""
    return [(_compile(source), f"staff.{key}") for source, key in _TABLE]


# Groups whose values are words of the catalogue too (a list of them for `services`); `why` is a
# staff text itself.
_WORDS = {"status": "staff.status.{}", "inv_state": "staff.inv_state.{}", "kind": "staff.kind.{}",
          "state": "staff.state.{}", "service": "service.{}", "services": "service.{}", "rel": "family.rel.{}"}


def match(part: str) -> tuple[str, dict[str, str]] | None:
    """The catalogue key and parameters of one part of a staff text, or None."""
    for pattern, key in patterns():
        found = pattern.fullmatch(part)
        if found:
            return key, found.groupdict()
    return None


def parts(text: str) -> list[str]:
    return text.split("; ")


def say(lang: str, text: str | None) -> str:
    """`text` (a staff reason, or a catalogue key given as the reason) in `lang`."""
    if not text:
        return ""
    if find(lang, text) is not None:  # a refusal without a staff text is audited with its key
        return t(lang, text)
    return t(lang, "staff.sep").join(_say_part(lang, part) for part in parts(text))


def _say_part(lang: str, part: str) -> str:
    found = match(part)
    if found is None:
        return part
    key, params = found
    for name, value in params.items():
        if name == "why":
            params[name] = say(lang, value)
        elif name in _WORDS and value is not None:
            words = (find(lang, _WORDS[name].format(v)) or v for v in value.split(", "))
            params[name] = t(lang, "staff.list_sep").join(words)
    return t(lang, key, **params)
