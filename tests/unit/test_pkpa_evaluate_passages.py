"""`evaluate --passages` reads a data folder's library and refuses bad input in one line (no homeserver needed).

The library is written with the store's own transaction functions on a plain
SQLite file, as Synapse would hold it; the integration tests do the same through
a real homeserver and the import command.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from bots.pkpa_bot.search import load_circulars
from bots.pkpa_bot.search.documents import split_sections
from govchat.schema import upgrade
from synapse_modules.circulars import store

REPO_ROOT = Path(__file__).resolve().parents[2]
TEXT = """LAMPIRAN A

1.1 WAKTU BEKERJA

Pejabat dibuka dari jam lapan pagi hingga lima petang.

1.2 PAKAIAN

Pegawai memakai batik pada hari Khamis.
"""


def data_folder(tmp_path: Path, with_library: bool = True) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    database = tmp_path / "homeserver.db"
    (tmp_path / "homeserver.yaml").write_text(yaml.safe_dump({"database": {"name": "sqlite3", "args": {"database": str(database)}}}))
    if with_library:
        upgrade(sqlite3.connect(database), "sqlite")  # GovChat's schema step creates the tables
        connection = sqlite3.connect(database)
        cursor = connection.cursor()
        store.seed_if_empty(cursor, 0)
        circular = next(c for c in load_circulars() if c.id == "PKPA-1-2021")
        store.write_import(cursor, circular, split_sections(circular.id, TEXT), 0)
        connection.commit()
        connection.close()
    return tmp_path


def evaluate(data_dir: Path, questions: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GOVCHAT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "bots.pkpa_bot.evaluate", "--passages", str(questions)],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False,
    )


def test_figures_come_from_the_library_in_the_data_folder(tmp_path: Path) -> None:
    questions = tmp_path / "questions.tsv"
    questions.write_text(
        "question\texpected\n"
        "pukul berapa pejabat dibuka\tPKPA-1-2021#1.1\n"
        "hari apa pakai batik\tPKPA-1-2021#1\n"  # 1.2 lies inside 1
        "berapa hari cuti bersalin\t\n",
        encoding="utf-8",
    )
    completed = evaluate(data_folder(tmp_path / "data"), questions)
    assert completed.returncode == 0, completed.stderr
    figures = dict(line.split(": ") for line in completed.stdout.strip().splitlines())
    assert list(figures) == [
        "queries", "passage_recall@1", "passage_recall@3", "passage_mrr@3", "not_found_accuracy", "p50_ms", "p99_ms",
    ]
    assert figures["queries"] == "3"
    assert figures["passage_mrr@3"] == "1.000" and figures["not_found_accuracy"] == "1.000"


def test_a_section_outside_the_expected_one_is_a_miss(tmp_path: Path) -> None:
    questions = tmp_path / "questions.tsv"
    questions.write_text("pukul berapa pejabat dibuka\tPKPA-1-2021#1.2\n", encoding="utf-8")
    completed = evaluate(data_folder(tmp_path / "data"), questions)
    figures = dict(line.split(": ") for line in completed.stdout.strip().splitlines())
    assert figures["passage_recall@3"] == "0.000"


def test_bad_input_is_one_line_and_status_2(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text("soalan\tPKPA-99-2099#1.1\n", encoding="utf-8")
    malformed = tmp_path / "malformed.tsv"
    malformed.write_text("soalan\tPKPA-1-2021\n", encoding="utf-8")
    data = data_folder(tmp_path / "data")
    for questions, words in ((unknown, "PKPA-99-2099"), (malformed, "ID#SECTION")):
        completed = evaluate(data, questions)
        assert completed.returncode == 2 and words in completed.stderr
        assert completed.stderr.strip().count("\n") == 0
    empty = evaluate(data_folder(tmp_path / "empty", with_library=False), unknown)
    assert empty.returncode == 2 and "start GovChat once" in empty.stderr
