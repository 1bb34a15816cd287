"""Measure the passage answers on a file of labelled questions, against a data folder's library.

Usage::

    GOVCHAT_DATA_DIR=var python -m bots.pkpa_bot.evaluate --passages QUESTIONS.tsv

The library is read from the homeserver database of ``$GOVCHAT_DATA_DIR``
(as rendered in its ``homeserver.yaml``: SQLite or PostgreSQL), exactly as
administrators left it. QUESTIONS.tsv has one question per line,
``question<TAB>expected``, where expected is ``ID#SECTION`` (several
comma-separated; empty = the library cannot answer it). A header line
starting with ``question`` and lines starting with ``#`` are skipped.

A hit is a returned passage whose circular is ID and whose section equals
SECTION or lies inside it (2.3.4 answers an expected 2.3). Printed figures,
one ``name: value`` per line:

* ``queries`` - questions read;
* ``passage_recall@1`` / ``passage_recall@3`` - over answerable questions, the
  share with a hit among the first 1 / 3 passages;
* ``passage_mrr@3`` - mean of 1/rank of the first hit in the first 3 (0 if none);
* ``not_found_accuracy`` - over unanswerable questions, the share answered "not found";
* ``p50_ms`` / ``p99_ms`` - nearest-rank percentiles of one ``search_passages``
  call, after a warm-up pass.

An answerable question answered "not found" is a miss. Bad input prints one
line on stderr and exits with status 2.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .search import SearchEngine
from .search.library import Library
from .search.passages import PassageAnswer

TOP_K = 3


class EvaluationError(Exception):
    """The evaluation cannot run; the message says why, in one line."""


@dataclass(frozen=True)
class Expected:
    circular_id: str
    section: str

    def answered_by(self, circular_id: str, section: str) -> bool:
        return circular_id == self.circular_id and (section == self.section or section.startswith(self.section + "."))


@dataclass(frozen=True)
class LabelledQuestion:
    text: str
    expected: tuple[Expected, ...]


def read_questions(path: Path, library: Library) -> list[LabelledQuestion]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationError(f"cannot read {path}: {error}") from error
    known = {circular.id for circular in library.circulars}
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#") or line.lower().startswith("question\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip():
            raise EvaluationError(f"line {number}: expected 'question<TAB>ID#SECTION,...'")
        expected = []
        for part in filter(None, (p.strip() for p in fields[1].split(","))):
            circular_id, hash_sign, section = part.partition("#")
            if not hash_sign or not section:
                raise EvaluationError(f"line {number}: '{part}' is not ID#SECTION")
            if circular_id not in known:
                raise EvaluationError(f"line {number}: circular {circular_id} is not in the library")
            expected.append(Expected(circular_id, section))
        questions.append(LabelledQuestion(fields[0].strip(), tuple(expected)))
    if not questions:
        raise EvaluationError(f"{path}: no questions found")
    return questions


def evaluate(engine: SearchEngine, questions: Sequence[LabelledQuestion]) -> list[str]:
    for question in questions:
        engine.search_passages(question.text, limit=TOP_K)
    answers: list[PassageAnswer] = []
    timings: list[float] = []
    for question in questions:
        started = time.perf_counter()
        answers.append(engine.search_passages(question.text, limit=TOP_K))
        timings.append((time.perf_counter() - started) * 1000)
    ranks = [_rank(q, a) for q, a in zip(questions, answers, strict=True) if q.expected]
    not_found = [not a.found for q, a in zip(questions, answers, strict=True) if not q.expected]
    return [
        f"queries: {len(questions)}",
        f"passage_recall@1: {_mean([r == 1 for r in ranks]):.3f}",
        f"passage_recall@3: {_mean([r is not None for r in ranks]):.3f}",
        f"passage_mrr@3: {_mean([1 / r if r else 0.0 for r in ranks]):.3f}",
        f"not_found_accuracy: {_mean(not_found):.3f}",
        f"p50_ms: {_percentile(timings, 50):.3f}",
        f"p99_ms: {_percentile(timings, 99):.3f}",
    ]


def _rank(question: LabelledQuestion, answer: PassageAnswer) -> int | None:
    if not answer.found:
        return None
    for rank, hit in enumerate(answer.hits[:TOP_K], start=1):
        if any(e.answered_by(hit.passage.circular_id, hit.passage.section) for e in question.expected):
            return rank
    return None


def _mean(values: Sequence[float | bool]) -> float:
    return sum(float(v) for v in values) / len(values) if values else 0.0


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


# -- the library in a data folder ------------------------------------------------


def load_library(data_dir: Path) -> Library:
    """Read the circulars library from the database the data folder's homeserver uses."""
    from synapse_modules.circulars import store

    config_path = data_dir / "homeserver.yaml"
    try:
        database = (yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}).get("database", {})
    except (OSError, yaml.YAMLError) as error:
        raise EvaluationError(f"cannot read {config_path}: {error}; is GOVCHAT_DATA_DIR a GovChat data folder?") from error
    connection = _connect(database)
    try:
        cursor = connection.cursor()
        try:
            return store.read_library(cursor)
        except store.LibraryNotSeeded:
            raise EvaluationError(f"the library in {data_dir} is empty: start GovChat once") from None
        except Exception as error:  # no tables yet, and the like
            raise EvaluationError(f"cannot read the library in {data_dir}: {error}") from None
    finally:
        connection.close()


def _connect(database: dict[str, Any]) -> Any:
    name, arguments = database.get("name"), dict(database.get("args") or {})
    if name == "sqlite3":
        path = Path(str(arguments.get("database", "")))
        if not path.is_file():
            raise EvaluationError(f"no database at {path}: start GovChat once")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    if name == "psycopg2":
        import psycopg2

        for key in ("cp_min", "cp_max", "cp_reconnect"):
            arguments.pop(key, None)
        return _QmarkConnection(psycopg2.connect(**arguments))
    raise EvaluationError(f"unsupported database engine {name!r}")


class _QmarkConnection:
    """psycopg2 with the ``?`` placeholders the store's SQL uses (as Synapse converts them)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def cursor(self) -> Any:
        return _QmarkCursor(self._connection.cursor())

    def close(self) -> None:
        self._connection.close()


class _QmarkCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), tuple(parameters))

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> Any:
        return self._cursor.fetchall()
