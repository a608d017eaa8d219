"""Shared fixtures: every test gets its own database, secrets file and a fixed clock."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import replace

import pytest

from bene_tui.core.clock import Clock
from bene_tui.core.config import Rules, Settings
from bene_tui.core.runtime_tricks import QuietCollector
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from support.world import _DB_TARGETS, CHEAP_ARGON2, START, import_test_world, make_settings


@pytest.fixture(autouse=True)
def _isolate(tmp_path, monkeypatch):
    """No test touches the real keyring, data directory or the developer's settings."""
    for key in list(os.environ):
        if key.startswith("BENE_TUI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("BENE_TUI_NO_KEYRING", "1")
    monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("BENE_TUI_DB", str(tmp_path / "bene.db"))
    monkeypatch.setenv("BENE_TUI_TERMINAL", "test-terminal")
    for k, v in CHEAP_ARGON2.items():
        monkeypatch.setenv("BENE_TUI_" + k.upper(), str(v))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BENE_TUI_CONFIG", str(tmp_path / "config.toml"))  # absent unless a test writes it


# The app's full collections (core/runtime_tricks.py QuietCollector) come SETTLE after a screen is shown:
# 0.15 s, before a person has read it, one collection a screen. A test goes through a screen in a few
# hundred ms, and at 0.15 s nearly every screen it passed brought a full collection of everything the
# test holds again: 15% of the suite's CPU (2 cores, SQLite half: 3m04s; at 1 s 2m53s; at 2 s 2m37s).
# The suite waits TEST_SETTLE; FULL still bounds the garbage. `people_settle` gives a test the app's own
# value: test_chrome.py times the collections against it, and checks what a closed screen leaves behind
# (a pending settle timer's task holds the screen it was set from until it falls due).
PEOPLE_SETTLE = QuietCollector.SETTLE
TEST_SETTLE = 2.0


@pytest.fixture(autouse=True, scope="session")
def _settle_as_tests_do():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(QuietCollector, "SETTLE", TEST_SETTLE)
        yield


@pytest.fixture
def people_settle(monkeypatch) -> float:
    """The app's own SETTLE for this test (the suite's is TEST_SETTLE)."""
    monkeypatch.setattr(QuietCollector, "SETTLE", PEOPLE_SETTLE)
    return PEOPLE_SETTLE


@pytest.fixture(autouse=True)
def _fresh_heap():
    """The app's full collections (core/runtime_tricks.py QuietCollector) walk every object the process holds; a kiosk's
    process holds one app, this one what hundreds of earlier tests left alive (90 ms a collection,
    a quarter of a screen test's time). Freezing the survivors before each test lets those
    collections walk this test's objects only, as a kiosk's walk its app's."""
    import gc

    gc.collect()
    gc.freeze()


# -- the two backends -----------------------------------------------------------------------
# Every test that takes `ctx`, `world`, `app_factory` or `db_target` runs on SQLite and on
# PostgreSQL (a server this session starts, tests/pg_cluster.py); @pytest.mark.sqlite_only keeps
# a test about SQLite's files to SQLite. BENE_TUI_BACKENDS=sqlite runs one side only;
# BENE_TUI_REQUIRE_PG=1 (.ci/run) fails instead of skipping when no server binaries exist.
BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about SQLite's files themselves; not run on PostgreSQL")
    config.addinivalue_line("markers", "postgresql_only: about the PostgreSQL server (restarts, its indexes)")


# Workers per core for the whole suite. A screen test's process is on the CPU only a third to half of
# its time: Pilot waits for idle in 20 ms slices after every key, and the app's timers and service
# threads take their time. Three workers a core keep the cores busy (2 cores, SQLite half: one a core
# 6m21s, two 3m56s, three 3m05s, four 3m28s).
WORKERS_PER_CORE = 3


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): WORKERS_PER_CORE workers a core for the whole suite
    (`python -m pytest`), none for a run of named files or tests, where starting workers costs more
    than it saves."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return WORKERS_PER_CORE * cores


def _chosen_backends() -> list[str]:
    return [b for b in os.environ.get("BENE_TUI_BACKENDS", ",".join(BACKENDS)).split(",") if b in BACKENDS]


def pytest_collection_modifyitems(config, items):
    if "sqlite" not in _chosen_backends():  # a PostgreSQL-only run leaves out the SQLite-only tests
        kept = [i for i in items if not i.get_closest_marker("sqlite_only")]
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = _chosen_backends()
        if metafunc.definition.get_closest_marker("sqlite_only"):
            return  # not parametrized: its id (and a snapshot's file name) stays as it was
        if metafunc.definition.get_closest_marker("postgresql_only"):
            chosen = [b for b in chosen if b == "postgresql"]
        metafunc.parametrize("backend", chosen, indirect=True)


@pytest.fixture
def backend(request):
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_server():
    """This session's PostgreSQL, with a migrated and seeded template database to copy per test."""
    from pg_cluster import Cluster, find_bindir

    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL tests skipped: no server binaries (/usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)"
        if os.environ.get("BENE_TUI_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = Cluster(bindir).start()
    try:
        import psycopg

        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("create database bene_template")
        settings = Settings(db_path=cluster.url("bene_template"), terminal="test-terminal", rules=Rules(**CHEAP_ARGON2))
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            context, _ = open_context(settings, clock=Clock(start=START),
                                      secret_store=SecretStore(os.path.join(tmp, "s.json"), use_keyring=False))
            context.store.close()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def db_target(backend, tmp_path, monkeypatch, request):
    """This test's database: a file in tmp_path, or a fresh copy of the PostgreSQL template."""
    if backend == "sqlite":
        yield str(tmp_path / "bene.db")
        return
    import psycopg

    cluster = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"create database {name} template bene_template")
    url = cluster.url(name)
    _DB_TARGETS[str(tmp_path)] = url
    monkeypatch.setenv("BENE_TUI_DB", url)
    yield url
    del _DB_TARGETS[str(tmp_path)]
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"drop database if exists {name} with (force)")


@pytest.fixture
def clock():
    return Clock(start=START)


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory):
    """Migrated and seeded SQLite files, built once per session (per xdist worker) and copied per
    test: migrating and importing the demo data took most of a small test's set-up.
    "demo" is what `ctx` starts from, "world" (with TEST_WORLD) what `app_factory` starts from."""
    root = tmp_path_factory.mktemp("templates")
    secret_store = SecretStore(root / "secrets.json", use_keyring=False)
    settings = Settings(db_path=str(root / "demo.db"), terminal="test-terminal", rules=Rules(**CHEAP_ARGON2))
    context, _ = open_context(settings, clock=Clock(start=START), secret_store=secret_store)
    context.store.close()
    shutil.copy(root / "demo.db", root / "world.db")
    context, _ = open_context(replace(settings, db_path=str(root / "world.db")), clock=Clock(start=START),
                              secret_store=secret_store)
    import_test_world(context, root)
    context.store.close()
    return {"demo": root / "demo.db", "world": root / "world.db"}


def _from_template(request, backend, tmp_path, clock, which: str) -> bool:
    """Copy a template into this test's (not yet existing) SQLite file; False where the test's set-up
    must run for real (PostgreSQL has its own template, a file already made, a clock moved)."""
    target = tmp_path / "bene.db"
    if backend != "sqlite" or target.exists() or clock.now() != START:
        return False
    shutil.copy(request.getfixturevalue("_sqlite_templates")[which], target)  # keeps the file's 0600
    return True


@pytest.fixture
def ctx(tmp_path, clock, db_target, backend, request):
    """A seeded demo world on a fresh database."""
    _from_template(request, backend, tmp_path, clock, "demo")
    context, _ = open_context(make_settings(tmp_path), clock=clock,
                              secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    yield context
    context.store.close()


@pytest.fixture
def world(ctx, tmp_path):
    """ctx with the test organisations imported beside the demo data."""
    import_test_world(ctx, tmp_path)
    return ctx


@pytest.fixture
def app_factory(tmp_path, clock, db_target, backend, request):
    """BeneApp on this test's database with the test world imported and a fixed clock."""
    from bene_tui.ui.app import BeneApp

    settings = make_settings(tmp_path)
    secret_store = SecretStore(tmp_path / "secrets.json", use_keyring=False)
    if not _from_template(request, backend, tmp_path, clock, "world"):
        setup_ctx, _ = open_context(settings, clock=clock, secret_store=secret_store)
        import_test_world(setup_ctx, tmp_path)
        setup_ctx.store.close()

    def make(lang: str = "ja", mode: str = "demo", real_clock: bool = False, **kw) -> BeneApp:
        """`real_clock`: the wall clock, where a person's timing matters (the kiosk's own codes)."""
        s = make_settings(tmp_path, lang=lang, mode=mode)
        return BeneApp(settings=s, clock=Clock() if real_clock else clock, secret_store=secret_store, **kw)

    return make


@pytest.fixture
def sctx(app_factory, tmp_path, clock):
    """A service context on the app's database (the test world is imported by app_factory)."""
    context, _ = open_context(make_settings(tmp_path), clock=clock,
                              secret_store=SecretStore(tmp_path / "secrets.json", use_keyring=False))
    yield context
    context.store.close()
