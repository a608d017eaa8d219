"""`bene-tui serve` in a subprocess: a free port, start, wait for its URL, stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(db: str, port: int, *flags: str, mode: str = "helpdesk") -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bene_tui.cli", "--db", db, "--mode", mode, "serve", "--port", str(port), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True,
    )
    lines: list[str] = []
    # Read everything it prints, so a full pipe never stalls the server.
    threading.Thread(target=lambda: lines.extend(line.decode(errors="replace") for line in proc.stdout),
                     daemon=True).start()
    return proc, lines


def wait_ready(port: int, proc: subprocess.Popen, lines: list[str], timeout: float = 60.0) -> str:
    """The token of the URL the server printed, once it listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {''.join(lines)}")
        found = re.search(rf"http://127\.0\.0\.1:{port}/\?token=([A-Za-z0-9_-]+)", "".join(lines))
        if found:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return found[1]
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"serve never printed its URL and listened: {''.join(lines)}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # the server and the app processes it started
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
