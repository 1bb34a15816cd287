"""Circular texts split into their own sections; answers quoted from them (issue 15), without a homeserver.

The GovChat guideline (SAKP 1/2022) is read from shared/seed: it is the input,
never copied into the project. Expected sections and words come from reading
the document, not from the code.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from bots.pkpa_bot.commands import Command, answer
from bots.pkpa_bot.search import SearchEngine, load_circulars, split_sections
from bots.pkpa_bot.search.passages import excerpt, highlight
from synapse_modules.circulars import rules

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDELINE = REPO_ROOT.parent / "shared" / "seed" / "garis-panduan-govchat-sakp-1-2022.txt"


@pytest.fixture(scope="module")
def guideline() -> tuple:
    return split_sections("SAKP-1-2022", GUIDELINE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine(guideline: tuple) -> SearchEngine:
    return SearchEngine(load_circulars(), guideline)


def test_guideline_keeps_its_numbered_sections_and_headings(guideline: tuple) -> None:
    by_place = {(p.section, p.label): p for p in guideline}
    edit_rule = by_place[("2.3.4", "a.iv")]
    assert "lima minit" in edit_rule.text and edit_rule.heading == "PERBUALAN DAN SALURAN UMUM"
    assert edit_rule.reference == "2.3.4 (a)(iv)"
    assert by_place[("4.1.2", "")].heading == "Pembatalan akaun Pengguna"
    assert "100MB" in by_place[("1.2", "d.ii")].text
    assert "12 aksara" in by_place[("2.3.2", "d")].text
    assert by_place[("4", "")].text.startswith("Surat Pekeliling Am Bilangan 1 Tahun 2020")  # covering letter, paragraph 4
    sections = {p.section for p in guideline}
    assert {"1.1", "1.2", "1.3", "2.1.1", "2.2.1", "2.2.2", "2.3.1", "2.3.6", "3.1.1", "3.2.2", "4.2.5", "4.3"} <= sections


def test_table_of_contents_and_forms_are_not_quoted(guideline: tuple) -> None:
    assert not any("graph TD" in p.text or "MUKA SURAT" in p.text for p in guideline)
    assert sum(p.section == "2.3" for p in guideline) <= 2  # the body's 2.3 only, not its contents line


def test_text_without_numbering_becomes_one_section_per_paragraph() -> None:
    passages = split_sections("X-1-2026", "Perenggan pertama tentang cuti.\n\nPerenggan kedua tentang elaun.\n")
    assert [(p.section, p.text) for p in passages] == [("1", "Perenggan pertama tentang cuti."), ("2", "Perenggan kedua tentang elaun.")]


def test_edit_question_finds_the_five_minute_rule(engine: SearchEngine) -> None:
    found = engine.search_passages("berapa lama boleh edit mesej?")
    assert found.found
    best = found.hits[0].passage
    assert (best.circular_id, best.section, best.label) == ("SAKP-1-2022", "2.3.4", "a.iv")
    assert len(found.hits) <= 3


@pytest.mark.parametrize("question", ["resepi nasi lemak", "berapa hari cuti bersalin", "how do I claim overtime pay"])
def test_questions_the_text_does_not_answer_are_not_found(engine: SearchEngine, question: str) -> None:
    assert not engine.search_passages(question).found


def test_matching_words_are_highlighted_in_a_short_excerpt() -> None:
    text = "Suntingan dan menghapus data boleh dilakukan dalam tempoh masa lima minit selepas data dikongsi."
    spans = highlight(text, frozenset({"sunting", "suntingan", "minit"}))
    assert [text[s:e] for s, e in spans] == ["Suntingan", "minit"]
    long_text = "mula " * 200 + "kata kunci di sini " + "akhir " * 200
    short, shifted = excerpt(long_text, [(long_text.index("kunci"), long_text.index("kunci") + 5)], width=120)
    assert len(short) <= 125 and short.startswith("…") and short.endswith("…")
    assert [short[s:e] for s, e in shifted] == ["kunci"]


def test_bot_quotes_the_paragraph_with_circular_section_and_status(engine: SearchEngine) -> None:
    reply = answer(Command("search", "berapa lama boleh edit mesej?"), engine)
    assert "SAKP 1/2022, seksyen / section 2.3.4 (a)(iv)" in reply.plain
    assert "lima minit" in reply.plain
    assert "<b>Suntingan</b>" in reply.html and "<blockquote>" in reply.html


def test_questions_about_circulars_keep_the_list_answer(engine: SearchEngine) -> None:
    assert "PKPA 1/2021" in answer(Command("search", "pekeliling tentang pengkomputeran awan"), engine).plain
    assert "SPA 4/2006" in answer(Command("search", "cyber security incident reporting"), engine).plain
    assert "PKPA 2/2021" in answer(Command("search", "PKPA 2/2021"), engine).plain.split("\n")[1]


def test_a_cancelled_circular_says_so_and_names_its_successor(guideline: tuple) -> None:
    circulars = [
        replace(c, status_code="cancelled", superseded_by="PKPA-1-2021") if c.id == "SAKP-1-2022" else c for c in load_circulars()
    ]
    reply = answer(Command("search", "berapa lama boleh edit mesej?"), SearchEngine(circulars, guideline))
    assert "dibatalkan / cancelled; digantikan oleh / superseded by PKPA 1/2021" in reply.plain


def _import_body(**fields: object) -> dict:
    return {"format": "text", "content_base64": base64.b64encode(b"1. Teks ujian.").decode(), **fields}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "docx", "content_base64": "eA=="}, "format"),
        (_import_body(content_base64="not base64!"), "content_base64"),
        (_import_body(content_base64=""), "content_base64"),
        (_import_body(), "title_ms"),
        (_import_body(title_ms="Tajuk", date="31/01/2022"), "date"),
        (_import_body(title_ms="Tajuk", superseded_by="PKPA-9-2099"), "superseded_by"),
        (_import_body(title_ms="Tajuk", public="yes"), "public"),
        ({"format": "pdf", "content_base64": base64.b64encode(b"%PDF-1.4 broken").decode(), "title_ms": "T"}, "content_base64"),
    ],
)
def test_bad_import_requests_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(rules.InvalidRequest) as problem:
        rules.parse_import("PKPA-8-2026", body, None, {"PKPA-1-2021"})
    assert problem.value.field == field
    assert " / " in problem.value.message  # Malay / English


def test_new_numbered_circular_takes_kind_number_and_year_from_its_id() -> None:
    plan = rules.parse_import("PKPA-8-2026", _import_body(title_ms="Tajuk Baharu"), None, set())
    assert (plan.circular.kind, plan.circular.number, plan.circular.year) == ("PKPA", 8, 2026)
    assert plan.circular.status_category == "in force"


@pytest.mark.parametrize(("raw", "code"), [("cancelled", "cancelled"), ("in-force", "in_force"), ("Dibatalkan", "cancelled"), ("amended", "amended")])
def test_status_words_are_understood(raw: str, code: str) -> None:
    assert rules.parse_status(raw) == code


def test_circular_ids_are_checked() -> None:
    assert rules.parse_circular_id("sakp-1-2022") == "SAKP-1-2022"
    for bad in ("", "PKPA 1/2021", "../etc", "PKPA-1-2021; DROP"):
        with pytest.raises(rules.InvalidRequest):
            rules.parse_circular_id(bad)
