"""Retrieval for a tenant: its knowledge base as an index, with the embeddings its settings call for.

- **Writes** (``create`` / ``replace``): the article is stored, then — when the tenant has an embedder — its
  chunks are embedded and the vectors stored with it. Embeddings are computed when an article changes, never
  per question; a failed embedder leaves the article lexical until the next index build embeds it.
- **Index** (``index``): built once per knowledge-base version and embedding model. Articles without vectors of
  the tenant's model (written before embeddings were configured, or when the embedder was down) are embedded
  then and their vectors stored, so that work is done once; the settings API builds it when a tenant chooses
  an embedder, so that is not a customer's question either.
- **Search** (``search``): the question is embedded (one call: the question and its rewrite in the articles'
  words, ``KnowledgeIndex.semantic_queries``) and fused with BM25; without an embedder, or
  when it fails, lexical only. ``Retrieved.min_confidence`` is the threshold its passages' confidence is
  judged by: the tenant's ``min_confidence`` for lexical results, the embedder's ``min_similarity`` for hybrid;
  ``Retrieved.min_suggestion`` likewise the one from which a fallback offers the articles found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from switchboard_ai_responder.adapters.articles import ArticleStore
from switchboard_ai_responder.domain.knowledge import (
    Article,
    ArticleEmbedding,
    ArticleIn,
    KnowledgeIndex,
    Passage,
    embedding_texts,
    query_vector,
)
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.domain.text import synonyms_for
from switchboard_ai_responder.providers.embeddings import Embedder, EmbedderError, EmbedderFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]
    #: The threshold these passages' ``confidence`` is judged by.
    min_confidence: float
    #: The confidence from which a fallback offers these passages' articles (None: the tenant offers none).
    min_suggestion: float | None
    semantic: bool

    @classmethod
    def judged(cls, passages: list[Passage], settings: TenantSettings, *, semantic: bool) -> Retrieved:
        """``passages`` with the thresholds the tenant's settings judge them by: the embedder's for hybrid
        results, the lexical ones otherwise."""
        embedding = settings.embeddings if semantic else None
        if embedding is not None:
            answer, offer = embedding.threshold(), embedding.suggestion_threshold()
        else:
            answer, offer = settings.min_confidence, settings.min_suggestion_confidence
        return cls(passages, answer, offer if settings.suggest_articles else None, semantic)


class Retrieval:
    def __init__(self, articles: ArticleStore, embedders: EmbedderFactory) -> None:
        self.articles = articles
        self.embedders = embedders
        self._indexes: dict[str, tuple[int, str | None, KnowledgeIndex]] = {}

    async def _embed(self, tenant_id: str, embedder: Embedder, article: Article) -> bool:
        texts = embedding_texts(article)
        try:
            vectors = await embedder.embed(texts)
            if len(vectors) != len(texts):
                raise EmbedderError(f"{len(vectors)} vectors for {len(texts)} texts")
        except EmbedderError as exc:
            log.warning(
                "article not embedded; lexical until the next index build: %s",
                exc,
                extra={"tenant": tenant_id, "article_id": article.id},
            )
            return False
        return await self.articles.set_embedding(
            tenant_id, article, ArticleEmbedding(embedder.model, vectors)
        )

    async def create(
        self, tenant_id: str, article: ArticleIn, settings: TenantSettings, article_id: str | None = None
    ) -> Article:
        created = await self.articles.create(tenant_id, article, article_id=article_id)
        embedder = self.embedders.for_settings(settings.embeddings)
        if embedder is not None:
            await self._embed(tenant_id, embedder, created)
        return created

    async def replace(
        self, tenant_id: str, article_id: str, article: ArticleIn, settings: TenantSettings
    ) -> Article | None:
        replaced = await self.articles.replace(tenant_id, article_id, article)
        embedder = self.embedders.for_settings(settings.embeddings)
        if replaced is not None and embedder is not None:
            await self._embed(tenant_id, embedder, replaced)
        return replaced

    async def index(
        self, tenant_id: str, settings: TenantSettings, *, backfill: bool = True
    ) -> KnowledgeIndex:
        embedder = self.embedders.for_settings(settings.embeddings)
        model = embedder.model if embedder is not None else None
        version = await self.articles.version(tenant_id)
        cached = self._indexes.get(tenant_id)
        if cached is not None and cached[:2] == (version, model):
            return cached[2]
        stored = await self.articles.list_with_embeddings(tenant_id)
        articles = [article for article, _ in stored]
        embeddings = {
            article.id: embedding
            for article, embedding in stored
            if embedding is not None and embedding.model == model
        }
        index = KnowledgeIndex(articles, embeddings=embeddings)
        if embedder is not None and backfill:
            missing = index.missing_embeddings()
            embedded = [article for article in missing if await self._embed(tenant_id, embedder, article)]
            if embedded:
                # The vectors just stored moved the version: read them back as one consistent index.
                return await self.index(tenant_id, settings, backfill=False)
        self._indexes[tenant_id] = (version, model, index)
        return index

    async def search(self, tenant_id: str, question: str, settings: TenantSettings, limit: int) -> Retrieved:
        index = await self.index(tenant_id, settings)
        synonyms = synonyms_for(settings.synonym_groups())
        embedder = self.embedders.for_settings(settings.embeddings)
        if (
            embedder is not None
            and settings.embeddings is not None
            and index.embedding_model == embedder.model
        ):
            queries = index.semantic_queries(question, synonyms)
            try:
                vectors = await embedder.embed(queries)
                if len(vectors) != len(queries):
                    raise EmbedderError(f"{len(vectors)} vectors for {len(queries)} texts")
            except EmbedderError as exc:
                log.warning("question not embedded; lexical only: %s", exc, extra={"tenant": tenant_id})
            else:
                passages = index.search(question, limit, synonyms, query_vector=query_vector(vectors))
                return Retrieved.judged(passages, settings, semantic=True)
        return Retrieved.judged(index.search(question, limit, synonyms), settings, semantic=False)
