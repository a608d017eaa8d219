"""`bene-tui serve` (issue 5): textual-serve on a free loopback port; the page loads over HTTP and
the app's websocket session answers with the app's own output."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import aiohttp
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("serve never listened")


@pytest.fixture
def server(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bene_tui.cli", "--db", str(tmp_path / "served.db"), "--mode", "helpdesk", "serve",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True,
    )
    try:
        wait_listening(port, proc)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and the app process it started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def test_serve_loads_the_page_and_the_app_session_speaks(server, tmp_path):
    port = server
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/") as page:
            assert page.status == 200
            html = await page.text()
        assert f"ws://127.0.0.1:{port}/ws" in html, "the page points the browser at the app's websocket"

        received = b""
        async with session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=100&height=30") as ws:
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
            deadline = time.monotonic() + 30
            while not (tmp_path / "served.db").exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert (tmp_path / "served.db").exists(), "the served app opened the database it was given"


def test_serve_is_loopback_by_default():
    from bene_tui.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000
