"""The layout's rules (docs/architecture.md, "Layers"), as import-linter contracts in pyproject.toml:
each folder a layer importing only downwards, Textual and Rich only in the UI, no SQL or keyring in
the UI, and no import circles. grimp, import-linter's graph, reads every import statement, those
inside functions too. Each contract is one test; the last tests show that each would fail."""

from __future__ import annotations

import ast
from copy import deepcopy
from pathlib import Path

import grimp
import pytest
from importlinter import api
from importlinter.cli import lint_imports
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

CONFIG = str(Path(__file__).resolve().parents[1] / "pyproject.toml")
OPTIONS = api.read_configuration(CONFIG)
CONTRACTS = {c["id"]: c for c in OPTIONS["contracts_options"]}
KINDS = {"layers": LayersContract, "forbidden": ForbiddenContract, "acyclic_siblings": AcyclicSiblingsContract}


@pytest.mark.parametrize("contract", sorted(CONTRACTS))
def test_contract_is_kept(contract, capsys):
    code = lint_imports(config_filename=CONFIG, limit_to_contracts=(contract,), no_cache=True)
    assert code == 0, capsys.readouterr().out


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("bene_tui", include_external_packages=True, cache_dir=None)


def check_with(graph, contract: str, *imports: tuple[str, str]):
    """The contract's check of the package's real graph with these imports added."""
    options = CONTRACTS[contract]
    check = KINDS[options["type"]](name=options["name"], session_options=OPTIONS["session_options"],
                                   contract_options=options)
    g = deepcopy(graph)
    for importer, imported in imports:
        g.add_import(importer=importer, imported=imported)
    return check.check(g, verbose=False)


def kept_with(graph, contract: str, *imports: tuple[str, str]) -> bool:
    return check_with(graph, contract, *imports).kept


def test_a_service_importing_a_screen_breaks_the_layers(graph):
    assert not kept_with(graph, "layers", ("bene_tui.services.audit", "bene_tui.ui.screens.start"))


def test_the_store_importing_a_service_breaks_the_layers(graph):
    assert not kept_with(graph, "layers", ("bene_tui.store.sqlite", "bene_tui.services.roster"))


def test_a_new_root_module_must_be_given_a_layer(graph):
    g = deepcopy(graph)
    g.add_module("bene_tui.stray")
    g.add_import(importer="bene_tui.stray", imported="bene_tui.core.errors")
    options = CONTRACTS["layers"]
    check = LayersContract(name=options["name"], session_options=OPTIONS["session_options"], contract_options=options)
    assert not check.check(g, verbose=False).kept


def test_textual_in_a_service_is_refused(graph):
    assert not kept_with(graph, "textual-only-in-ui", ("bene_tui.services.outbox", "textual"))


def test_sqlite_in_a_screen_is_refused(graph):
    assert not kept_with(graph, "no-sql-in-ui", ("bene_tui.ui.screens.start", "sqlite3"))


def test_a_circle_is_refused_even_inside_one_folder(graph):
    """verification imports codes: codes importing verification back is a circle among the services."""
    assert "bene_tui.services" not in check_with(graph, "no-circles").metadata["cycle_breakers_by_package"]
    check = check_with(graph, "no-circles", ("bene_tui.services.codes", "bene_tui.services.verification"))
    assert "bene_tui.services" in check.metadata["cycle_breakers_by_package"]


# An import inside a function is for start-up time only, and says so: a comment beginning
# `# start-up:` or `# lazy:` on its line, or on the line above the first of consecutive imports.
REASONS = ("# start-up:", "# lazy:")
PACKAGE = Path(__file__).resolve().parents[1] / "bene_tui"


def unexplained_imports(source: str) -> list[int]:
    """The line numbers of the imports inside functions in SOURCE that give no reason."""
    lines = source.splitlines()

    def tagged(lineno: int) -> bool:
        line = lines[lineno - 1]
        return line.lstrip().startswith(REASONS) or any(f"  {tag}" in line for tag in REASONS)

    missing = set()
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            for body in (getattr(node, field, None) for field in ("body", "orelse", "finalbody")):
                run: list[ast.stmt] = []  # consecutive imports share the comment above the first
                for stmt in [*(body if isinstance(body, list) else []), None]:
                    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                        run.append(stmt)
                        continue
                    above = run and run[0].lineno > 1 and tagged(run[0].lineno - 1)
                    if run and not above and not any(tagged(i.lineno) for i in run):
                        missing.update(i.lineno for i in run)
                    run = []
    return sorted(missing)


def test_every_import_inside_a_function_gives_its_reason():
    found = {str(p.relative_to(PACKAGE)): unexplained_imports(p.read_text(encoding="utf-8"))
             for p in sorted(PACKAGE.rglob("*.py"))}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_an_unexplained_import_inside_a_function_is_found():
    source = (PACKAGE / "cli.py").read_text(encoding="utf-8")
    assert unexplained_imports(source) == []
    assert unexplained_imports(source + "\n\ndef late():\n    import json\n    return json\n") \
        == [len(source.splitlines()) + 4]
    assert unexplained_imports("def f():\n    # start-up: why\n    import a\n    import b\n") == []
    assert unexplained_imports("def f():\n    # start-up: why\n    import a\n    x = 1\n    import b\n") == [5]


def test_the_start_path_leaves_the_store_to_the_worker():
    """bench/startup.py's margin: the app and its modes draw the start screen before sqlite-utils (about
    60 ms) and the store load; they load in the worker that opens the database (ui/app.py `_open`)."""
    import subprocess
    import sys

    code = ("import sys, bene_tui.cli, bene_tui.ui.app, bene_tui.ui.modes; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlite_utils' or m.startswith('bene_tui.store')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "[]"


_FIRST_SCREEN = """
import sys
from bene_tui.ui.app import BeneApp
from bene_tui.ui import staff_text

app = BeneApp(mode="demo")
async def auto(pilot):
    while type(app.screen).__name__ != "StartScreen" or app.ctx is None:
        await pilot.pause(0.01)
    await pilot.pause(0.1)
    later = ("bene_tui.ui.widgets.live_outbox", "bene_tui.ui.screens.demo", "bene_tui.ui.screens.outbox")
    print(sorted(m for m in later if m in sys.modules), staff_text.patterns.cache_info().currsize)
    app.exit()
app.run(headless=True, size=(%d, %d), auto_pilot=auto)
"""


@pytest.mark.parametrize("size, loaded", [((120, 40), "[] 0"),
                                          ((160, 45), "['bene_tui.ui.screens.outbox', 'bene_tui.ui.widgets.live_outbox'] 0")])
def test_the_first_screen_loads_what_it_shows(tmp_path, size, loaded):
    """bench/startup.py's margin: in demo mode the live outbox panel's modules load with the first
    panel shown (160 columns; at 120 there is none), the delivery-trouble dialog's with the first
    trouble, and the helpdesk's staff patterns with the first staff text (ui/modes.py, ui/staff_text.py)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("BENE_TUI_")}
    env.update(BENE_TUI_DB=str(tmp_path / "bene.db"), BENE_TUI_NO_KEYRING="1",
               BENE_TUI_SECRETS_FILE=str(tmp_path / "secrets.json"), BENE_TUI_CONFIG=str(tmp_path / "none.toml"))
    out = subprocess.run([sys.executable, "-c", _FIRST_SCREEN % size], capture_output=True, text=True, env=env,
                         timeout=120, cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == loaded, out.stderr[-3000:]


# -- the tests' own layout (issue 14): what tests share lives in tests/helpers.py and tests/support/,
# fixtures in tests/conftest.py; no test module imports another test module or conftest.
TESTS = Path(__file__).resolve().parent


def _test_modules_imported(source: str) -> list[str]:
    """The `conftest` and `test_*` modules `source` imports, those inside functions too."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split(".")[0] == "conftest" or n.split(".")[0].startswith("test_")]
    return found


def test_no_test_module_imports_another_test_module_or_conftest():
    offenders = {str(path.relative_to(TESTS)): names for path in sorted(TESTS.rglob("*.py"))
                 if (names := _test_modules_imported(path.read_text(encoding="utf-8")))}
    assert offenders == {}, "move what is shared into tests/support/ (fixtures into conftest.py)"


def test_an_import_of_a_test_module_or_conftest_is_found():
    source = ("from conftest import GOOD_PASSWORD\nfrom support.world import START\n"
              "def f():\n    import test_auth\n    from test_family import member\n")
    assert _test_modules_imported(source) == ["conftest", "test_auth", "test_family"]
