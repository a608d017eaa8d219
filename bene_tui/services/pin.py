"""The kiosk operator PIN (SPEC §4 "secrets"): an Argon2id hash in the secret store, never in SQLite.

The PIN is the terminal's, not the database's: one name in the keyring (or the 0600 fallback
file). Wrong entries are counted per terminal like step-1 guessing, so a passer-by cannot try
PINs at leisure: after 5 wrong ones the terminal waits 60 s, growing with each further one.
"""

from __future__ import annotations

import unicodedata

from bene_tui.core.errors import BeneError, Throttled, ValidationError
from . import audit, passwords, throttle

SECRET_NAME = "operator-pin"
PIN_MIN = 6
PIN_MAX = 64
FREE_FAILURES = 5
WAIT = 60


def clean(pin: str) -> str:
    """Full-width digits typed on a Japanese IME count as the digits they are."""
    return unicodedata.normalize("NFKC", pin or "").strip()


def check_new(pin: str) -> str:
    """The rule for a new PIN: 6–64 characters, no control characters. Returns it normalised."""
    value = clean(pin)
    if not value:
        raise ValidationError("kiosk.pin_required", field="pin")
    if len(value) < PIN_MIN:
        raise ValidationError("kiosk.pin_too_short", field="pin", min=PIN_MIN)
    if len(value) > PIN_MAX:
        raise ValidationError("kiosk.pin_too_long", field="pin", max=PIN_MAX)
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValidationError("error.control_chars", field="pin")
    return value


def is_set(ctx) -> bool:
    return bool(ctx.secret_store.get(SECRET_NAME))


def set_pin(ctx, pin: str) -> None:
    """Store the PIN's Argon2id hash (slow: call from a thread)."""
    value = check_new(pin)
    ctx.secret_store.set(SECRET_NAME, passwords.hash_password(value, ctx.rules))
    with ctx.tx():
        audit.record(ctx, "kiosk.pin_set", f"terminal:{ctx.terminal}", "ok")


def _key(ctx) -> str:
    return throttle.terminal_key(ctx, "operator-pin")


OPERATOR_ACTIONS = ("kiosk.operator_exit", "kiosk.operator_outbox")  # what the PIN opens, as audited


def verify(ctx, pin: str, action: str = "kiosk.operator_exit") -> bool:
    """True for the right PIN; raise BeneError otherwise (wrong, none set, or waiting).

    The failure is committed before the error is raised, so it counts. `action` is what the
    operator asked for (leave the kiosk, or open its whole outbox): audited under that name.
    """
    if action not in OPERATOR_ACTIONS:
        raise ValueError(action)
    throttle.check(ctx, _key(ctx))
    stored = ctx.secret_store.get(SECRET_NAME)
    if not stored:
        with ctx.tx():
            audit.record(ctx, action, f"terminal:{ctx.terminal}", "refused", "no operator PIN set")
        raise BeneError("kiosk.pin_not_set", field="pin", staff="no operator PIN set")
    ok = passwords.verify_password(stored, clean(pin), ctx.rules)
    with ctx.tx():
        if ok:
            throttle.clear(ctx, _key(ctx))
            audit.record(ctx, action, f"terminal:{ctx.terminal}", "ok")
        else:
            failures = throttle.fail(ctx, _key(ctx), FREE_FAILURES, WAIT)
            audit.record(ctx, action, f"terminal:{ctx.terminal}", "refused", "wrong PIN",
                         failures=failures)
    if not ok:
        try:
            throttle.check(ctx, _key(ctx))
        except Throttled as waiting:
            raise BeneError("error.throttled", field="pin", staff="wrong PIN", **waiting.params) from None
        raise BeneError("kiosk.pin_wrong", field="pin", staff="wrong PIN")
    return True
