"""Secrets (the key for hashing codes and tokens, the operator PIN hash) live in the OS keyring,
falling back to a private file (mode 0600) where no keyring backend works. Never in SQLite."""

from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock
    fcntl = None

SERVICE = "bene-tui"


class SecretStore:
    def __init__(self, fallback_file: Path, use_keyring: bool = True) -> None:
        self.fallback_file = Path(fallback_file)
        self.use_keyring = use_keyring and os.environ.get("BENE_TUI_NO_KEYRING") != "1"

    # -- keyring, when a real backend exists -------------------------------------------
    def _keyring(self):
        if not self.use_keyring:
            return None
        try:
            # lazy: the OS keyring's backends load only when it is used (not with BENE_TUI_NO_KEYRING)
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            if isinstance(backend, fail.Keyring) or backend.priority <= 0:
                return None
            return keyring
        except Exception:  # no usable backend: headless machine
            return None

    # -- private-file fallback ---------------------------------------------------------
    def _read_file(self) -> dict[str, str]:
        try:
            return json.loads(self.fallback_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _write_file(self, data: dict[str, str]) -> None:
        self.fallback_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.fallback_file.with_suffix(f".{os.getpid()}.tmp")  # one per process: terminals share the file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.fallback_file)
        os.chmod(self.fallback_file, 0o600)

    def get(self, name: str) -> str | None:
        kr = self._keyring()
        if kr is not None:
            try:
                value = kr.get_password(SERVICE, name)
                if value is not None:
                    return value
            except Exception:
                pass
        return self._read_file().get(name)

    def set(self, name: str, value: str) -> None:
        kr = self._keyring()
        if kr is not None:
            try:
                kr.set_password(SERVICE, name, value)
                return
            except Exception:
                pass
        data = self._read_file()
        data[name] = value
        self._write_file(data)

    def hmac_key(self, scope: str) -> bytes:
        """The key for hashing codes and tokens of one database, made on first use."""
        name = f"hmac-key:{scope}"
        value = self.get(name)
        if value is None:
            # Terminals starting together must agree on one key, or a code sent by one never checks at another.
            with self._creation_lock():
                value = self.get(name)
                if value is None:
                    value = secrets.token_hex(32)
                    self.set(name, value)
        return bytes.fromhex(value)

    def _creation_lock(self):
        """An exclusive lock (flock on a file beside the fallback file) across the processes of this host."""
        @contextmanager
        def lock():
            if fcntl is None:  # not POSIX: no cross-process lock
                yield
                return
            self.fallback_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(f"{self.fallback_file}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

        return lock()
