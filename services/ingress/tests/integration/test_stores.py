"""The MongoDB adapters when there is no server: dedup fails closed (the request is refused, the sender retries)
and limits fail open (counted per replica). The expiry index and sweep they use are tested in shared
(``switchboard_platform.mongo``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_ingress.adapters.dedup import DedupUnavailable, MongoDedupStore
from switchboard_ingress.adapters.ratelimit import MongoRateLimiter


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    """A collection on a server that is not there (nothing listens on port 1), failing fast."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:1/", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    yield client["ingress"]["unreachable"]
    await client.close()


async def test_dedup_refuses_to_decide_without_mongodb(unreachable: AsyncCollection[dict[str, Any]]) -> None:
    outages: list[None] = []
    store = MongoDedupStore(unreachable, ttl=timedelta(hours=1), on_unavailable=lambda: outages.append(None))
    with pytest.raises(DedupUnavailable):
        await store.claim("k")
    assert len(outages) == 1


async def test_dedup_refuses_at_once_for_a_while_after_a_failure_then_asks_again(
    unreachable: AsyncCollection[dict[str, Any]],
) -> None:
    now = [100.0]
    outages: list[None] = []
    store = MongoDedupStore(
        unreachable,
        ttl=timedelta(hours=1),
        on_unavailable=lambda: outages.append(None),
        unavailable_for=timedelta(seconds=2),
        clock=lambda: now[0],
    )
    with pytest.raises(DedupUnavailable):
        await store.claim("a")
    with pytest.raises(DedupUnavailable):
        await store.claim("b")  # within 2 s: refused without asking the server
    assert len(outages) == 1
    now[0] += 2
    with pytest.raises(DedupUnavailable):
        await store.claim("c")
    assert len(outages) == 2


async def test_a_completed_key_is_still_known_as_a_duplicate_without_mongodb(
    unreachable: AsyncCollection[dict[str, Any]],
) -> None:
    store = MongoDedupStore(unreachable, ttl=timedelta(hours=1))
    store.complete("k")  # completed by this replica; its write fails in the background
    assert await store.claim("k") is False
    await store.flush()


async def test_limits_are_counted_per_replica_without_mongodb(
    unreachable: AsyncCollection[dict[str, Any]],
) -> None:
    fallbacks: list[None] = []
    limiter = MongoRateLimiter(unreachable, clock=lambda: 120.5, on_fallback=lambda: fallbacks.append(None))
    results = [await limiter.acquire("integration:i-1", 2, 60) for _ in range(3)]
    assert results[:2] == [None, None]
    assert results[2] == pytest.approx(59.5)
    assert len(fallbacks) == 1
