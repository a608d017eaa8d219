"""The password policy (SPEC §4) and Argon2id storage. Call from a worker thread: hashing is slow."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from bene_tui.core.config import Rules
from bene_tui.core.errors import ValidationError


ZXCVBN_MAX = 72  # zxcvbn.zxcvbn's own max_length


def check_policy(password: str, rules: Rules, login_id: str | None = None, user_inputs: tuple[str, ...] = ()) -> None:
    """Raise ValidationError with the stated reason when the password is not acceptable."""
    if not password:
        raise ValidationError("error.required", field="password")
    if len(password) < rules.password_min:
        raise ValidationError("error.password_too_short", field="password", min=rules.password_min)
    if len(password) > rules.password_max:
        raise ValidationError("error.password_too_long", field="password", max=rules.password_max)
    if not _encodable(password):  # a lone surrogate (broken paste) cannot be hashed as UTF-8
        raise ValidationError("error.control_chars", field="password")
    low = password.casefold()
    if login_id:
        ident = login_id.casefold()
        parts = {ident, ident.split("@")[0], ident.lstrip("+"), "0" + ident[3:] if ident.startswith("+81") else ""}
        if any(p and len(p) >= 4 and p in low for p in parts):
            raise ValidationError("error.password_contains_login_id", field="password")
    # start-up: the worker loads this module behind the start screen; zxcvbn's dictionaries only for a new password
    from zxcvbn import zxcvbn

    # zxcvbn is slow on very long inputs, and since 4.5 refuses more than 72 characters with a
    # ValueError (a 73..128-character password crashed step 2): the first 72 decide guessability.
    result = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[x[:ZXCVBN_MAX] for x in (login_id, *user_inputs) if x])
    if result["score"] < rules.password_min_score:
        raise ValidationError("error.password_guessable", field="password")


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int):
    # start-up: argon2 (cffi) loads at the first hash, not when the worker opens the store
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)


def hasher(rules: Rules):
    return _hasher(rules.argon2_time_cost, rules.argon2_memory_kib, rules.argon2_parallelism)


def hash_password(password: str, rules: Rules) -> str:
    return hasher(rules).hash(password)


class Prehashed(NamedTuple):
    """A hash made while the person was still on the form, with the password it was made for."""

    password: str
    hash: str


def prehash(password: str, rules: Rules) -> Prehashed:
    if not _encodable(password):  # a broken paste: check_policy says so at the press
        raise ValidationError("error.control_chars", field="password")
    return Prehashed(password, hash_password(password, rules))


def hash_for(password: str, rules: Rules, prehashed: Prehashed | None = None) -> str:
    """The hash to store: the one made ahead if it is of this very password under today's parameters."""
    if prehashed is not None and prehashed.password == password and not hasher(rules).check_needs_rehash(prehashed.hash):
        return prehashed.hash
    return hash_password(password, rules)


def verify_password(stored: str | None, password: str, rules: Rules) -> bool:
    """Always does the work of one verification, even without a stored hash (no timing oracle)."""
    # start-up: argon2 loads at the first hash, not when the worker opens the store
    from argon2.exceptions import InvalidHashError, VerificationError

    ph = hasher(rules)
    target = stored or _dummy_hash(rules.argon2_time_cost, rules.argon2_memory_kib, rules.argon2_parallelism)
    if not _encodable(password):  # cannot be anyone's password; same work, same answer as a wrong one
        password, stored = "\ufffd", None
    try:
        ok = ph.verify(target, password)
    except (VerificationError, InvalidHashError):
        ok = False
    return ok and stored is not None


def _encodable(password: str) -> bool:
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash("dummy password for timing equality")
