"""``/api/tenants/{tenant_id}/articles``: the knowledge base the default provider answers from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from switchboard_ai_responder.deps import TENANT_ERRORS, ReadAccess, ServicesDep, WriteAccess, envelope
from switchboard_ai_responder.domain.answers import citation, offered
from switchboard_ai_responder.domain.knowledge import Article, ArticleIn
from switchboard_platform.http import ApiError, BoundedJsonRoute

router = APIRouter(
    prefix="/api/tenants/{tenant_id}/articles",
    tags=["knowledge base"],
    responses=TENANT_ERRORS,
    route_class=BoundedJsonRoute,
)


def _public(article: Article) -> dict[str, Any]:
    return article.model_dump(mode="json")


def _missing() -> ApiError:
    return ApiError(404, "not_found", "article not found")


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an article")
async def create_article(
    tenant_id: str, body: ArticleIn, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    settings = await services.stores.tenants.get(tenant_id)
    return envelope(_public(await services.retrieval.create(tenant_id, body, settings)))


@router.get("", summary="List the articles")
async def list_articles(tenant_id: str, _: ReadAccess, services: ServicesDep) -> dict[str, Any]:
    return envelope([_public(article) for article in await services.articles.list(tenant_id)])


@router.get("/search", summary="What the knowledge base retrieves for a question (for tuning articles)")
async def search_articles(
    tenant_id: str,
    _: ReadAccess,
    services: ServicesDep,
    q: str = Query(min_length=1, max_length=2000),
    limit: int = Query(default=3, ge=1, le=20),
) -> dict[str, Any]:
    settings = await services.stores.tenants.get(tenant_id)
    retrieved = await services.retrieval.search(tenant_id, q, settings, limit)
    # What the bot would offer instead of an answer (``answers.fallback``).
    offers = offered(retrieved.passages, retrieved.min_confidence, retrieved.min_suggestion)
    offered_ids = {passage.article.id for passage in offers}
    return envelope(
        [
            {
                **citation(passage).model_dump(mode="json"),
                "passage": passage.text,
                # Hybrid results are ranked by the hybrid score: similarity plus the weighted relative BM25 score.
                "bm25" if not retrieved.semantic else "fused": round(passage.score, 4),
                "similarity": round(passage.similarity, 4) if passage.similarity is not None else None,
                "answers": passage.confidence >= retrieved.min_confidence,
                "offered": passage.article.id in offered_ids,
            }
            for passage in retrieved.passages
        ]
    )


@router.get("/{article_id}", summary="Get an article")
async def get_article(
    tenant_id: str, article_id: str, _: ReadAccess, services: ServicesDep
) -> dict[str, Any]:
    article = await services.articles.get(tenant_id, article_id)
    if article is None:
        raise _missing()
    return envelope(_public(article))


@router.put("/{article_id}", summary="Replace an article")
async def replace_article(
    tenant_id: str, article_id: str, body: ArticleIn, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    settings = await services.stores.tenants.get(tenant_id)
    article = await services.retrieval.replace(tenant_id, article_id, body, settings)
    if article is None:
        raise _missing()
    return envelope(_public(article))


@router.delete("/{article_id}", summary="Delete an article")
async def delete_article(
    tenant_id: str, article_id: str, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    if not await services.articles.delete(tenant_id, article_id):
        raise _missing()
    return envelope({"id": article_id, "deleted": True})
