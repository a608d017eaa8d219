"""Where bene-tui keeps its files (platformdirs)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
LOCALES_DIR = PACKAGE_DIR / "locales"
DEMO_FILE = DATA_DIR / "demo.json"
SCENARIOS_DIR = DATA_DIR / "scenarios"


def user_data_dir() -> Path:
    from platformdirs import user_data_path

    path = user_data_path("bene-tui", appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return user_data_dir() / "bene.db"
