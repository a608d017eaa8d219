"""One hashing key for every terminal of a store. Codes and tokens are hashed with the key from
the secret store; terminals on other hosts need the same key, so the store keeps its fingerprint
(never the key) and a terminal whose key differs refuses to start. `bene-tui key export` prints
the key for `bene-tui key import` on another host (docs/security.md, README)."""

from __future__ import annotations

import hashlib
import hmac
import re

FINGERPRINT_SETTING = "key_fingerprint"
_EXPORT = re.compile(r"bene-tui-key:v1:(?P<db_id>[0-9a-f]{16}):(?P<key>[0-9a-f]{64})")


class KeyMismatchError(ValueError):
    """This host's key is not the store's: its codes would never check at another terminal."""


def fingerprint(key: bytes) -> str:
    return hmac.new(key, b"bene-tui key fingerprint v1", hashlib.sha256).hexdigest()[:32]


def stored_fingerprint(ctx) -> str | None:
    row = ctx.db.execute("select value from settings where key = ?", [FINGERPRINT_SETTING]).fetchone()
    return row[0] if row else None


def _secret_name(ctx) -> str:
    return f"hmac-key:{ctx.db_id}"


def status(ctx) -> str:
    """'matches', 'differs', 'missing' (this host has none yet) or 'unset' (no terminal used one yet)."""
    stored = stored_fingerprint(ctx)
    if stored is None:
        return "unset"
    local = ctx.secret_store.get(_secret_name(ctx))
    if local is None:
        return "missing"
    return "matches" if hmac.compare_digest(fingerprint(bytes.fromhex(local)), stored) else "differs"


def check(ctx) -> None:
    """At start-up: refuse a store whose key fingerprint is not this host's key."""
    state = status(ctx)
    if state == "missing":
        raise KeyMismatchError("this host has no key for this store, which other terminals already use: run "
                               "`bene-tui key export` on one of them and `bene-tui key import` here")
    if state == "differs":
        raise KeyMismatchError("this host's key differs from the one the store's other terminals use (its codes "
                               "would never check there): import theirs with `bene-tui key import`")


def record(ctx, key: bytes) -> None:
    """The first terminal to use a key leaves its fingerprint; a later one with another key is refused."""
    stored = stored_fingerprint(ctx)
    if stored is None:
        with ctx.tx() as db:
            db["settings"].insert({"key": FINGERPRINT_SETTING, "value": fingerprint(key)}, ignore=True)
        stored = stored_fingerprint(ctx)
    if not hmac.compare_digest(stored, fingerprint(key)):
        raise KeyMismatchError("this host's key differs from the store's: import it with `bene-tui key import`")


def export(ctx) -> str:
    """One line to carry to another host (it is the secret itself: treat it as a password)."""
    return f"bene-tui-key:v1:{ctx.db_id}:{ctx.hmac_key.hex()}"


def import_line(ctx, line: str) -> None:
    found = _EXPORT.fullmatch(line.strip())
    if not found:
        raise ValueError("not a key exported by `bene-tui key export` (bene-tui-key:v1:<store id>:<64 hex>)")
    if found["db_id"] != ctx.db_id:
        raise KeyMismatchError(f"that key belongs to another store (id {found['db_id']}, this one is {ctx.db_id})")
    key = bytes.fromhex(found["key"])
    stored = stored_fingerprint(ctx)
    if stored is not None and not hmac.compare_digest(stored, fingerprint(key)):
        raise KeyMismatchError("that key's fingerprint is not the store's: export it again from a working terminal")
    ctx.secret_store.set(_secret_name(ctx), key.hex())
    if stored is None:
        record(ctx, key)
