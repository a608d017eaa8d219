"""Verification codes and link tokens: make them, hash them with the secret key, compare."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_code() -> str:
    """Six random digits (SPEC §4)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def new_token() -> str:
    """A link token of 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """Bound to its purpose, so a code of one flow never checks in another."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def matches(key: bytes, purpose: str, value: str, stored: str) -> bool:
    return hmac.compare_digest(keyed_hash(key, purpose, value), stored)
