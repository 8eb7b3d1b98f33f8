"""Request limits shared by every ingress replica, through MongoDB, without a MongoDB call per request.

Each replica *leases* a slice of a window's budget at a time: one ``$inc`` of the window's counter document by
the slice size, which returns the new total, tells how much of the slice fits under the limit. The replica then
admits that many requests from memory and leases again when they are used up; once a lease comes back empty the
window is exhausted for this replica until it ends (429 with ``Retry-After`` at once, no MongoDB call).

So the sum admitted across replicas never exceeds the limit; it may fall short of it by the unused part of other
replicas' slices (at most ``replicas x (slice - 1)``). The slice is 1/20 of the limit: 5 requests for seed 002's
100/minute, so two replicas can strand at most 8 of 100. While MongoDB is unreachable each replica falls back to
counting alone (``LocalWindows``): the limit then holds per replica, and a warning says so.

Counter documents carry ``expires_at`` (a TTL index where the server has them; ``sweep`` otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from switchboard_ingress.domain.ratelimit import LocalWindows, window_of
from switchboard_platform.mongo import ensure_expiry_index, sweep_expired

log = logging.getLogger(__name__)

SLICE_FRACTION = 20


@dataclass
class _Lease:
    remaining: int = 0
    exhausted: bool = False


def slice_size(limit: int) -> int:
    return max(1, limit // SLICE_FRACTION)


class MongoRateLimiter:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        clock: Callable[[], float] = time.time,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        self.collection = collection
        self.clock = clock
        self.local = LocalWindows(clock)
        self.on_fallback = on_fallback
        self._leases: dict[tuple[str, int], _Lease] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.ttl_index = False
        self._degraded_until = 0.0

    async def ensure_indexes(self) -> None:
        self.ttl_index = await ensure_expiry_index(self.collection)

    async def sweep(self) -> int:
        return await sweep_expired(self.collection)

    async def acquire(self, key: str, limit: int, window_s: int) -> float | None:
        now = self.clock()
        window = window_of(now, window_s)
        slot = (key, window.start)
        lease = self._leases.get(slot)
        if lease is not None and lease.remaining > 0:
            lease.remaining -= 1
            return None
        if lease is not None and lease.exhausted:
            return window.reset_in
        if now < self._degraded_until:
            return self.local.take(key, limit, window_s)
        async with self._locks[key]:
            lease = self._leases.setdefault(slot, _Lease())
            if lease.remaining <= 0 and not lease.exhausted:
                try:
                    granted = await self._lease(key, window.start, window_s, limit)
                except PyMongoError as exc:
                    # Fail open to per-replica counting for a short while rather than refuse every request.
                    self._degraded_until = now + 5
                    if self.on_fallback is not None:
                        self.on_fallback()
                    log.warning(
                        "shared rate-limit counters unreachable; counting per replica: %s", type(exc).__name__
                    )
                    return self.local.take(key, limit, window_s)
                lease.remaining += granted
                lease.exhausted = granted == 0
            self._prune(window.start, window_s)
            if lease.remaining > 0:
                lease.remaining -= 1
                return None
            return window.reset_in

    async def _lease(self, key: str, start: int, window_s: int, limit: int) -> int:
        size = slice_size(limit)
        expires = datetime.fromtimestamp(start + window_s, UTC) + timedelta(seconds=window_s)
        for attempt in (1, 2):
            try:
                document = await self.collection.find_one_and_update(
                    {"_id": f"{key}@{start}"},
                    {"$inc": {"n": size}, "$setOnInsert": {"expires_at": expires}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                break
            except DuplicateKeyError:
                # Two replicas created the window's document at once; the second try increments it.
                if attempt == 2:
                    raise
        total = int((document or {}).get("n", size))
        before = total - size
        return max(0, min(size, limit - before))

    def _prune(self, current_start: int, window_s: int) -> None:
        if len(self._leases) < 1024:
            return
        self._leases = {
            slot: lease for slot, lease in self._leases.items() if slot[1] >= current_start - window_s
        }
