"""Settings: flags win over BENE_TUI_* environment variables, which win over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

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


@dataclass
class Settings:
    db_path: str | None = None
    lang: str = "ja"
    mode: str = "demo"
    terminal: str = field(default_factory=lambda: os.environ.get("BENE_TUI_TERMINAL") or os.uname().nodename)
    rules: Rules = field(default_factory=Rules)

    @classmethod
    def from_env(cls, db_path: str | None = None, lang: str | None = None, mode: str | None = None) -> "Settings":
        env = os.environ
        rules = Rules()
        for f in fields(Rules):
            raw = env.get("BENE_TUI_" + f.name.upper())
            if raw:
                setattr(rules, f.name, int(raw))
        lang = (lang or env.get("BENE_TUI_LANG") or "ja").lower()
        mode = (mode or env.get("BENE_TUI_MODE") or "demo").lower()
        if lang not in LANGS:
            raise ValueError(f"language must be one of {', '.join(LANGS)}: {lang!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")
        return cls(db_path=db_path or env.get("BENE_TUI_DB") or None, lang=lang, mode=mode, rules=rules)
