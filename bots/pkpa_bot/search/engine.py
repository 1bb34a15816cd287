"""Lexical search over the circulars: numbered look-up first, then BM25.

``SearchEngine.search`` answers in three ways:

1. A numbered reference ("PKPA Bil. 1 Tahun 2021", "1/2003") is looked up
   exactly.  If no circular has that number the answer is "not found" with
   suggestions of the same kind or year, never a near miss presented as a
   match.
2. Otherwise the free text is scored with BM25 over the Malay title, the
   English subject and hand-written keywords, after Malay-aware stemming,
   bilingual synonym expansion and one-edit typo correction.  A year in the
   query boosts circulars of that year; a kind ("surat pekeliling am")
   boosts circulars of that kind.
3. A query naming only a kind and/or a year ("PKPA 2021") lists them.

"Not found" for free text is decided by a calibrated share of the query
explained, see ``MIN_SHARE_EXPLAINED``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .corpus import Circular, load_circulars
from .malay import content_words, normalise, split_words, stem_variants
from .numbers import (
    NumberedReference,
    find_kind_mention,
    find_years,
    normalise_query,
    parse_reference,
    strip_span,
)

# BM25 parameters.  Documents are short and of similar length, so length
# normalisation matters little; b is set below the usual 0.75 so that the
# longer keyword-rich records are not penalised for their keywords.
BM25_K1 = 1.2
BM25_B = 0.5

SYNONYM_WEIGHT = 0.8  # a synonym is good evidence, but less than the word itself
TYPO_WEIGHT = 0.7  # a one-edit correction is a guess
WEAK_WORD_WEIGHT = 0.3  # words such as "pekeliling" say little about the topic
YEAR_BOOST = 1.5  # "pekeliling 2003 mel elektronik" prefers 2003
KIND_BOOST = 1.3  # "surat pekeliling am ..." prefers SPA circulars
MIN_TYPO_LENGTH = 5  # shorter words have too many one-edit neighbours

# "Not found" threshold.  For each informative query word (weak words
# excluded) the best circular earns at most the word's IDF - what a circular
# containing the word once would score - and a word found in no circular
# counts with the IDF of an unseen word.  The share of the total that the
# best circular earns says how much of the question it explains: "resepi
# nasi lemak kerajaan" is explained only by "kerajaan" (0.14).  On the
# development queries every answerable query scores at least 0.7 and every
# unanswerable one at most 0.2.  Ad-hoc near misses such as "permohonan cuti"
# (leave application: only "permohonan" matches) or "polisi kata laluan"
# score 0.30-0.35, while verbose answerable questions with several words
# foreign to the corpus can fall to about 0.4, so 0.4 is the bar.
MIN_SHARE_EXPLAINED = 0.4

SUGGESTION_COUNT = 3

# Words that appear in nearly every question about circulars.
WEAK_WORDS = frozenset({"pekeliling", "circular", "circulars", "garis", "panduan", "guideline", "guidelines"})

# Bilingual synonym groups (surface words; stemmed when the engine starts).
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("awan", "cloud"),
    ("siber", "cyber"),
    ("emel", "email"),
    ("mesyuarat", "meeting"),
    ("aduan", "pengaduan", "complaint"),
    ("keselamatan", "security", "secure"),
    ("dasar", "policy", "polisi"),
    ("insiden", "incident"),
    ("pelaporan", "laporan", "report", "reporting"),
    ("pengurusan", "management", "manage", "managing"),
    ("website", "portal"),
    ("panduan", "guideline", "guide"),
    ("terbuka", "open"),
    ("perkongsian", "kongsi", "sharing", "share"),
    ("maklumat", "information"),
    ("rangkaian", "network"),
    ("penilaian", "assessment", "assess"),
    ("risiko", "risk"),
    ("kelulusan", "approval", "approve"),
    ("teknikal", "technical"),
    ("projek", "project"),
    ("anugerah", "award"),
    ("cemerlang", "excellent", "excellence"),
    ("kualiti", "quality"),
    ("piagam", "charter"),
    ("pelanggan", "client", "customer"),
    ("surat", "letter"),
    ("minit", "minutes"),
    ("jawatankuasa", "committee"),
    ("penulisan", "menulis", "writing", "write"),
    ("rasmi", "official"),
    ("penggunaan", "guna", "use", "usage", "using"),
    ("pemantauan", "monitoring", "monitor"),
    ("penguatkuasaan", "enforcement", "enforce"),
    ("undang", "law"),
    ("daerah", "district"),
    ("fail", "file"),
    ("pelayan", "server"),
    ("arahan", "directive", "instruction"),
    ("sosial", "social"),
    ("rahsia", "secret"),
    ("pemesejan", "mesej", "messaging", "messenger", "message"),
    ("segera", "instant"),
    ("kerajaan", "government"),
    ("agensi", "agency"),
    ("awam", "public"),
    ("sektor", "sector"),
    ("perkhidmatan", "service"),
    ("kementerian", "ministry"),
    ("prosedur", "procedure"),
    ("kerja", "work"),
    ("meja", "desk"),
    ("strategi", "strategy"),
    ("peningkatan", "improvement", "improve"),
    ("pengendalian", "handling", "handle"),
    ("pelaksanaan", "implementation", "implement"),
    ("tadbirurus", "governance"),
    ("pengkomputeran", "komputer", "computing"),
)


@dataclass(frozen=True)
class Hit:
    """One circular in an answer, with how it was matched."""

    circular: Circular
    score: float
    matched_by: str  # "number", "text" or "listing"


@dataclass(frozen=True)
class SearchResult:
    """The answer to one query."""

    query: str
    found: bool
    hits: tuple[Hit, ...] = ()
    suggestions: tuple[Circular, ...] = ()
    reference: NumberedReference | None = None

    @property
    def circulars(self) -> tuple[Circular, ...]:
        """The matching circulars, best first."""
        return tuple(hit.circular for hit in self.hits)

    @property
    def best(self) -> Circular | None:
        """The best matching circular, or None when nothing was found."""
        return self.hits[0].circular if self.hits else None


@dataclass
class _Concept:
    """One query word with the index terms that may stand for it."""

    weight: float
    alternatives: dict[str, float] = field(default_factory=dict)


class SearchEngine:
    """Searches a fixed set of circulars; build once, query many times."""

    def __init__(self, circulars: Iterable[Circular] | None = None) -> None:
        self.circulars: tuple[Circular, ...] = tuple(circulars) if circulars is not None else load_circulars()
        self._term_counts = [_index_terms(circular) for circular in self.circulars]
        self._lengths = [sum(counts.values()) for counts in self._term_counts]
        self._average_length = sum(self._lengths) / max(len(self._lengths), 1)
        self._document_frequency: Counter[str] = Counter()
        for counts in self._term_counts:
            self._document_frequency.update(counts.keys())
        self._surface_words = _surface_vocabulary(self.circulars)
        self._synonyms = _stemmed_synonyms(SYNONYM_GROUPS)

    # -- public API -----------------------------------------------------

    def search(self, query: str, limit: int = 5) -> SearchResult:
        """Find the circulars that best answer a query (at most ``limit``)."""
        text = normalise_query(query)
        reference = parse_reference(text)
        if reference is not None:
            return self._look_up_number(query, text, reference, limit)
        return self._search_text(query, text, limit)

    # -- numbered look-up ------------------------------------------------

    def _look_up_number(self, query: str, text: str, reference: NumberedReference, limit: int) -> SearchResult:
        matches = [c for c in self.circulars if _has_number(c, reference)]
        if not matches:
            suggestions = self._suggest_for_number(reference)
            return SearchResult(query, False, suggestions=suggestions, reference=reference)
        # Without a kind, "2/2021" may name several circulars: let the rest of
        # the query order them and show them all.
        rest_scores = self._score_all(self._concepts(strip_span(text, reference.span)))
        matches.sort(key=lambda c: -rest_scores[self.circulars.index(c)])
        hits = tuple(Hit(c, 1.0, "number") for c in matches[:limit])
        return SearchResult(query, True, hits=hits, reference=reference)

    def _suggest_for_number(self, reference: NumberedReference) -> tuple[Circular, ...]:
        """Same number and year of another kind, then same kind, then same year."""

        def closeness(circular: Circular) -> tuple[int, int, int]:
            same_number_and_year = circular.number == reference.number and (circular.year == reference.year)
            same_kind = reference.kind is not None and circular.kind == reference.kind
            return (
                0 if same_number_and_year else 1 if same_kind else 2,
                abs(circular.year - reference.year),
                circular.number or 0,
            )

        ranked = sorted(self.circulars, key=closeness)
        relevant = [
            c for c in ranked if c.year == reference.year or (reference.kind is not None and c.kind == reference.kind)
        ]
        return tuple((relevant or ranked)[:SUGGESTION_COUNT])

    # -- free text -------------------------------------------------------

    def _search_text(self, query: str, text: str, limit: int) -> SearchResult:
        kind_mention = find_kind_mention(text)
        kind = kind_mention[0] if kind_mention else None
        if kind_mention:
            text = strip_span(text, kind_mention[1])
        years = set(find_years(text))
        concepts = self._concepts(text)
        if not any(concept.weight == 1.0 for concept in concepts):
            # Only weak words such as "pekeliling" are left: a listing by
            # kind and year ("pekeliling 2003") if there is one.
            return self._list_by_kind_and_year(query, kind, years, limit)
        scores = [
            score * _boost(circular, kind, years)
            for circular, score in zip(self.circulars, self._score_all(concepts), strict=True)
        ]
        ranked = sorted((i for i, score in enumerate(scores) if score > 0), key=lambda i: -scores[i])
        if not ranked or self._share_explained(concepts, ranked[0]) < MIN_SHARE_EXPLAINED:
            suggestions = [self.circulars[i] for i in ranked[:SUGGESTION_COUNT]]
            return SearchResult(query, False, suggestions=self._fill_suggestions(suggestions))
        hits = tuple(Hit(self.circulars[i], scores[i], "text") for i in ranked[:limit])
        return SearchResult(query, True, hits=hits)

    def _list_by_kind_and_year(self, query: str, kind: str | None, years: set[int], limit: int) -> SearchResult:
        if kind is None and not years:
            return SearchResult(query, False, suggestions=self._fill_suggestions([]))
        listed = [c for c in self.circulars if (kind is None or c.kind == kind) and (not years or c.year in years)]
        listed.sort(key=lambda c: (-c.year, c.number or 0))
        if not listed:
            return SearchResult(query, False, suggestions=self._fill_suggestions([]))
        return SearchResult(query, True, hits=tuple(Hit(c, 1.0, "listing") for c in listed[:limit]))

    def _fill_suggestions(self, suggestions: list[Circular]) -> tuple[Circular, ...]:
        """Pad suggestions with the most recent circulars so there are always some."""
        recent = sorted(self.circulars, key=lambda c: (-c.year, c.number or 0))
        for circular in recent:
            if len(suggestions) >= SUGGESTION_COUNT:
                break
            if circular not in suggestions:
                suggestions.append(circular)
        return tuple(suggestions)

    # -- query analysis --------------------------------------------------

    def _concepts(self, text: str) -> list[_Concept]:
        concepts: list[_Concept] = []
        seen: set[str] = set()
        for word in content_words(text):
            if word in seen:
                continue
            seen.add(word)
            concepts.append(self._concept_for(word))
        return concepts

    def _concept_for(self, word: str) -> _Concept:
        concept = _Concept(WEAK_WORD_WEIGHT if word in WEAK_WORDS else 1.0)
        for stem in stem_variants(word):
            concept.alternatives.setdefault(stem, 1.0)
            for synonym in self._synonyms.get(stem, ()):
                concept.alternatives.setdefault(synonym, SYNONYM_WEIGHT)
        if not any(term in self._document_frequency for term in concept.alternatives):
            for term in self._typo_corrections(word):
                concept.alternatives.setdefault(term, TYPO_WEIGHT)
        return concept

    def _typo_corrections(self, word: str) -> set[str]:
        """Index terms of corpus words one edit away from a misspelt word."""
        if len(word) < MIN_TYPO_LENGTH:
            return set()
        corrections: set[str] = set()
        stems = stem_variants(word)
        for surface, surface_stems in self._surface_words.items():
            if within_one_edit(word, surface):
                corrections.update(surface_stems)
        for term in self._document_frequency:
            if len(term) >= MIN_TYPO_LENGTH - 1 and any(within_one_edit(s, term) for s in stems):
                corrections.add(term)
        return corrections

    # -- scoring ---------------------------------------------------------

    def _idf(self, term: str) -> float:
        frequency = self._document_frequency.get(term, 0)
        total = len(self.circulars)
        return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    def _term_score(self, term: str, index: int) -> float:
        frequency = self._term_counts[index].get(term, 0)
        if not frequency:
            return 0.0
        length_ratio = self._lengths[index] / self._average_length
        saturation = frequency * (BM25_K1 + 1) / (frequency + BM25_K1 * (1 - BM25_B + BM25_B * length_ratio))
        return self._idf(term) * saturation

    def _concept_score(self, concept: _Concept, index: int) -> float:
        """A query word's score in one circular: its best-matching index term."""
        return concept.weight * max(
            weight * self._term_score(term, index) for term, weight in concept.alternatives.items()
        )

    def _score_all(self, concepts: Sequence[_Concept]) -> list[float]:
        return [
            sum(self._concept_score(concept, index) for concept in concepts) for index in range(len(self.circulars))
        ]

    def _share_explained(self, concepts: Sequence[_Concept], index: int) -> float:
        """Share of the informative query words a circular explains (see threshold)."""
        informative = [concept for concept in concepts if concept.weight == 1.0]
        attainable = [self._attainable_score(concept) for concept in informative]
        earned = [
            min(self._concept_score(concept, index), limit)
            for concept, limit in zip(informative, attainable, strict=True)
        ]
        return sum(earned) / sum(attainable)

    def _attainable_score(self, concept: _Concept) -> float:
        """What a circular containing the query word once would earn (see threshold)."""
        known = [term for term in concept.alternatives if term in self._document_frequency]
        idf = max(self._idf(term) for term in known) if known else self._idf("")
        return concept.weight * idf


def within_one_edit(first: str, second: str) -> bool:
    """True if the words differ by at most one insertion, deletion,
    substitution or swap of neighbouring letters (linear time)."""
    if first == second:
        return True
    if abs(len(first) - len(second)) > 1:
        return False
    prefix = 0
    shortest = min(len(first), len(second))
    while prefix < shortest and first[prefix] == second[prefix]:
        prefix += 1
    if len(first) == len(second):
        if first[prefix + 1 :] == second[prefix + 1 :]:
            return True  # substitution
        swapped = first[prefix + 1 : prefix + 2] + first[prefix : prefix + 1]
        return swapped == second[prefix : prefix + 2] and first[prefix + 2 :] == second[prefix + 2 :]
    longer, shorter = (first, second) if len(first) > len(second) else (second, first)
    return longer[prefix + 1 :] == shorter[prefix:]


def _has_number(circular: Circular, reference: NumberedReference) -> bool:
    return (
        circular.number == reference.number
        and circular.year == reference.year
        and (reference.kind is None or circular.kind == reference.kind)
    )


def _boost(circular: Circular, kind: str | None, years: set[int]) -> float:
    factor = 1.0
    if circular.year in years:
        factor *= YEAR_BOOST
    if kind is not None and circular.kind == kind:
        factor *= KIND_BOOST
    return factor


def _index_terms(circular: Circular) -> Counter[str]:
    """Stems of every searchable word of a circular, all variants included."""
    counts: Counter[str] = Counter()
    for word in content_words(_searchable_text(circular)):
        counts.update(stem_variants(word))
    return counts


def _searchable_text(circular: Circular) -> str:
    return f"{circular.title_ms} {circular.subject_en} {circular.keywords}"


def _surface_vocabulary(circulars: Iterable[Circular]) -> dict[str, tuple[str, ...]]:
    """Corpus words (before stemming) long enough for typo matching."""
    vocabulary: dict[str, tuple[str, ...]] = {}
    for circular in circulars:
        for word in split_words(normalise(_searchable_text(circular))):
            if len(word) >= MIN_TYPO_LENGTH - 1 and word.isalpha():
                vocabulary[word] = stem_variants(word)
    return vocabulary


def _stemmed_synonyms(groups: Iterable[Sequence[str]]) -> dict[str, frozenset[str]]:
    """Map each stem in a synonym group to the stems of the other members."""
    synonyms: dict[str, set[str]] = {}
    for group in groups:
        stems = {stem for word in group for stem in stem_variants(word)}
        for stem in stems:
            synonyms.setdefault(stem, set()).update(stems - {stem})
    return {stem: frozenset(others) for stem, others in synonyms.items()}
