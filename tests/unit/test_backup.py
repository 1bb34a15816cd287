"""`govchat backup` and `govchat restore` on a data folder of files (no running Synapse): what is kept,
the checksums, and the refusals. tests/integration/test_backup_restore.py restores a running GovChat."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from govchat.backup import MANIFEST_NAME, BackupError, backup, manifest_problems, restore
from govchat.settings import load_settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    settings = load_settings(folder, 8008)  # writes govchat.yaml
    with sqlite3.connect(folder / "homeserver.db") as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
        connection.execute("INSERT INTO users VALUES ('@siti:govchat.localhost')")
    connection.close()
    (folder / "secrets.yaml").write_text("registration_shared_secret: s\n")
    (folder / "signing.key").write_text("ed25519 a_key xyz\n")
    (folder / "media_store" / "local_content" / "ab").mkdir(parents=True)
    (folder / "media_store" / "local_content" / "ab" / "cd").write_bytes(bytes(range(256)) * 10)
    (folder / "bot").mkdir()
    (folder / "bot" / "credentials.json").write_text('{"device_id": "BOT"}')
    (folder / "bot" / "bot.log").write_text("noise\n")
    with sqlite3.connect(folder / "bot" / "bot.db") as store:
        store.execute("CREATE TABLE olm (key TEXT)")
        store.execute("INSERT INTO olm VALUES ('pickled')")
    store.close()
    (folder / "homeserver.log").write_text("log\n")
    assert settings.data_dir == folder
    return folder


def test_backup_keeps_database_keys_media_bot_store_and_settings_with_checksums(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    backup(load_settings(data_dir, 8008), out, echo=lambda line: None)
    kept = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert kept == [
        MANIFEST_NAME, "backup.json", "bot/bot.db", "bot/credentials.json", "govchat.yaml", "homeserver.db",
        "media_store/local_content/ab/cd", "secrets.yaml", "signing.key",
    ]
    assert manifest_problems(out) == []
    (out / "media_store" / "local_content" / "ab" / "cd").write_bytes(b"changed")
    assert manifest_problems(out) == ["media_store/local_content/ab/cd: checksum differs"]


def test_restore_into_an_empty_folder_gives_back_the_same_data(data_dir: Path, tmp_path: Path) -> None:
    out, restored = tmp_path / "backup", tmp_path / "restored"
    backup(load_settings(data_dir, 8008), out, echo=lambda line: None)
    restore(out, restored, 8009, echo=lambda line: None)
    for name in ("secrets.yaml", "signing.key", "govchat.yaml", "bot/credentials.json", "media_store/local_content/ab/cd"):
        assert (restored / name).read_bytes() == (data_dir / name).read_bytes(), name
    with sqlite3.connect(restored / "homeserver.db") as connection:
        assert connection.execute("SELECT name FROM users").fetchall() == [("@siti:govchat.localhost",)]
    connection.close()
    with sqlite3.connect(restored / "bot" / "bot.db") as store:
        assert store.execute("SELECT key FROM olm").fetchall() == [("pickled",)]
    store.close()


def test_restore_never_writes_over_a_data_folder_that_holds_anything(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    backup(load_settings(data_dir, 8008), out, echo=lambda line: None)
    before = sorted(data_dir.rglob("*"))
    with pytest.raises(BackupError, match="not empty; restore goes into a new, empty data folder only"):
        restore(out, data_dir, 8008, echo=lambda line: None)
    assert sorted(data_dir.rglob("*")) == before


def test_a_damaged_backup_restores_nothing(data_dir: Path, tmp_path: Path) -> None:
    out, restored = tmp_path / "backup", tmp_path / "restored"
    backup(load_settings(data_dir, 8008), out, echo=lambda line: None)
    (out / "signing.key").write_text("ed25519 a_key other\n")
    with pytest.raises(BackupError, match="damaged.*signing.key: checksum differs"):
        restore(out, restored, 8009, echo=lambda line: None)
    assert not restored.exists()


def test_backup_goes_into_an_empty_folder_outside_the_data_folder(data_dir: Path, tmp_path: Path) -> None:
    settings = load_settings(data_dir, 8008)
    with pytest.raises(BackupError, match="inside the data folder"):
        backup(settings, data_dir / "backups", echo=lambda line: None)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        backup(settings, tmp_path / "full", echo=lambda line: None)
