"""Shared fixtures: every test gets its own database, secrets file and a fixed clock."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import replace

import pytest

from bene_tui.core.clock import Clock
from bene_tui.core.config import Rules, Settings
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore

# 2026-04-01 09:00 JST: registration peak, fixed so expiry and snapshots are repeatable.
START = 1774998000.0
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}


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
_DB_TARGETS: dict[str, str] = {}  # tmp_path → this test's database URL (PostgreSQL tests)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about SQLite's files themselves; not run on PostgreSQL")
    config.addinivalue_line("markers", "postgresql_only: about the PostgreSQL server (restarts, its indexes)")


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): a worker per core for the whole suite (`python -m pytest`),
    none for a run of named files or tests, where starting workers costs more than it saves."""
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        return 0
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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


def make_settings(tmp_path, **kw) -> Settings:
    rules = Rules(**CHEAP_ARGON2)
    target = _DB_TARGETS.get(str(tmp_path), str(tmp_path / "bene.db"))
    return Settings(db_path=target, terminal="test-terminal", rules=rules, **kw)


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


# A small world of our own, so tests do not depend on the demo data's contents.
TEST_WORLD = {
    "organisations": [
        {
            "group_id": "TS000001", "name": "テスト商事株式会社",
            "services": ["benefit_station", "bene_learning"],
            "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)",
                          "key1_label_en": "Employee number", "key2_label_en": "Date of birth (YYYYMMDD)"},
            "family": {"enabled": True, "max_degree": 2, "max_accounts": 10},
            "members": [
                {"auth_key_1": "1001", "auth_key_2": "19850401", "name": "山田 太郎", "kana": "ヤマダ タロウ",
                 "birth_date": "1985-04-01", "email_on_file": "taro@test-shoji.example.jp"},
                {"auth_key_1": "1002", "auth_key_2": "19900512", "name": "[b]太郎[/b]", "kana": "テスト タロウ",
                 "birth_date": "1990-05-12", "email_on_file": "markup@test-shoji.example.jp"},
                {"auth_key_1": "1003", "auth_key_2": "19781120", "name": "佐藤 花子", "kana": "サトウ ハナコ",
                 "birth_date": "1978-11-20", "email_on_file": "hanako@test-shoji.example.jp",
                 "services": ["benefit_station"]},
                {"auth_key_1": "1004", "auth_key_2": "19950303", "name": "鈴木 一郎", "kana": "スズキ イチロウ",
                 "birth_date": "1995-03-03", "email_on_file": "ichiro@test-shoji.example.jp"},
            ],
        },
        {
            "group_id": "TS000002", "name": "テスト市役所",
            "services": ["benefit_station", "bene_wellness"],
            "auth_keys": {"key1_label": "職員番号", "key2_label": "会員番号",
                          "key1_label_en": "Staff number", "key2_label_en": "Member number"},
            "family": {"enabled": False, "max_degree": 2, "max_accounts": 10},
            "members": [
                {"auth_key_1": "A-77", "auth_key_2": "M9001", "name": "山田 太郎", "kana": "ヤマダ タロウ",
                 "birth_date": "1985-04-01", "email_on_file": "yamada@city.example.jp"},
                {"auth_key_1": "A-78", "auth_key_2": "M9002", "name": "高橋 美咲", "kana": "タカハシ ミサキ",
                 "birth_date": "1992-08-08", "email_on_file": "misaki@city.example.jp"},
            ],
        },
    ]
}

GOOD_PASSWORD = "kumo-no-ue-de-odoru-neko-42"


def import_test_world(context, directory) -> None:
    """TEST_WORLD imported as a roster file (written into `directory`) would be."""
    import json

    from bene_tui.services import roster

    path = directory / "world.json"
    path.write_text(json.dumps(TEST_WORLD, ensure_ascii=False), encoding="utf-8")
    roster.import_file(context, path)


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
