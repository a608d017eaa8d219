"""Secrets (SPEC §4, DESIGN convention 8): the key for hashing codes lives in the keyring or a
0600 file, never in SQLite; codes are stored only as keyed hashes; the audit trail carries no
password, code or token. No test here touches the real user keyring."""

from __future__ import annotations

import re
import stat

import keyring
import pytest
from keyring.backend import KeyringBackend

from bene_tui.services import codes, registration
from bene_tui.services.secret_store import SERVICE, SecretStore
from support.world import GOOD_PASSWORD


class MemoryKeyring(KeyringBackend):
    """A keyring backend that works, in memory, for this test only."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch):
    monkeypatch.delenv("BENE_TUI_NO_KEYRING", raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def register(ctx, login="taro@example.jp", key1="1001", key2="19850401") -> tuple[str, dict]:
    flow_id = registration.start(ctx, "TS000001", key1, key2).flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", login, GOOD_PASSWORD, True)
    return flow_id, message


def db_bytes(tmp_path) -> bytes:
    return b"".join(p.read_bytes() for p in (tmp_path / "bene.db", tmp_path / "bene.db-wal") if p.exists())


@pytest.mark.sqlite_only
def test_file_fallback_is_private_and_the_key_is_not_in_the_database(world, tmp_path):
    register(world)
    secrets_file = tmp_path / "secrets.json"
    assert secrets_file.exists()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    key_hex = world.hmac_key.hex()
    assert key_hex in secrets_file.read_text()
    assert (tmp_path / "bene.db-wal").exists()
    data = db_bytes(tmp_path)
    assert key_hex.encode() not in data and world.hmac_key not in data
    # the database only names its key (a random id), it does not hold it
    rows = list(world.db.query("select key, value from settings"))
    assert all(key_hex not in (r["value"] or "") for r in rows)


def test_keyring_is_used_when_a_backend_works(memory_keyring, tmp_path):
    store = SecretStore(tmp_path / "secrets.json")
    key = store.hmac_key("abc123")
    assert len(key) == 32
    assert memory_keyring.items == {(SERVICE, "hmac-key:abc123"): key.hex()}
    assert not (tmp_path / "secrets.json").exists()
    assert store.hmac_key("abc123") == key  # stable
    assert store.hmac_key("other-db") != key  # one key per database


def test_no_working_keyring_falls_back_to_the_file(tmp_path, monkeypatch):
    from keyring.backends import fail

    monkeypatch.delenv("BENE_TUI_NO_KEYRING", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        store = SecretStore(tmp_path / "secrets.json")
        key = store.hmac_key("abc123")
    finally:
        keyring.set_keyring(previous)
    assert key.hex() in (tmp_path / "secrets.json").read_text()
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_codes_are_keyed_hashes_bound_to_their_flow(world):
    flow_id, message = register(world)
    row = list(world.db.query("select * from codes"))[0]
    assert re.fullmatch(r"[0-9a-f]{64}", row["code_hash"])
    assert message["code"] not in row["code_hash"]
    assert codes.matches(world.hmac_key, f"verification:{flow_id}", message["code"], row["code_hash"])
    # another key, another flow or another purpose: no match
    assert not codes.matches(b"\x00" * 32, f"verification:{flow_id}", message["code"], row["code_hash"])
    assert not codes.matches(world.hmac_key, "verification:another-flow", message["code"], row["code_hash"])
    assert not codes.matches(world.hmac_key, f"password_reset:{flow_id}", message["code"], row["code_hash"])


def test_password_and_codes_never_in_audit_flows_or_accounts_in_clear(world, clock):
    flow_id, first = register(world)
    clock.advance(61)
    second = registration.resend_code(world, flow_id)
    registration.verify_code(world, flow_id, second["code"])
    account_id = registration.complete(world, flow_id, True)
    registration.grant_benefit(world, account_id)

    acct = world.db["accounts"].get(account_id)
    assert acct["password_hash"].startswith("$argon2id$") and GOOD_PASSWORD not in acct["password_hash"]
    for table in ("audit", "flows", "accounts", "codes", "throttle", "settings", "benefits", "account_members"):
        for row in world.db[table].rows:
            text = " ".join(str(v) for v in row.values() if v is not None)
            assert GOOD_PASSWORD not in text, table
            for code in (first["code"], second["code"]):
                assert not re.search(rf"(?<!\d){code}(?!\d)", text), (table, row)
    # the outbox holds each code once, in its own message
    assert [r["code"] for r in world.db.query("select code from outbox order by id")] == [first["code"], second["code"]]


@pytest.mark.sqlite_only
def test_password_bytes_absent_from_main_file_and_wal(world, tmp_path):
    register(world)
    data = db_bytes(tmp_path)
    assert b"$argon2id$" in data  # the hash was written ...
    assert GOOD_PASSWORD.encode() not in data  # ... the password never
    assert GOOD_PASSWORD.encode("utf-16-le") not in data
