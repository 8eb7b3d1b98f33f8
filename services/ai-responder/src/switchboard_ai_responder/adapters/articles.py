"""Knowledge-base articles in MongoDB (collection ``articles``), with their embeddings.

Every change bumps the tenant's knowledge-base version (collection ``kb_versions``). Each instance keeps the
index it built with that version and rebuilds when the stored version moves, so an article saved through any
instance is searchable everywhere on the next question (``retrieval.Retrieval`` keeps the indexes).

An article's embedding (``embedding: {model, sentences: [{vector}]}``, one vector per sentence) is written when
the article is and removed when its text changes; ``set_embedding`` only lands on the version of the article it
was computed from.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_ai_responder.domain.knowledge import Article, ArticleEmbedding, ArticleIn
from switchboard_contracts.fields import STORED

#: Articles with their embeddings (None: not embedded).
StoredArticles = list[tuple[Article, ArticleEmbedding | None]]


def _now() -> datetime:
    # MongoDB keeps milliseconds: an article handed back must compare equal to the stored one
    # (``set_embedding`` is guarded by ``updated_at``).
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _embedding(document: dict[str, Any]) -> ArticleEmbedding | None:
    stored = document.get("embedding")
    if not stored:
        return None
    return ArticleEmbedding(model=stored["model"], vectors=[unit["vector"] for unit in stored["sentences"]])


def _article(document: dict[str, Any]) -> Article:
    return Article.model_validate(
        {
            "id": document["_id"],
            "title": document["title"],
            "body": document["body"],
            "link": document.get("link"),
            "tags": document.get("tags", []),
            "created_at": document["created_at"],
            "updated_at": document["updated_at"],
        },
        context=STORED,
    )


class ArticleStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.articles = database["articles"]
        self.versions = database["kb_versions"]

    async def ensure_indexes(self) -> None:
        await self.articles.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)])

    async def _bump(self, tenant_id: str) -> None:
        await self.versions.update_one({"_id": tenant_id}, {"$inc": {"version": 1}}, upsert=True)

    async def version(self, tenant_id: str) -> int:
        document = await self.versions.find_one({"_id": tenant_id})
        return int(document["version"]) if document else 0

    async def create(self, tenant_id: str, article: ArticleIn, article_id: str | None = None) -> Article:
        now = _now()
        document = {
            "_id": article_id or uuid.uuid4().hex,
            "tenant_id": tenant_id,
            **article.model_dump(),
            "created_at": now,
            "updated_at": now,
        }
        await self.articles.insert_one(document)
        await self._bump(tenant_id)
        return _article(document)

    async def get(self, tenant_id: str, article_id: str) -> Article | None:
        document = await self.articles.find_one({"_id": article_id, "tenant_id": tenant_id})
        return _article(document) if document else None

    async def list(self, tenant_id: str) -> list[Article]:
        cursor = self.articles.find({"tenant_id": tenant_id}, {"embedding": 0}).sort("created_at", ASCENDING)
        return [_article(document) async for document in cursor]

    async def list_with_embeddings(self, tenant_id: str) -> StoredArticles:
        cursor = self.articles.find({"tenant_id": tenant_id}).sort("created_at", ASCENDING)
        return [(_article(document), _embedding(document)) async for document in cursor]

    async def set_embedding(self, tenant_id: str, article: Article, embedding: ArticleEmbedding) -> bool:
        """Stores the embedding of ``article`` as it was read; False when the article changed since."""
        result = await self.articles.update_one(
            {"_id": article.id, "tenant_id": tenant_id, "updated_at": article.updated_at},
            # FerretDB stores no array directly inside an array: each sentence's vector is in a document.
            {
                "$set": {
                    "embedding": {
                        "model": embedding.model,
                        "sentences": [{"vector": v} for v in embedding.vectors],
                    }
                }
            },
        )
        if result.modified_count:
            await self._bump(tenant_id)
        return bool(result.modified_count)

    async def replace(self, tenant_id: str, article_id: str, article: ArticleIn) -> Article | None:
        document = await self.articles.find_one_and_update(
            {"_id": article_id, "tenant_id": tenant_id},
            # The text changed: its embedding is stale until it is computed again.
            {"$set": {**article.model_dump(), "updated_at": _now()}, "$unset": {"embedding": ""}},
            return_document=True,
        )
        if document is None:
            return None
        await self._bump(tenant_id)
        return _article(document)

    async def delete(self, tenant_id: str, article_id: str) -> bool:
        result = await self.articles.delete_one({"_id": article_id, "tenant_id": tenant_id})
        if result.deleted_count:
            await self._bump(tenant_id)
        return bool(result.deleted_count)
