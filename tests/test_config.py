"""The config file (issue 16, point 5): config.toml, its precedence (flag > environment > file >
default), `bene-tui config`, bad files refused before anything starts, key bindings remapped
through Textual's keymap, and the kiosk's idle times from the file."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from bene_tui import cli
from bene_tui.core.config import ConfigError, Settings
from bene_tui.services.secret_store import SecretStore
from bene_tui.ui.app import BeneApp
from bene_tui.ui.screens.kiosk import CountdownScreen
from bene_tui.ui.screens.outbox import OutboxScreen
from bene_tui.ui.screens.registration import Step1Screen
from bene_tui.ui.screens.start import StartScreen
from helpers import type_into, wait_for, wait_screen


@pytest.fixture
def config(tmp_path):
    """Write config.toml (BENE_TUI_CONFIG points at it for every test: conftest)."""
    path = tmp_path / "config.toml"

    def write(text: str):
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# (option, its line in the file, its value from the file, env var and value, flag and value, default)
PRECEDENCE = [
    ("language", 'language = "en"', "en", ("BENE_TUI_LANG", "ja"), ("lang", "en"), "ja"),
    ("mode", 'mode = "kiosk"', "kiosk", ("BENE_TUI_MODE", "helpdesk"), ("mode", "demo"), "demo"),
    ("database", 'database = "/srv/bene/file.db"', "/srv/bene/file.db", ("BENE_TUI_DB", "/srv/env.db"),
     ("db_path", "/srv/flag.db"), None),
    ("terminal", 'terminal = "kiosk-3F-east"', "kiosk-3F-east", ("BENE_TUI_TERMINAL", "env-terminal"), None, None),
    ("kiosk.idle", "[kiosk]\nidle = 30", 30, ("BENE_TUI_KIOSK_IDLE", "45"), None, 90),
    ("kiosk.countdown", "[kiosk]\ncountdown = 5", 5, ("BENE_TUI_KIOSK_COUNTDOWN", "7"), None, 15),
    ("kiosk.done_return", "[kiosk]\ndone_return = 8", 8, ("BENE_TUI_KIOSK_DONE_RETURN", "9"), None, 20),
    ("audit.retention_days", "[audit]\nretention_days = 30", 30, ("BENE_TUI_AUDIT_RETENTION_DAYS", "60"), None, 400),
]


def value_of(settings: Settings, name: str):
    return dict((n, v) for n, v, _ in settings.effective())[name]


@pytest.mark.parametrize("name, line, file_value, env, flag, default", PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_flag_beats_environment_beats_file_beats_default(monkeypatch, config, tmp_path, name, line, file_value, env,
                                                         flag, default):
    monkeypatch.delenv("BENE_TUI_DB")
    monkeypatch.delenv("BENE_TUI_TERMINAL")
    plain = Settings.from_env()
    assert plain.source(name) == "default"
    if default is not None:
        assert value_of(plain, name) == default
    path = config(line + "\n")
    s = Settings.from_env()
    assert (value_of(s, name), s.source(name)) == (file_value, f"file ({path})")
    monkeypatch.setenv(*env)
    s = Settings.from_env()
    expected = int(env[1]) if isinstance(file_value, int) else env[1]
    assert (value_of(s, name), s.source(name)) == (expected, f"environment ({env[0]})")
    if flag:
        s = Settings.from_env(**{flag[0]: flag[1]})
        assert value_of(s, name) == flag[1] and s.source(name).startswith("flag (--")


def test_the_config_command_says_where_each_setting_came_from(monkeypatch, config, capsys):
    path = config('language = "en"\nterminal = "helpdesk-2"\n[kiosk]\nidle = 60\n[keys]\noutbox = "ctrl+b"\n')
    monkeypatch.setenv("BENE_TUI_MODE", "helpdesk")
    monkeypatch.delenv("BENE_TUI_TERMINAL")
    code, out, _ = run(capsys, "--db", "/tmp/flag.db", "config")
    assert code == 0
    lines = {line.split()[0]: line.split(maxsplit=2)[1:] for line in out.splitlines()[1:]}
    assert out.splitlines()[0] == f"Config file: {path} (read)"
    assert lines["language"] == ["en", f"file ({path})"]
    assert lines["mode"] == ["helpdesk", "environment (BENE_TUI_MODE)"]
    assert lines["database"] == ["/tmp/flag.db", "flag (--db)"]
    assert lines["terminal"] == ["helpdesk-2", f"file ({path})"]
    assert lines["kiosk.idle"] == ["60", f"file ({path})"]
    assert lines["kiosk.countdown"] == ["15", "default"]
    assert lines["keys.outbox"] == ["ctrl+b", f"file ({path})"]
    assert lines["keys.language"] == ["f4", "default"]
    assert lines["keys.rewind"] == ["ctrl+t", "default"]


def test_without_a_file_the_command_says_so(capsys, tmp_path):
    code, out, _ = run(capsys, "config")
    assert code == 0 and f"{tmp_path / 'config.toml'} (none there" in out
    assert "language                 ja" in out


@pytest.mark.parametrize("text, message", [
    ('language = "en"\nmode = \n', "not valid TOML: Invalid value (at line 2, column 8)"),
    ('language = "en"\n[kiosk]\nidel = 30\n', "unknown key 'kiosk.idel'"),
    ('colour = "red"\n', "unknown key 'colour'"),
    ('[kiosk]\nidle = "30"\n', "kiosk.idle must be a whole number of seconds from 5 to 86400 (found '30')"),
    ('[kiosk]\nidle = 2\n', "kiosk.idle must be a whole number of seconds from 5 to 86400 (found 2)"),
    ('mode = "taxi"\n', "mode must be one of 'kiosk', 'helpdesk', 'demo' (found 'taxi')"),
    ('database = "relative.db"\n', "database must be an absolute file path (~ allowed) or a postgresql:// URL"),
    ('terminal = ""\n', "terminal must be a name of 1 to 64 printable characters"),
    ('[keys]\nfly = "ctrl+b"\n', "unknown key 'keys.fly'"),
    ('[keys]\noutbox = "Ctrl B"\n', 'keys.outbox must be a key name such as "ctrl+b"'),
    ('keys = "ctrl+b"\n', "keys must be a table"),
])
def test_a_bad_file_is_named_and_nothing_starts(config, capsys, monkeypatch, text, message):
    path = config(text)
    started = []
    monkeypatch.setattr(BeneApp, "run", lambda self, *a, **kw: started.append(self))
    code, out, err = run(capsys, "run")
    assert code == 2 and not started
    assert err.startswith(f"bene-tui: {path}: ") and message in err and "Traceback" not in err
    with pytest.raises(ConfigError):
        Settings.from_env()


def test_a_bad_value_in_the_environment_is_named(monkeypatch, capsys):
    monkeypatch.setenv("BENE_TUI_KIOSK_IDLE", "soon")
    code, _, err = run(capsys, "config")
    assert code == 2 and "BENE_TUI_KIOSK_IDLE must be a whole number" in err


def app_from_config(tmp_path, clock, **kw) -> BeneApp:
    """The app as the CLI starts it: its settings from the environment and the file."""
    return BeneApp(clock=clock, secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False), **kw)


async def test_a_remapped_key_works_and_the_old_one_is_free(config, tmp_path, clock, app_factory):
    app_factory()  # the test world in the database
    config('[keys]\noutbox = "ctrl+b"\nadvance_3600 = "ctrl+n"\n')
    app = app_from_config(tmp_path, clock)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen), "f2 is no longer the outbox"
        await pilot.press("ctrl+b")
        await wait_screen(pilot, OutboxScreen)
        await pilot.press("escape")
        await wait_screen(pilot, StartScreen)
        await pilot.press("ctrl+n")  # a mode's key (the demo clock) remapped the same way
        await wait_for(pilot, lambda: clock.pushed == 3600, what="the demo clock moved")


async def test_idle_times_from_the_file_drive_the_kiosk(config, tmp_path, clock, app_factory):
    app_factory()
    config('[kiosk]\nidle = 30\ncountdown = 5\n')
    app = app_from_config(tmp_path, clock, mode="kiosk")
    fake = [10_000.0]
    app.modes.monotonic = lambda: fake[0]
    app.modes.touch()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_screen(pilot, StartScreen)
        await pilot.press("enter")
        await wait_screen(pilot, Step1Screen)
        await type_into(pilot, "#group_id", "TS000001")
        fake[0] += 29
        app.modes.kiosk.tick()
        await pilot.pause()
        assert isinstance(app.screen, Step1Screen), "not before the file's 30 s"
        fake[0] += 1
        app.modes.kiosk.tick()
        await wait_screen(pilot, CountdownScreen)
        fake[0] += 5  # the file's 5 s countdown, not the default 15
        app.modes.kiosk.tick()
        start = await wait_screen(pilot, StartScreen)
        assert not any(w.value for w in start.query(Input))
