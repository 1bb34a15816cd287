"""GovChat's versioned schema step on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govchat import schema
from tests.postgres_cluster import postgresql_bin_dir, throwaway_postgresql

EVERY_TABLE = {
    "govchat_schema_version",
    "govchat_user_agencies",
    "govchat_directory_names",
    "govchat_user_deactivations",
    "govchat_applications",
    "govchat_application_audit",
    "govchat_application_people",
    "govchat_application_heads",
    "govchat_outbox",
    "govchat_info_joins",
    "govchat_job_leases",
    "govchat_job_runs",
    "govchat_rate_buckets",
}

# What `govchat_auth` and `applications` created lazily before the schema step existed.
OLD_LAZY_TABLES = (
    "CREATE TABLE govchat_user_agencies (user_id TEXT NOT NULL PRIMARY KEY, email TEXT NOT NULL,"
    " agency_domain TEXT NOT NULL, agency_name TEXT NOT NULL, ministry TEXT NOT NULL, recorded_ts BIGINT NOT NULL)",
    "CREATE TABLE govchat_directory_names (user_id TEXT NOT NULL PRIMARY KEY, email TEXT NOT NULL,"
    " display_name TEXT NOT NULL, locked BOOLEAN NOT NULL, recorded_ts BIGINT NOT NULL)",
    "CREATE TABLE govchat_application_audit (application_id TEXT NOT NULL, seq INTEGER NOT NULL, ts BIGINT NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, note TEXT NOT NULL)",
    "CREATE INDEX govchat_application_audit_id ON govchat_application_audit (application_id, seq)",
)


def _sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_upgrade_creates_every_table_on_sqlite(tmp_path: Path) -> None:
    config = {"name": "sqlite3", "args": {"database": str(tmp_path / "homeserver.db")}}
    assert schema.upgrade_database(config) == [m.version for m in schema.MIGRATIONS]
    assert EVERY_TABLE <= _sqlite_tables(tmp_path / "homeserver.db")
    assert schema.database_version(config) == schema.LATEST_VERSION


def test_upgrading_twice_is_a_no_op(tmp_path: Path) -> None:
    config = {"name": "sqlite3", "args": {"database": str(tmp_path / "homeserver.db")}}
    schema.upgrade_database(config)
    assert schema.upgrade_database(config) == []


def test_upgrade_keeps_tables_the_modules_created_before(tmp_path: Path) -> None:
    path = tmp_path / "homeserver.db"
    with sqlite3.connect(path) as connection:
        for statement in OLD_LAZY_TABLES:
            connection.execute(statement)
        connection.execute("INSERT INTO govchat_user_agencies VALUES ('@a:x', 'a@jpa.gov.my', 'jpa.gov.my', 'JPA', 'JPM', 1)")
    schema.upgrade_database({"name": "sqlite3", "args": {"database": str(path)}})
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT user_id FROM govchat_user_agencies").fetchall() == [("@a:x",)]
    assert EVERY_TABLE <= _sqlite_tables(path)


def test_audit_sequence_numbers_are_unique(tmp_path: Path) -> None:
    path = tmp_path / "homeserver.db"
    schema.upgrade_database({"name": "sqlite3", "args": {"database": str(path)}})
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO govchat_application_audit VALUES ('a1', 0, 1, 'x', 'submitted', '')")
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO govchat_application_audit VALUES ('a1', 0, 2, 'y', 'endorsed', '')")


def test_a_failed_migration_leaves_nothing_half_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = schema.Migration(99, "broken", ("CREATE TABLE govchat_half (x INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    config = {"name": "sqlite3", "args": {"database": str(tmp_path / "homeserver.db")}}
    with pytest.raises(sqlite3.OperationalError):
        schema.upgrade_database(config)
    assert "govchat_half" not in _sqlite_tables(tmp_path / "homeserver.db")
    assert schema.database_version(config) == schema.LATEST_VERSION


@pytest.fixture(scope="module")
def postgresql() -> Iterator[dict[str, Any]]:
    if postgresql_bin_dir() is None:
        pytest.skip("PostgreSQL's server is not installed (apt-get install -y postgresql)")
    with throwaway_postgresql() as config:
        assert config is not None
        yield config


def test_upgrade_creates_every_table_on_postgresql(postgresql: dict[str, Any]) -> None:
    assert schema.upgrade_database(postgresql) == [m.version for m in schema.MIGRATIONS]
    assert schema.upgrade_database(postgresql) == []
    connection, _ = schema.connect(postgresql)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
        # The upserts the modules use work on PostgreSQL too.
        cursor.execute(
            "INSERT INTO govchat_job_leases (job, holder, expires_ts) VALUES ('sync', 'a', 10)"
            " ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_ts = excluded.expires_ts"
            " WHERE govchat_job_leases.expires_ts < 5"
        )
        cursor.execute(
            "INSERT INTO govchat_job_leases (job, holder, expires_ts) VALUES ('sync', 'b', 20)"
            " ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_ts = excluded.expires_ts"
            " WHERE govchat_job_leases.expires_ts < 5"
        )
        assert cursor.rowcount == 0
        connection.rollback()
    finally:
        connection.close()
    assert EVERY_TABLE <= tables
    assert schema.database_version(postgresql) == schema.LATEST_VERSION


def test_a_module_on_an_old_database_names_the_command_to_run() -> None:
    from synapse_modules.common.schema_check import schema_problem

    assert schema_problem(3, 3) is None and schema_problem(4, 3) is None
    assert schema_problem(1, 3) == (
        "GovChat's tables are at version 1, this code needs 3: "
        "start GovChat with `govchat run` or run `govchat schema upgrade`"
    )


def test_schema_upgrade_command_upgrades_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from govchat.cli import main

    monkeypatch.setenv("GOVCHAT_DATA_DIR", str(tmp_path))
    assert main(["schema", "upgrade"]) == 0
    assert f"version {schema.LATEST_VERSION}" in capsys.readouterr().out
    assert EVERY_TABLE <= _sqlite_tables(tmp_path / "homeserver.db")
    assert main(["schema", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
