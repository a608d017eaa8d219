"""Helpers for Pilot tests: wait for the screen to settle, type into a field."""

from __future__ import annotations

import asyncio
import time


async def wait_for(pilot, predicate, timeout: float = 30.0, what: str = "condition"):
    """Pause until predicate() is truthy (service calls run in threads, so screens change later).

    30 s is generous because two cores may be busy with Argon2 elsewhere; success returns at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        try:
            result = predicate()
        except Exception:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; screen is {pilot.app.screen!r}")
        await asyncio.sleep(0.02)


async def wait_screen(pilot, screen_cls, timeout: float = 30.0):
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_cls) and pilot.app.screen,
                          timeout, f"screen {screen_cls.__name__}")


async def press_button(pilot, button):
    """Focus a button and press Enter on it, as a person would.

    Textual ignores Enter on a button while its last press still shows (the -active class, 0.2 s),
    so a second press of the same button waits for that to pass, as a person's second press does.
    """
    button.focus()
    await wait_for(pilot, lambda: button.has_focus and not button.disabled and not button.has_class("-active"),
                   what=f"{button!r} ready for Enter")
    await pilot.press("enter")


async def type_into(pilot, selector: str, text: str):
    """Focus a field on the active screen, clear it and type text as keys would (paste-like)."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    await pilot.pause()
    widget.value = ""
    widget.insert_text_at_cursor(text)
    await pilot.pause()


def screen_text(pilot) -> str:
    """All visible text of the active screen (static contents, labels, buttons, inputs)."""
    from textual.widgets import Button, Input, Label, Static

    parts = []
    for w in pilot.app.screen.query("*"):
        if isinstance(w, Input):
            parts.append(w.value)
        elif isinstance(w, (Static, Label, Button)):
            parts.append(str(w.render()))
    return "\n".join(parts)


def query(tmp_path, sql: str, args=()) -> list[dict]:
    """Rows of the test's database, read the way another terminal would (its own connection)."""
    import sqlite3

    from support.world import _DB_TARGETS

    if str(tmp_path) in _DB_TARGETS:  # a PostgreSQL test (conftest.db_target)
        from bene_tui.store.postgres import PgDatabase

        db = PgDatabase(_DB_TARGETS[str(tmp_path)])
        try:
            return list(db.query(sql, list(args)))
        finally:
            db.close()
    conn = sqlite3.connect(tmp_path / "bene.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def messages_to(tmp_path, recipient: str) -> list[dict]:
    """The outbox messages to one recipient, oldest first."""
    return query(tmp_path, "select * from outbox where recipient = ? order by id", [recipient])


def distinct_codes(monkeypatch) -> None:
    """Six-digit codes from a fixed sequence instead of random draws, for tests about a resend: a
    real draw repeats the last code once in a million, and then nothing tells the two apart.
    No code of the sequence is the next of another (tests type `other_code`, the code + 1)."""
    import itertools

    from bene_tui.services import codes

    sequence = (f"{n % 1_000_000:06d}" for n in itertools.count(314159, 271828))
    monkeypatch.setattr(codes, "new_code", lambda: next(sequence))
