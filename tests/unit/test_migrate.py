"""The parts of `govchat migrate-to-postgresql` that need no database server:
the settings edit, the running check, the row-count verdicts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from synapse.storage.schema import SCHEMA_VERSION

from govchat.migrate import (
    MigrationRefused,
    TableCount,
    check_preconditions,
    format_counts,
    processes_using,
    sqlite_row_counts,
    with_postgresql_engine,
)
from govchat.settings import DEFAULT_SETTINGS_FILE, load_settings

# --- govchat.yaml ------------------------------------------------------------------------


def test_documented_default_switches_engine_and_keeps_every_comment() -> None:
    before = DEFAULT_SETTINGS_FILE.read_text()
    after = with_postgresql_engine(before)
    assert yaml.safe_load(after)["database"]["engine"] == "postgresql"
    changed = [(old, new) for old, new in zip(before.splitlines(), after.splitlines(), strict=True) if old != new]
    assert changed == [("  engine: sqlite", "  engine: postgresql")]


def test_engine_comment_on_the_same_line_is_kept() -> None:
    after = with_postgresql_engine("database:\n  engine: sqlite   # trial\n  port: 5433\n")
    assert after == "database:\n  engine: postgresql   # trial\n  port: 5433\n"


def test_database_section_without_engine_gets_one() -> None:
    after = with_postgresql_engine("server_name: a.gov.my\ndatabase:  # external\n    host: db.gov.my\nworkers:\n  client: 0\n")
    assert after == "server_name: a.gov.my\ndatabase:  # external\n    engine: postgresql\n    host: db.gov.my\nworkers:\n  client: 0\n"


def test_file_without_database_section_gets_one_appended() -> None:
    assert with_postgresql_engine("# mine\nserver_name: a.gov.my") == "# mine\nserver_name: a.gov.my\ndatabase:\n  engine: postgresql\n"
    assert with_postgresql_engine("") == "database:\n  engine: postgresql\n"


def test_engine_of_another_section_is_not_touched() -> None:
    text = "search:\n  engine: sqlite\ndatabase:\n  port: 5432\n"
    after = with_postgresql_engine(text)
    assert yaml.safe_load(after) == {"search": {"engine": "sqlite"}, "database": {"port": 5432, "engine": "postgresql"}}


def test_edited_file_still_loads_as_settings(tmp_path: Path) -> None:
    (tmp_path / "govchat.yaml").write_text(with_postgresql_engine(DEFAULT_SETTINGS_FILE.read_text()))
    assert load_settings(tmp_path, 8008).uses_local_postgresql


def test_one_line_database_section_stays_one_line() -> None:
    text = "database: {host: db.example.gov.my, password: 'r4h5ia'}   # JPA's server\nworkers: {client: 0}\n"
    after = with_postgresql_engine(text)
    assert after == "database: {host: db.example.gov.my, password: r4h5ia, engine: postgresql}   # JPA's server\nworkers: {client: 0}\n"
    assert with_postgresql_engine("database: {engine: sqlite}\n") == "database: {engine: postgresql}\n"


def test_database_section_spread_over_lines_in_flow_style_is_refused_before_anything_moves() -> None:
    with pytest.raises(MigrationRefused, match="database.engine"):
        with_postgresql_engine("database: {host: db.example.gov.my,\n  port: 5432}\n")


# --- is GovChat running? ---------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    connection = sqlite3.connect(tmp_path / "homeserver.db")
    connection.execute("CREATE TABLE background_updates (update_name TEXT)")
    connection.execute("CREATE TABLE schema_version (lock TEXT, version INTEGER, upgraded BOOLEAN)")
    connection.execute("INSERT INTO schema_version VALUES ('X', ?, 1)", (SCHEMA_VERSION,))
    connection.execute("CREATE TABLE users (name TEXT)")
    connection.execute("INSERT INTO users VALUES ('@a:x'), ('@b:x')")
    connection.commit()
    connection.close()
    return tmp_path


@pytest.fixture
def holder(data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process with homeserver.db open, as Synapse has it while it runs."""
    code = f"import sqlite3, time; c = sqlite3.connect({str(data_dir / 'homeserver.db')!r}); c.execute('SELECT 1 FROM users').fetchall(); print('open', flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"open\n"
    yield process
    process.kill()
    process.wait()


def test_process_holding_the_database_open_counts_as_running(data_dir: Path, holder: subprocess.Popen[bytes]) -> None:
    assert holder.pid in [pid for pid, _ in processes_using(data_dir)]
    with pytest.raises(MigrationRefused, match="GovChat is running"):
        check_preconditions(load_settings(data_dir, 8008))


def test_synapse_of_this_data_folder_counts_as_running(data_dir: Path) -> None:
    config = str(data_dir / "homeserver.yaml")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--config-path", config])
    try:
        deadline = time.monotonic() + 10
        while process.pid not in [pid for pid, _ in processes_using(data_dir)]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()


def test_stopped_govchat_passes_the_check(data_dir: Path) -> None:
    assert processes_using(data_dir) == []
    assert check_preconditions(load_settings(data_dir, 8008)) == data_dir / "homeserver.db"


def test_missing_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationRefused, match="no SQLite database"):
        check_preconditions(load_settings(tmp_path, 8008))


def test_pending_background_updates_are_refused(data_dir: Path) -> None:
    connection = sqlite3.connect(data_dir / "homeserver.db")
    connection.execute("INSERT INTO background_updates VALUES ('populate_stats_process_rooms')")
    connection.commit()
    connection.close()
    with pytest.raises(MigrationRefused, match="1 background update"):
        check_preconditions(load_settings(data_dir, 8008))


def test_database_of_an_older_synapse_is_refused_until_synapse_upgraded_it(data_dir: Path) -> None:
    connection = sqlite3.connect(data_dir / "homeserver.db")
    connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION - 1,))
    connection.commit()
    connection.close()
    with pytest.raises(MigrationRefused, match="start GovChat once"):
        check_preconditions(load_settings(data_dir, 8008))


# --- row counts -----------------------------------------------------------------------------


def test_search_index_files_are_left_out_of_the_count(data_dir: Path) -> None:
    connection = sqlite3.connect(data_dir / "homeserver.db")
    connection.execute("CREATE VIRTUAL TABLE event_search USING fts4 (value)")
    connection.execute("INSERT INTO event_search VALUES ('salam')")
    connection.commit()
    connection.close()
    assert sqlite_row_counts(data_dir / "homeserver.db") == {"background_updates": 0, "schema_version": 1, "users": 2, "event_search": 1}


@pytest.mark.parametrize(
    ("count", "status"),
    [
        (TableCount("govchat_user_agencies", 3, 3), "OK"),
        (TableCount("govchat_user_agencies", 3, 2), "MISMATCH"),
        (TableCount("govchat_outbox", 2, None), "MISMATCH"),
        (TableCount("govchat_outbox", 0, None), "OK"),
        (TableCount("user_directory", 5, 0, skipped=True), "SKIPPED"),
    ],
)
def test_row_count_verdict(count: TableCount, status: str) -> None:
    assert count.status == status


def test_count_table_names_each_table_with_both_counts() -> None:
    table = format_counts([TableCount("govchat_applications", 1, 1), TableCount("users", 4, 3)])
    lines = table.splitlines()
    assert lines[0].split() == ["table", "SQLite", "PostgreSQL", "status"]
    assert lines[2].split() == ["govchat_applications", "1", "1", "OK"]
    assert lines[3].split() == ["users", "4", "3", "MISMATCH"]
