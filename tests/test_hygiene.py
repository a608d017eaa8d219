"""Layering (DESIGN conventions 1 and 6): services and the store import no Textual or Rich, and
screens and widgets never reach for SQL, sqlite-utils or the keyring."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import bene_tui

PACKAGE = Path(bene_tui.__file__).parent

# The user-interface layer. Every other module of the package is a service or the store and
# must import without Textual: a new module is held to that unless it is added here on purpose.
UI_MODULES = {"app", "cli", "modes", "scenario", "serve"}  # serve: textual-serve (rich) in front of the app
UI_PACKAGES = {"screens", "widgets"}
CORE_PACKAGES = {"store"}  # the store package: SQLite and PostgreSQL

FORBIDDEN_IN_UI = ("sqlite_utils", "sqlite3", "keyring", ".execute(", "db[")


def service_modules() -> list[str]:
    names = []
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        if info.ispkg and info.name in CORE_PACKAGES:
            names.append(f"bene_tui.{info.name}")
            names += [f"bene_tui.{info.name}.{sub.name}" for sub in pkgutil.iter_modules([str(PACKAGE / info.name)])]
            continue
        if info.ispkg or info.name in UI_MODULES or info.name == "__main__":
            continue
        names.append(f"bene_tui.{info.name}")
    return sorted(names)


def ui_sources() -> list[Path]:
    return sorted(p for pkg in UI_PACKAGES for p in (PACKAGE / pkg).glob("*.py"))


def test_the_layers_are_what_we_think():
    mods = service_modules()
    for core in ("store", "migrations", "registration", "verification", "identify", "outbox", "codes",
                 "passwords", "normalize", "flows", "audit", "throttle", "context", "secret_store", "roster"):
        assert f"bene_tui.{core}" in mods
    assert not any(m.split(".")[1] in UI_MODULES | UI_PACKAGES for m in mods)
    assert {p.parent.name for p in ui_sources()} == UI_PACKAGES


def test_services_and_store_import_no_textual_or_rich():
    mods = service_modules()
    script = (
        "import importlib, json, sys\n"
        f"for name in {mods!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted({k.split('.')[0] for k in sys.modules} & {'textual', 'rich'})\n"
        "print(json.dumps({'loaded': loaded, 'count': len([k for k in sys.modules if k.startswith('bene_tui.')])}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] >= len(mods)
    assert result["loaded"] == [], f"a service or store module pulls in {result['loaded']}"


def test_the_check_would_catch_a_textual_import():
    """The subprocess check above is not vacuous: importing the UI does load Textual."""
    script = "import sys, bene_tui.app; print(int('textual' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "1", out.stderr


def test_screens_and_widgets_touch_no_sql_or_keyring():
    assert len(ui_sources()) >= 8, "the screens and widgets were not found"
    offenders = []
    for path in ui_sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for word in FORBIDDEN_IN_UI:
                if word in line:
                    offenders.append(f"{path.parent.name}/{path.name}:{n}: {word}: {line.strip()}")
    assert offenders == []

