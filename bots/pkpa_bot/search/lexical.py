"""Malay-aware BM25 over short texts, shared by circular and passage search.

A query is analysed into concepts: each informative word with the index terms
that may stand for it (its stems, weight 1; bilingual synonyms, weight 0.8;
corpus words one edit away when the word itself is unknown, weight 1: a lower
weight for these guesses changed no development answer, so it was removed).  A
document's score is the BM25 sum over concepts of each concept's best term.
``share_explained`` says how much of the question a document explains; the
callers turn it into an honest "not found".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .malay import content_words, normalise, split_words, stem_variants

# BM25 parameters: the usual values.  A hand-set b of 0.5 for the circular
# records was removed (issue 14): no development query changed at b = 0, 0.5,
# 0.75 or 1, while the paragraphs' development questions do depend on b.
BM25_K1 = 1.2
BM25_B = 0.75

SYNONYM_WEIGHT = 0.8  # a synonym is good evidence, but less than the word itself
WEAK_WORD_WEIGHT = 0.3  # words such as "pekeliling" say little about the topic
MIN_TYPO_LENGTH = 5  # shorter words have too many one-edit neighbours

# Words that appear in nearly every question about circulars.
WEAK_WORDS = frozenset({"pekeliling", "circular", "circulars", "garis", "panduan", "guideline", "guidelines"})

# Bilingual synonym groups (surface words; stemmed when the engine starts).
# Only groups that a development query needs are kept: each is named beside the
# query of bots/pkpa_bot/data/dev_queries.tsv or dev_passages.tsv that is lost
# without it (tests/unit/test_pkpa_dev_sets.py fails).  53 groups that changed no
# development answer were removed in issue 14; the circular records carry both
# a Malay title and an English subject, so most pairs were never needed.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("dasar", "policy", "polisi"),  # "polisi awan kerajaan"
    ("perkongsian", "kongsi", "sharing", "share"),  # "is sharing classified documents allowed"
    ("agensi", "agency"),  # "what must agencies do when an officer leaves the service"
    ("perkhidmatan", "service"),  # the same question
    ("peningkatan", "improvement", "improve"),  # "how to improve quality in the public service"
)


@dataclass
class Concept:
    """One query word with the index terms that may stand for it."""

    weight: float
    alternatives: dict[str, float] = field(default_factory=dict)



class LexicalIndex:
    """BM25 over a fixed list of texts; build once, query many times."""

    def __init__(
        self,
        texts: Sequence[str],
        synonym_groups: Iterable[Sequence[str]] = SYNONYM_GROUPS,
        weak_words: frozenset[str] = WEAK_WORDS,
        k1: float = BM25_K1,
        b: float = BM25_B,
    ) -> None:
        self.size = len(texts)
        self.k1, self.b = k1, b
        self.weak_words = weak_words
        self.term_counts = [index_terms(text) for text in texts]
        self.lengths = [sum(counts.values()) for counts in self.term_counts]
        self.average_length = sum(self.lengths) / max(len(self.lengths), 1)
        self.document_frequency: Counter[str] = Counter()
        for counts in self.term_counts:
            self.document_frequency.update(counts.keys())
        self._surface_words = _surface_vocabulary(texts)
        self._synonyms = _stemmed_synonyms(synonym_groups)
        # Typo matching compares a word only with words of a length one edit can reach.
        self._surface_by_length: dict[int, list[str]] = {}
        for surface in self._surface_words:
            self._surface_by_length.setdefault(len(surface), []).append(surface)
        self._terms_by_length: dict[int, list[str]] = {}
        for term in self.document_frequency:
            if len(term) >= MIN_TYPO_LENGTH - 1:
                self._terms_by_length.setdefault(len(term), []).append(term)

    # -- query analysis --------------------------------------------------

    def concepts(self, text: str) -> list[Concept]:
        concepts: list[Concept] = []
        seen: set[str] = set()
        for word in content_words(text):
            if word in seen:
                continue
            seen.add(word)
            concepts.append(self._concept_for(word))
        return concepts

    def _concept_for(self, word: str) -> Concept:
        concept = Concept(WEAK_WORD_WEIGHT if word in self.weak_words else 1.0)
        for stem in stem_variants(word):
            concept.alternatives.setdefault(stem, 1.0)
            for synonym in self._synonyms.get(stem, ()):
                concept.alternatives.setdefault(synonym, SYNONYM_WEIGHT)
        if not any(term in self.document_frequency for term in concept.alternatives):
            for term in self._typo_corrections(word):
                concept.alternatives.setdefault(term, 1.0)
        return concept

    def _typo_corrections(self, word: str) -> set[str]:
        """Index terms of corpus words one edit away from a misspelt word."""
        if len(word) < MIN_TYPO_LENGTH:
            return set()
        corrections: set[str] = set()
        stems = stem_variants(word)
        for surface in _near_lengths(self._surface_by_length, len(word)):
            if within_one_edit(word, surface):
                corrections.update(self._surface_words[surface])
        for stem in stems:
            for term in _near_lengths(self._terms_by_length, len(stem)):
                if within_one_edit(stem, term):
                    corrections.add(term)
        return corrections

    # -- scoring ---------------------------------------------------------

    def idf(self, term: str) -> float:
        frequency = self.document_frequency.get(term, 0)
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def term_score(self, term: str, index: int) -> float:
        frequency = self.term_counts[index].get(term, 0)
        if not frequency:
            return 0.0
        length_ratio = self.lengths[index] / self.average_length
        saturation = frequency * (self.k1 + 1) / (frequency + self.k1 * (1 - self.b + self.b * length_ratio))
        return self.idf(term) * saturation

    def concept_score(self, concept: Concept, index: int) -> float:
        """A query word's score in one document: its best-matching index term."""
        return concept.weight * max(weight * self.term_score(term, index) for term, weight in concept.alternatives.items())

    def score_all(self, concepts: Sequence[Concept]) -> list[float]:
        return [sum(self.concept_score(concept, index) for concept in concepts) for index in range(self.size)]

    def share_explained(self, concepts: Sequence[Concept], index: int) -> float:
        """Share of the informative query words a document explains.

        For every informative word the best a document can earn is the word's
        IDF (what a document containing it once would score); a word found in
        no document counts with the IDF of an unseen word.
        """
        informative = [concept for concept in concepts if concept.weight == 1.0]
        attainable = [self.attainable_score(concept) for concept in informative]
        if not attainable:
            return 0.0
        earned = [
            min(self.concept_score(concept, index), limit) for concept, limit in zip(informative, attainable, strict=True)
        ]
        return sum(earned) / sum(attainable)

    def attainable_score(self, concept: Concept) -> float:
        known = [term for term in concept.alternatives if term in self.document_frequency]
        idf = max(self.idf(term) for term in known) if known else self.idf("")
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




def _near_lengths(by_length: dict[int, list[str]], length: int) -> list[str]:
    return [word for size in (length - 1, length, length + 1) for word in by_length.get(size, ())]


def index_terms(text: str) -> Counter[str]:
    """Stems of every searchable word of a text, all variants included."""
    counts: Counter[str] = Counter()
    for word in content_words(text):
        counts.update(stem_variants(word))
    return counts


def _surface_vocabulary(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Corpus words (before stemming) long enough for typo matching."""
    vocabulary: dict[str, tuple[str, ...]] = {}
    for text in texts:
        for word in split_words(normalise(text)):
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
