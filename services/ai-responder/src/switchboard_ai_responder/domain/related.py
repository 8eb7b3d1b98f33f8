"""General English related words (from WordNet 3.0) for the query terms the support vocabulary does not know.

The synonym table (``text.BUILT_IN_SYNONYMS`` and a tenant's own groups) knows support words; a customer's
question often uses an everyday word for what the article names otherwise ("my parcel" / "package", "a
colleague" / "associate", "bought" / "buy"). ``RelatedWords`` gives a term its WordNet relatives, each with
the share of a match it is worth, so an article lacking the term scores through a relative at a discount:

- **same**: the other words of the term's most frequent senses (its synonyms in WordNet's sense);
- **broader**: their direct hypernyms, one level ("mug" → "container"), worth less;
- **derived**: derivationally related forms ("payment" → "pay");
- **base**: an irregular inflection's base form ("bought" → "buy").

The table (``data/wordnet-related.tsv.gz``) is derived from WordNet 3.0 by ``bench/responder/wordnet_table.py``
and carries WordNet's licence (``data/WORDNET-LICENSE``). It is read once, on first use, and keyed by the
retrieval stems (``text.stem``) so it meets questions and articles where BM25 does. Stop words are never
expanded, nor offered as relatives.
"""

from __future__ import annotations

import functools
import gzip
import sys
from collections.abc import Iterable, Mapping
from importlib import resources

from switchboard_ai_responder.domain.text import STEMMED_STOP_WORDS, stem

#: What a match through each kind of relative is worth, against 1 for the word itself (a synonym of the
#: support vocabulary is worth ``bm25.SYNONYM_DISCOUNT``, 0.8).
WEIGHTS: Mapping[str, float] = {"same": 0.5, "broader": 0.3, "derived": 0.6, "base": 0.8}
KINDS = ("same", "broader", "derived", "base")
TABLE = "wordnet-related.tsv.gz"


class RelatedWords:
    """term (a retrieval stem) → its relatives' stems, each with the share of a match it is worth, best first."""

    def __init__(
        self,
        entries: Iterable[tuple[str, Mapping[str, Iterable[str]]]],
        weights: Mapping[str, float] = WEIGHTS,
    ) -> None:
        table: dict[str, dict[str, float]] = {}
        for word, kinds in entries:
            term = stem(word)
            if term in STEMMED_STOP_WORDS or len(term) < 2:
                continue
            relatives = table.setdefault(sys.intern(term), {})
            for kind, words in kinds.items():
                share = weights.get(kind, 0.0)
                if share <= 0:
                    continue
                for other in words:
                    # Interned: the same few thousand stems recur across the table's entries.
                    relative = sys.intern(stem(other))
                    if relative != term and relative not in STEMMED_STOP_WORDS and len(relative) > 1:
                        relatives[relative] = max(share, relatives.get(relative, 0.0))
        self._table = {
            term: tuple(sorted(relatives.items(), key=lambda item: (-item[1], item[0])))
            for term, relatives in table.items()
            if relatives
        }

    def __call__(self, term: str) -> tuple[tuple[str, float], ...]:
        return self._table.get(term, ())

    def __contains__(self, term: str) -> bool:
        return term in self._table

    def __len__(self) -> int:
        return len(self._table)


def read_table(lines: Iterable[str]) -> Iterable[tuple[str, dict[str, list[str]]]]:
    """The table's rows: ``word<TAB>same<TAB>broader<TAB>derived<TAB>base``, each a space-separated list."""
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        word, *columns = line.rstrip("\n").split("\t")
        yield word, {kind: column.split() for kind, column in zip(KINDS, columns, strict=False)}


@functools.cache
def wordnet() -> RelatedWords:
    """The packaged WordNet table (read once per process, on first use)."""
    data = resources.files("switchboard_ai_responder.domain").joinpath("data", TABLE).read_bytes()
    return RelatedWords(read_table(gzip.decompress(data).decode("utf-8").splitlines()))
