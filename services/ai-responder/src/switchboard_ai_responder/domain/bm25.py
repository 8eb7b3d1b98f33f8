"""Okapi BM25 over pre-tokenised documents (Robertson & Zaragoza 2009, Lucene's non-negative idf).

Written here rather than taken from PyPI: it is forty lines, needs no numpy, and the knowledge base of one
tenant (hundreds of chunks) is scored in well under a millisecond.

Besides the score, ``coverage`` says how much of a query a document answers: the (1 + idf)-weighted share of
the query's distinct terms that occur in it. Raw BM25 scores are not comparable across queries; coverage is, so it
is what the responder uses as confidence.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A term's alternatives (synonyms) for query expansion.
Expansions = Callable[[str], Sequence[str]]
#: A synonym's match is worth a little less than the word the user typed.
SYNONYM_DISCOUNT = 0.8


@dataclass(frozen=True)
class Hit:
    index: int
    score: float
    coverage: float


class BM25:
    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.frequencies = [Counter(document) for document in documents]
        self.lengths = [len(document) for document in documents]
        self.count = len(documents)
        self.average_length = (sum(self.lengths) / self.count) if self.count else 0.0
        document_frequency: Counter[str] = Counter()
        for frequency in self.frequencies:
            document_frequency.update(frequency.keys())
        self.document_frequency = document_frequency

    def idf(self, term: str) -> float:
        return self.idf_of(self.document_frequency.get(term, 0))

    def idf_of(self, df: int) -> float:
        """The idf of a term found in ``df`` documents."""
        return math.log(1 + (self.count - df + 0.5) / (df + 0.5))

    def term_score(self, term: str, index: int) -> float:
        tf = self.frequencies[index].get(term, 0)
        if not tf:
            return 0.0
        norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / (self.average_length or 1))
        return self.idf(term) * tf * (self.k1 + 1) / (tf + norm)

    def score(self, query: Sequence[str], index: int, expansions: Expansions | None = None) -> float:
        """BM25; a query term absent from the document scores through its best synonym, discounted."""
        total = 0.0
        for term in set(query):
            value = self.term_score(term, index)
            if not value and expansions:
                value = SYNONYM_DISCOUNT * max(
                    (self.term_score(alt, index) for alt in expansions(term)), default=0.0
                )
            total += value
        return total

    def weight(self, term: str) -> float:
        # 1 + idf: rare terms matter more, but a term every document shares still counts (with a handful of
        # articles idf alone would make coverage swing wildly).
        return 1.0 + self.idf(term)

    def coverage(self, query: Sequence[str], index: int, expansions: Expansions | None = None) -> float:
        terms = set(query)
        total = sum(self.weight(term) for term in terms)
        if total == 0:
            return 0.0
        frequency = self.frequencies[index]

        def present(term: str) -> bool:
            return term in frequency or bool(expansions and any(alt in frequency for alt in expansions(term)))

        return sum(self.weight(term) for term in terms if present(term)) / total

    def search(self, query: Sequence[str], limit: int = 5, expansions: Expansions | None = None) -> list[Hit]:
        """The best ``limit`` documents with a positive score, best first (ties by position)."""
        if not query or not self.count:
            return []
        scored = [(self.score(query, index, expansions), index) for index in range(self.count)]
        best = sorted((item for item in scored if item[0] > 0), key=lambda item: (-item[0], item[1]))[:limit]
        return [Hit(index, score, self.coverage(query, index, expansions)) for score, index in best]
