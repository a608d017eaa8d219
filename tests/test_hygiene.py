"""Layering (DESIGN conventions 1 and 6): screens and widgets never reach for SQL. Which module may
import which (Textual only in the UI, no sqlite3, sqlite-utils or keyring there, the layers' order)
is import-linter's job: tests/test_layers.py. This is what an import graph cannot see."""

from __future__ import annotations

from pathlib import Path

from bene_tui.ui import screens, widgets

FORBIDDEN_IN_UI = ("sqlite_utils", "sqlite3", "keyring", ".execute(", "db[")


def ui_sources() -> list[Path]:
    return sorted(p for pkg in (screens, widgets) for p in Path(pkg.__file__).parent.glob("*.py"))


def test_screens_and_widgets_touch_no_sql_or_keyring():
    assert len(ui_sources()) >= 8, "the screens and widgets were not found"
    offenders = []
    for path in ui_sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for word in FORBIDDEN_IN_UI:
                if word in line:
                    offenders.append(f"{path.parent.name}/{path.name}:{n}: {word}: {line.strip()}")
    assert offenders == []


def test_every_test_docs_security_cites_exists():
    """docs/security.md says which test proves each rule: a renamed or removed test fails here, not
    silently in the document."""
    import ast
    import re

    root = Path(__file__).parent
    doc = (root.parent / "docs" / "security.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(test_\w+\.py)::(test_\w+)(?:\[[^\]]*\])?`", doc)
    files = set(re.findall(r"`(test_\w+\.py)(?:::|`)", doc))
    assert len(cited) > 100, "the citations were not found"
    missing = [f for f in files if not (root / f).is_file()]
    defined: dict[str, set[str]] = {}
    for f in files - set(missing):
        tree = ast.parse((root / f).read_text(encoding="utf-8"))
        defined[f] = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    missing += [f"{f}::{name}" for f, name in cited if f in defined and name not in defined[f]]
    assert missing == []
