"""Where bene-tui keeps its files (platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

import bene_tui

PACKAGE_DIR = Path(bene_tui.__file__).resolve().parent  # the package's folder, wherever this module sits in it
DATA_DIR = PACKAGE_DIR / "data"
LOCALES_DIR = PACKAGE_DIR / "locales"
DEMO_FILE = DATA_DIR / "demo.json"
SCENARIOS_DIR = DATA_DIR / "scenarios"


def user_data_dir() -> Path:
    path = user_data_path("bene-tui", appauthor=False)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    private(path)  # made by an older version with the umask's mode (0755): it holds everyone's records
    return path


def private(path: Path | str) -> None:
    """Take group and other permissions off a file or directory of ours (POSIX only; Windows
    has no such bits). Someone else's file (a shared --db) is left as its owner set it."""
    if os.name != "posix":
        return
    try:
        mode = os.stat(path).st_mode
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except (FileNotFoundError, PermissionError):
        pass


def default_db_path() -> Path:
    return user_data_dir() / "bene.db"
