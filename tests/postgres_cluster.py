"""A throw-away PostgreSQL cluster for tests, run as the `postgres` user (initdb refuses root).

`throwaway_postgresql()` yields Synapse-style `database:` config for a fresh UTF8 / C
database on a unix socket, or None when PostgreSQL's server binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def postgresql_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def throwaway_postgresql(dbname: str = "govchat") -> Iterator[dict[str, Any] | None]:
    bin_dir = postgresql_bin_dir()
    if bin_dir is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="govchat-pg-", dir="/tmp"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    os.chmod(root, 0o755)
    run = lambda *command: subprocess.run(_as_postgres(list(command)), check=True, capture_output=True)  # noqa: E731
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--encoding=UTF8", "--locale=C")
        options = f"-k {sockets} -c listen_addresses='' -p 5432 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "postgres.log"), "start")
        try:
            run(str(bin_dir / "createdb"), "-h", str(sockets), "-p", "5432", "-U", "postgres",
                "--encoding=UTF8", "--locale=C", "--template=template0", dbname)
            yield {"name": "psycopg2", "args": {"host": str(sockets), "port": 5432, "user": "postgres", "dbname": dbname, "cp_min": 1}}
        finally:
            subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
