"""A throwaway PostgreSQL server for the tests: Debian's binaries, initdb into a temporary
directory, listening only on a Unix socket there (no TCP port), stopped at the end."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bindir() -> Path | None:
    env = os.environ.get("BENE_TUI_PG_BINDIR")
    if env:
        return Path(env) if (Path(env) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class Cluster:
    def __init__(self, bindir: Path, root: Path | None = None) -> None:
        """`root`: a directory of one's own (a benchmark's kept cluster), else a new temporary one."""
        self.bindir = bindir
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="bene-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir(parents=True, exist_ok=True)
        self.user = None  # initdb refuses root: run the server as postgres
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chmod(self.root, 0o755)
            for p in (self.root, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self.superuser = self.user or pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, durable: bool = False) -> "Cluster":
        """Tests run without fsync (nothing to keep); benchmarks with a durable server (`durable`).
        A cluster kept in its root from an earlier run is started again as it is."""
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "-U", self.superuser)
        opts = f"-k {self.sock} -c listen_addresses='' -c max_connections=200 -c shared_buffers=128MB"
        if not durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        else:
            opts += f" -c shared_buffers={_quarter_of_memory()} -c maintenance_work_mem=512MB -c max_wal_size=8GB"
        self._opts = opts
        self.up()
        return self

    def up(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._opts, "-l", str(self.root / "log"), "-w", "start")

    def down(self) -> None:
        """Stopped, not removed (`up` starts it again): a server away for longer than a restart."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@/{dbname}?host={self.sock}"

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _quarter_of_memory() -> str:
    """shared_buffers for a benchmark's server: a quarter of the machine's memory, the starting point
    PostgreSQL's documentation gives for a dedicated server ("Resource Consumption"), at most 8 GB."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "1GB"
    return f"{max(128, min(8192, pages // 4 // 2**20))}MB"
