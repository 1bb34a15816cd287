"""GovChat's own tables: one versioned schema step, run once before any Synapse process starts.

Synapse loads every module in every process; if each created its tables lazily,
N workers would race `CREATE TABLE` against each other. Instead `govchat run`
(or `govchat schema upgrade`) applies the pending migrations below, each in its
own transaction, and every module only checks at start-up that the version is
recent enough (`synapse_modules/common/schema_check.py`).

The DDL runs unchanged on SQLite and PostgreSQL 15: TEXT, INTEGER, BIGINT and
SMALLINT only (no BOOLEAN, no SERIAL or AUTOINCREMENT; IDs are random text).
Migration 1 recreates what the modules used to create lazily, with
`IF NOT EXISTS`, so a database they already set up upgrades cleanly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    # (Synapse table, statement): run only where that table exists, i.e. on a database
    # Synapse already set up; a new one has no rows to carry over.
    backfills: tuple[tuple[str, str], ...] = ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "the tables the modules used to create on first use",
        (
            # govchat_auth: each user's agency, recorded at registration.
            """CREATE TABLE IF NOT EXISTS govchat_user_agencies (
                user_id TEXT NOT NULL PRIMARY KEY,
                email TEXT NOT NULL,
                agency_domain TEXT NOT NULL,
                agency_name TEXT NOT NULL,
                ministry TEXT NOT NULL,
                recorded_ts BIGINT NOT NULL
            )""",
            # directory: the directory's name for each user, and whether it is locked (0/1).
            """CREATE TABLE IF NOT EXISTS govchat_directory_names (
                user_id TEXT NOT NULL PRIMARY KEY,
                email TEXT NOT NULL,
                display_name TEXT NOT NULL,
                locked SMALLINT NOT NULL,
                recorded_ts BIGINT NOT NULL
            )""",
            # reports: when each account was deactivated.
            """CREATE TABLE IF NOT EXISTS govchat_user_deactivations (
                user_id TEXT NOT NULL PRIMARY KEY,
                deactivated_ts BIGINT NOT NULL
            )""",
            # applications (A4, A5, A6), their audit trail, external users and heads of department.
            """CREATE TABLE IF NOT EXISTS govchat_applications (
                application_id TEXT NOT NULL PRIMARY KEY,
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                applicant TEXT NOT NULL,
                agency_domain TEXT NOT NULL,
                agency_name TEXT NOT NULL,
                agency_ministry TEXT NOT NULL,
                form TEXT NOT NULL,
                due_ts BIGINT,
                created_ts BIGINT NOT NULL,
                updated_ts BIGINT NOT NULL,
                result TEXT NOT NULL,
                notified_ts BIGINT
            )""",
            "CREATE INDEX IF NOT EXISTS govchat_applications_applicant ON govchat_applications (applicant)",
            "CREATE INDEX IF NOT EXISTS govchat_applications_state ON govchat_applications (state, kind)",
            """CREATE TABLE IF NOT EXISTS govchat_application_audit (
                application_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                ts BIGINT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                note TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS govchat_application_audit_id ON govchat_application_audit (application_id, seq)",
            """CREATE TABLE IF NOT EXISTS govchat_application_people (
                application_id TEXT NOT NULL,
                email TEXT NOT NULL,
                end_ts BIGINT NOT NULL,
                agency_domain TEXT NOT NULL,
                agency_name TEXT NOT NULL,
                agency_ministry TEXT NOT NULL,
                permitted SMALLINT NOT NULL,
                reminded_ts BIGINT,
                ended_ts BIGINT,
                PRIMARY KEY (application_id, email)
            )""",
            "CREATE INDEX IF NOT EXISTS govchat_application_people_email ON govchat_application_people (email)",
            """CREATE TABLE IF NOT EXISTS govchat_application_heads (
                agency_domain TEXT NOT NULL,
                user_id TEXT NOT NULL,
                added_by TEXT NOT NULL,
                added_ts BIGINT NOT NULL,
                PRIMARY KEY (agency_domain, user_id)
            )""",
        ),
    ),
    Migration(
        2,
        "audit sequence numbers are unique per application",
        (
            # Two processes appending to one trail at once: the second insert fails and is retried.
            "DROP INDEX IF EXISTS govchat_application_audit_id",
            "CREATE UNIQUE INDEX govchat_application_audit_seq ON govchat_application_audit (application_id, seq)",
        ),
    ),
    Migration(
        3,
        "outbox, INFO join queue, job leases and runs, shared rate-limit buckets",
        (
            # Work only the main process can do (server notices, deactivation) or that must not be lost (mail).
            """CREATE TABLE govchat_outbox (
                id TEXT NOT NULL PRIMARY KEY,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_ts BIGINT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_ts BIGINT NOT NULL,
                claimed_until_ts BIGINT,
                delivered_ts BIGINT,
                given_up_ts BIGINT,
                last_error TEXT
            )""",
            "CREATE INDEX govchat_outbox_due ON govchat_outbox (delivered_ts, given_up_ts, next_attempt_ts)",
            # Users owed a join to INFO since registration.
            """CREATE TABLE govchat_info_joins (
                user_id TEXT NOT NULL PRIMARY KEY,
                queued_ts BIGINT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_ts BIGINT NOT NULL,
                last_error TEXT
            )""",
            # One holder per job at a time (periodic and admin-triggered runs alike).
            """CREATE TABLE govchat_job_leases (
                job TEXT NOT NULL PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_ts BIGINT NOT NULL
            )""",
            """CREATE TABLE govchat_job_runs (
                job TEXT NOT NULL PRIMARY KEY,
                runs BIGINT NOT NULL,
                last_started_ts BIGINT NOT NULL,
                last_finished_ts BIGINT,
                last_holder TEXT NOT NULL
            )""",
            # Per-user token buckets shared by every process; tokens in thousandths.
            """CREATE TABLE govchat_rate_buckets (
                bucket TEXT NOT NULL,
                key TEXT NOT NULL,
                millitokens BIGINT NOT NULL,
                updated_ts BIGINT NOT NULL,
                PRIMARY KEY (bucket, key)
            )""",
        ),
    ),
    Migration(
        4,
        "which account holds each official mailbox; submissions per officer per day",
        (
            # One row per mailbox: 'pending' while a registration with it is under way, 'bound' once an
            # account holds it. Lifecycle look-ups read this, never what a user can change (issue 12).
            """CREATE TABLE govchat_email_accounts (
                email TEXT NOT NULL PRIMARY KEY,
                user_id TEXT NOT NULL,
                state TEXT NOT NULL,
                updated_ts BIGINT NOT NULL
            )""",
            "CREATE INDEX govchat_email_accounts_user ON govchat_email_accounts (user_id)",
            # Submissions per applicant per UTC day (YYYY-MM-DD), counted by one conditional UPDATE.
            """CREATE TABLE govchat_application_submissions (
                applicant TEXT NOT NULL,
                day TEXT NOT NULL,
                submitted INTEGER NOT NULL,
                PRIMARY KEY (applicant, day)
            )""",
        ),
        backfills=(
            (
                "user_threepids",
                # Accounts bound before the table existed (Synapse 1.163 stores addresses lower-case).
                """INSERT INTO govchat_email_accounts (email, user_id, state, updated_ts)
                SELECT address, user_id, 'bound', added_at FROM user_threepids WHERE medium = 'email'
                ON CONFLICT (email) DO NOTHING""",
            ),
        ),
),
    Migration(
        5,
        "content reports: items, filings, audit trail, intake cursors",
        (
            # One item per reported message, room or user; duplicate reports are filings of one item.
            """CREATE TABLE govchat_content_reports (
                item_id TEXT NOT NULL PRIMARY KEY,
                subject TEXT NOT NULL,
                subject_key TEXT NOT NULL UNIQUE,
                room_id TEXT,
                event_id TEXT,
                accused TEXT,
                event_type TEXT,
                event_ts BIGINT,
                state TEXT NOT NULL,
                created_ts BIGINT NOT NULL,
                updated_ts BIGINT NOT NULL,
                report_count INTEGER NOT NULL,
                removed_ts BIGINT,
                application_id TEXT,
                notified_ts BIGINT
            )""",
            "CREATE INDEX govchat_content_reports_state ON govchat_content_reports (state, created_ts)",
            """CREATE TABLE govchat_content_report_filings (
                source TEXT NOT NULL,
                report_id BIGINT NOT NULL,
                item_id TEXT,
                reporter TEXT NOT NULL,
                reason TEXT NOT NULL,
                received_ts BIGINT NOT NULL,
                held SMALLINT NOT NULL,
                PRIMARY KEY (source, report_id)
            )""",
            "CREATE INDEX govchat_content_report_filings_reporter ON govchat_content_report_filings (reporter, received_ts)",
            "CREATE INDEX govchat_content_report_filings_item ON govchat_content_report_filings (item_id)",
            """CREATE TABLE govchat_content_report_audit (
                item_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                ts BIGINT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                note TEXT NOT NULL,
                PRIMARY KEY (item_id, seq)
            )""",
            """CREATE TABLE govchat_content_report_cursors (
                source TEXT NOT NULL PRIMARY KEY,
                last_id BIGINT NOT NULL
            )""",
        ),
    ),
    Migration(
        6,
        "the circulars library: circulars, their paragraphs, and a revision every change raises",
        (
            """CREATE TABLE govchat_circulars (
                circular_id TEXT NOT NULL PRIMARY KEY,
                kind TEXT NOT NULL,
                number INTEGER,
                year INTEGER NOT NULL,
                issued_date TEXT NOT NULL,
                title_ms TEXT NOT NULL,
                subject_en TEXT NOT NULL,
                status TEXT NOT NULL,
                status_note TEXT NOT NULL,
                superseded_by TEXT NOT NULL,
                source TEXT NOT NULL,
                keywords TEXT NOT NULL,
                is_public INTEGER NOT NULL,
                updated_ts BIGINT NOT NULL
            )""",
            """CREATE TABLE govchat_circular_passages (
                circular_id TEXT NOT NULL,
                ordinal INTEGER NOT NULL,
                section TEXT NOT NULL,
                heading TEXT NOT NULL,
                label TEXT NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (circular_id, ordinal)
            )""",
            """CREATE TABLE govchat_circulars_revision (
                singleton INTEGER NOT NULL PRIMARY KEY,
                revision BIGINT NOT NULL
            )""",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS govchat_schema_version (
    version INTEGER NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    applied_ts BIGINT NOT NULL
)"""


class SchemaError(Exception):
    """The schema step could not run; the message is one line for the operator."""


def current_version(connection: Any, dialect: str) -> int:
    """The highest applied migration, 0 for a database GovChat has not upgraded yet."""
    cursor = connection.cursor()
    try:
        if not _version_table_exists(cursor, dialect):
            return 0
        cursor.execute("SELECT MAX(version) FROM govchat_schema_version")
        row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    finally:
        cursor.close()
        _end_read(connection, dialect)


def upgrade(connection: Any, dialect: str) -> list[int]:
    """Apply pending migrations, each in its own transaction; the versions applied (none: already current).

    `connection` is an open DB-API connection: sqlite3 (dialect "sqlite") or
    psycopg2 (dialect "postgresql"). A concurrent upgrader that applied a
    migration first makes ours roll back on the version row's primary key.
    """
    if dialect not in (SQLITE, POSTGRESQL):
        raise SchemaError(f"unknown database dialect {dialect!r}")
    if dialect == SQLITE:
        # Explicit BEGIN/COMMIT: Python's sqlite3 would otherwise commit each CREATE at once.
        connection.isolation_level = None
    _in_transaction(connection, dialect, [VERSION_TABLE])
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= current_version(connection, dialect):
            continue
        placeholder = "?" if dialect == SQLITE else "%s"
        record = (
            f"INSERT INTO govchat_schema_version (version, description, applied_ts) VALUES ({placeholder}, {placeholder}, {placeholder})",
            (migration.version, migration.description, int(time.time() * 1000)),
        )
        backfills = [statement for table, statement in migration.backfills if _table_exists(connection, dialect, table)]
        _in_transaction(connection, dialect, list(migration.statements) + backfills, record)
        applied.append(migration.version)
    return applied


def upgrade_database(database_config: dict[str, Any]) -> list[int]:
    """Open the database named by Synapse's `database:` section and upgrade it."""
    connection, dialect = connect(database_config)
    try:
        return upgrade(connection, dialect)
    finally:
        connection.close()


def database_version(database_config: dict[str, Any]) -> int:
    connection, dialect = connect(database_config)
    try:
        return current_version(connection, dialect)
    finally:
        connection.close()


def connect(database_config: dict[str, Any]) -> tuple[Any, str]:
    """A DB-API connection and its dialect from Synapse's `database:` config (`name` and `args`)."""
    name = database_config.get("name")
    args = dict(database_config.get("args") or {})
    if name in ("sqlite3", "sqlite"):
        import sqlite3

        path = args.get("database")
        if not isinstance(path, str) or not path:
            raise SchemaError("database.args.database: the SQLite file is not set")
        return sqlite3.connect(path, timeout=30), SQLITE
    if name in ("psycopg2", "postgresql"):
        try:
            import psycopg2
        except ImportError:
            raise SchemaError("PostgreSQL needs psycopg2: install it with `.venv/bin/pip install psycopg2`") from None
        # Synapse's own pool settings (cp_min, cp_max, ...) are not connection parameters.
        parameters = {key: value for key, value in args.items() if not key.startswith("cp_")}
        if "database" in parameters and "dbname" not in parameters:
            parameters["dbname"] = parameters.pop("database")
        try:
            return psycopg2.connect(**parameters), POSTGRESQL
        except psycopg2.Error as error:
            raise SchemaError(f"cannot connect to PostgreSQL: {str(error).strip().splitlines()[0]}") from None
    raise SchemaError(f"database.name: {name!r} is neither sqlite3 nor psycopg2")


def _version_table_exists(cursor: Any, dialect: str) -> bool:
    if dialect == SQLITE:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'govchat_schema_version'")
    else:
        cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'govchat_schema_version'")
    return cursor.fetchone() is not None


def _table_exists(connection: Any, dialect: str, table: str) -> bool:
    cursor = connection.cursor()
    try:
        if dialect == SQLITE:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        else:
            cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_name = %s AND table_schema = current_schema()", (table,))
        return cursor.fetchone() is not None
    finally:
        cursor.close()
        _end_read(connection, dialect)


def _end_read(connection: Any, dialect: str) -> None:
    if dialect == POSTGRESQL:
        connection.rollback()  # psycopg2 opened a transaction for the SELECT


def _in_transaction(connection: Any, dialect: str, statements: list[str], record: tuple[str, tuple[Any, ...]] | None = None) -> None:
    cursor = connection.cursor()
    try:
        if dialect == SQLITE:
            cursor.execute("BEGIN IMMEDIATE")
        for statement in statements:
            cursor.execute(statement)
        if record is not None:
            cursor.execute(*record)
        if dialect == SQLITE:
            cursor.execute("COMMIT")
        else:
            connection.commit()
    except Exception:
        if dialect == SQLITE:
            if connection.in_transaction:
                cursor.execute("ROLLBACK")
        else:
            connection.rollback()
        raise
    finally:
        cursor.close()
