"""One key for all hosts of a store: the store keeps the key's fingerprint, a host with another
key (or none) is refused, `bene-tui key export` / `key import` carry it, `db check` tells."""

from __future__ import annotations

import io

import pytest

from bene_tui import cli
from bene_tui.services import keys, registration
from bene_tui.services.context import open_context
from bene_tui.services.secret_store import SecretStore
from support.world import GOOD_PASSWORD, make_settings


def host(tmp_path, name: str, clock, monkeypatch=None):
    """Another terminal host: the same store, its own secret store."""
    if monkeypatch:
        monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / f"{name}.json"))
    return open_context(make_settings(tmp_path), clock=clock,
                        secret_store=SecretStore(tmp_path / f"{name}.json", use_keyring=False))[0]


def start_registration(ctx, key1="1001", key2="19850401", login="taro@example.jp"):
    flow_id = registration.start(ctx, "TS000001", key1, key2).flow_id
    return flow_id, registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD, True, "ja")["code"]


def test_the_store_keeps_the_fingerprint_never_the_key(world):
    start_registration(world)
    stored = keys.stored_fingerprint(world)
    assert stored == keys.fingerprint(world.hmac_key)
    values = [r[0] for r in world.db.execute("select value from settings")]
    assert all(world.hmac_key.hex() not in (v or "") for v in values)


def test_a_host_without_the_key_is_refused_until_it_imports_it(world, tmp_path, clock, monkeypatch, capsys):
    flow_id, code = start_registration(world)  # host A sends a code, hashed with its key
    with pytest.raises(keys.KeyMismatchError, match="key import"):
        host(tmp_path, "host-b", clock)
    monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / "secrets.json"))  # on host A
    assert cli.main(["key", "export"]) == 0
    line = capsys.readouterr().out.strip()
    assert world.hmac_key.hex() in line
    monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / "host-b.json"))  # on host B
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    assert cli.main(["key", "import"]) == 0
    b = host(tmp_path, "host-b", clock)
    assert registration.verify_code(b, flow_id, code)  # host A's code checks at host B


def test_a_host_with_another_key_is_refused_and_db_check_says_so(world, tmp_path, clock, monkeypatch, capsys):
    start_registration(world)
    other = SecretStore(tmp_path / "host-c.json", use_keyring=False)
    other.hmac_key(world.db_id)  # a key of its own, made before it met this store
    with pytest.raises(keys.KeyMismatchError, match="differs"):
        host(tmp_path, "host-c", clock)
    monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / "host-c.json"))
    assert cli.main(["db", "check"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "schema: version" in out
    monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / "secrets.json"))
    assert cli.main(["db", "check"]) == 0
    out = capsys.readouterr().out
    backend = "PostgreSQL" if world.store.path.startswith("postgresql://") else "SQLite file"
    assert backend in out and "key matches" in out


def test_an_exported_line_for_another_store_is_refused(world, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("bene-tui-key:v1:" + "0" * 16 + ":" + "ab" * 32 + "\n"))
    monkeypatch.setenv("BENE_TUI_SECRETS_FILE", str(tmp_path / "host-d.json"))
    assert cli.main(["key", "import"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("not a key\n"))
    assert cli.main(["key", "import"]) == 2
