"""Every development query, one test each: what each search aid is for (issue 14).

The expected answers are the labels of the development files (written from the
circular catalogue and the GovChat guideline, not from the engine). A search aid
(a synonym group, the keywords column, a boost, a weight) is kept only if some
test here fails without it; the comment beside each one in the engine names the
query. Questions the engine is known to answer wrongly are listed below as
strict expected failures, so both a new miss and a silent fix make this file
fail; the list records today's misses and is not a target.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.pkpa_bot.search import SearchEngine, load_circulars, split_sections

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "bots" / "pkpa_bot" / "data"
GUIDELINE = REPO_ROOT.parent / "shared" / "seed" / "garis-panduan-govchat-sakp-1-2022.txt"

# Development passage questions whose expected section is not the first quote.
NOT_FIRST = {
    "who is allowed to register for GovChat",
    "boleh guna govchat untuk hal peribadi?",
    "muat turun aplikasi govchat",
    "is sharing classified documents allowed",
    "guna akaun orang lain",
    "maklumat rahsia sulit terhad",
    "which laws apply to GovChat use",
    "benefits of using GovChat",
    "may I reverse engineer the app",
    "what is GovChat",
}
# ... and those whose expected section is not among the three quotes at all.
NOT_IN_THREE = {"boleh guna govchat untuk hal peribadi?", "may I reverse engineer the app", "what is GovChat"}


def rows(path: Path) -> list[tuple[str, list[str]]]:
    labelled = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith(("query\t", "question\t")):
            continue
        text, expected = line.split("\t")
        labelled.append((text, [part for part in expected.split(",") if part]))
    return labelled


def known_miss(question: str, misses: set[str]) -> object:
    marks = [pytest.mark.xfail(strict=True, reason="known miss on the development set")] if question in misses else []
    return pytest.param(question, marks=marks, id=question)


CIRCULAR_QUERIES = rows(DATA / "dev_queries.tsv")
PASSAGE_QUESTIONS = rows(DATA / "dev_passages.tsv")
PASSAGE_EXPECTED = dict(PASSAGE_QUESTIONS)


@pytest.fixture(scope="module")
def engine() -> SearchEngine:
    guideline = split_sections("SAKP-1-2022", GUIDELINE.read_text(encoding="utf-8"))
    return SearchEngine(load_circulars(), guideline)


def answers(expected: str, circular_id: str, section: str) -> bool:
    wanted_id, wanted_section = expected.split("#")
    return circular_id == wanted_id and (section == wanted_section or section.startswith(wanted_section + "."))


@pytest.mark.parametrize(("query", "expected"), CIRCULAR_QUERIES, ids=[query for query, _ in CIRCULAR_QUERIES])
def test_development_query_gets_its_circular_first_or_not_found(engine: SearchEngine, query: str, expected: list[str]) -> None:
    result = engine.search(query)
    if expected:
        assert result.found and result.circulars[0].id in expected, [c.id for c in result.circulars]
    else:
        assert not result.found, [c.id for c in result.circulars]


@pytest.mark.parametrize("question", [known_miss(q, NOT_FIRST) for q, expected in PASSAGE_QUESTIONS if expected])
def test_development_question_is_answered_first_by_its_section(engine: SearchEngine, question: str) -> None:
    hits = engine.search_passages(question).hits
    assert hits, "not found"
    first = hits[0].passage
    assert any(answers(e, first.circular_id, first.section) for e in PASSAGE_EXPECTED[question]), first.reference


@pytest.mark.parametrize("question", [known_miss(q, NOT_IN_THREE) for q, expected in PASSAGE_QUESTIONS if expected])
def test_development_question_quotes_its_section_among_three(engine: SearchEngine, question: str) -> None:
    hits = engine.search_passages(question, limit=3).hits
    quoted = [(hit.passage.circular_id, hit.passage.section) for hit in hits]
    assert any(answers(e, *place) for e in PASSAGE_EXPECTED[question] for place in quoted), quoted


@pytest.mark.parametrize("question", [q for q, expected in PASSAGE_QUESTIONS if not expected])
def test_development_question_outside_the_guideline_is_not_answered(engine: SearchEngine, question: str) -> None:
    assert not engine.search_passages(question).found
