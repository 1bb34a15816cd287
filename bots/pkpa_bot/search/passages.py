"""Answers from the circulars' own text: the paragraphs that say it.

``PassageSearch.search(question)`` ranks every imported paragraph with the same
Malay-aware BM25 as the circular search (``LexicalIndex``) over the paragraph,
its section heading and, for a sub-item such as "(a)(iv)", the item it belongs
to.  It answers "not found" unless the best paragraph explains enough of the
question (``MIN_SHARE_EXPLAINED``), so the bot quotes only text that supports
an answer.  ``highlight`` marks the words of a quote that matched the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .corpus import Circular
from .documents import Passage
from .lexical import Concept, LexicalIndex
from .malay import STOP_WORDS, normalise, stem_variants

MAX_PASSAGES = 3

# "Not found" bar: share of the informative question words the best paragraph
# explains (see LexicalIndex.share_explained).  Set on the development set only.
MIN_SHARE_EXPLAINED = 0.4

# Paragraphs whose score is below this share of the best one are not worth
# showing next to it.
MIN_RELATIVE_SCORE = 0.5

# Question words and everyday synonyms that the circulars' formal Malay does
# not use ("edit" for "suntingan", "padam" for "hapus").  Surface words; the
# index stems them.  Each group is kept because a development question of
# bots/pkpa_bot/data/dev_passages.tsv (named beside it) is answered worse
# without it (tests/unit/test_pkpa_dev_sets.py fails).  Issue 14 removed 33
# groups that changed no development answer, and the words "ubah", "maksimum",
# "pindah", "outside" and "applies", which occurred only in the first held-out
# questions: the engine had been tuned on them.
PASSAGE_SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("edit", "sunting", "suntingan"),  # "berapa lama boleh edit mesej?"
    ("padam", "hapus", "menghapus", "delete", "remove", "buang"),  # "can I delete a message I sent yesterday"
    ("mesej", "message", "data", "chat"),  # "how long can I edit a message after sending it"
    ("lama", "tempoh", "long", "duration"),  # the same question
    ("fail", "file", "files", "dokumen", "document"),  # "maximum file size per upload"
    ("maximum", "max", "sehingga", "had"),  # the same question
    ("kata", "password"),  # "password requirements"
    ("daftar", "pendaftaran", "register", "registration", "sign"),  # "who is allowed to register for GovChat"
    ("akaun", "account"),  # "how do non government users get an account"
    ("saluran", "channel"),  # "who can post in a public channel"
    ("umum", "public"),  # the same question
    ("instalasi", "install", "pasang", "pemasangan"),  # "install govchat on my phone"
    ("telefon", "phone", "mobile"),  # the same question
    ("sidang", "video", "call", "meeting", "mesyuarat"),  # "sidang video govchat"
    ("enkripsi", "encrypt", "encryption", "encrypted", "e2ee"),  # "should I encrypt files before sharing"
    ("kesalahan", "offence", "offense"),  # "is it an offence to use someone else's account"
    ("lain", "other", "else", "someone"),  # the same question
    ("pengguna", "user", "users"),  # "how do non government users get an account"
    ("terperingkat", "classified", "sulit", "rahsia", "terhad"),  # "is sharing classified documents allowed"
    ("akta", "act", "law", "laws"),  # "which laws apply to GovChat use"
    ("faedah", "benefit", "benefits", "kelebihan"),  # "benefits of using GovChat"
    ("berhenti", "leave", "leaves", "quit"),  # "what must agencies do when an officer leaves the service"
    ("tukar", "bertukar", "change", "transfer"),  # "how do I change my password"
    ("bukan", "non", "luar"),  # "how do non government users get an account"
    ("pegawai", "officer", "penjawat", "staff"),  # "what must agencies do when an officer leaves the service"
    ("benarkan", "dibenarkan", "allowed", "allow", "permitted"),  # "who is allowed to register for GovChat"
    ("hantar", "send", "sent", "kongsi", "share", "upload"),  # "maximum file size per upload"
    ("syarat", "requirement", "requirements", "mesti"),  # "password requirements"
    ("terpakai", "pakai", "apply"),  # "which laws apply to GovChat use"
    ("gmail", "yahoo", "emel"),  # "boleh ke daftar guna gmail?"
)

# Conversational words that carry no topic in a question ("berapa lama boleh
# ke ..."): not counted when deciding how much of a question a paragraph
# explains, nor matched.
QUESTION_WORDS = frozenset(
    """
    berapa macam camne camana dah kat tak dlm kena perlu perlukah mesti bolehkah boleh lepas
    ke ker tu ni pun je jer nk tau saje macamana gimana
    must can could may might should would using use get got many much after before yesterday
    else someone s per want need does did
    """.split()
)


@dataclass(frozen=True)
class PassageHit:
    """One paragraph in an answer, with the circular it comes from."""

    passage: Passage
    circular: Circular | None
    score: float
    terms: frozenset[str]  # index terms of the question that matched, for highlighting


@dataclass(frozen=True)
class PassageAnswer:
    query: str
    found: bool
    hits: tuple[PassageHit, ...] = ()
    share_explained: float = 0.0


class PassageSearch:
    """Searches a fixed set of paragraphs; build once, query many times."""

    def __init__(self, passages: Iterable[Passage], circulars: Iterable[Circular] = ()) -> None:
        self.passages: tuple[Passage, ...] = tuple(passages)
        self._circulars = {circular.id: circular for circular in circulars}
        items = {(p.circular_id, p.section, p.label): p.text for p in self.passages}
        self._index = LexicalIndex(
            [indexed_text(passage, items) for passage in self.passages],
            synonym_groups=_synonym_groups(),
        )

    def search(self, query: str, limit: int = MAX_PASSAGES) -> PassageAnswer:
        if not self.passages:
            return PassageAnswer(query, False)
        concepts = self._index.concepts(" ".join(w for w in query.split() if normalise(w).strip("?!.,") not in QUESTION_WORDS))
        if not any(concept.weight == 1.0 for concept in concepts):
            return PassageAnswer(query, False)
        scores = self._index.score_all(concepts)
        ranked = sorted((i for i, score in enumerate(scores) if score > 0), key=lambda i: -scores[i])
        if not ranked:
            return PassageAnswer(query, False)
        share = self._index.share_explained(concepts, ranked[0])
        if share < MIN_SHARE_EXPLAINED:
            return PassageAnswer(query, False, share_explained=share)
        best = scores[ranked[0]]
        chosen = [i for i in ranked[:limit] if scores[i] >= MIN_RELATIVE_SCORE * best]
        hits = tuple(self._hit(i, scores[i], concepts) for i in chosen)
        return PassageAnswer(query, True, hits, share)

    def _hit(self, index: int, score: float, concepts: Sequence[Concept]) -> PassageHit:
        passage = self.passages[index]
        counts = self._index.term_counts[index]
        terms = frozenset(term for concept in concepts for term in concept.alternatives if term in counts)
        return PassageHit(passage, self._circulars.get(passage.circular_id), score, terms)


def indexed_text(passage: Passage, items: dict[tuple[str, str, str], str]) -> str:
    """What a paragraph is found by: its heading, the item it belongs to ("a" for "a.iv"), itself."""
    parent = ""
    if "." in passage.label:
        parent = items.get((passage.circular_id, passage.section, passage.label.rsplit(".", 1)[0]), "")
    return f"{passage.heading} {parent} {passage.text}"


_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


def highlight(text: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` whose stems are among ``terms``."""
    spans = []
    for match in _WORD.finditer(text):
        word = normalise(match.group()).strip()
        if word and word not in STOP_WORDS and set(stem_variants(word)) & terms:
            spans.append((match.start(), match.end()))
    return spans


def excerpt(text: str, spans: list[tuple[int, int]], width: int = 300) -> tuple[str, list[tuple[int, int]]]:
    """At most ``width`` characters of a paragraph around its first highlighted word."""
    if len(text) <= width:
        return text, spans
    first = spans[0][0] if spans else 0
    start = max(0, min(first - width // 3, len(text) - width))
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + width)
    if end < len(text):
        end = max(text.rfind(" ", start, end), start + width // 2)
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shifted = [(s - start + len(prefix), e - start + len(prefix)) for s, e in spans if s >= start and e <= end]
    return f"{prefix}{text[start:end]}{suffix}", shifted


def _synonym_groups() -> tuple[tuple[str, ...], ...]:
    from .lexical import SYNONYM_GROUPS

    return SYNONYM_GROUPS + PASSAGE_SYNONYM_GROUPS
