"""The evaluation command meets its targets and rejects bad input cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_QUERIES = REPO_ROOT / "bots" / "pkpa_bot" / "data" / "dev_queries.tsv"
# The first held-out set: contaminated (the engine was tuned on it before issue 14, see docs/pkpa-search.md).
HELDOUT_QUERIES = Path(__file__).with_name("heldout_queries.tsv")
# The second held-out set, written blind to the engine after issue 14's tuning; never tune on it.
SECOND_HELDOUT_QUERIES = Path(__file__).with_name("heldout2_queries.tsv")
EXPECTED_NAMES = [
    "queries",
    "recall@1",
    "recall@5",
    "mrr@5",
    "not_found_accuracy",
    "p50_ms",
    "p99_ms",
]


def run_evaluate(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bots.pkpa_bot.evaluate", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def figures(output: str) -> dict[str, float]:
    pairs = [line.split(": ") for line in output.strip().splitlines()]
    assert [name for name, _ in pairs] == EXPECTED_NAMES
    return {name: float(value) for name, value in pairs}


SECOND_HELDOUT_MISSES = (
    "second held-out set, first and only run: MRR@5 0.500, recall@5 0.500 (24 of 48 answerable queries, mostly "
    "colloquial, answered 'not found'; 'thn' for 'tahun' not parsed), not_found_accuracy 1.000; target MRR@5 0.85"
)


@pytest.mark.parametrize(
    ("queries", "at_least"),
    [
        pytest.param(DEV_QUERIES, 40, id="development"),
        pytest.param(HELDOUT_QUERIES, 20, id="first-heldout-contaminated"),
        pytest.param(
            SECOND_HELDOUT_QUERIES, 20, id="second-heldout-written-blind",
            marks=pytest.mark.xfail(strict=True, reason=SECOND_HELDOUT_MISSES),
        ),
    ],
)
def test_query_set_meets_the_targets(queries: Path, at_least: int) -> None:
    completed = run_evaluate(str(queries))
    assert completed.returncode == 0, completed.stderr
    result = figures(completed.stdout)
    assert result["queries"] >= at_least
    assert result["not_found_accuracy"] >= 0.8
    assert result["mrr@5"] >= 0.85


def test_malformed_line_exits_2_with_one_line_on_stderr(tmp_path: Path) -> None:
    queries = tmp_path / "bad.tsv"
    queries.write_text("query\texpected\nPKPA 1/2021\tPKPA-1-2021\textra\n", encoding="utf-8")
    completed = run_evaluate(str(queries))
    assert completed.returncode == 2
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr


def test_unknown_id_exits_2_with_one_line_on_stderr(tmp_path: Path) -> None:
    queries = tmp_path / "unknown.tsv"
    queries.write_text("PKPA 1/2021\tPKPA-99-2021\n", encoding="utf-8")
    completed = run_evaluate(str(queries))
    assert completed.returncode == 2
    assert len(completed.stderr.strip().splitlines()) == 1


def test_missing_file_exits_2_with_one_line_on_stderr(tmp_path: Path) -> None:
    completed = run_evaluate(str(tmp_path / "absent.tsv"))
    assert completed.returncode == 2
    assert len(completed.stderr.strip().splitlines()) == 1


def test_comments_header_and_empty_expected_field_are_accepted(tmp_path: Path) -> None:
    queries = tmp_path / "small.tsv"
    queries.write_text("query\texpected\n# a comment\nPKPA 1/2021\tPKPA-1-2021\nasdfgh\t\n", encoding="utf-8")
    completed = run_evaluate(str(queries))
    assert completed.returncode == 0, completed.stderr
    result = figures(completed.stdout)
    assert result["queries"] == 2
    assert result["recall@1"] == 1.0
    assert result["not_found_accuracy"] == 1.0
