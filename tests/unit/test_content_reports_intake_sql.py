"""The intake's SQL on Synapse's report tables and GovChat's own, on SQLite (portable `?` SQL)."""

from __future__ import annotations

import sqlite3

import pytest

from govchat.schema import MIGRATIONS
from synapse_modules.common.synapse_internals import SynapseInternalMissing
from synapse_modules.content_reports import rules, synapse_adapter

# GovChat's content-report tables, as the schema step creates them.
CONTENT_REPORT_TABLES = next(migration for migration in MIGRATIONS if migration.version == 5).statements

# Synapse 1.163's tables, as its schema deltas create them.
SYNAPSE_TABLES = (
    "CREATE TABLE event_reports (id BIGINT NOT NULL PRIMARY KEY, received_ts BIGINT NOT NULL, room_id TEXT NOT NULL,"
    " event_id TEXT NOT NULL, user_id TEXT NOT NULL, reason TEXT, content TEXT)",
    "CREATE TABLE room_reports (id BIGINT NOT NULL PRIMARY KEY, received_ts BIGINT NOT NULL, room_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE TABLE user_reports (id BIGINT NOT NULL PRIMARY KEY, received_ts BIGINT NOT NULL, target_user_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE TABLE users (name TEXT, admin SMALLINT DEFAULT 0 NOT NULL, deactivated SMALLINT DEFAULT 0 NOT NULL)",
)


@pytest.fixture
def txn() -> sqlite3.Cursor:
    connection = sqlite3.connect(":memory:")
    cursor = connection.cursor()
    for statement in SYNAPSE_TABLES + CONTENT_REPORT_TABLES:
        cursor.execute(statement)
    return cursor


def test_self_test_passes_on_synapse_1_163_tables(txn: sqlite3.Cursor) -> None:
    synapse_adapter.self_test(txn)


def test_self_test_names_the_renamed_column(txn: sqlite3.Cursor) -> None:
    txn.execute("ALTER TABLE user_reports RENAME COLUMN target_user_id TO reported_user_id")
    with pytest.raises(SynapseInternalMissing, match=r"^content_reports: Synapse has no column user_reports\.target_user_id in its database"):
        synapse_adapter.self_test(txn)


def test_reports_after_the_cursor_and_recent_ones_are_read(txn: sqlite3.Cursor) -> None:
    txn.execute("INSERT INTO event_reports VALUES (1, 100, '!r', '$old', '@a:gc', 'x', '{}')")
    txn.execute("INSERT INTO event_reports VALUES (2, 5000, '!r', '$late', '@a:gc', NULL, '{}')")
    txn.execute("INSERT INTO event_reports VALUES (3, 200, '!r', '$new', '@b:gc', 'y', '{}')")
    found = synapse_adapter.read_reports(txn, rules.EVENT, 2, 4000, 10)
    assert [(r.report_id, r.event_id, r.reason) for r in found] == [(2, "$late", ""), (3, "$new", "y")]
    txn.execute("INSERT INTO user_reports VALUES (1, 100, '@bad:gc', '@a:gc', 'kesat')")
    (user,) = synapse_adapter.read_reports(txn, rules.USER, 0, 10**12, 10)
    assert user.target_user_id == "@bad:gc" and user.room_id is None


def test_only_active_administrators_are_told(txn: sqlite3.Cursor) -> None:
    txn.executemany("INSERT INTO users VALUES (?, ?, ?)", [("@a:gc", 1, 0), ("@gone:gc", 1, 1), ("@u:gc", 0, 0)])
    assert synapse_adapter.active_administrators(txn) == ["@a:gc"]
