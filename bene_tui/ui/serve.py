"""`bene-tui serve`: textual-serve behind a per-start token and a same-origin websocket.

textual-serve on its own answers any request and upgrades any websocket, so any web page open in
the operator's browser could drive the app (and, in demo mode, read the codes in its outbox).
Here every request must carry the token printed at start (as Jupyter does): in the URL's
`?token=`, which the page then keeps in an HttpOnly, SameSite=Strict cookie so that its own
websocket and static requests carry it; and a websocket must come from the served origin.
Refusals are 403 and audited.

The page is bene-tui's own (ui/web/app_index.html): textual-serve's asks an outside host for its web
font, and a kiosk network is often offline or closed; ours loads only from this server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

from bene_tui.core.errors import BeneError
from bene_tui.services import audit

log = logging.getLogger("bene-tui.serve")

# The page template, in place of textual-serve's (its static files, scripts and fonts, stay its own).
TEMPLATES = Path(__file__).with_name("web")


def public_url(host: str, port: int) -> str:
    """The origin browsers use: what the page is loaded from and what its websocket must say it came from."""
    name = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"http://{name}" if port == 80 else f"http://{name}:{port}"


def _for_audit(text: str | None) -> str | None:
    """Header and path text as the client sent it: bounded, ASCII (no escapes, no lone surrogates)."""
    return None if text is None else text[:200].encode("ascii", "backslashreplace").decode("ascii")


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


class LockedServer(Server):
    """textual-serve's Server with a guard (an aiohttp middleware) in front of every route."""

    def __init__(self, command: str, ctx, *, host: str, port: int, title: str) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url(host, port),
                         templates_path=TEMPLATES)
        self.ctx = ctx  # for the audit trail
        self.token = secrets.token_urlsafe(32)
        self.cookie = f"bene-tui-{port}"  # cookies are per host, not per port: one name per server

    @property
    def url(self) -> str:
        return f"{self.public_url}/?token={self.token}"

    async def _make_app(self) -> web.Application:
        # The one private part of textual-serve used here (it builds the aiohttp app and has no public
        # hook): tests/test_serve.py::test_textual_serve_still_builds_its_app_in_make_app fails if it changes.
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        logging.getLogger("aiohttp.access").addFilter(self._hide_token)  # its lines quote the URL
        print(f"bene-tui: serving the app; open this URL (it carries this start's token):\n\n    {self.url}\n\n"
              "Ctrl+C stops serving.", flush=True)

    def _hide_token(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = record.msg.replace(self.token, "<token>")
        return True

    def refusal(self, request: web.Request) -> str | None:
        """Why this request may not go through, or None."""
        given = request.query.get("token") or request.cookies.get(self.cookie)
        if not given:
            return "no token"
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode()):
            return "wrong token"
        if _is_websocket(request) and request.headers.get("Origin") != self.public_url:
            return "foreign origin"
        return None

    @web.middleware
    async def guard(self, request: web.Request, handler) -> web.StreamResponse:
        reason = self.refusal(request)
        if reason:
            # In a thread, so a busy database never stalls the other sessions (the Store opens one per thread).
            await asyncio.to_thread(self._audit_refusal, request, reason)
            raise web.HTTPForbidden(text="403 Forbidden: open the URL that `bene-tui serve` printed.\n")
        response = await handler(request)
        if not response.prepared:  # a websocket has already answered; it came with the cookie
            response.headers["Referrer-Policy"] = "no-referrer"  # the URL may carry the token
            if "token" in request.query:
                response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    def _audit_refusal(self, request: web.Request, reason: str) -> None:
        try:
            with self.ctx.tx():
                audit.record(self.ctx, "serve.request", f"peer:{request.remote}", "refused", reason,
                             path=_for_audit(request.path), origin=_for_audit(request.headers.get("Origin")),
                             websocket=_is_websocket(request))
        except BeneError as exc:  # a busy database: the refusal stands, unaudited
            log.warning("could not audit a refused request (%s): %s", reason, exc.staff or exc.key)
