"""`bene-tui serve` (issue 5; security point 4): textual-serve on a free loopback port, locked by the
token printed at start and by the websocket's Origin. Over real HTTP and a real websocket against a
server each test starts and stops."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import aiohttp
import pytest
from support.serve import free_port, start_serve, wait_ready, stop


class Served:
    """A running `bene-tui serve`: its origin, the token it printed, its database."""

    def __init__(self, port: int, token: str, db: str, output: list[str]) -> None:
        self.port, self.token, self.db, self.output = port, token, db, output
        self.origin = f"http://127.0.0.1:{port}"

    def refusals(self) -> list[dict]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("select * from audit where action = 'serve.request' order by id").fetchall()
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


@pytest.fixture
def served(tmp_path):
    port, db = free_port(), str(tmp_path / "served.db")
    proc, lines = start_serve(db, port)
    try:
        yield Served(port, wait_ready(port, proc, lines), db, lines)
    finally:
        stop(proc)


def jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # aiohttp keeps no cookies of an IP address otherwise; browsers do


async def ws_refused(session: aiohttp.ClientSession, url: str, **kw) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with session.ws_connect(url, **kw):
            pass
    return refused.value.status


async def test_requests_without_the_right_token_are_refused_and_audited(served):
    async with aiohttp.ClientSession(cookie_jar=jar()) as session:
        for path in ("/", "/static/css/xterm.css", "/?token=", f"/?token={served.token[:-1]}",
                     f"/?token={served.token}x", "/?token=%F0%9F%98%80"):
            async with session.get(served.origin + path) as response:
                assert response.status == 403, path
                assert "Set-Cookie" not in response.headers
        session.cookie_jar.update_cookies({f"bene-tui-{served.port}": "not-the-token"})
        async with session.get(served.origin + "/") as response:
            assert response.status == 403, "a cookie with another value"
        # the websocket: right Origin, but no token / a wrong one
        async with aiohttp.ClientSession() as bare:
            assert await ws_refused(bare, f"ws://127.0.0.1:{served.port}/ws", origin=served.origin) == 403
            assert await ws_refused(bare, f"ws://127.0.0.1:{served.port}/ws?token=guess", origin=served.origin) == 403
    rows = served.refusals()
    assert [r["reason"] for r in rows] == ["no token", "no token", "no token", "wrong token", "wrong token",
                                           "wrong token", "wrong token", "no token", "wrong token"]
    assert [r["detail"]["path"] for r in rows[:2]] == ["/", "/static/css/xterm.css"]
    assert [r["detail"]["websocket"] for r in rows[-2:]] == [True, True]
    for row in rows:
        assert row["outcome"] == "refused" and row["actor"] == "serve" and row["subject"] == "peer:127.0.0.1"
        assert served.token not in json.dumps(row), "the audit trail never holds the token"


async def test_the_printed_url_opens_the_page_and_its_cookie_carries_the_token(served):
    assert len(served.token) >= 43, "32 random bytes"
    async with aiohttp.ClientSession(cookie_jar=jar()) as session:
        async with session.get(f"{served.origin}/?token={served.token}") as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"]
            assert page.headers["Referrer-Policy"] == "no-referrer"
        assert f"ws://127.0.0.1:{served.port}/ws" in html, "the page points the browser at the app's websocket"
        assert cookie.startswith(f"bene-tui-{served.port}={served.token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        # the page's own requests carry the cookie, not the token in the URL
        async with session.get(f"{served.origin}/static/css/xterm.css") as css:
            assert css.status == 200
        async with session.get(f"{served.origin}/") as again:
            assert again.status == 200
    assert served.refusals() == []
    time.sleep(0.5)  # the access log lines of these requests
    assert "GET /?token=<token> " in re.sub(r"\s+", " ", "".join(served.output))
    assert "".join(served.output).count(served.token) == 1, "the token is printed once, in the URL to open"


async def test_a_websocket_from_another_origin_is_refused_even_with_the_token(served):
    async with aiohttp.ClientSession(cookie_jar=jar()) as session:
        async with session.get(f"{served.origin}/?token={served.token}") as page:
            assert page.status == 200  # the cookie is set
        ws = f"ws://127.0.0.1:{served.port}/ws"
        for origin in ("http://evil.example", f"http://localhost:{served.port}", f"https://127.0.0.1:{served.port}",
                       "null"):
            assert await ws_refused(session, ws, origin=origin) == 403, origin
        assert await ws_refused(session, f"{ws}?token={served.token}", origin="http://evil.example") == 403
        assert await ws_refused(session, ws) == 403, "no Origin at all"
    rows = served.refusals()
    assert [r["reason"] for r in rows] == ["foreign origin"] * 6
    assert [r["detail"]["origin"] for r in rows] == ["http://evil.example", f"http://localhost:{served.port}",
                                                     f"https://127.0.0.1:{served.port}", "null",
                                                     "http://evil.example", None]


async def test_the_page_websocket_upgrades_and_the_app_session_speaks(served):
    async with aiohttp.ClientSession(cookie_jar=jar()) as session:
        async with session.get(f"{served.origin}/?token={served.token}") as page:
            assert page.status == 200
        received = b""
        # as the page's script does it: its own origin, the cookie, no token in the URL
        async with session.ws_connect(f"ws://127.0.0.1:{served.port}/ws?width=100&height=30",
                                      origin=served.origin) as ws:
            await ws.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
            deadline = time.monotonic() + 60
            # The app's first frames: escape sequences, then the screen itself (its title).
            while "ベネアカウント".encode() not in received and time.monotonic() < deadline:
                msg = await asyncio.wait_for(ws.receive(), timeout=60)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    received += msg.data
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    received += msg.data.encode()
                else:
                    break
            assert received.startswith(b"\x1b["), "terminal output from the app process"
            assert "ベネアカウント".encode() in received, "the app's start screen reached the browser"
    assert served.refusals() == []


def test_each_start_prints_a_new_token(tmp_path):
    """The token comes from `secrets` at each start: two starts, two tokens."""
    tokens = []
    for _ in range(2):
        port = free_port()
        proc, lines = start_serve(str(tmp_path / "served.db"), port)
        try:
            tokens.append(wait_ready(port, proc, lines))
        finally:
            stop(proc)
    assert tokens[0] != tokens[1]


@pytest.mark.parametrize("flags, says", [
    (["--host", "0.0.0.0"], "--allow-remote"),
    (["--host", "192.168.1.20"], "--allow-remote"),
    (["--host", "0.0.0.0", "--allow-remote"], "names no address a browser can use"),
], ids=["wildcard", "lan", "wildcard-allowed"])
def test_a_host_beyond_loopback_needs_allow_remote(tmp_path, flags, says):
    proc = subprocess.run([sys.executable, "-m", "bene_tui.cli", "--db", str(tmp_path / "b.db"), "serve",
                           "--port", str(free_port()), *flags], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert says in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    if says == "--allow-remote":
        assert "drive the terminal" in proc.stderr and "no TLS" in proc.stderr, "it says what it would expose"


def test_serve_is_loopback_by_default():
    from bene_tui.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000 and not args.allow_remote


def test_textual_serve_still_builds_its_app_in_make_app(ctx):
    """bene_tui/ui/serve.py puts its guard in front of textual-serve's routes by overriding
    Server._make_app, textual-serve's one place that builds the aiohttp app (it is private):
    if textual-serve renames or reshapes it, this fails rather than serving unguarded."""
    import inspect

    from textual_serve.server import Server

    from bene_tui.ui.serve import LockedServer

    assert inspect.iscoroutinefunction(Server._make_app)
    assert list(inspect.signature(Server._make_app).parameters) == ["self"]
    server = LockedServer("true", ctx, host="127.0.0.1", port=free_port(), title="t")
    app = asyncio.run(server._make_app())
    assert server.guard in app.middlewares
    names = {route.name for route in app.router.routes() if route.name}
    assert {"index", "websocket", "static"} <= names, names
    assert LockedServer("true", ctx, host="127.0.0.1", port=1, title="t").token != server.token


def page_urls(text: str) -> set[str]:
    """Every URL a page or a style sheet makes the browser load: src=, href=, url(), @import."""
    found = re.findall(r"""(?:\bsrc|\bhref)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\)"""
                       r"""|@import\s+["']([^"']+)["']""", text)
    return {next(part for part in parts if part) for parts in found}


async def test_the_page_loads_everything_from_the_app_itself(served):
    """A kiosk network is often offline or closed: the page (textual-serve's asks fonts.googleapis.com
    for Roboto Mono) loads its scripts, styles and fonts from this server only, and every one is
    there: if textual-serve renames a static file our page names, this fails."""
    async with aiohttp.ClientSession(cookie_jar=jar()) as session:
        async with session.get(f"{served.origin}/?token={served.token}") as page:
            html = await page.text()
        assert "googleapis" not in html and "gstatic" not in html
        # the variables textual-serve gives its template, which ours uses too
        assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in html
        assert 'data-font-size="16"' in html and "<title>bene-tui</title>" in html
        pending, seen = page_urls(html), set()
        while pending:
            url = pending.pop()
            seen.add(url)
            if url.startswith("data:"):
                continue
            assert url.startswith(f"{served.origin}/static/"), f"the page loads {url} from elsewhere"
            async with session.get(url) as response:
                assert response.status == 200, url
                if url.endswith(".css"):
                    base = url.rsplit("/", 1)[0] + "/"
                    pending |= {u if "://" in u or u.startswith("data:") else base + u
                                for u in page_urls(await response.text())} - seen
    fonts = {u.rsplit("/", 1)[1] for u in seen if "/fonts/" in u}
    assert fonts == {"RobotoMono-VariableFont_wght.ttf", "RobotoMono-Italic-VariableFont_wght.ttf"}
    assert {u.rsplit("/", 2)[1] for u in seen if u.startswith(served.origin)} >= {"css", "js", "fonts"}
    # Japanese comes from the kiosk's own fonts, under the terminal's font name
    assert re.search(r'local\("Noto Sans Mono CJK JP"\).*local\("IPAGothic"\).*unicode-range: U\+203B',
                     re.sub(r"\s+", " ", html))
    assert '<html lang="ja">' in html


def test_ctrl_c_stops_serving_without_a_traceback(tmp_path):
    port = free_port()
    proc, lines = start_serve(str(tmp_path / "served.db"), port)
    try:
        wait_ready(port, proc, lines)
        proc.send_signal(signal.SIGINT)  # Ctrl+C in the operator's terminal
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            stop(proc)
    time.sleep(0.5)  # the reader thread's last lines
    assert "Traceback" not in "".join(lines), "".join(lines)


def this_hosts_address() -> str | None:
    """An IPv4 address of this host that is not loopback (the one a route out would use), or None."""
    import ipaddress
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: it only picks the outgoing interface
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


async def test_allow_remote_serves_that_address_says_what_it_exposes_and_stays_locked(tmp_path):
    """`--host <a LAN address> --allow-remote`: it warns what that exposes, prints the URL of that
    address, and the token and the Origin rules hold there as on loopback."""
    address = this_hosts_address()
    if address is None:
        pytest.skip("this host has no address beyond loopback")
    port, db = free_port(), str(tmp_path / "served.db")
    proc, lines = start_serve(db, port, "--host", address, "--allow-remote")
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(rf"http://{re.escape(address)}:{port}/\?token=([A-Za-z0-9_-]+)", "".join(lines))):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        token, origin = found[1], f"http://{address}:{port}"
        said = "".join(lines)
        assert "warning" in said and "drive the terminal" in said and "no TLS" in said, said
        async with aiohttp.ClientSession(cookie_jar=jar()) as session:
            for attempt in range(100):  # the URL is printed as the server starts listening
                try:
                    async with session.get(f"{origin}/") as refused:
                        assert refused.status == 403
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            else:
                pytest.fail(f"nothing listens at {origin}")
            async with session.get(f"{origin}/?token={token}") as page:
                assert page.status == 200
                assert f"ws://{address}:{port}/ws" in await page.text()
            for foreign in (f"http://127.0.0.1:{port}", "http://evil.example"):
                assert await ws_refused(session, f"ws://{address}:{port}/ws", origin=foreign) == 403, foreign
            async with session.ws_connect(f"ws://{address}:{port}/ws?width=80&height=24", origin=origin) as ws:
                await ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
                first = await asyncio.wait_for(ws.receive(), timeout=60)
                assert first.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), first
    finally:
        stop(proc)
    with sqlite3.connect(db) as conn:
        reasons = [r[0] for r in conn.execute("select reason from audit where action = 'serve.request' order by id")]
        start = conn.execute("select detail from audit where action = 'serve.start'").fetchone()
    assert reasons == ["no token", "foreign origin", "foreign origin"]
    assert json.loads(start[0])["host"] == address
