"""`govchat migrate-to-postgresql` on a real homeserver: a SQLite GovChat with users, agencies,
a channel and an application moves to GovChat's own PostgreSQL; every govchat_* row arrives,
and the same people, channel and application work on PostgreSQL afterwards (issue 10)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from govchat.migrate import postgresql_server
from govchat.postgres import find_server_binaries, synapse_database_config
from govchat.settings import load_settings
from tests.conftest import TEST_SETTINGS
from tests.harness import CLUSTERS_TO_REMOVE, LAYOUT, REPO_ROOT, GovChatServer, User
from tests.integration.applications_helpers import API as APPLICATIONS_API
from tests.integration.applications_helpers import make_head, official_user, submitted
from tests.integration.test_public_channels import CHANNELS_API, create_channel, in_info

COMMAND = [sys.executable, "-m", "govchat", "migrate-to-postgresql"]
BACKGROUND_UPDATES_TIMEOUT_SECONDS = 180


def _require_postgresql() -> None:
    if find_server_binaries() is not None:
        return
    if os.environ.get("CI"):
        pytest.fail("the migration test needs PostgreSQL: apt-get install postgresql", pytrace=False)
    pytest.skip("the migration test needs PostgreSQL 14+: apt-get install postgresql")


# Both passes start from one process on SQLite; after the move, the worker pass runs the migrated
# data on the worker layout (two client workers), the single pass on one process.
SQLITE_LAYOUT = {"database": {"engine": "sqlite"}, "workers": {"client": 0}}


def run_migration(server: GovChatServer) -> subprocess.CompletedProcess[str]:
    return subprocess.run(COMMAND, cwd=REPO_ROOT, env=server.environment(), capture_output=True, text=True, timeout=900)


def wait_for_background_updates(database: Path) -> None:
    """synapse_port_db copies only a database whose background updates are all done."""
    deadline = time.monotonic() + BACKGROUND_UPDATES_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not sqlite_rows(database, "SELECT COUNT(*) FROM background_updates")[0][0]:
            return
        time.sleep(0.5)
    raise AssertionError(f"Synapse's background updates did not finish within {BACKGROUND_UPDATES_TIMEOUT_SECONDS} s")


def sqlite_rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return list(connection.execute(query).fetchall())
    finally:
        connection.close()


def govchat_table_counts_in_sqlite(database: Path) -> dict[str, int]:
    tables = [row[0] for row in sqlite_rows(database, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'govchat%'")]
    return {table: int(sqlite_rows(database, f'SELECT COUNT(*) FROM "{table}"')[0][0]) for table in tables}


def govchat_table_counts_in_postgresql(database: dict[str, Any]) -> dict[str, int]:
    tables = postgresql_query(
        database, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'govchat%'"
    )
    return {table: int(postgresql_query(database, f'SELECT COUNT(*) FROM "{table}"')[0][0]) for (table,) in tables}


def govchat_table_counts_right_after_the_move(server: GovChatServer) -> dict[str, int]:
    """Counted before GovChat starts again (its jobs add rows once it runs), on its own PostgreSQL started for the count."""
    settings = load_settings(server.data_dir, server.port)
    with postgresql_server(settings, echo=lambda line: None):
        return govchat_table_counts_in_postgresql(synapse_database_config(settings, connections_per_process=1))


def record_directory_name(database: Path, user: User, name: str) -> None:
    """A locked directory name as the directory module records it (no LDAP server needed for the move)."""
    connection = sqlite3.connect(database)
    try:
        connection.execute(
            "INSERT INTO govchat_directory_names (user_id, email, display_name, locked, recorded_ts) VALUES (?, ?, ?, 1, ?)",
            (user.user_id, user.email, name, int(time.time() * 1000)),
        )
        connection.commit()
    finally:
        connection.close()


def postgresql_query(database: dict[str, Any], query: str) -> list[tuple[Any, ...]]:
    import psycopg2

    assert database["name"] == "psycopg2"
    args = {key: value for key, value in database["args"].items() if not key.startswith("cp_")}
    connection = psycopg2.connect(**args)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall())
    finally:
        connection.close()


def postgresql_rows(server: GovChatServer, query: str) -> list[tuple[Any, ...]]:
    """Read from the database the running GovChat uses, as its homeserver.yaml names it."""
    return postgresql_query(yaml.safe_load(server.homeserver_config.read_text())["database"], query)


def use_worker_layout(server: GovChatServer) -> None:
    settings_path = server.data_dir / "govchat.yaml"
    values = yaml.safe_load(settings_path.read_text())
    values["workers"] = {"client": 2}
    settings_path.write_text(yaml.safe_dump(values, allow_unicode=True))
    server.settings["workers"] = {"client": 2}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A SQLite GovChat with people, a channel and an application, moved to PostgreSQL, then running on it."""
    _require_postgresql()
    pytest.importorskip("govchat.schema", reason="the move needs GovChat's schema step (govchat/schema.py)")
    settings = {**TEST_SETTINGS, **SQLITE_LAYOUT, "synapse_extra": {"background_updates": {"sleep_enabled": False}}}
    server = GovChatServer(data_dir=tmp_path_factory.mktemp("govchat-migrate"), settings=settings)
    with server.running():
        admin = server.register_admin()
        officer = official_user(server, "mampu.gov.my")
        owner = official_user(server, "jpa.gov.my")
        channel = create_channel(server, admin, [owner.user_id], name="Pengumuman JPA")
        head = make_head(server, admin, "mampu.gov.my")
        details = {"channel_name": "Saluran MAMPU", "owner_name": "Pegawai MAMPU", "owner_email": officer.email}
        application_id = submitted(server, officer, "public_channel", details)
        info = in_info(server, officer)
        in_info(server, owner)
        settings_before = (server.data_dir / "govchat.yaml").read_bytes()
        refused = run_migration(server)
        refused_state = {
            "settings_unchanged": (server.data_dir / "govchat.yaml").read_bytes() == settings_before,
            "postgres_created": (server.data_dir / "postgres").exists() or (server.data_dir / "postgres").is_symlink(),
        }
        wait_for_background_updates(server.data_dir / "homeserver.db")
    database = server.data_dir / "homeserver.db"
    record_directory_name(database, officer, "Siti Aminah binti Ali")
    sqlite_counts = govchat_table_counts_in_sqlite(database)
    digest_before = file_digest(database)
    result = run_migration(server)
    link = server.data_dir / "postgres"
    if link.is_symlink():
        CLUSTERS_TO_REMOVE.add(Path(os.readlink(link)))
    assert result.returncode == 0, result.stdout + result.stderr
    repeated = run_migration(server)
    postgres_counts = govchat_table_counts_right_after_the_move(server)
    if LAYOUT == "workers":
        use_worker_layout(server)
    with server.running():
        yield {
            "server": server,
            "admin": admin,
            "officer": officer,
            "owner": owner,
            "head": head,
            "channel": channel,
            "info": info,
            "application_id": application_id,
            "result": result,
            "refused": refused,
            "repeated": repeated,
            "refused_state": refused_state,
            "sqlite_counts": sqlite_counts,
            "postgres_counts": postgres_counts,
            "sqlite_unchanged": file_digest(database) == digest_before,
        }


def test_every_govchat_table_has_the_same_rows_on_postgresql(migrated: dict[str, Any]) -> None:
    sqlite_counts = migrated["sqlite_counts"]
    postgres_counts = migrated["postgres_counts"]
    assert sqlite_counts["govchat_user_agencies"] >= 3  # officer, owner, head registered by e-mail
    assert sqlite_counts["govchat_applications"] >= 1 and sqlite_counts["govchat_application_audit"] >= 1
    assert sqlite_counts["govchat_application_heads"] >= 1
    assert {table: postgres_counts.get(table) for table in sqlite_counts} == sqlite_counts


def test_flags_stay_integers_0_and_1_on_postgresql(migrated: dict[str, Any]) -> None:
    rows = postgresql_rows(migrated["server"], "SELECT user_id, display_name, locked FROM govchat_directory_names")
    assert rows == [(migrated["officer"].user_id, "Siti Aminah binti Ali", 1)]
    assert type(rows[0][2]) is int


def test_the_command_reports_each_table_and_switches_govchat_to_postgresql(migrated: dict[str, Any]) -> None:
    output = migrated["result"].stdout
    for table in migrated["sqlite_counts"]:
        assert any(line.startswith(table + " ") and line.rstrip().endswith("OK") for line in output.splitlines()), output
    assert "MISMATCH" not in output
    assert "make run" in output
    settings = yaml.safe_load((migrated["server"].data_dir / "govchat.yaml").read_text())
    assert settings["database"]["engine"] == "postgresql"


def test_sqlite_database_is_kept_untouched_as_the_fallback(migrated: dict[str, Any]) -> None:
    assert migrated["sqlite_unchanged"]


def test_users_log_in_with_their_passwords_after_the_move(migrated: dict[str, Any]) -> None:
    server: GovChatServer = migrated["server"]
    for user in (migrated["officer"], migrated["owner"], migrated["admin"]):
        answer = server.login(user.user_id, user.password)
        assert answer.status_code == 200, answer.text
    assert server.login(migrated["officer"].user_id, "Salah-kata-laluan-1!").status_code == 403


def test_channel_and_its_owner_are_there_after_the_move(migrated: dict[str, Any]) -> None:
    server: GovChatServer = migrated["server"]
    admin: User = migrated["admin"]
    channels = server.request("GET", CHANNELS_API, admin.access_token).json()["channels"]
    channel = next(entry for entry in channels if entry["room_id"] == migrated["channel"]["room_id"])
    assert channel["owners"] == [migrated["owner"].user_id]
    owner: User = migrated["owner"]
    post = server.client_api(
        "PUT", f"/rooms/{channel['room_id']}/send/m.room.message/{uuid.uuid4().hex}", owner.access_token,
        json={"msgtype": "m.text", "body": "Pekeliling selepas pemindahan"},
    )
    assert post.status_code == 200, post.text


def test_everyone_is_still_in_info_after_the_move(migrated: dict[str, Any]) -> None:
    server: GovChatServer = migrated["server"]
    assert in_info(server, migrated["officer"]) == migrated["info"]
    assert in_info(server, migrated["owner"]) == migrated["info"]
    leave = server.client_api("POST", f"/rooms/{migrated['info']}/leave", migrated["officer"].access_token, json={})
    assert leave.status_code == 403


def test_people_are_found_in_the_user_directory_after_the_move(migrated: dict[str, Any]) -> None:
    """synapse_port_db leaves the directory behind; the command has Synapse rebuild it."""
    server: GovChatServer = migrated["server"]
    officer: User = migrated["officer"]
    deadline = time.monotonic() + 60
    found: list[str] = []
    while time.monotonic() < deadline:
        answer = server.client_api("POST", "/user_directory/search", migrated["owner"].access_token, json={"search_term": officer.localpart})
        found = [entry["user_id"] for entry in answer.json().get("results", [])]
        if officer.user_id in found:
            return
        time.sleep(0.5)
    raise AssertionError(f"{officer.user_id} not in the user directory after the move; found {found}")


def test_application_is_listed_after_the_move(migrated: dict[str, Any]) -> None:
    server: GovChatServer = migrated["server"]
    for viewer in (migrated["officer"], migrated["head"], migrated["admin"]):
        listed = server.request("GET", APPLICATIONS_API, viewer.access_token).json()["applications"]
        assert migrated["application_id"] in [entry["application_id"] for entry in listed]


def test_migration_is_refused_while_govchat_runs_and_changes_nothing(migrated: dict[str, Any]) -> None:
    refused: subprocess.CompletedProcess[str] = migrated["refused"]
    assert refused.returncode == 2
    assert "GovChat is running" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert migrated["refused_state"] == {"settings_unchanged": True, "postgres_created": False}


def test_second_move_into_the_filled_database_is_refused(migrated: dict[str, Any]) -> None:
    repeated: subprocess.CompletedProcess[str] = migrated["repeated"]
    assert repeated.returncode == 2
    assert "already has" in repeated.stderr and "Synapse tables" in repeated.stderr, repeated.stderr
