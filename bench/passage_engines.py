"""Which engine ranks circular paragraphs best: GovChat's own BM25 or a well-kept library?

    .venv/bin/pip install bm25s tantivy      # measurement only; not GovChat dependencies
    .venv/bin/python -m bench.passage_engines

Every engine gets the same paragraphs (the GovChat guideline, SAKP 1/2022, from
shared/seed, split by GovChat's importer) and the same Malay-aware analysis
(stemming, synonyms, typo matching): only the ranking differs. "Not found" is
the same calibrated share-explained rule applied to each engine's best
paragraph, so the not-found column compares like with like. Prints one table
for the development set and one for each held-out set (the first is contaminated,
see docs/circulars-library.md; the second was written blind).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bots.pkpa_bot.evaluate_passages import Expected, LabelledQuestion, _mean, _percentile
from bots.pkpa_bot.search import load_circulars, split_sections
from bots.pkpa_bot.search.documents import Passage
from bots.pkpa_bot.search.library import Library
from bots.pkpa_bot.search.malay import normalise
from bots.pkpa_bot.search.passages import MIN_SHARE_EXPLAINED, QUESTION_WORDS, PassageSearch

REPO_ROOT = Path(__file__).resolve().parents[1]
GUIDELINE = REPO_ROOT.parent / "shared" / "seed" / "garis-panduan-govchat-sakp-1-2022.txt"
SETS = {
    "development": REPO_ROOT / "bots" / "pkpa_bot" / "data" / "dev_passages.tsv",
    "first held-out (contaminated)": REPO_ROOT / "tests" / "unit" / "heldout_passages.tsv",
    "second held-out (written blind)": REPO_ROOT / "tests" / "unit" / "heldout2_passages.tsv",
}
TOP_K = 3

# An engine: question -> ranked paragraph indices, or [] for "not found".
Ranker = Callable[[str], list[int]]


def read(path: Path) -> list[LabelledQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("question\t"):
            continue
        text, expected = line.split("\t")
        parts = [part.split("#") for part in expected.split(",") if part]
        questions.append(LabelledQuestion(text, tuple(Expected(c, s) for c, s in parts)))
    return questions


class Engines:
    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = tuple(passages)
        self.own = PassageSearch(self.passages, load_circulars())
        self.index = self.own._index  # the shared analysis: terms of every paragraph
        self.documents = [list(counts.elements()) for counts in self.index.term_counts]

    def concepts(self, question: str) -> list:
        kept = " ".join(w for w in question.split() if normalise(w).strip("?!.,") not in QUESTION_WORDS)
        return self.index.concepts(kept)

    def calibrated(self, question: str, ranked: list[int]) -> list[int]:
        concepts = self.concepts(question)
        if not ranked or not any(c.weight == 1.0 for c in concepts):
            return []
        return ranked if self.index.share_explained(concepts, ranked[0]) >= MIN_SHARE_EXPLAINED else []

    def handwritten(self) -> Ranker:
        by_identity = {id(p): i for i, p in enumerate(self.passages)}
        return lambda q: [by_identity[id(h.passage)] for h in self.own.search(q, TOP_K).hits]

    def bm25s(self) -> Ranker:
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75)
        vocabulary = sorted({term for document in self.documents for term in document})
        ids = {term: i for i, term in enumerate(vocabulary)}
        retriever.index(bm25s.tokenization.Tokenized(ids=[[ids[t] for t in d] for d in self.documents], vocab=ids), show_progress=False)

        def rank(question: str) -> list[int]:
            terms = sorted({t for c in self.concepts(question) for t in c.alternatives if t in ids})
            if not terms:
                return []
            scores = retriever.get_scores([ids[t] for t in terms])
            ranked = [int(i) for i in sorted(range(len(scores)), key=lambda i: -scores[i]) if scores[i] > 0][:TOP_K]
            return self.calibrated(question, ranked)

        return rank

    def tantivy(self) -> Ranker:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("terms", stored=False, tokenizer_name="whitespace")
        builder.add_unsigned_field("position", stored=True)
        schema = builder.build()
        index = tantivy.Index(schema)
        writer = index.writer(heap_size=15_000_000, num_threads=1)
        for position, document in enumerate(self.documents):
            writer.add_document(tantivy.Document(terms=" ".join(document), position=position))
        writer.commit()
        index.reload()
        searcher = index.searcher()

        def rank(question: str) -> list[int]:
            terms = sorted({t for c in self.concepts(question) for t in c.alternatives if t.isalnum()})
            if not terms:
                return []
            query = index.parse_query(" OR ".join(terms), ["terms"])
            hits = searcher.search(query, TOP_K).hits
            ranked = [int(searcher.doc(address)["position"][0]) for _, address in hits]
            return self.calibrated(question, ranked)

        return rank


def measure(engines: Engines, rank: Ranker, questions: Sequence[LabelledQuestion]) -> list[float]:
    for question in questions:
        rank(question.text)
    ranks: list[int | None] = []
    found: list[bool] = []
    timings = []
    for question in questions:
        started = time.perf_counter()
        ranked = rank(question.text)
        timings.append((time.perf_counter() - started) * 1000)
        if not question.expected:
            found.append(not ranked)
            continue
        hit = next(
            (r for r, i in enumerate(ranked[:TOP_K], 1) if any(e.answered_by(engines.passages[i].circular_id, engines.passages[i].section) for e in question.expected)),
            None,
        )
        ranks.append(hit)
    return [
        _mean([r == 1 for r in ranks]),
        _mean([r is not None for r in ranks]),
        _mean([1 / r if r else 0.0 for r in ranks]),
        _mean(found),
        _percentile(timings, 50),
        _percentile(timings, 99),
    ]


def main() -> None:
    passages = split_sections("SAKP-1-2022", GUIDELINE.read_text(encoding="utf-8"))
    Library(0, load_circulars(), passages)  # the same shapes the bot uses
    engines = Engines(passages)
    candidates: dict[str, Ranker] = {"GovChat BM25 (hand-written)": engines.handwritten()}
    for name, factory in (("bm25s", engines.bm25s), ("tantivy", engines.tantivy)):
        try:
            candidates[name] = factory()
        except ImportError:
            print(f"({name} not installed: pip install {name})")
    for set_name, path in SETS.items():
        questions = read(path)
        print(f"\n{set_name} ({len(questions)} questions, {len(passages)} paragraphs)")
        print(f"| {'engine':<28} | recall@1 | recall@3 | mrr@3 | not_found | p50_ms | p99_ms |")
        print(f"|{'-' * 30}|---------:|---------:|------:|----------:|-------:|-------:|")
        for name, rank in candidates.items():
            r1, r3, mrr, nf, p50, p99 = measure(engines, rank, questions)
            print(f"| {name:<28} | {r1:8.3f} | {r3:8.3f} | {mrr:5.3f} | {nf:9.3f} | {p50:6.2f} | {p99:6.2f} |")


if __name__ == "__main__":
    main()
