"""The circulars library in Synapse's database (SQLite or PostgreSQL).

Three tables: one row per circular (its metadata and status), one row per
paragraph of its imported text, and a one-row revision counter that every
change raises in the same transaction, so any process (a worker, the bot
through the HTTP API, the evaluation reading the database) knows whether the
library it holds is current. Every change is one transaction: an import
replaces the circular and all its paragraphs at once, or nothing.

The transaction functions (``read_revision``, ``read_library``, ``write_import``
...) take a DB-API cursor with ``?`` placeholders, so the evaluation command can
run them on a plain sqlite3 cursor too. The tables are created by GovChat's
schema step (``govchat/schema.py``, migration 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bots.pkpa_bot.search.corpus import Circular, classify_status
from bots.pkpa_bot.search.documents import Passage
from bots.pkpa_bot.search.library import Library, starting_catalogue

_CIRCULAR_COLUMNS = (
    "circular_id, kind, number, year, issued_date, title_ms, subject_en, status, status_note,"
    " superseded_by, source, keywords, is_public, updated_ts"
)
SELECT_REVISION = "SELECT revision FROM govchat_circulars_revision WHERE singleton = 1"
SELECT_CIRCULARS = f"SELECT {_CIRCULAR_COLUMNS} FROM govchat_circulars ORDER BY circular_id"
SELECT_PASSAGES = (
    "SELECT circular_id, ordinal, section, heading, label, body FROM govchat_circular_passages"
    " ORDER BY circular_id, ordinal"
)
COUNT_PASSAGES = "SELECT circular_id, COUNT(*) FROM govchat_circular_passages GROUP BY circular_id"
INSERT_CIRCULAR = f"INSERT INTO govchat_circulars ({_CIRCULAR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_PASSAGE = (
    "INSERT INTO govchat_circular_passages (circular_id, ordinal, section, heading, label, body) VALUES (?, ?, ?, ?, ?, ?)"
)
BUMP_REVISION = "UPDATE govchat_circulars_revision SET revision = revision + 1 WHERE singleton = 1"


class LibraryNotSeeded(Exception):
    """The revision row is missing: the library has never been filled."""


def read_revision(txn: Any) -> int | None:
    txn.execute(SELECT_REVISION)
    row = txn.fetchone()
    return int(row[0]) if row else None


def seed_if_empty(txn: Any, now_ms: int) -> bool:
    """Fill a new library with the starting catalogue; False if it was filled already.

    Two processes seeding at once: one INSERT of the revision row fails on its
    primary key and that whole transaction rolls back, leaving the other's.
    """
    if read_revision(txn) is not None:
        return False
    txn.execute("INSERT INTO govchat_circulars_revision (singleton, revision) VALUES (1, 1)")
    for circular in starting_catalogue().circulars:
        _insert_circular(txn, circular, now_ms)
    return True


def read_library(txn: Any) -> Library:
    revision = read_revision(txn)
    if revision is None:
        raise LibraryNotSeeded()
    txn.execute(SELECT_CIRCULARS)
    circulars = tuple(_row_to_circular(row) for row in txn.fetchall())
    txn.execute(SELECT_PASSAGES)
    passages = tuple(Passage(row[0], row[2], row[3], row[4], row[5]) for row in txn.fetchall())
    return Library(revision, circulars, passages)


def read_passage_counts(txn: Any) -> dict[str, int]:
    txn.execute(COUNT_PASSAGES)
    return {row[0]: int(row[1]) for row in txn.fetchall()}


def read_circular(txn: Any, circular_id: str) -> Circular | None:
    txn.execute(f"SELECT {_CIRCULAR_COLUMNS} FROM govchat_circulars WHERE circular_id = ?", (circular_id,))
    row = txn.fetchone()
    return _row_to_circular(row) if row else None


def write_import(txn: Any, circular: Circular, passages: Sequence[Passage], now_ms: int) -> None:
    """Replace a circular's metadata and every paragraph of its text, in this one transaction."""
    txn.execute("DELETE FROM govchat_circular_passages WHERE circular_id = ?", (circular.id,))
    txn.execute("DELETE FROM govchat_circulars WHERE circular_id = ?", (circular.id,))
    _insert_circular(txn, circular, now_ms)
    _insert_passages(txn, passages)
    txn.execute(BUMP_REVISION)


def write_status(txn: Any, circular_id: str, status: str, superseded_by: str, now_ms: int) -> bool:
    txn.execute(
        "UPDATE govchat_circulars SET status = ?, superseded_by = ?, updated_ts = ? WHERE circular_id = ?",
        (status, superseded_by, now_ms, circular_id),
    )
    if txn.rowcount != 1:
        return False
    txn.execute(BUMP_REVISION)
    return True


def delete_circular(txn: Any, circular_id: str) -> bool:
    txn.execute("DELETE FROM govchat_circulars WHERE circular_id = ?", (circular_id,))
    if txn.rowcount != 1:
        return False
    txn.execute("DELETE FROM govchat_circular_passages WHERE circular_id = ?", (circular_id,))
    txn.execute(BUMP_REVISION)
    return True


def _insert_circular(txn: Any, circular: Circular, now_ms: int) -> None:
    status = circular.status_code or _code_for(classify_status(circular.status))
    txn.execute(
        INSERT_CIRCULAR,
        (
            circular.id,
            circular.kind,
            circular.number,
            circular.year,
            circular.date,
            circular.title_ms,
            circular.subject_en,
            status,
            circular.status,
            circular.superseded_by,
            circular.source,
            circular.keywords,
            1 if circular.public else 0,
            now_ms,
        ),
    )


def _insert_passages(txn: Any, passages: Iterable[Passage]) -> None:
    for ordinal, passage in enumerate(passages):
        txn.execute(
            INSERT_PASSAGE, (passage.circular_id, ordinal, passage.section, passage.heading, passage.label, passage.text)
        )


def _code_for(category: str) -> str:
    return {"in force": "in_force", "cancelled": "cancelled", "amended": "amended"}.get(category, "unknown")


def _row_to_circular(row: Sequence[Any]) -> Circular:
    return Circular(
        id=row[0],
        kind=row[1],
        number=int(row[2]) if row[2] is not None else None,
        year=int(row[3]),
        date=row[4],
        title_ms=row[5],
        subject_en=row[6],
        status_code=row[7],
        status=row[8],
        superseded_by=row[9],
        source=row[10],
        keywords=row[11],
        public=bool(row[12]),
    )
