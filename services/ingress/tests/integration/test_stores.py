"""The MongoDB adapters when there is no server: dedup and limits fail open (dedup skipped, limits counted per
replica). The expiry index and sweep they use are tested in shared (``switchboard_shared.mongo``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_ingress.adapters.dedup import MongoDedupStore
from switchboard_ingress.adapters.ratelimit import MongoRateLimiter


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    """A collection on a server that is not there (nothing listens on port 1), failing fast."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:1/", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    yield client["ingress"]["unreachable"]
    await client.close()


async def test_dedup_fails_open_without_mongodb(unreachable: AsyncCollection[dict[str, Any]]) -> None:
    outages: list[None] = []
    store = MongoDedupStore(unreachable, ttl=timedelta(hours=1), on_unavailable=lambda: outages.append(None))
    assert [await store.claim("k"), await store.claim("k")] == [True, True]
    assert len(outages) == 2


async def test_limits_are_counted_per_replica_without_mongodb(
    unreachable: AsyncCollection[dict[str, Any]],
) -> None:
    fallbacks: list[None] = []
    limiter = MongoRateLimiter(unreachable, clock=lambda: 120.5, on_fallback=lambda: fallbacks.append(None))
    results = [await limiter.acquire("integration:i-1", 2, 60) for _ in range(3)]
    assert results[:2] == [None, None]
    assert results[2] == pytest.approx(59.5)
    assert len(fallbacks) == 1
