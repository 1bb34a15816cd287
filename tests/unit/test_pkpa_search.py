"""Behaviour of the Bot-GovChat circular search engine."""

from __future__ import annotations

import pytest

from bots.pkpa_bot.search import SearchEngine, SearchResult, display_id, load_circulars
from bots.pkpa_bot.search.corpus import STATUS_CANCELLED, STATUS_IN_FORCE, STATUS_UNKNOWN
from bots.pkpa_bot.search.engine import within_one_edit
from bots.pkpa_bot.search.malay import content_words, stem, stem_variants
from bots.pkpa_bot.search.numbers import parse_reference


@pytest.fixture(scope="module")
def engine() -> SearchEngine:
    return SearchEngine()


def top_id(result: SearchResult) -> str | None:
    return result.best.id if result.best else None


# --- corpus -----------------------------------------------------------


def test_corpus_holds_all_36_circulars_with_unique_ids() -> None:
    circulars = load_circulars()
    assert len(circulars) == 36
    assert len({circular.id for circular in circulars}) == 36


def test_display_id_formats_kind_number_and_year() -> None:
    by_id = {circular.id: circular for circular in load_circulars()}
    assert display_id(by_id["PKPA-1-2021"]) == "PKPA 1/2021"
    assert by_id["SPA-4-2006"].display_id == "SPA 4/2006"


def test_display_id_of_a_dated_circular_uses_its_date() -> None:
    by_id = {circular.id: circular for circular in load_circulars()}
    assert by_id["SAKP-2007-06-01"].display_id == "SAKP 2007-06-01"


def test_status_keeps_the_data_text_and_a_coarse_category() -> None:
    by_id = {circular.id: circular for circular in load_circulars()}
    assert by_id["PA-1-2001"].status == "DIBATALKAN by PA 4/2022"
    assert by_id["PA-1-2001"].status_category == STATUS_CANCELLED
    assert by_id["PA-4-2022"].status_category == STATUS_IN_FORCE
    assert by_id["PKPA-4-1991"].status_category == STATUS_UNKNOWN


def test_quoted_status_field_is_read_without_csv_quotes() -> None:
    by_id = {circular.id: circular for circular in load_circulars()}
    assert by_id["PA-3-2000"].status == ('unknown; some agency documents call it "Surat Pekeliling Am"')


# --- numbered look-up -----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PKPA 1/2021", "PKPA-1-2021"),
        ("pkpa bil 1 tahun 2021", "PKPA-1-2021"),
        ("PKPA Bil. 1 Tahun 2021", "PKPA-1-2021"),
        ("PKPA No. 1 of 2021", "PKPA-1-2021"),
        ("pkpa1/2021", "PKPA-1-2021"),
        ("Pekeliling Am 3/2000", "PA-3-2000"),
        ("SPA 4/2006", "SPA-4-2006"),
        ("surat pekeliling am 4/2006", "SPA-4-2006"),
        ("Pekeliling Kemajuan Pentadbiran Awam 1/2021", "PKPA-1-2021"),
        ("Surat Pekeliling Am Bilangan 1 Tahun 2020", "SPA-1-2020"),
    ],
)
def test_numbered_form_with_bil_and_tahun_finds_the_circular(engine: SearchEngine, query: str, expected: str) -> None:
    result = engine.search(query)
    assert result.found
    assert [circular.id for circular in result.circulars] == [expected]
    assert result.hits[0].matched_by == "number"


def test_surat_pekeliling_am_is_not_read_as_pekeliling_am() -> None:
    reference = parse_reference("surat pekeliling am 4/2006")
    assert reference is not None
    assert (reference.kind, reference.number, reference.year) == ("SPA", 4, 2006)


def test_number_and_year_alone_finds_the_circular_when_unambiguous(engine: SearchEngine) -> None:
    result = engine.search("1/2003")
    assert result.found
    assert [circular.id for circular in result.circulars] == ["PKPA-1-2003"]


def test_ambiguous_number_and_year_returns_every_candidate(engine: SearchEngine) -> None:
    result = engine.search("2/2021")
    assert result.found
    assert {circular.id for circular in result.circulars} == {"PKPA-2-2021", "SPA-2-2021"}


def test_unknown_number_is_not_found(engine: SearchEngine) -> None:
    result = engine.search("PKPA 5/2021")
    assert not result.found
    assert result.hits == ()


def test_unknown_number_suggests_same_kind_or_same_year(engine: SearchEngine) -> None:
    result = engine.search("PKPA 5/2021")
    assert result.suggestions
    assert all(c.kind == "PKPA" or c.year == 2021 for c in result.suggestions)


def test_wrong_kind_suggests_the_circular_with_that_number(engine: SearchEngine) -> None:
    result = engine.search("PA 2/2021")
    assert not result.found
    assert result.suggestions[0].id in {"PKPA-2-2021", "SPA-2-2021"}


def test_iso_standard_numbers_are_not_read_as_references() -> None:
    assert parse_reference("MS ISO 9000:2000") is None


# --- Malay tokenising and stemming --------------------------------------------


@pytest.mark.parametrize(
    ("word", "root"),
    [
        ("pengkomputeran", "komputer"),
        ("keselamatan", "selamat"),
        ("perkhidmatan", "khidmat"),
        ("pelaporan", "lapor"),
        ("melaporkan", "lapor"),
        ("dibatalkan", "batal"),
        ("perkongsian", "kongsi"),
        ("penggunaan", "guna"),
        ("kelulusan", "lulus"),
        ("berkuatkuasa", "kuatkuasa"),
        ("pelaksanaan", "laksana"),
    ],
)
def test_malay_affixes_are_stripped(word: str, root: str) -> None:
    assert stem(word) == root


def test_ambiguous_nasal_prefix_yields_every_plausible_root() -> None:
    assert set(stem_variants("memohon")) == {"pohon", "mohon"}
    assert "nilai" in stem_variants("penilaian")


@pytest.mark.parametrize("word", ["awan", "data", "laman", "mesyuarat", "teknologi", "sektor"])
def test_short_and_protected_words_are_not_over_stemmed(word: str) -> None:
    assert stem(word) == word


def test_stop_words_are_dropped_but_domain_words_kept() -> None:
    words = content_words("dasar tentang keselamatan dan perkhidmatan untuk the agency")
    assert words == ["dasar", "keselamatan", "perkhidmatan", "agency"]


def test_email_spellings_meet_in_one_token() -> None:
    for text in ("mel elektronik", "e-mel", "e-mail", "email", "emel"):
        assert content_words(text) == ["emel"]


def test_reduplicated_plural_becomes_one_word() -> None:
    assert content_words("agensi-agensi") == ["agensi"]


def test_one_edit_covers_substitution_insertion_deletion_and_swap() -> None:
    assert within_one_edit("complant", "complaint")
    assert within_one_edit("mesyuarta", "mesyuarat")
    assert within_one_edit("securty", "security")
    assert within_one_edit("kualiti", "kualita")
    assert not within_one_edit("awan", "aduan")


# --- free text ----------------------------------------------------------------


def test_malay_free_text_finds_the_cloud_policy(engine: SearchEngine) -> None:
    result = engine.search("pekeliling tentang pengkomputeran awan")
    assert result.found
    assert top_id(result) == "PKPA-1-2021"


def test_english_free_text_finds_the_incident_reporting_circulars(engine: SearchEngine) -> None:
    result = engine.search("cyber security incident reporting")
    assert result.found
    assert {"PA-4-2022", "PA-1-2001"} & {c.id for c in result.circulars[:2]}


def test_year_in_query_boosts_circulars_of_that_year(engine: SearchEngine) -> None:
    assert top_id(engine.search("pekeliling 2003 mel elektronik")) == "PKPA-1-2003"
    assert top_id(engine.search("mel elektronik 2007")) in {"SAKP-2007-06-01", "SAKP-2007-11-23"}


def test_misspelt_words_are_tolerated(engine: SearchEngine) -> None:
    assert top_id(engine.search("mesyuarta jawatankuasa")) == "PKPA-2-1991"
    assert top_id(engine.search("complant handling")) == "PKPA-4-1992"


def test_kind_and_year_alone_list_the_circulars(engine: SearchEngine) -> None:
    result = engine.search("PKPA 2021")
    assert result.found
    assert {c.id for c in result.circulars} == {"PKPA-1-2021", "PKPA-2-2021"}


def test_limit_caps_the_number_of_hits(engine: SearchEngine) -> None:
    assert len(engine.search("keselamatan", limit=2).hits) == 2


@pytest.mark.parametrize(
    "query",
    ["resepi nasi lemak", "football world cup results", "asdfgh", "", "pekeliling"],
)
def test_query_without_sensible_match_is_not_found_with_suggestions(engine: SearchEngine, query: str) -> None:
    result = engine.search(query)
    assert not result.found
    assert result.hits == ()
    assert 1 <= len(result.suggestions) <= 3


def test_one_matching_word_in_an_unrelated_question_is_not_enough(engine: SearchEngine) -> None:
    assert not engine.search("resepi nasi lemak kerajaan").found


def test_result_carries_every_fact_of_the_circular(engine: SearchEngine) -> None:
    circular = engine.search("SPA 4/2006").circulars[0]
    assert (circular.kind, circular.number, circular.year) == ("SPA", 4, 2006)
    assert circular.title_ms.startswith("Pengurusan Pengendalian Insiden")
    assert circular.subject_en == "Agency CERTs; incident-handling SOP"
    assert circular.status == "DIBATALKAN by PA 4/2022"
    assert circular.source == "gcert.mampu.gov.my; jmg.gov.my"
