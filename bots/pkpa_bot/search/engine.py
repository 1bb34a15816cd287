"""Lexical search over the circulars: numbered look-up first, then BM25.

``SearchEngine.search`` answers in three ways:

1. A numbered reference ("PKPA Bil. 1 Tahun 2021", "1/2003") is looked up
   exactly.  If no circular has that number the answer is "not found" with
   suggestions of the same kind or year, never a near miss presented as a
   match.
2. Otherwise the free text is scored with BM25 over the Malay title, the
   English subject and hand-written keywords (which development queries
   need: words such as "MyGovCloud", "SOP" or "whatsapp" are in no title),
   after Malay-aware stemming, bilingual synonym expansion and one-edit typo
   correction.  A year in the query boosts circulars of that year; a kind
   ("surat pekeliling am") boosts circulars of that kind.
3. A query naming only a kind and/or a year ("PKPA 2021") lists them.

"Not found" for free text is decided by a calibrated share of the query
explained, see ``MIN_SHARE_EXPLAINED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .corpus import Circular, load_circulars
from .documents import Passage
from .lexical import Concept, LexicalIndex, within_one_edit  # noqa: F401 (within_one_edit: public here before)
from .numbers import (
    NumberedReference,
    find_kind_mention,
    find_years,
    normalise_query,
    parse_reference,
    strip_span,
)
from .passages import MAX_PASSAGES, PassageAnswer, PassageSearch

# Both boosts are needed by development queries (tests/unit/test_pkpa_dev_sets.py
# fails without them): "pekeliling 2003 mel elektronik" and "pekeliling 2015
# laman web" want that year's circular; "pekeliling am laman web" and "surat
# pekeliling am pengendalian insiden" want the circular of the kind named.
YEAR_BOOST = 1.5
KIND_BOOST = 1.3

# "Not found" threshold.  For each informative query word (weak words
# excluded) the best circular earns at most the word's IDF - what a circular
# containing the word once would score - and a word found in no circular
# counts with the IDF of an unseen word.  The share of the total that the
# best circular earns says how much of the question it explains: "resepi
# nasi lemak kerajaan" is explained only by "kerajaan" (0.14).  On the
# development queries every answerable free-text query scores at least 0.49
# ("hantar dokumen rahsia melalui whatsapp") and every unanswerable one at
# most 0.17 ("cuti bersalin penjawat awam"); the bar lies between.  (An
# earlier comment here justified it with a query of the first held-out set,
# which is why that set is no longer counted as held out.)
MIN_SHARE_EXPLAINED = 0.4

SUGGESTION_COUNT = 3

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
    share_explained: float = 1.0  # free text: how much of the query the best circular explains

    @property
    def circulars(self) -> tuple[Circular, ...]:
        """The matching circulars, best first."""
        return tuple(hit.circular for hit in self.hits)

    @property
    def best(self) -> Circular | None:
        """The best matching circular, or None when nothing was found."""
        return self.hits[0].circular if self.hits else None


class SearchEngine:
    """Searches a fixed set of circulars; build once, query many times."""

    def __init__(self, circulars: Iterable[Circular] | None = None, passages: Iterable[Passage] = ()) -> None:
        self.circulars: tuple[Circular, ...] = tuple(circulars) if circulars is not None else load_circulars()
        self._index = LexicalIndex([_searchable_text(circular) for circular in self.circulars])
        self.passages = PassageSearch(passages, self.circulars)

    def search_passages(self, query: str, limit: int = MAX_PASSAGES) -> PassageAnswer:
        """The paragraphs of imported circular texts that answer a question (at most ``limit``)."""
        return self.passages.search(query, limit)

    def circular(self, circular_id: str) -> Circular | None:
        return next((c for c in self.circulars if c.id == circular_id), None)

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
        share = self._share_explained(concepts, ranked[0]) if ranked else 0.0
        if share < MIN_SHARE_EXPLAINED:
            suggestions = [self.circulars[i] for i in ranked[:SUGGESTION_COUNT]]
            return SearchResult(query, False, suggestions=self._fill_suggestions(suggestions), share_explained=share)
        hits = tuple(Hit(self.circulars[i], scores[i], "text") for i in ranked[:limit])
        return SearchResult(query, True, hits=hits, share_explained=share)

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

    # -- scoring (delegated to the shared lexical index) ----------------

    def _concepts(self, text: str) -> list[Concept]:
        return self._index.concepts(text)

    def _score_all(self, concepts: Sequence[Concept]) -> list[float]:
        return self._index.score_all(concepts)

    def _share_explained(self, concepts: Sequence[Concept], index: int) -> float:
        return self._index.share_explained(concepts, index)


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


def _searchable_text(circular: Circular) -> str:
    return f"{circular.title_ms} {circular.subject_en} {circular.keywords}"
