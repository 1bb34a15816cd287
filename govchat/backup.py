"""`govchat backup DIR` and `govchat restore DIR`: everything a GovChat needs to come back, in one folder.

A backup holds (docs/operations.md):

- the database, consistent while GovChat runs: SQLite through its online backup API
  (`homeserver.db`), PostgreSQL through `pg_dump` in its custom format (`database.pgdump`),
  run as PostgreSQL's own user for GovChat's own server;
- the secrets and keys: `secrets.yaml` (shared secret, macaroon and form secrets, the GCMeet
  HS256 secret), `signing.key`, `gcmeet_rs256.key` if there is one;
- `media_store/` (uploaded files and thumbnails);
- `bot/`: Bot-GovChat's credentials and its end-to-end crypto store (its SQLite files
  copied through the backup API too), without its log;
- `govchat.yaml`, the settings;
- `MANIFEST.sha256` (`sha256sum -c` reads it) and `backup.json` (what, when, which engine).

Rendered files (homeserver.yaml, workers/, nginx, prometheus.yml), logs and the local
mail folder are not kept: `govchat run` writes the first ones again at every start.

Restore writes into an empty (or absent) data folder only, after checking every checksum;
it never writes over a data folder that holds anything, and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from govchat.postgres import SUPERUSER, PostgresError, find_server_binaries, local_postgres
from govchat.secrets import GCMEET_RS256_KEY_FILE_NAME, SECRETS_FILE_NAME, SIGNING_KEY_FILE_NAME
from govchat.settings import SETTINGS_FILE_NAME, Settings, load_settings

MANIFEST_NAME = "MANIFEST.sha256"
DESCRIPTION_NAME = "backup.json"
SQLITE_NAME = "homeserver.db"
PGDUMP_NAME = "database.pgdump"
KEY_FILES = (SECRETS_FILE_NAME, SIGNING_KEY_FILE_NAME, GCMEET_RS256_KEY_FILE_NAME, SETTINGS_FILE_NAME)
COPIED_FOLDERS = ("media_store", "bot")
# SQLite files of the bot's crypto store end in .db; their journals are not needed after the backup API.
SKIPPED_SUFFIXES = (".log", "-wal", "-shm", "-journal")
FORMAT_VERSION = 1

Printer = Callable[[str], None]


class BackupError(Exception):
    """One line for the operator."""


# --- backup -------------------------------------------------------------------------------


def backup(settings: Settings, out_dir: Path, echo: Printer = print) -> Path:
    """Write a consistent copy of `settings.data_dir` (which may be running) into the empty `out_dir`."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir}: not empty; a backup is written into a new or empty folder only")
    if out_dir.resolve().is_relative_to(settings.data_dir.resolve()):
        raise BackupError(f"{out_dir}: inside the data folder {settings.data_dir}; choose a folder outside it")
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = time.time()
    engine = _backup_database(settings, out_dir, echo)
    for name in KEY_FILES:
        source = settings.data_dir / name
        if source.exists():
            shutil.copy2(source, out_dir / name)
    for folder in COPIED_FOLDERS:
        source = settings.data_dir / folder
        if source.is_dir():
            _copy_tree(source, out_dir / folder)
    description = {
        "format": FORMAT_VERSION,
        "server_name": settings.server_name,
        "engine": engine,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data_dir": str(settings.data_dir),
    }
    (out_dir / DESCRIPTION_NAME).write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    files = write_manifest(out_dir)
    echo(f"Backed up {settings.data_dir} ({engine}) into {out_dir}: {files} files, checksums in {MANIFEST_NAME}")
    return out_dir


def _backup_database(settings: Settings, out_dir: Path, echo: Printer) -> str:
    if not settings.uses_postgresql:
        source = settings.data_dir / SQLITE_NAME
        if not source.exists():
            raise BackupError(f"{source}: no database to back up; has GovChat ever started with this data folder?")
        echo(f"Copying {source} with SQLite's online backup")
        sqlite_copy(source, out_dir / SQLITE_NAME)
        return "sqlite"
    echo("Dumping the PostgreSQL database with pg_dump")
    with open(out_dir / PGDUMP_NAME, "wb") as dump:
        result = subprocess.run(
            [*_as_database_user(settings), str(_pg_binary("pg_dump")), "--format=custom", "--no-owner", "--no-privileges",
             *_connection_options(settings)],
            stdout=dump, stderr=subprocess.PIPE, env=_pg_environment(settings),
        )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {_last_line(result.stderr)}")
    return "postgresql"


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database that may be written meanwhile (sqlite3's backup API)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60) as reader, sqlite3.connect(target) as writer:
        reader.backup(writer)
    reader.close()
    writer.close()


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(mode=0o700, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        elif entry.name.endswith(SKIPPED_SUFFIXES):
            continue
        elif _is_sqlite(entry):
            sqlite_copy(entry, target / entry.name)
        else:
            shutil.copy2(entry, target / entry.name)


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# --- the manifest -------------------------------------------------------------------------


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME:
            yield path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path) -> int:
    lines = [f"{_sha256(path)}  {path.relative_to(folder).as_posix()}\n" for path in _files(folder)]
    (folder / MANIFEST_NAME).write_text("".join(lines), encoding="utf-8")
    return len(lines)


def manifest_problems(folder: Path) -> list[str]:
    """Files missing, changed or not listed; empty when the backup is whole."""
    manifest = folder / MANIFEST_NAME
    if not manifest.exists():
        return [f"{MANIFEST_NAME} is missing"]
    listed: dict[str, str] = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    present = {path.relative_to(folder).as_posix(): path for path in _files(folder)}
    problems = [f"{name}: missing" for name in sorted(set(listed) - set(present))]
    problems += [f"{name}: not in the manifest" for name in sorted(set(present) - set(listed))]
    problems += [f"{name}: checksum differs" for name in sorted(set(listed) & set(present)) if _sha256(present[name]) != listed[name]]
    return problems


# --- restore ------------------------------------------------------------------------------


def restore(backup_dir: Path, data_dir: Path, port: int, echo: Printer = print) -> Settings:
    """Restore `backup_dir` into `data_dir`, which must be empty or absent."""
    refusal = data_dir_refusal(data_dir)
    if refusal:
        raise BackupError(refusal)
    if not (backup_dir / DESCRIPTION_NAME).exists():
        raise BackupError(f"{backup_dir}: not a GovChat backup (no {DESCRIPTION_NAME})")
    problems = manifest_problems(backup_dir)
    if problems:
        raise BackupError(f"{backup_dir}: the backup is damaged, nothing restored ({'; '.join(problems[:3])})")
    description = json.loads((backup_dir / DESCRIPTION_NAME).read_text(encoding="utf-8"))
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in KEY_FILES:
        if (backup_dir / name).exists():
            shutil.copy2(backup_dir / name, data_dir / name)
    for folder in COPIED_FOLDERS:
        if (backup_dir / folder).is_dir():
            shutil.copytree(backup_dir / folder, data_dir / folder)
    settings = load_settings(data_dir, port)
    if description["engine"] == "sqlite":
        if settings.uses_postgresql:
            raise BackupError("the backup holds a SQLite database but its govchat.yaml says database.engine: postgresql")
        shutil.copy2(backup_dir / SQLITE_NAME, data_dir / SQLITE_NAME)
    else:
        _restore_postgresql(settings, backup_dir / PGDUMP_NAME, echo)
    echo(f"Restored {backup_dir} (taken {description['finished']}) into {data_dir}; start it with `govchat run`")
    return settings


def data_dir_refusal(data_dir: Path) -> str | None:
    """Why restoring into `data_dir` is refused, or None for an empty or absent folder."""
    if not data_dir.exists():
        return None
    if not data_dir.is_dir():
        return f"{data_dir}: not a folder"
    from govchat.migrate import processes_using

    running = processes_using(data_dir)
    if running:
        pids = ", ".join(f"{pid} ({what})" for pid, what in running)
        return f"{data_dir}: GovChat is running on this data folder ({pids}); restore goes into a new, empty data folder only"
    if any(data_dir.iterdir()):
        return f"{data_dir}: not empty; restore goes into a new, empty data folder only (nothing was changed)"
    return None


def _restore_postgresql(settings: Settings, dump: Path, echo: Printer) -> None:
    from govchat.migrate import MigrationRefused, postgresql_server

    try:
        with postgresql_server(settings, echo):
            if not settings.uses_local_postgresql:
                _refuse_filled_external_database(settings)
            echo("Loading the database with pg_restore")
            with open(dump, "rb") as source:
                result = subprocess.run(
                    [*_as_database_user(settings), str(_pg_binary("pg_restore")), "--no-owner", "--no-privileges",
                     "--exit-on-error", "--single-transaction", "--role", settings.values["database"]["user"],
                     *_connection_options(settings)],
                    stdin=source, capture_output=True, env=_pg_environment(settings),
                )
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {_last_line(result.stderr)}")
    except (MigrationRefused, PostgresError) as error:
        raise BackupError(str(error)) from None


def _refuse_filled_external_database(settings: Settings) -> None:
    import psycopg2

    database = settings.values["database"]
    arguments = {"host": database["host"], "port": database["port"], "user": database["user"], "dbname": database["name"]}
    if database["password"]:
        arguments["password"] = database["password"]
    with psycopg2.connect(**arguments) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()")
        if int(cursor.fetchone()[0]) > 0:
            raise BackupError(f"database {database['name']} on {database['host']} is not empty; restore needs an empty database")


# --- PostgreSQL client commands -------------------------------------------------------------


def _pg_binary(name: str) -> Path:
    binaries = find_server_binaries()
    if binaries is not None and (binaries / name).exists():
        return binaries / name
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: run `apt-get install postgresql-client`")
    return Path(found)


def _connection_options(settings: Settings) -> list[str]:
    database = settings.values["database"]
    if settings.uses_local_postgresql:
        server = local_postgres(settings)
        # GovChat's own server trusts its socket; the superuser reads every table.
        return ["--host", str(server.socket_dir), "--port", str(server.port), "--username", SUPERUSER, "--dbname", server.database]
    return ["--host", database["host"], "--port", str(database["port"]), "--username", database["user"], "--dbname", database["name"]]


def _as_database_user(settings: Settings) -> list[str]:
    """GovChat's own server, run as root, has its socket in a folder only `postgres` may enter."""
    if settings.uses_local_postgresql and os.geteuid() == 0:
        return ["setpriv", "--reuid", SUPERUSER, "--regid", SUPERUSER, "--init-groups", "--"]
    return []


def _pg_environment(settings: Settings) -> dict[str, str]:
    environment = dict(os.environ)
    password = settings.values["database"]["password"]
    if password and not settings.uses_local_postgresql:
        environment["PGPASSWORD"] = password
    return environment


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def describe(backup_dir: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((backup_dir / DESCRIPTION_NAME).read_text(encoding="utf-8")))
