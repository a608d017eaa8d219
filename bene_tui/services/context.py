"""The Context every service takes first: the store, the clock, the settings, the secrets, who acts."""

from __future__ import annotations

import os
import secrets as _secrets
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from bene_tui.core.clock import Clock
from bene_tui.core.config import Rules, Settings
from bene_tui.core.paths import DEMO_FILE, default_db_path, user_data_dir
from bene_tui.store import Store, is_postgres_url, open_store
from . import keys, roster, shared_clock
from .secret_store import SecretStore


@dataclass
class Context:
    store: Store
    clock: Clock
    settings: Settings
    secret_store: SecretStore
    actor: str = "user"
    lang: str = "ja"

    @property
    def db(self):
        return self.store.db

    @property
    def rules(self) -> Rules:
        return self.settings.rules

    @property
    def terminal(self) -> str:
        return self.settings.terminal

    def now(self) -> float:
        return self.clock.now()

    def sync_clock(self) -> None:
        """Read the demo clock every terminal on this store shares (services/shared_clock.py)."""
        shared_clock.load(self)

    def tx(self):
        return self.store.tx()

    @cached_property
    def hmac_key(self) -> bytes:
        key = self.secret_store.hmac_key(self.db_id)
        keys.record(self, key)  # the store keeps its fingerprint: other hosts must bring the same key
        return key

    @cached_property
    def db_id(self) -> str:
        """A random id written once into the database; names its key in the secret store."""
        row = self.db.execute("select value from settings where key = 'db_id'").fetchone()
        if row:
            return row[0]
        with self.tx() as db:
            db["settings"].insert({"key": "db_id", "value": _secrets.token_hex(8)}, ignore=True)
        return self.db.execute("select value from settings where key = 'db_id'").fetchone()[0]

    def as_actor(self, actor: str) -> "Context":
        """The same world seen by another actor (e.g. an operator); shares store, clock and key."""
        other = replace(self, actor=actor)
        other.__dict__.update({k: v for k, v in self.__dict__.items() if k in ("hmac_key", "db_id")})
        return other


def default_secrets_file() -> Path:
    env = os.environ.get("BENE_TUI_SECRETS_FILE")
    if env:
        return Path(env)

    return user_data_dir() / "secrets.json"


def open_context(settings: Settings, clock: Clock | None = None, secret_store: SecretStore | None = None,
                 check_key: bool = True) -> tuple[Context, bool]:
    """Open the database (migrating it) and seed the demo data on a first start. Refuses
    (keys.KeyMismatchError) a store whose terminals hash with another key than this host's.

    Returns the context and whether the demo data was just loaded.
    """

    path = settings.db_path or str(default_db_path())
    if path != ":memory:" and not is_postgres_url(path):
        # A directory made here is private; an existing one (a --db under /tmp) is the user's choice.
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = open_store(path)
    ctx = Context(
        store=store,
        clock=clock or Clock(),
        settings=settings,
        secret_store=secret_store or SecretStore(default_secrets_file()),
        lang=settings.lang,
    )
    ctx.sync_clock()
    seeded = False
    if store.db.execute("select count(*) from organisations").fetchone()[0] == 0:
        roster.import_file(ctx, DEMO_FILE)
        seeded = True
    if check_key:
        try:
            keys.check(ctx)
        except keys.KeyMismatchError:
            store.close()
            raise
    return ctx, seeded
