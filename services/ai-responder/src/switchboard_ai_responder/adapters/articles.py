"""Knowledge-base articles in MongoDB (collection ``articles``) and the per-tenant BM25 index built from them.

Every change bumps the tenant's knowledge-base version (collection ``kb_versions``). Each instance keeps the
index it built with that version and rebuilds when the stored version moves, so an article saved through any
instance is searchable everywhere on the next question.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_ai_responder.domain.knowledge import Article, ArticleIn, KnowledgeIndex
from switchboard_shared.fields import STORED


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
        self._indexes: dict[str, tuple[int, KnowledgeIndex]] = {}

    async def ensure_indexes(self) -> None:
        await self.articles.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)])

    async def _bump(self, tenant_id: str) -> None:
        await self.versions.update_one({"_id": tenant_id}, {"$inc": {"version": 1}}, upsert=True)

    async def version(self, tenant_id: str) -> int:
        document = await self.versions.find_one({"_id": tenant_id})
        return int(document["version"]) if document else 0

    async def create(self, tenant_id: str, article: ArticleIn, article_id: str | None = None) -> Article:
        now = datetime.now(UTC)
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
        cursor = self.articles.find({"tenant_id": tenant_id}).sort("created_at", ASCENDING)
        return [_article(document) async for document in cursor]

    async def replace(self, tenant_id: str, article_id: str, article: ArticleIn) -> Article | None:
        document = await self.articles.find_one_and_update(
            {"_id": article_id, "tenant_id": tenant_id},
            {"$set": {**article.model_dump(), "updated_at": datetime.now(UTC)}},
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

    async def index(self, tenant_id: str) -> KnowledgeIndex:
        version = await self.version(tenant_id)
        cached = self._indexes.get(tenant_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = KnowledgeIndex(await self.list(tenant_id))
        self._indexes[tenant_id] = (version, index)
        return index
