"""`govchat migrate-to-postgresql`: move an existing SQLite GovChat to PostgreSQL.

Synapse's own `synapse_port_db` does the copying. It ports only the tables that
exist in both databases (`set(sqlite_tables) & set(postgres_tables)`, Synapse
1.163), so GovChat's `govchat_*` tables would be skipped without a word: the
schema step (`govchat.schema.upgrade_database`) creates them on PostgreSQL first,
and the script then copies them like its own tables, in rowid batches. It turns
SQLite's 0/1 into booleans only for the columns it knows (`BOOLEAN_COLUMNS`);
GovChat's flags are SMALLINT/INTEGER 0/1 on both databases, so they are copied as
they are, and a BOOLEAN `govchat_*` column on PostgreSQL is refused up front.

GovChat only reads homeserver.db, and refuses one that synapse_port_db would
have to upgrade: it stays, unchanged, as the fallback.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from govchat.postgres import PostgresError, local_postgres, synapse_database_config
from govchat.settings import SETTINGS_FILE_NAME, Settings

SQLITE_FILE_NAME = "homeserver.db"
PORT_LOG_NAME = "migrate-to-postgresql.log"
PORT_CONFIG_NAME = "migrate-to-postgresql.yaml"
GOVCHAT_TABLE_PREFIX = "govchat_"
PORT_DB_BATCH_SIZE = 1000
# Synapse's schema bookkeeping: synapse_port_db leaves it out, PostgreSQL gets its own.
SCHEMA_BOOKKEEPING = {"schema_version", "applied_schema_deltas", "schema_compat_version"}
# synapse_port_db keeps only the last day of outgoing federation transactions.
PARTLY_PORTED = {"sent_transactions"}
# Files of SQLite's full-text search tables (FTS3/4/5 shadow tables).
_FTS_SHADOW_SUFFIXES = ("content", "segments", "segdir", "docsize", "stat", "data", "idx", "config")

Printer = Callable[[str], None]


class MigrationRefused(Exception):
    """Nothing was moved; the message is one line saying why and what to do."""


class MigrationFailed(Exception):
    """The move started and did not finish; homeserver.db is untouched."""


@dataclass(frozen=True)
class TableCount:
    table: str
    sqlite_rows: int
    postgres_rows: int | None  # None: no such table on PostgreSQL
    skipped: bool = False  # left out by synapse_port_db on purpose (Synapse rebuilds it)

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIPPED"
        return "OK" if self.sqlite_rows == (self.postgres_rows or 0) else "MISMATCH"


def migrate(settings: Settings, echo: Printer = print) -> int:
    """The whole move; 0 when every table matches and govchat.yaml now says postgresql."""
    sqlite_path = check_preconditions(settings)
    settings_path = settings.data_dir / SETTINGS_FILE_NAME
    new_settings_text = with_postgresql_engine(settings_path.read_text(encoding="utf-8"))
    upgrade_database = schema_step()
    counts = move(postgresql_settings(settings), sqlite_path, upgrade_database, echo)
    echo(format_counts(counts))
    mismatched = [count.table for count in counts if count.status == "MISMATCH"]
    if mismatched:
        echo(
            f"govchat: row counts differ in {len(mismatched)} table(s): {', '.join(mismatched)}. "
            f"govchat.yaml is unchanged, so GovChat still runs on {sqlite_path}; see {settings.data_dir / PORT_LOG_NAME}"
        )
        return 1
    _replace_file(settings_path, new_settings_text)
    echo(next_steps(settings, sqlite_path))
    return 0


def move(target: Settings, sqlite_path: Path, upgrade_database: Callable[[dict[str, Any]], Any], echo: Printer) -> list[TableCount]:
    """GovChat's tables first, then synapse_port_db, then every table counted on both sides."""
    import psycopg2

    database = synapse_database_config(target, connections_per_process=4)
    with postgresql_server(target, echo):
        check_target_is_empty(database, start_over_hint(target))
        echo("Creating GovChat's tables on PostgreSQL (schema step)")
        try:
            upgrade_database(database)
        except Exception as error:  # the schema step's own errors are one line for the operator too
            raise MigrationRefused(f"GovChat's schema step failed on PostgreSQL: {error}") from None
        check_govchat_tables_match(sqlite_path, database)
        run_synapse_port_db(target, sqlite_path, database, echo)
        try:
            counts = compare_row_counts(sqlite_path, database)
            # After the count: these rows are not SQLite's.
            schedule_user_directory_rebuild(database)
        except psycopg2.Error as error:
            raise MigrationFailed(f"PostgreSQL: {str(error).strip().splitlines()[0]}; govchat.yaml is unchanged") from None
    return counts


# --- before anything moves -------------------------------------------------------------


def check_preconditions(settings: Settings) -> Path:
    """The SQLite database to move; refused if it is missing or GovChat is using it."""
    sqlite_path = settings.data_dir / SQLITE_FILE_NAME
    if not sqlite_path.is_file():
        raise MigrationRefused(f"there is no SQLite database to move: {sqlite_path} does not exist")
    users = processes_using(settings.data_dir)
    if users:
        listed = ", ".join(f"{pid} ({what})" for pid, what in users)
        raise MigrationRefused(f"GovChat is running on {settings.data_dir} (process {listed}): stop it (Ctrl-C) first")
    found, expected = synapse_schema_versions(sqlite_path)
    if found != expected:
        raise MigrationRefused(
            f"{sqlite_path} has Synapse's schema {found}, this Synapse writes {expected}: start GovChat once (`make run`) "
            "with the Synapse installed now, stop it, then migrate (synapse_port_db would otherwise change homeserver.db)"
            if found < expected
            else f"{sqlite_path} has Synapse's schema {found}, newer than this Synapse's {expected}: install the Synapse it was used with"
        )
    pending = pending_background_updates(sqlite_path)
    if pending:
        raise MigrationRefused(
            f"Synapse still has {pending} background update(s) to run on {sqlite_path}, and synapse_port_db copies only a "
            "database without any: start GovChat (`make run`), leave it a few minutes, stop it and run this again"
        )
    return sqlite_path


def synapse_schema_versions(sqlite_path: Path) -> tuple[int, int]:
    """(homeserver.db's Synapse schema version, the installed Synapse's). They must match: synapse_port_db
    prepares the SQLite database with the installed Synapse, which would upgrade an older one in place."""
    from synapse.storage.schema import SCHEMA_VERSION

    try:
        with _read_only(sqlite_path) as connection:
            row = connection.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise MigrationRefused(f"{sqlite_path} is not a Synapse database GovChat can move ({error})") from None
    if row is None:
        raise MigrationRefused(f"{sqlite_path} is not a Synapse database GovChat can move (no schema version)")
    return int(row[0]), int(SCHEMA_VERSION)


def pending_background_updates(sqlite_path: Path) -> int:
    try:
        with _read_only(sqlite_path) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM background_updates").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise MigrationRefused(f"{sqlite_path} is not a Synapse database GovChat can move ({error})") from None


def processes_using(data_dir: Path) -> list[tuple[int, str]]:
    """Processes of this data folder's GovChat: the launcher, any Synapse process, anything holding homeserver.db open.

    Read from /proc: a Synapse process names `<data_dir>/homeserver.yaml` on its
    command line (workers also their file in `<data_dir>/workers/`), and SQLite
    keeps the database file open for as long as Synapse runs. A port would not
    do: another data folder's GovChat may answer on the same one.
    """
    data_dir = data_dir.resolve()
    config_paths = {str(data_dir / "homeserver.yaml")}
    worker_configs = str(data_dir / "workers") + os.sep
    database_files = {str(data_dir / SQLITE_FILE_NAME) + suffix for suffix in ("", "-wal", "-journal", "-shm")}
    found = []
    own = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            args = [part.decode(errors="replace") for part in (entry / "cmdline").read_bytes().split(b"\0") if part]
        except OSError:  # exited meanwhile
            continue
        if any(arg in config_paths or arg.startswith(worker_configs) for arg in args):
            found.append((int(entry.name), "Synapse"))
        elif _is_launcher_for(entry, args, data_dir):
            found.append((int(entry.name), "govchat run"))
        elif _has_open(entry, database_files):
            found.append((int(entry.name), f"has {SQLITE_FILE_NAME} open"))
    return sorted(found)


def _is_launcher_for(process: Path, args: list[str], data_dir: Path) -> bool:
    """`govchat run` (or `python -m govchat run`) whose GOVCHAT_DATA_DIR is this data folder."""
    names = [Path(arg).name for arg in args]
    if "run" not in args or not ("govchat" in names or ("-m" in args and "govchat" in args)):
        return False
    try:
        environment = dict(
            part.decode(errors="replace").split("=", 1)
            for part in (process / "environ").read_bytes().split(b"\0")
            if b"=" in part
        )
        cwd = Path(os.readlink(process / "cwd"))
    except OSError:  # another user's process: its command line alone is no proof
        return False
    return (cwd / environment.get("GOVCHAT_DATA_DIR", "var")).resolve() == data_dir


def _has_open(process: Path, paths: set[str]) -> bool:
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) in paths:
                return True
        except OSError:
            continue
    return False


def schema_step() -> Callable[[dict[str, Any]], Any]:
    """govchat.schema.upgrade_database, which creates every govchat_* table."""
    try:
        from govchat.schema import upgrade_database  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise MigrationRefused(
            "GovChat's schema step (govchat/schema.py) is not installed, so its govchat_* tables cannot be created on "
            "PostgreSQL and synapse_port_db would leave them behind: update GovChat first"
        ) from None
    return upgrade_database  # type: ignore[no-any-return,unused-ignore]


def postgresql_settings(settings: Settings) -> Settings:
    """The same settings with database.engine: postgresql (what `govchat run` will use afterwards)."""
    values = copy.deepcopy(settings.values)
    values["database"]["engine"] = "postgresql"
    return dataclasses.replace(settings, values=values)


@contextmanager
def postgresql_server(settings: Settings, echo: Printer) -> Iterator[None]:
    """GovChat's own PostgreSQL for the move when database.host is empty; an external one is already running."""
    if not settings.uses_local_postgresql:
        yield
        return
    server = local_postgres(settings)
    try:
        server.prepare()
    except PostgresError as error:
        raise MigrationRefused(str(error)) from None
    echo(f"Starting GovChat's own PostgreSQL ({server.files_dir})")
    with open(server.log_path, "ab") as log:
        process = subprocess.Popen(server.server_command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            server.wait_until_ready(process)
            server.ensure_database()
        except PostgresError as error:
            raise MigrationRefused(str(error)) from None
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def connect_postgresql(database: dict[str, Any]) -> Any:
    import psycopg2

    parameters = {key: value for key, value in database["args"].items() if not key.startswith("cp_")}
    try:
        return psycopg2.connect(**parameters)
    except psycopg2.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MigrationRefused(f"cannot connect to PostgreSQL {_describe(database)}: {first_line}") from None


def postgresql_tables(connection: Any) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        return [str(row[0]) for row in cursor.fetchall()]


def start_over_hint(settings: Settings) -> str:
    """How to empty the target after a failed move."""
    if settings.uses_local_postgresql:
        return f"if it is what a failed move left, remove GovChat's own PostgreSQL files ({local_postgres(settings).cluster_dir}) and run this again"
    return "give an empty database (DROP DATABASE, CREATE DATABASE) and run this again"


def check_target_is_empty(database: dict[str, Any], hint: str) -> None:
    """Refuse a database that already holds a homeserver: the move would mix two of them.

    GovChat's own tables alone are allowed, so a refused run can simply be repeated.
    """
    connection = connect_postgresql(database)
    try:
        synapse_tables = [name for name in postgresql_tables(connection) if not name.startswith(GOVCHAT_TABLE_PREFIX)]
    finally:
        connection.close()
    if synapse_tables:
        raise MigrationRefused(
            f"PostgreSQL database {_describe(database)} already has {len(synapse_tables)} Synapse tables "
            f"(e.g. {', '.join(synapse_tables[:3])}): {hint}"
        )


def check_govchat_tables_match(sqlite_path: Path, database: dict[str, Any]) -> None:
    """After the schema step both databases must have the same govchat_* tables and columns, none BOOLEAN.

    A table only on SQLite would be skipped by synapse_port_db; a table only on
    PostgreSQL means homeserver.db's GovChat schema is older, and copying its
    version rows over would make the next schema step repeat migrations.
    """
    sqlite_columns = _sqlite_govchat_columns(sqlite_path)
    connection = connect_postgresql(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, column_name, data_type, is_identity, column_default FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name LIKE 'govchat\\_%' ORDER BY table_name, ordinal_position"
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    postgres_columns: dict[str, set[str]] = {}
    for table, column, data_type, is_identity, default in rows:
        postgres_columns.setdefault(table, set()).add(column)
        if data_type == "boolean":
            raise MigrationRefused(
                f"{table}.{column} is BOOLEAN on PostgreSQL: synapse_port_db converts only Synapse's own boolean columns "
                "and would fail on SQLite's 0/1; GovChat's flags must be SMALLINT/INTEGER 0/1 (govchat/schema.py)"
            )
        if is_identity == "YES" or str(default or "").startswith("nextval("):
            raise MigrationRefused(
                f"{table}.{column} takes its values from a sequence on PostgreSQL, which synapse_port_db would not advance: "
                "GovChat's IDs must be written by GovChat (govchat/schema.py)"
            )
    only_sqlite = sorted(set(sqlite_columns) - set(postgres_columns))
    if only_sqlite:
        raise MigrationRefused(
            f"GovChat's schema step did not create {', '.join(only_sqlite)} on PostgreSQL, so synapse_port_db would skip "
            "it: these tables are not GovChat's (any more); update GovChat or drop them from homeserver.db"
        )
    behind = sorted(
        table for table in postgres_columns if table not in sqlite_columns or sqlite_columns[table] != postgres_columns[table]
    )
    if behind:
        raise MigrationRefused(
            f"homeserver.db's GovChat tables are older than this GovChat's ({', '.join(behind)} differ): start GovChat once "
            "on SQLite (`make run`) so its schema step upgrades them, stop it, then migrate"
        )


def _sqlite_govchat_columns(sqlite_path: Path) -> dict[str, set[str]]:
    with _read_only(sqlite_path) as connection:
        tables = [
            str(row[0])
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'govchat\\_%' ESCAPE '\\'")
        ]
        return {table: {str(row[1]) for row in connection.execute(f'PRAGMA table_info("{table}")')} for table in tables}


# --- the move -----------------------------------------------------------------------


def port_db_config(settings: Settings, database: dict[str, Any]) -> dict[str, Any]:
    """The smallest homeserver config synapse_port_db accepts: it reads only `database:` and what parsing needs."""
    return {
        "server_name": settings.server_name,
        "report_stats": False,
        "signing_key_path": str(settings.data_dir / "signing.key"),
        "database": database,
    }


def run_synapse_port_db(settings: Settings, sqlite_path: Path, database: dict[str, Any], echo: Printer) -> None:
    config_path = settings.data_dir / PORT_CONFIG_NAME
    log_path = settings.data_dir / PORT_LOG_NAME
    # Owner-only: it may hold the database password.
    with open(config_path, "w", encoding="utf-8", opener=lambda path, flags: os.open(path, flags, 0o600)) as handle:
        yaml.safe_dump(port_db_config(settings, database), handle)
    command = [
        str(Path(sys.executable).with_name("synapse_port_db")),
        "--sqlite-database", str(sqlite_path),
        "--postgres-config", str(config_path),
        "--batch-size", str(PORT_DB_BATCH_SIZE),
    ]
    echo(f"Copying every table with Synapse's synapse_port_db (log: {log_path})")
    try:
        with open(log_path, "ab") as log:
            result = subprocess.run(command, cwd=settings.data_dir, stdout=log, stderr=subprocess.STDOUT)
    finally:
        config_path.unlink(missing_ok=True)
    if result.returncode != 0:
        last = _last_line(log_path)
        raise MigrationFailed(
            f"synapse_port_db failed (code {result.returncode}): {last}. govchat.yaml is unchanged; see {log_path}"
        )


# Synapse's admin job `regenerate_directory` (synapse/rest/admin/background_updates.py, 1.163).
USER_DIRECTORY_REBUILD = (
    ("populate_user_directory_createtables", None),
    ("populate_user_directory_process_rooms", "populate_user_directory_createtables"),
    ("populate_user_directory_process_users", "populate_user_directory_process_rooms"),
    ("populate_user_directory_cleanup", "populate_user_directory_process_users"),
)


def schedule_user_directory_rebuild(database: dict[str, Any]) -> None:
    """synapse_port_db leaves the user directory behind; Synapse rebuilds it in the background at its next start
    (on the process that runs background tasks).

    Without this nobody would find anybody in the directory until an
    administrator ran the `regenerate_directory` job by hand.
    """
    connection = connect_postgresql(database)
    try:
        with connection.cursor() as cursor:
            for update_name, depends_on in USER_DIRECTORY_REBUILD:
                cursor.execute(
                    "INSERT INTO background_updates (update_name, progress_json, depends_on) VALUES (%s, '{}', %s)"
                    " ON CONFLICT (update_name) DO NOTHING",
                    (update_name, depends_on),
                )
        connection.commit()
    finally:
        connection.close()


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# --- checking ----------------------------------------------------------------------


def compare_row_counts(sqlite_path: Path, database: dict[str, Any]) -> list[TableCount]:
    """Every table of homeserver.db (but SQLite's own and full-text index files) with its rows on both sides."""
    skipped = tables_port_db_skips()
    sqlite_counts = sqlite_row_counts(sqlite_path)
    postgres_counts = postgresql_row_counts(database)
    return [
        TableCount(
            table=table,
            sqlite_rows=rows,
            postgres_rows=postgres_counts.get(table),
            skipped=table in skipped and not table.startswith(GOVCHAT_TABLE_PREFIX),
        )
        for table, rows in sorted(sqlite_counts.items())
    ]


def tables_port_db_skips() -> set[str]:
    """Tables synapse_port_db leaves out or moves only in part, on purpose (Synapse 1.163)."""
    from synapse._scripts.synapse_port_db import IGNORED_TABLES

    return set(IGNORED_TABLES) | SCHEMA_BOOKKEEPING | PARTLY_PORTED


def sqlite_row_counts(sqlite_path: Path) -> dict[str, int]:
    with _read_only(sqlite_path) as connection:
        entries = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        virtual = [str(name) for name, sql in entries if str(sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
        internal = {f"{table}_{suffix}" for table in virtual for suffix in _FTS_SHADOW_SUFFIXES}
        tables = [str(name) for name, _ in entries if not str(name).startswith("sqlite_") and str(name) not in internal]
        return {table: int(connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]) for table in tables}


def postgresql_row_counts(database: dict[str, Any]) -> dict[str, int]:
    from psycopg2 import sql

    connection = connect_postgresql(database)
    try:
        counts = {}
        with connection.cursor() as cursor:
            for table in postgresql_tables(connection):
                cursor.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
                counts[table] = int(cursor.fetchone()[0])
        return counts
    finally:
        connection.close()


def format_counts(counts: list[TableCount]) -> str:
    width = max([len("table"), *(len(count.table) for count in counts)])
    lines = [f"{'table':<{width}}  {'SQLite':>10}  {'PostgreSQL':>10}  status", "-" * (width + 32)]
    for count in counts:
        postgres = "-" if count.postgres_rows is None else str(count.postgres_rows)
        lines.append(f"{count.table:<{width}}  {count.sqlite_rows:>10}  {postgres:>10}  {count.status}")
    if any(count.skipped for count in counts):
        lines.append(
            "SKIPPED: left out by synapse_port_db on purpose (the user directory, which Synapse rebuilds at its next start; "
            "UI-auth sessions, locks, schema bookkeeping, federation transactions older than a day)"
        )
    return "\n".join(lines)


@contextmanager
def _read_only(sqlite_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"{sqlite_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield connection
    finally:
        connection.close()


# --- afterwards ---------------------------------------------------------------------


_DATABASE_LINE = re.compile(r"^database:[ \t]*(#.*)?$")
_TOP_LEVEL_KEY = re.compile(r"^[^\s#-][^:]*:")
_FLOW_DATABASE_LINE = re.compile(r"^database:[ \t]*(?P<mapping>\{[^#\n]*\})(?P<rest>[ \t]*(#.*)?)$")
_ENGINE_LINE = re.compile(r"^(?P<indent>[ \t]+)engine:[ \t]*(?P<value>[^#\n]*?)(?P<rest>[ \t]+#.*)?$")


def with_postgresql_engine(text: str) -> str:
    """govchat.yaml with `database.engine: postgresql`, every other line and comment kept.

    Refused (before anything moves) when the file is written in a way this
    targeted edit cannot change safely, e.g. `database: {engine: sqlite}`.
    """
    lines = text.splitlines(keepends=True)
    start = next((index for index, line in enumerate(lines) if _DATABASE_LINE.match(line.rstrip("\r\n"))), None)
    flow = next((index for index, line in enumerate(lines) if _FLOW_DATABASE_LINE.match(line.rstrip("\r\n"))), None)
    if start is None and flow is not None:
        edited = _edit_flow_database_line(lines, flow)
    elif start is None:
        if any(line.startswith("database:") for line in lines):
            edited = None
        else:
            separator = "" if not text or text.endswith("\n") else "\n"
            edited = f"{text}{separator}database:\n  engine: postgresql\n"
    else:
        edited = _edit_database_block(lines, start)
    if edited is None or not _only_engine_changed(text, edited):
        raise MigrationRefused(
            f"cannot set database.engine in {SETTINGS_FILE_NAME} safely: write its database section as an indented block "
            "(`database:` then `  engine: sqlite`) and run this again"
        )
    return edited


def _edit_flow_database_line(lines: list[str], index: int) -> str | None:
    """`database: {host: db.gov.my}  # note` stays one line: `database: {host: db.gov.my, engine: postgresql}  # note`."""
    line = lines[index].rstrip("\r\n")
    match = _FLOW_DATABASE_LINE.match(line)
    assert match is not None
    try:
        mapping = yaml.safe_load(match.group("mapping"))
    except yaml.YAMLError:
        return None
    if not isinstance(mapping, dict):
        return None
    mapping["engine"] = "postgresql"
    flow = yaml.safe_dump(mapping, default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True).strip()
    lines[index] = f"database: {flow}{match.group('rest')}{lines[index][len(line):]}"
    return "".join(lines)


def _edit_database_block(lines: list[str], start: int) -> str | None:
    end = next((index for index in range(start + 1, len(lines)) if _TOP_LEVEL_KEY.match(lines[index])), len(lines))
    children = [line for line in lines[start + 1:end] if line.strip() and not line.lstrip().startswith("#")]
    indent = re.match(r"[ \t]*", children[0]).group(0) if children else "  "  # type: ignore[union-attr]
    if not indent:
        return None
    for index in range(start + 1, end):
        match = _ENGINE_LINE.match(lines[index].rstrip("\r\n"))
        if match and match.group("indent") == indent:
            newline = lines[index][len(lines[index].rstrip("\r\n")):]
            lines[index] = f"{indent}engine: postgresql{match.group('rest') or ''}{newline}"
            return "".join(lines)
    newline = lines[start][len(lines[start].rstrip("\r\n")):] or "\n"
    if not lines[start].endswith(("\n", "\r")):
        lines[start] += newline
    lines.insert(start + 1, f"{indent}engine: postgresql{newline}")
    return "".join(lines)


def _only_engine_changed(before: str, after: str) -> bool:
    try:
        old = yaml.safe_load(before) or {}
        new = yaml.safe_load(after) or {}
    except yaml.YAMLError:
        return False
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    expected = copy.deepcopy(old)
    section = expected.get("database")
    if section is None:
        expected["database"] = section = {}
    if not isinstance(section, dict):
        return False
    section["engine"] = "postgresql"
    return bool(new == expected)


def _replace_file(path: Path, text: str) -> None:
    """Written beside and renamed over, so an interrupted write never leaves half a settings file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.chmod(temporary, path.stat().st_mode & 0o777)
    os.replace(temporary, path)


def next_steps(settings: Settings, sqlite_path: Path) -> str:
    return "\n".join(
        [
            "",
            f"Every table matches. {settings.data_dir / SETTINGS_FILE_NAME} now says database.engine: postgresql.",
            "Next:",
            "  make run            # GovChat starts on PostgreSQL"
            + ("" if settings.values["database"]["host"] else " (its own server, started and stopped with it)"),
            f"{sqlite_path} is untouched: to go back, set database.engine: sqlite again (changes made on PostgreSQL stay there).",
            "To spread the load over several processes, set workers.client (see docs/scale-out.md).",
        ]
    )


def _describe(database: dict[str, Any]) -> str:
    args = database["args"]
    return f"{args.get('dbname')} on {args.get('host')}:{args.get('port')}"
