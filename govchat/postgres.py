"""GovChat's own PostgreSQL server, for `database.engine: postgresql` with no host.

It listens on a unix socket only (no TCP port), in a folder only its owner can
enter, so local connections are trusted without a password. PostgreSQL refuses
to run as root: when GovChat runs as root (a container, CI), the server runs as
Debian's `postgres` user and its files live in /var/lib/postgresql/govchat/<id>,
because GovChat's data folder is owner-only; `$GOVCHAT_DATA_DIR/postgres` is then
a symbolic link to them.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govchat.settings import Settings

# Synapse 1.163 needs PostgreSQL 14 or newer.
MINIMUM_VERSION = 14
ROOT_CLUSTERS = Path("/var/lib/postgresql/govchat")
SUPERUSER = "postgres"
READY_TIMEOUT_SECONDS = 60
APT_HINT = "apt-get install postgresql"


class PostgresError(Exception):
    """One line for the operator."""


def find_server_binaries() -> Path | None:
    """Debian's newest PostgreSQL server folder (…/bin with initdb and postgres), if any."""
    candidates = []
    for bin_dir in Path("/usr/lib/postgresql").glob("*/bin"):
        version = bin_dir.parent.name
        if version.isdigit() and int(version) >= MINIMUM_VERSION and (bin_dir / "initdb").exists():
            candidates.append((int(version), bin_dir))
    return max(candidates)[1] if candidates else None


@dataclass(frozen=True)
class LocalPostgres:
    """Paths and commands of the server under one GovChat data folder."""

    data_dir: Path
    port: int
    database: str
    user: str

    @property
    def runs_as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def cluster_dir(self) -> Path:
        if self.runs_as_root:
            digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:16]
            return ROOT_CLUSTERS / digest
        return self.data_dir / "postgres"

    @property
    def files_dir(self) -> Path:
        return self.cluster_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.cluster_dir / "run"

    @property
    def log_path(self) -> Path:
        return self.cluster_dir / "postgres.log"

    def connection_args(self) -> dict[str, Any]:
        return {"host": str(self.socket_dir), "port": self.port, "user": self.user, "dbname": self.database}

    # --- setting up -------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the cluster on first use (initdb); later starts find it in place."""
        binaries = _binaries()
        for folder in (self.cluster_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.runs_as_root:
            _owner_only_for_postgres(self.cluster_dir, self.socket_dir)
            link = self.data_dir / "postgres"
            if not link.is_symlink():
                link.symlink_to(self.cluster_dir)
        if (self.files_dir / "PG_VERSION").exists():
            return
        command = [
            str(binaries / "initdb"), "-D", str(self.files_dir), "--username", SUPERUSER,
            "--encoding=UTF8", "--locale=C", "--auth=trust",
        ]
        result = subprocess.run(self._as_server_user(command), capture_output=True, text=True)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed for {self.files_dir}: {result.stderr.strip().splitlines()[-1:]}")

    def server_command(self) -> list[str]:
        binaries = _binaries()
        command = [
            str(binaries / "postgres"), "-D", str(self.files_dir), "-p", str(self.port),
            "-c", "listen_addresses=",
            "-c", f"unix_socket_directories={self.socket_dir}",
            "-c", "unix_socket_permissions=0700",
            "-c", "max_connections=300",
            "-c", f"log_directory={self.cluster_dir}",
            "-c", "logging_collector=off",
        ]
        return self._as_server_user(command)

    def wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        import psycopg2

        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise PostgresError(f"PostgreSQL stopped during start-up (code {process.returncode}); see {self.log_path}")
            try:
                psycopg2.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres").close()
                return
            except psycopg2.OperationalError:
                time.sleep(0.2)
        raise PostgresError(f"PostgreSQL did not accept connections within {READY_TIMEOUT_SECONDS} s; see {self.log_path}")

    def ensure_database(self) -> None:
        """The role and the database Synapse needs: UTF8 with C collation, as Synapse requires."""
        import psycopg2
        from psycopg2 import sql

        connection = psycopg2.connect(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.user,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(self.user)))
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cursor.fetchone() is None:
                    cursor.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0").format(
                            sql.Identifier(self.database), sql.Identifier(self.user)
                        )
                    )
        finally:
            connection.close()

    def remove(self) -> None:
        """Delete the cluster's files (tests and throw-away benchmarks only)."""
        shutil.rmtree(self.cluster_dir, ignore_errors=True)

    def _as_server_user(self, command: list[str]) -> list[str]:
        if not self.runs_as_root:
            return command
        return ["setpriv", "--reuid", SUPERUSER, "--regid", SUPERUSER, "--init-groups", "--", *command]


def local_postgres(settings: Settings) -> LocalPostgres:
    database = settings.values["database"]
    return LocalPostgres(data_dir=settings.data_dir, port=database["port"], database=database["name"], user=database["user"])


def synapse_database_config(settings: Settings, connections_per_process: int) -> dict[str, Any]:
    """Synapse's `database:` section for the configured engine."""
    database = settings.values["database"]
    if not settings.uses_postgresql:
        return {"name": "sqlite3", "args": {"database": str(settings.data_dir / "homeserver.db")}}
    if settings.uses_local_postgresql:
        args = local_postgres(settings).connection_args()
    else:
        args = {"host": database["host"], "port": database["port"], "user": database["user"], "dbname": database["name"]}
        if database["password"]:
            args["password"] = database["password"]
    args.update({"cp_min": 1, "cp_max": connections_per_process})
    return {"name": "psycopg2", "args": args}


def _binaries() -> Path:
    binaries = find_server_binaries()
    if binaries is None:
        raise PostgresError(f"database.engine is postgresql with no database.host, but PostgreSQL {MINIMUM_VERSION}+ is not installed: run `{APT_HINT}`")
    return binaries


def _owner_only_for_postgres(*folders: Path) -> None:
    try:
        account = pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresError(f"there is no `{SUPERUSER}` user to run PostgreSQL as (GovChat runs as root): run `{APT_HINT}`") from None
    for folder in (ROOT_CLUSTERS, *folders):
        os.chown(folder, account.pw_uid, account.pw_gid)
        os.chmod(folder, 0o700)
