"""Links carried by messages (https://bene-account.local/...) open the right screen in the app."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

BASE = "https://bene-account.local"
HANDLERS: dict[str, object] = {}  # path → function(app, params) registered by each flow's screens


def make(path: str, token: str) -> str:
    return f"{BASE}{path}?token={token}"


def parse(url: str) -> tuple[str, dict[str, str]]:
    parts = urlparse((url or "").strip())
    params = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
    return parts.path, params


def route(app, url: str) -> None:
    path, params = parse(url)
    if not url.startswith(BASE) or path not in HANDLERS:
        app.notify(app.t("links.unknown"), severity="error")
        return
    HANDLERS[path](app, params)
