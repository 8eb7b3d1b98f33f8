"""A tenant's knowledge base: articles, their chunks, and retrieval of the passages that answer a question.

Articles are split into chunks of a few sentences (paragraph boundaries first) so a long article's one relevant
paragraph is found and quoted instead of its introduction. Every chunk is indexed with its article's title and
tags, because a paragraph rarely repeats the topic its title names. Retrieval ranks chunks with BM25 and keeps
each article's best chunk, so the results are one passage per article, best article first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard_ai_responder.domain.bm25 import BM25
from switchboard_ai_responder.domain.text import sentences, synonyms, tokens
from switchboard_shared.fields import DisplayName

#: Target chunk size in words: long enough to carry an answer, short enough to quote.
CHUNK_WORDS = 90


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
class Chunk:
    article: Article
    position: int
    text: str


@dataclass(frozen=True)
class Passage:
    """The best chunk of one article for a question, with how well it matches (``coverage`` in 0..1)."""

    article: Article
    text: str
    score: float
    coverage: float


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


class KnowledgeIndex:
    """An immutable BM25 index over one tenant's articles."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.articles = list(articles)
        self.chunks = [piece for article in self.articles for piece in chunk(article)]
        self._bm25 = BM25([self._terms(piece) for piece in self.chunks])

    @staticmethod
    def _terms(piece: Chunk) -> list[str]:
        # The title counts twice: it is the most reliable statement of what the article is about.
        heading = tokens(piece.article.title)
        return heading + heading + tokens(" ".join(piece.article.tags)) + tokens(piece.text)

    def search(self, question: str, limit: int = 3) -> list[Passage]:
        query = tokens(question)
        passages: list[Passage] = []
        seen: set[str] = set()
        for hit in self._bm25.search(query, limit=max(limit * 4, 10), expansions=synonyms):
            piece = self.chunks[hit.index]
            if piece.article.id in seen:
                continue
            seen.add(piece.article.id)
            passages.append(Passage(piece.article, piece.text, hit.score, hit.coverage))
            if len(passages) == limit:
                break
        return passages
