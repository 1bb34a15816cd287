"""Each adapter's start-up self-test passes on the pinned Synapse's schema and classes, and names
the one missing piece after a (simulated) Synapse upgrade.

The schema is the real one: Synapse 1.163's own `prepare_database` builds it in a
fresh SQLite file, as a new homeserver does on its first start.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from synapse.handlers.password_policy import PasswordPolicyHandler
from synapse.handlers.profile import ProfileHandler
from synapse.server import HomeServer
from synapse.storage.database import LoggingDatabaseConnection
from synapse.storage.engines import create_engine
from synapse.storage.prepare_database import prepare_database

from jitsi_jwt import synapse_adapter as gcmeet_adapter
from synapse_modules.common import synapse_internals
from synapse_modules.common.synapse_internals import SynapseInternalMissing
from synapse_modules.content_reports import synapse_adapter as content_reports_adapter
from synapse_modules.directory import synapse_adapter as directory_adapter
from synapse_modules.edit_window import synapse_adapter as edit_window_adapter
from synapse_modules.govchat_auth import synapse_adapter as govchat_auth_adapter
from synapse_modules.public_channels import synapse_adapter as public_channels_adapter
from synapse_modules.reports import synapse_adapter as reports_adapter


@pytest.fixture(scope="module")
def pinned_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synapse-schema") / "homeserver.db"
    engine = create_engine({"name": "sqlite3", "args": {"database": str(path)}})
    connection = LoggingDatabaseConnection(
        conn=engine.module.connect(str(path)), engine=engine, default_txn_name="schema", server_name="govchat.test"
    )
    prepare_database(connection, engine, config=None)
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def database(pinned_schema: Path, tmp_path: Path) -> Path:
    """A copy of the pinned schema this test may change."""
    copy = tmp_path / "homeserver.db"
    shutil.copy(pinned_schema, copy)
    return copy


def fake_api(database: Path, **hs_attributes: Any) -> Any:
    """What the adapters read of a ModuleApi: `_hs` (its getters and database config) and `_store`."""
    config = SimpleNamespace(database=SimpleNamespace(databases=[SimpleNamespace(config={"name": "sqlite3", "args": {"database": str(database)}})]))
    getters = {name: getattr(HomeServer, name) for name in synapse_internals.HOMESERVER_GETTERS}
    hs = SimpleNamespace(**{"config": config, **getters, **hs_attributes})
    return SimpleNamespace(_hs=hs, _store=SimpleNamespace(get_event=lambda *args, **kwargs: None))


TABLE_CHECKS: list[tuple[str, Callable[[Any], None]]] = [
    ("directory", directory_adapter.self_test),
    ("public_channels", public_channels_adapter.self_test),
    ("reports", reports_adapter.self_test),
    ("content_reports", content_reports_adapter.self_test_at_start),
    ("gcmeet", gcmeet_adapter.check_openid_tokens_readable),
]


@pytest.mark.parametrize(("module", "self_test"), TABLE_CHECKS, ids=[module for module, _ in TABLE_CHECKS])
def test_self_test_passes_on_the_pinned_synapse(module: str, self_test: Callable[[Any], None], database: Path) -> None:
    self_test(fake_api(database))


def test_shared_and_edit_window_and_auth_self_tests_pass_on_the_pinned_synapse(database: Path) -> None:
    synapse_internals.self_test(fake_api(database))
    edit_window_adapter.self_test(fake_api(database))
    govchat_auth_adapter.self_test()


RENAMED_COLUMNS = [
    (directory_adapter.self_test, "users", "deactivated", "directory", "synapse_modules/directory/synapse_adapter.py"),
    (public_channels_adapter.self_test, "local_current_membership", "membership", "public_channels", "synapse_modules/public_channels/synapse_adapter.py"),
    (reports_adapter.self_test, "events", "origin_server_ts", "reports", "synapse_modules/reports/synapse_adapter.py"),
    (content_reports_adapter.self_test_at_start, "user_reports", "target_user_id", "content_reports", "synapse_modules/content_reports/synapse_adapter.py"),
    (gcmeet_adapter.check_openid_tokens_readable, "open_id_tokens", "ts_valid_until_ms", "gcmeet", "jitsi_jwt/synapse_adapter.py"),
]


@pytest.mark.parametrize(("self_test", "table", "column", "module", "adapter"), RENAMED_COLUMNS, ids=[row[3] for row in RENAMED_COLUMNS])
def test_self_test_names_a_renamed_column(
    self_test: Callable[[Any], None], table: str, column: str, module: str, adapter: str, database: Path
) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute(f"ALTER TABLE {table} RENAME COLUMN {column} TO {column}_v2")
    with pytest.raises(SynapseInternalMissing) as refusal:
        self_test(fake_api(database))
    assert str(refusal.value) == (
        f"{module}: Synapse has no column {table}.{column} in its database "
        f"(GovChat is written against Synapse 1.163; update {adapter})"
    )


def test_self_test_names_a_renamed_table(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("ALTER TABLE current_state_events RENAME TO current_state_events_v2")
    with pytest.raises(SynapseInternalMissing, match=r"^public_channels: Synapse has no table current_state_events in its database "):
        public_channels_adapter.self_test(fake_api(database))


def test_shared_self_test_names_a_missing_homeserver_getter(database: Path) -> None:
    api = fake_api(database)
    del api._hs.get_auth_handler
    with pytest.raises(SynapseInternalMissing, match=r"^GovChat: Synapse has no HomeServer\.get_auth_handler \(GovChat is written against Synapse 1\.163; update synapse_modules/common/synapse_internals\.py\)$"):
        synapse_internals.self_test(api)


def test_edit_window_self_test_names_the_missing_store_method(database: Path) -> None:
    api = fake_api(database)
    api._store = SimpleNamespace()
    with pytest.raises(SynapseInternalMissing, match=r"^edit_window: Synapse has no ModuleApi\._store\.get_event "):
        edit_window_adapter.self_test(api)


def test_directory_self_test_names_the_missing_profile_method(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(ProfileHandler, "set_displayname")
    with pytest.raises(SynapseInternalMissing, match=r"^directory: Synapse has no ProfileHandler\.set_displayname "):
        directory_adapter.self_test(fake_api(database))


def test_govchat_auth_self_test_names_the_missing_password_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(PasswordPolicyHandler, "validate_password")
    with pytest.raises(SynapseInternalMissing, match=r"^govchat_auth: Synapse has no PasswordPolicyHandler\.validate_password "):
        govchat_auth_adapter.self_test()
