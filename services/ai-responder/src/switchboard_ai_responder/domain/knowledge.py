"""A tenant's knowledge base: articles, their chunks, and retrieval of the passages that answer a question.

Articles are split into chunks of a few sentences (paragraph boundaries first) so a long article's one relevant
paragraph is found and quoted instead of its introduction. Every chunk is indexed with its article's title and
tags, because a paragraph rarely repeats the topic its title names. Retrieval ranks chunks with BM25 and keeps
each article's best chunk, so the results are one passage per article, best article first.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard_ai_responder.domain.bm25 import BM25, Hit
from switchboard_ai_responder.domain.text import (
    BUILT_IN,
    STOP_WORDS,
    Synonyms,
    normalize,
    sentences,
    stem,
    tokens,
)
from switchboard_contracts.fields import DisplayName

#: Target chunk size in words: long enough to carry an answer, short enough to quote.
CHUNK_WORDS = 90
#: How many times a chunk repeats its article's title in the index.
TITLE_WEIGHT = 2
#: The lexical score's weight in the hybrid score, the semantic similarity's being 1: an article scores its most
#: similar sentence's similarity plus this weight times its BM25 score over the best article's for the question.
#: Scores rather than ranks (reciprocal rank fusion, the rule before): with a few dozen articles, how far ahead
#: an article is says more than its place. On bench/responder's paraphrase tuning parts with
#: all-MiniLM-L6-v2, the right article ranked first for 92 % of the questions where rank fusion (lexical weight
#: 0.5) had 88 %, and for dev-2 with the synonym table as it was before dev-2 was read, 84 % against 80 %;
#: weights of 0.1 to 0.3 did about as well, 0.5 worse.
LEXICAL_WEIGHT = 0.2
#: Shorter words are never read as typos of indexed ones (too many near neighbours).
MIN_TYPO_LENGTH = 5


class ArticleIn(BaseModel):
    """An article as a tenant writes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: DisplayName = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=100_000)
    link: str | None = Field(default=None, max_length=2048, description="Where the full article lives")
    tags: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        cleaned = [tag.strip().lower() for tag in value if tag.strip()]
        if any(len(tag) > 100 for tag in cleaned):
            raise ValueError("tags are at most 100 characters")
        return list(dict.fromkeys(cleaned))


class Article(ArticleIn):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ArticleEmbedding:
    """An article's vectors, one per sentence (``embedding_units``), and the model that produced them."""

    model: str
    vectors: list[list[float]]


@dataclass(frozen=True)
class Chunk:
    article: Article
    position: int
    text: str


@dataclass(frozen=True)
class Passage:
    """The best chunk of one article for a question, with how well it matches.

    ``coverage`` (0..1) is the share of the question the chunk answers; ``confidence`` (0..1) is what the
    responder decides on: coverage times how clearly the article's score leads the next one's (``confidence``,
    lexical), or its similarity plus its lead over the next article (``semantic_confidence``, hybrid).
    """

    article: Article
    text: str
    score: float
    coverage: float
    confidence: float = 0.0
    #: The chunk's position in the index (``KnowledgeIndex.chunks``).
    chunk: int = -1
    #: Semantic similarity of the question and the article's best chunk (hybrid retrieval only).
    similarity: float | None = None


def confidence(coverage: float, score: float, next_score: float, unit: float) -> float:
    """How sure a lexical match is: the share of the question the article covers, times how clearly its BM25
    score leads the next article's (mapped onto 0..1).

    The lead counts the evidence only this article has: a word two articles share ("charge" in pricing and in
    refunds) adds nothing to it, a word only the best article holds adds its weight. It is measured in
    ``unit``, the idf of a word found in one chunk, so that a lead means the same in a knowledge base of three
    articles and of three hundred: a lead of one such word is 1 - 1/e (0.63). Coverage keeps one rare word
    from deciding alone ("recommend a good pizza place" shares only "place" with an article). On
    bench/responder's paraphrase dev set, with thresholds chosen for at most 3 % wrong answers on four folds
    and scored on the fifth, coverage scaled by a relative lead (the rule before) held 42 % top-1 at 4.6 %
    wrong answers, this rule 50 % at 4.1 %; the lead alone 54 % at 3.9 %, but it answered 2 of the original
    question set's 8 out-of-scope questions, this rule none.
    """
    lead = max(0.0, score - next_score)
    return coverage * (1.0 - math.exp(-lead / unit)) if unit > 0 else 0.0


def semantic_confidence(similarity: float, lead: float) -> float:
    """How sure a hybrid match is: the best article's similarity to the question plus its hybrid score's lead
    over the next article's (an article only slightly ahead of another is a guess between the two); 0..1."""
    return max(0.0, min(1.0, similarity + max(0.0, lead)))


def chunk(article: Article, target_words: int = CHUNK_WORDS) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[str] = []
    count = 0
    for paragraph in (part.strip() for part in article.body.split("\n\n")):
        if not paragraph:
            continue
        for sentence in sentences(paragraph):
            words = len(sentence.split())
            if current and count + words > target_words:
                chunks.append(Chunk(article, len(chunks), " ".join(current)))
                current, count = [], 0
            current.append(sentence)
            count += words
        # A paragraph boundary closes a chunk once it holds half a chunk: topics change at paragraphs.
        if count >= target_words // 2:
            chunks.append(Chunk(article, len(chunks), " ".join(current)))
            current, count = [], 0
    if current:
        chunks.append(Chunk(article, len(chunks), " ".join(current)))
    return chunks


def embedding_units(article: Article) -> list[tuple[int, str]]:
    """What is embedded for an article: each sentence after the title (a sentence rarely names its topic), with
    the position of the chunk it belongs to in the article.

    Sentences rather than whole chunks: a customer's question usually matches one sentence, and a chunk's
    vector averages it away (on the paraphrase dev set, all-MiniLM-L6-v2 alone: 69 of 80 articles first by
    sentence, 67 by chunk; 77.5 % against 47.5 % answered right within 5 % wrong answers).
    """
    return [
        (position, f"{article.title}. {sentence}")
        for position, piece in enumerate(chunk(article))
        for sentence in sentences(piece.text)
    ]


def embedding_texts(article: Article) -> list[str]:
    return [text for _, text in embedding_units(article)]


def _dot(left: Sequence[float], right: Sequence[float]) -> float:
    total: float = sum(map(operator.mul, left, right))
    return total


class KnowledgeIndex:
    """An immutable index over one tenant's articles: BM25 over their chunks, and their sentences' vectors when an
    embedder produced them (``hybrid``)."""

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        title_weight: int = TITLE_WEIGHT,
        embeddings: Mapping[str, ArticleEmbedding] | None = None,
    ) -> None:
        self.articles = list(articles)
        self.title_weight = title_weight
        self.chunks = [piece for article in self.articles for piece in chunk(article)]
        self._bm25 = BM25([self._terms(piece) for piece in self.chunks])
        self._spelling: dict[str, set[str]] | None = None
        self._spellings: dict[str, str] | None = None
        #: (chunk position in ``chunks``, vector) of every embedded sentence.
        self.vectors: list[tuple[int, list[float]]] = []
        self.embedding_model: str | None = None
        if embeddings:
            self._attach(embeddings)

    def _attach(self, embeddings: Mapping[str, ArticleEmbedding]) -> None:
        models = {embedding.model for embedding in embeddings.values()}
        if len(models) != 1:
            raise ValueError("an index holds the vectors of one model")
        self.embedding_model = models.pop()
        first: dict[str, int] = {}
        for position, piece in enumerate(self.chunks):
            first.setdefault(piece.article.id, position)
        for article in self.articles:
            embedding = embeddings.get(article.id)
            units = embedding_units(article)
            # Vectors of another segmentation (the article was split differently when embedded) are not used.
            if embedding is None or len(embedding.vectors) != len(units):
                continue
            self.vectors.extend(
                (first[article.id] + at, vector)
                for (at, _), vector in zip(units, embedding.vectors, strict=True)
            )

    def missing_embeddings(self) -> list[Article]:
        """Articles without vectors (new, changed, or embedded by another model)."""
        covered = {self.chunks[position].article.id for position, _ in self.vectors}
        return [article for article in self.articles if article.id not in covered]

    def _terms(self, piece: Chunk) -> list[str]:
        # The title counts several times: it is the most reliable statement of what the article is about.
        heading = tokens(piece.article.title)
        return heading * self.title_weight + tokens(" ".join(piece.article.tags)) + tokens(piece.text)

    def corrected(self, term: str, synonyms: Synonyms = BUILT_IN) -> str:
        """``term``, or the indexed word one typo away from it ("passwrod" → "password") when neither the term
        nor any of its synonyms is indexed. The most common such word wins."""
        known = self._bm25.document_frequency
        if len(term) < MIN_TYPO_LENGTH or term in known or any(alt in known for alt in synonyms(term)):
            return term
        if self._spelling is None:
            self._spelling = {}
            for word in known:
                if len(word) >= MIN_TYPO_LENGTH - 1:
                    for variant in _deletions(word) | {word}:
                        self._spelling.setdefault(variant, set()).add(word)
        candidates: set[str] = set()
        for variant in _deletions(term) | {term}:
            candidates |= self._spelling.get(variant, set())
        if not candidates:
            return term
        return max(sorted(candidates), key=lambda word: known[word])

    def query(self, question: str, synonyms: Synonyms = BUILT_IN) -> list[str]:
        return [self.corrected(term, synonyms) for term in synonyms.query_terms(question)]

    def search(
        self,
        question: str,
        limit: int = 3,
        synonyms: Synonyms = BUILT_IN,
        query_vector: Sequence[float] | None = None,
    ) -> list[Passage]:
        """The best passage of the best ``limit`` articles. Lexical (BM25) alone, or — with the question's
        vector and an index holding article vectors — fused with semantic similarity (``hybrid``)."""
        if query_vector is not None and self.vectors:
            return self.hybrid(question, query_vector, limit, synonyms)
        return self.lexical(question, limit, synonyms)

    def lexical(self, question: str, limit: int = 3, synonyms: Synonyms = BUILT_IN) -> list[Passage]:
        query = self.query(question, synonyms)
        best: list[Hit] = []
        seen: set[str] = set()
        # One more article than asked for: the last one's score is the margin the others are judged by.
        for hit in self._bm25.search(query, limit=max((limit + 1) * 4, 12), expansions=synonyms):
            piece = self.chunks[hit.index]
            if piece.article.id in seen:
                continue
            seen.add(piece.article.id)
            best.append(hit)
            if len(best) == limit + 1:
                break
        passages = []
        for position, hit in enumerate(best[:limit]):
            piece = self.chunks[hit.index]
            following = best[position + 1].score if position + 1 < len(best) else 0.0
            sure = confidence(hit.coverage, hit.score, following, self._bm25.idf_of(1))
            passages.append(Passage(piece.article, piece.text, hit.score, hit.coverage, sure, hit.index))
        return passages

    def hybrid(
        self, question: str, query_vector: Sequence[float], limit: int = 3, synonyms: Synonyms = BUILT_IN
    ) -> list[Passage]:
        """The lexical and the semantic scores of every article, added (``LEXICAL_WEIGHT``).

        Each article's semantic score is its most similar sentence's similarity to the question, its lexical one
        its BM25 score over the best article's. Only the article ranked first can be answered from; its
        ``confidence``, judged against the tenant's ``min_similarity``, is ``semantic_confidence``: its
        similarity plus its lead over the next article. The others' is 0. An article without vectors (not
        embedded yet) ranks on its words alone, and is never answered from.
        """
        lexical = {p.article.id: p for p in self.lexical(question, len(self.articles), synonyms)}
        best_score = max((passage.score for passage in lexical.values()), default=0.0)
        semantic: dict[str, tuple[float, int]] = {}
        for position, vector in self.vectors:
            piece = self.chunks[position]
            similarity = _dot(query_vector, vector)
            if similarity > semantic.get(piece.article.id, (-2.0, -1))[0]:
                semantic[piece.article.id] = (similarity, position)
        fused: dict[str, float] = {article_id: similarity for article_id, (similarity, _) in semantic.items()}
        if best_score > 0:
            for article_id, hit in lexical.items():
                fused[article_id] = fused.get(article_id, 0.0) + LEXICAL_WEIGHT * hit.score / best_score
        ranked = sorted(fused, key=lambda key: -fused[key])
        sure = 0.0
        if ranked and ranked[0] in semantic:
            lead = fused[ranked[0]] - fused[ranked[1]] if len(ranked) > 1 else fused[ranked[0]]
            sure = semantic_confidence(semantic[ranked[0]][0], lead)
        passages = []
        for rank, article_id in enumerate(ranked[:limit]):
            match = lexical.get(article_id)
            similarity, position = semantic.get(article_id, (0.0, -1))
            if match is None or (position >= 0 and position != match.chunk):
                piece = self.chunks[position]
                text, coverage = piece.text, match.coverage if match else 0.0
            else:
                text, coverage, position = match.text, match.coverage, match.chunk
            passages.append(
                Passage(
                    self.chunks[position].article,
                    text,
                    fused[article_id],
                    coverage,
                    sure if rank == 0 else 0.0,
                    position,
                    similarity,
                )
            )
        return passages

    def semantic_queries(self, question: str, synonyms: Synonyms = BUILT_IN) -> list[str]:
        """What is embedded for a question: the question, and — when it differs — its rewrite with typos
        corrected against the indexed words and the support vocabulary's head terms appended ("stop charging
        me every month" → "... (cancel, price, monthly)"). A small model reads a short, slangy question
        better with the words the articles use beside it; the two vectors are averaged (``query_vector``).
        """
        words = []
        for word in normalize(question).split():
            term = stem(word)
            fixed = term if word in STOP_WORDS else self.corrected(term, synonyms)
            words.append(self._surface().get(fixed, fixed) if fixed != term else word)
        heads = synonyms.heads(" ".join(words))
        rewrite = " ".join(words) + (f" ({', '.join(heads)})" if heads else "")
        return [question] if rewrite == normalize(question) else [question, rewrite]

    def _surface(self) -> dict[str, str]:
        """Each indexed stem's commonest spelling in the articles (what a corrected typo is written as)."""
        if self._spellings is None:
            counts: dict[tuple[str, str], int] = {}
            for article in self.articles:
                text = " ".join([article.title, article.body, *article.tags])
                for word in normalize(text).split():
                    key = (stem(word), word)
                    counts[key] = counts.get(key, 0) + 1
            spellings: dict[str, str] = {}
            for (term, word), _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                spellings.setdefault(term, word)
            self._spellings = spellings
        return self._spellings


def query_vector(vectors: Sequence[Sequence[float]]) -> list[float]:
    """One unit vector for a question's embeddings (``KnowledgeIndex.semantic_queries``): their mean."""
    if not vectors:
        raise ValueError("no vectors")
    mean = [math.fsum(values) / len(vectors) for values in zip(*vectors, strict=True)]
    norm = math.sqrt(math.fsum(value * value for value in mean))
    return [value / norm for value in mean] if norm else mean


def _deletions(word: str) -> set[str]:
    """Every string one deleted letter away: two words are within one edit (insertion, deletion, substitution,
    transposition) when one's deletions or the word itself meet the other's."""
    return {word[:position] + word[position + 1 :] for position in range(len(word))}
