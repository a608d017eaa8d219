"""Links carried by messages (https://bene-account.local/...): paths, make, parse. screens/routes.py opens them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

SCHEME, HOST = "https", "bene-account.local"
BASE = f"{SCHEME}://{HOST}"
# The paths our links open (screens/routes.py LINKS says which screen each leads to).
FAMILY_APPROVE, FAMILY_INVITE = "/family/approve", "/family/invite"


def make(path: str, token: str) -> str:
    return f"{BASE}{path}?token={token}"


def parse(url: str) -> tuple[str, dict[str, str]]:
    """(path, query) of one of our links; path is "" for anything else (another host, scheme or junk)."""
    try:
        parts = urlparse((url or "").strip()[:4096])
        ours = parts.scheme == SCHEME and parts.netloc == HOST  # no user@, no port, no look-alike host
    except ValueError:
        return "", {}
    if not ours:
        return "", {}
    params = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
    return parts.path, params

