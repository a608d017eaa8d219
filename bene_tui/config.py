"""Settings: a flag wins over a BENE_TUI_* environment variable, which wins over the config file
(config.toml in the platform's config directory, or BENE_TUI_CONFIG), which wins over the default.

The file is read whole and checked before anything starts: a syntax error names its line, an
unknown key is named, a wrong value names its key and the form expected (ConfigError; the CLI
prints it and exits 2).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from platformdirs import user_config_path

MODES = ("kiosk", "helpdesk", "demo")
LANGS = ("ja", "en")


@dataclass
class Rules:
    """The numbers of SPEC §4. Every one can be changed for a deployment or a test."""

    password_min: int = 12
    password_max: int = 128
    password_min_score: int = 3  # zxcvbn score 0..4
    code_ttl: int = 10 * 60
    code_max_attempts: int = 5
    code_resend_after: int = 60
    code_sends_per_hour: int = 5
    provisional_ttl: int = 24 * 3600
    step1_free_failures: int = 5
    step1_wait: int = 60
    login_free_failures: int = 5
    login_wait_step: int = 60
    login_wait_max: int = 15 * 60
    login_reset_after: int = 12 * 3600
    login_max_per_hour: int = 100
    approval_ttl: int = 72 * 3600
    invitation_ttl: int = 7 * 24 * 3600
    invitation_max_attempts: int = 5
    family_max_accounts: int = 10
    # Argon2id cost; tests lower it to keep the suite fast on two cores.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    kiosk_idle: int = 90
    kiosk_countdown: int = 15
    kiosk_done_return: int = 20
    audit_retention_days: int = 400  # `bene-tui audit prune` without --before removes rows older than this


class ConfigError(ValueError):
    """A bad setting in the file or the environment; its message says where and what is expected."""


@dataclass(frozen=True)
class Option:
    """One setting the file can hold: its name there, its environment variable, its flag."""

    name: str  # in the file: "language", or "section.key" for a key in a [section] table
    env: str
    check: Callable[[Any, bool], Any]  # (value, came as text) → the value, or ValueError(expected form)
    flag: str | None = None
    rule: str | None = None  # the Rules field it sets


def _choice(options: tuple[str, ...]) -> Callable[[Any, bool], str]:
    def check(value: Any, text: bool) -> str:
        if not isinstance(value, str) or value.lower() not in options:
            raise ValueError(f"one of {', '.join(repr(o) for o in options)}")
        return value.lower()

    return check


def _database(value: Any, text: bool) -> str:
    expected = "an absolute file path (~ allowed) or a postgresql:// URL"
    if not isinstance(value, str) or not value.strip():
        raise ValueError(expected)
    if value.startswith(("postgresql://", "postgres://")) or text:  # the environment keeps its old meaning
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ValueError(expected)
    return str(path)


def _terminal(value: Any, text: bool) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise ValueError("a name of 1 to 64 printable characters, e.g. \"kiosk-3F-east\"")
    return value


def _whole(low: int, high: int, unit: str) -> Callable[[Any, bool], int]:
    def check(value: Any, text: bool) -> int:
        if text and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number of {unit} from {low} to {high}")
        return value

    return check


OPTIONS = (
    Option("language", "BENE_TUI_LANG", _choice(LANGS), flag="--lang"),
    Option("mode", "BENE_TUI_MODE", _choice(MODES), flag="--mode"),
    Option("database", "BENE_TUI_DB", _database, flag="--db"),
    Option("terminal", "BENE_TUI_TERMINAL", _terminal),
    Option("kiosk.idle", "BENE_TUI_KIOSK_IDLE", _whole(5, 86400, "seconds"), rule="kiosk_idle"),
    Option("kiosk.countdown", "BENE_TUI_KIOSK_COUNTDOWN", _whole(1, 600, "seconds"), rule="kiosk_countdown"),
    Option("kiosk.done_return", "BENE_TUI_KIOSK_DONE_RETURN", _whole(1, 3600, "seconds"), rule="kiosk_done_return"),
    Option("audit.retention_days", "BENE_TUI_AUDIT_RETENTION_DAYS", _whole(1, 36500, "days"),
           rule="audit_retention_days"),
)
BY_NAME = {o.name: o for o in OPTIONS}
KEYS_TABLE = "keys"  # [keys] binding id = "key" or "key1,key2": Textual's keymap
KEY_RE = re.compile(r"((ctrl|shift|alt|meta|super|hyper)\+)*[a-z0-9_]+")
# Every binding [keys] can remap: its id → its default key. The one list: the app's, the screens'
# and the modes' bindings take their keys from here (app.py, screens/base.py, modes.py).
KEYS: dict[str, str] = {
    "outbox": "f2", "language": "f4",  # BeneApp
    "back": "escape", "guide": "f1", "search": "f3", "operations": "ctrl+t",  # BaseScreen
    "operator": "ctrl+o",  # kiosk mode
    "panel": "f3", "advance_60": "f5", "advance_600": "f6", "advance_3600": "f7", "advance_86400": "f8",
    "trouble": "f9", "reset": "ctrl+r", "rewind": "ctrl+t",  # demo mode
}


def config_path() -> Path:
    env = os.environ.get("BENE_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return user_config_path("bene-tui", appauthor=False) / "config.toml"


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = prefix + key
        if isinstance(value, dict) and name != KEYS_TABLE and (prefix + key + ".") in _SECTIONS:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


_SECTIONS = {o.name.rsplit(".", 1)[0] + "." for o in OPTIONS if "." in o.name}


def read_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """(settings by option name, keymap) from the file; an absent file is empty. ConfigError on anything wrong."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    values, keymap = {}, {}
    for name, value in _flatten(data).items():
        if name == KEYS_TABLE:
            keymap = _keymap(path, value)
            continue
        option = BY_NAME.get(name)
        if option is None:
            known = ", ".join([*BY_NAME, "[keys]"])
            raise ConfigError(f"{path}: unknown key {name!r} (known: {known})")
        try:
            values[name] = option.check(value, False)
        except ValueError as exc:
            raise ConfigError(f"{path}: {name} must be {exc} (found {value!r})") from None
    return values, keymap


def _keymap(path: Path, table: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: keys must be a table: [keys] then lines like outbox = \"ctrl+b\"")
    known = binding_defaults()
    for binding_id, keys in table.items():
        if binding_id not in known:
            raise ConfigError(f"{path}: unknown key 'keys.{binding_id}' (the bindings: {', '.join(sorted(known))})")
        parts = keys.split(",") if isinstance(keys, str) else []
        if not parts or not all(KEY_RE.fullmatch(k.strip()) for k in parts):
            raise ConfigError(f"{path}: keys.{binding_id} must be a key name such as \"ctrl+b\" or \"f10\", or "
                              f"several separated by commas (found {keys!r})")
    return {k: ",".join(p.strip() for p in v.split(",")) for k, v in table.items()}


def binding_defaults() -> dict[str, str]:
    """Every binding the [keys] table can remap: id → its default key (the app's, the screens', the modes')."""
    return dict(KEYS)


@dataclass
class Settings:
    db_path: str | None = None
    lang: str = "ja"
    mode: str = "demo"
    terminal: str = field(default_factory=lambda: os.environ.get("BENE_TUI_TERMINAL") or os.uname().nodename)
    rules: Rules = field(default_factory=Rules)
    keymap: dict[str, str] = field(default_factory=dict)  # binding id → keys, from the file's [keys]
    sources: dict[str, str] = field(default_factory=dict)  # option name → "flag (--db)", "file", ...
    config_file: Path | None = None

    @classmethod
    def from_env(cls, db_path: str | None = None, lang: str | None = None, mode: str | None = None) -> "Settings":
        """The effective settings: flags (the arguments), then the environment, then the file, then defaults."""
        env = os.environ
        rules = Rules()
        for f in fields(Rules):  # every rule can come from the environment (tests, deployments)
            raw = env.get("BENE_TUI_" + f.name.upper())
            if raw:
                try:
                    setattr(rules, f.name, int(raw))
                except ValueError:
                    raise ConfigError(f"BENE_TUI_{f.name.upper()} must be a whole number (found {raw!r})") from None
        path = config_path()
        from_file, keymap = read_file(path)
        flags = {"language": lang, "mode": mode, "database": db_path}
        chosen: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for option in OPTIONS:
            if flags.get(option.name):
                value, source = option.check(flags[option.name], True), f"flag ({option.flag})"
            elif env.get(option.env):
                try:
                    value = option.check(env[option.env], True)
                except ValueError as exc:
                    raise ConfigError(f"{option.env} must be {exc} (found {env[option.env]!r})") from None
                source = f"environment ({option.env})"
            elif option.name in from_file:
                value, source = from_file[option.name], f"file ({path})"
            else:
                continue
            chosen[option.name], sources[option.name] = value, source
            if option.rule:
                setattr(rules, option.rule, value)
        settings = cls(db_path=chosen.get("database"), lang=chosen.get("language", "ja"),
                       mode=chosen.get("mode", "demo"), rules=rules, keymap=keymap, sources=sources,
                       config_file=path)
        if "terminal" in chosen:
            settings.terminal = chosen["terminal"]
        return settings

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")

    def effective(self) -> list[tuple[str, Any, str]]:
        """(name, value, where it came from) for every option and every key binding: `bene-tui config`."""
        values = {"language": self.lang, "mode": self.mode, "database": self.db_path, "terminal": self.terminal}
        out = [(o.name, getattr(self.rules, o.rule) if o.rule else values[o.name], self.source(o.name))
               for o in OPTIONS]
        for binding_id, key in sorted(binding_defaults().items()):
            remapped = self.keymap.get(binding_id)
            out.append((f"keys.{binding_id}", remapped or key,
                        f"file ({self.config_file})" if remapped else "default"))
        return out
