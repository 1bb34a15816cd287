"""Measure the circular search engine on a file of labelled queries.

Usage::

    python -m bots.pkpa_bot.evaluate QUERIES.tsv
    GOVCHAT_DATA_DIR=... python -m bots.pkpa_bot.evaluate --passages QUESTIONS.tsv

The second form measures answers quoted from the circulars' text, against
the library in that data folder: see ``evaluate_passages``.

QUERIES.tsv has one query per line, ``query<TAB>expected ids``, where the
ids come from the ``id`` column of the corpus and are comma-separated.  An
empty expected field means the right answer is "not found".  A header line
starting with ``query`` and lines starting with ``#`` are skipped.

Printed figures, one ``name: value`` per line:

* ``queries`` - number of queries read.
* ``recall@1`` / ``recall@5`` - over answerable queries (non-empty expected
  field), the share where any expected id is among the first 1 / 5 results.
* ``mrr@5`` - over answerable queries, the mean of 1/rank of the first
  expected id within the first 5 results (0 when none is there).
* ``not_found_accuracy`` - over unanswerable queries, the share the engine
  answered with found=False.
* An answerable query that the engine answers "not found" counts as a miss
  (rank none) in recall and MRR.
* ``p50_ms`` / ``p99_ms`` - median and 99th percentile (nearest rank) of the
  time one ``search`` call takes, measured with ``time.perf_counter`` after
  one warm-up pass over all queries.

A figure whose denominator is empty is printed as 0.000.  Bad input
(missing file, malformed line, unknown id) prints one line on stderr and
exits with status 2.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .search import SearchEngine, SearchResult

TOP_K = 5
EXIT_BAD_INPUT = 2


class QueryFileError(Exception):
    """The query file cannot be used; the message says why, in one line."""


@dataclass(frozen=True)
class LabelledQuery:
    """A query and the ids of the circulars that answer it (empty: none)."""

    text: str
    expected: frozenset[str]

    @property
    def answerable(self) -> bool:
        return bool(self.expected)


@dataclass(frozen=True)
class Report:
    """The figures printed by the command."""

    queries: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_5: float
    not_found_accuracy: float
    p50_ms: float
    p99_ms: float

    def lines(self) -> list[str]:
        return [
            f"queries: {self.queries}",
            f"recall@1: {self.recall_at_1:.3f}",
            f"recall@5: {self.recall_at_5:.3f}",
            f"mrr@5: {self.mrr_at_5:.3f}",
            f"not_found_accuracy: {self.not_found_accuracy:.3f}",
            f"p50_ms: {self.p50_ms:.3f}",
            f"p99_ms: {self.p99_ms:.3f}",
        ]


def read_queries(path: Path, known_ids: frozenset[str]) -> list[LabelledQuery]:
    """Parse a query file, rejecting anything malformed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise QueryFileError(f"cannot read {path}: {error}") from error
    data_lines = [
        (number, line)
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if data_lines and data_lines[0][1].lower().startswith("query"):
        data_lines = data_lines[1:]  # the optional header line
    queries = [_parse_line(line, number, known_ids) for number, line in data_lines]
    if not queries:
        raise QueryFileError(f"{path}: no queries found")
    return queries


def _parse_line(line: str, number: int, known_ids: frozenset[str]) -> LabelledQuery:
    fields = line.split("\t")
    if len(fields) != 2:
        raise QueryFileError(f"line {number}: expected 'query<TAB>ids', got {len(fields)} field(s)")
    text, ids_field = fields[0].strip(), fields[1].strip()
    if not text:
        raise QueryFileError(f"line {number}: empty query")
    expected = frozenset(part.strip() for part in ids_field.split(",") if part.strip())
    unknown = sorted(expected - known_ids)
    if unknown:
        raise QueryFileError(f"line {number}: unknown id(s) {', '.join(unknown)}")
    return LabelledQuery(text, expected)


def evaluate(engine: SearchEngine, queries: Sequence[LabelledQuery]) -> Report:
    """Run every query (after a warm-up pass) and compute the figures."""
    for query in queries:
        engine.search(query.text, limit=TOP_K)
    results: list[SearchResult] = []
    timings_ms: list[float] = []
    for query in queries:
        started = time.perf_counter()
        results.append(engine.search(query.text, limit=TOP_K))
        timings_ms.append((time.perf_counter() - started) * 1000)
    return _report(queries, results, timings_ms)


def _report(queries: Sequence[LabelledQuery], results: Sequence[SearchResult], timings_ms: list[float]) -> Report:
    answerable = [(q, r) for q, r in zip(queries, results, strict=True) if q.answerable]
    unanswerable = [r for q, r in zip(queries, results, strict=True) if not q.answerable]
    ranks = [_rank_of_first_expected(q, r) for q, r in answerable]
    return Report(
        queries=len(queries),
        recall_at_1=_mean([rank is not None and rank <= 1 for rank in ranks]),
        recall_at_5=_mean([rank is not None for rank in ranks]),
        mrr_at_5=_mean([1 / rank if rank is not None else 0.0 for rank in ranks]),
        not_found_accuracy=_mean([not result.found for result in unanswerable]),
        p50_ms=_percentile(timings_ms, 50),
        p99_ms=_percentile(timings_ms, 99),
    )


def _rank_of_first_expected(query: LabelledQuery, result: SearchResult) -> int | None:
    """1-based rank of the first expected id in the top 5; None if absent or not found."""
    if not result.found:
        return None
    for rank, circular in enumerate(result.circulars[:TOP_K], start=1):
        if circular.id in query.expected:
            return rank
    return None


def _mean(values: Sequence[float | bool]) -> float:
    return sum(float(value) for value in values) / len(values) if values else 0.0


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) == 2 and arguments[0] == "--passages":
        return _main_passages(Path(arguments[1]))
    if len(arguments) != 1:
        print("usage: python -m bots.pkpa_bot.evaluate [--passages] QUERIES.tsv", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = SearchEngine()
    known_ids = frozenset(circular.id for circular in engine.circulars)
    try:
        queries = read_queries(Path(arguments[0]), known_ids)
    except QueryFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in evaluate(engine, queries).lines():
        print(line)
    return 0


def _main_passages(path: Path) -> int:
    from govchat.settings import data_dir_from_env

    from .evaluate_passages import EvaluationError, load_library, read_questions
    from .evaluate_passages import evaluate as evaluate_passages

    try:
        library = load_library(data_dir_from_env())
        questions = read_questions(path, library)
    except EvaluationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in evaluate_passages(library.engine(), questions):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
