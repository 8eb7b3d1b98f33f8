"""Redelivery detection shared by every ingress replica: MongoDB documents keyed by the provider's identity of
what was delivered (``integration + dedup key``), with a TTL.

Two documents per key, both written with plain inserts (which a unique ``_id`` makes cheap on MongoDB and on
FerretDB alike, where lookups by ``_id`` are not):

- the **claim** ``<key>``, inserted *before* publishing. Inserted → first delivery. Duplicate key → the key was
  seen: the delivery is a duplicate only if the
- **completion** ``<key>#done`` exists, inserted *after* Kafka acknowledged the event. A claim without a
  completion is an earlier delivery whose publish failed (we answered 503) or that is still in flight: publish
  again. Both copies carry the same deterministic CloudEvent id, so a consumer sees one event even then.

Claims are written with group commit: requests that arrive while an insert is in flight are inserted together
in the next ``insert_many``, so at load there is one round trip per batch, not per request. Completions are
written behind the response (batched the same way): the event is already durable, and a lost completion costs
at most a duplicate record with the same id. A process-local memory of recent completions answers a repeated
redelivery without MongoDB.

If MongoDB is unreachable, ``claim`` fails closed: it raises ``DedupUnavailable`` and the ingress answers 503
with ``Retry-After``, so the partner redelivers once the store is back instead of the ingress accepting what it
cannot recognise as a redelivery. After a failed claim, claims fail at once for ``unavailable_for`` (no 5 s
server-selection wait per request while the store is known to be down).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pymongo
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError

from switchboard_platform.mongo import ensure_expiry_index, sweep_expired

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
DONE = "#done"
MAX_BATCH = 500


class DedupUnavailable(Exception):
    """The store cannot tell whether a key was seen: refuse the request, the sender retries."""


class DedupStore(Protocol):
    async def claim(self, key: str) -> bool:
        """True when ``key`` was never completed (publish it); False for a duplicate (acknowledge only).
        Raises ``DedupUnavailable`` when the store cannot tell."""
        ...

    def complete(self, key: str) -> None:
        """Record that ``key``'s events are in Kafka (may be written after the call returns)."""
        ...


def store_key(integration_id: str, key: str) -> str:
    return hashlib.sha256(f"{integration_id}\x1f{key}".encode()).hexdigest()[:40]


class _Recent:
    """A bounded LRU set of completed keys."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._keys


class MongoDedupStore:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        ttl: timedelta,
        recent: int = 100_000,
        on_unavailable: Callable[[], None] | None = None,
        unavailable_for: timedelta = timedelta(seconds=1),
        timeout: timedelta = timedelta(seconds=2),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.collection = collection
        self.ttl = ttl
        self.recent = _Recent(recent)
        self.on_unavailable = on_unavailable
        self.unavailable_for = unavailable_for.total_seconds()
        #: Bound on a claim's MongoDB calls: a partner waits this long for a 503, not server selection's 5 s.
        self.timeout_s = timeout.total_seconds()
        self.clock = clock
        self._down_until = 0.0
        self.ttl_index = False
        self._claims: list[tuple[str, asyncio.Future[bool]]] = []
        self._claiming: asyncio.Task[None] | None = None
        self._done: list[str] = []
        self._completing: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        self.ttl_index = await ensure_expiry_index(self.collection)

    async def sweep(self) -> int:
        return await sweep_expired(self.collection)

    # -- claim: group commit ----------------------------------------------------------------------------------

    async def claim(self, key: str) -> bool:
        if key in self.recent:
            return False
        if self.clock() < self._down_until:
            raise DedupUnavailable("dedup store unreachable")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((key, future))
        if self._claiming is None:
            self._claiming = asyncio.create_task(self._claim_batches())
        return await future

    async def _claim_batches(self) -> None:
        try:
            while self._claims:
                batch, self._claims = self._claims[:MAX_BATCH], self._claims[MAX_BATCH:]
                try:
                    with pymongo.timeout(self.timeout_s):
                        seen = await self._insert([key for key, _ in batch])
                        results = [True] * len(batch)
                        for index in seen:
                            results[index] = not await self._completed(batch[index][0])
                except PyMongoError as exc:
                    self._down_until = self.clock() + self.unavailable_for
                    if self.on_unavailable is not None:
                        self.on_unavailable()
                    log.warning(
                        "dedup store unreachable; refusing %d request(s) with 503: %s",
                        len(batch),
                        type(exc).__name__,
                    )
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(DedupUnavailable(type(exc).__name__))
                    continue
                for (key, future), fresh in zip(batch, results, strict=True):
                    if not fresh:
                        self.recent.add(key)
                    if not future.done():
                        future.set_result(fresh)
        finally:
            self._claiming = None

    async def _insert(self, keys: list[str]) -> set[int]:
        """Insert claims; the indexes of keys that already had one."""
        expires = datetime.now(UTC) + self.ttl
        try:
            await self.collection.insert_many(
                [{"_id": key, "expires_at": expires} for key in keys], ordered=False
            )
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != DUPLICATE_KEY for error in errors):
                raise
            return {int(error["index"]) for error in errors}
        return set()

    async def _completed(self, key: str) -> bool:
        return await self.collection.find_one({"_id": key + DONE}, {"_id": 1}) is not None

    # -- complete: written behind the response ----------------------------------------------------------------

    def complete(self, key: str) -> None:
        self.recent.add(key)
        self._done.append(key)
        if self._completing is None:
            self._completing = asyncio.create_task(self._complete_batches())

    async def _complete_batches(self) -> None:
        try:
            while self._done:
                batch, self._done = self._done[:MAX_BATCH], self._done[MAX_BATCH:]
                try:
                    await self._insert([key + DONE for key in batch])
                except PyMongoError as exc:
                    log.warning("dedup completions not recorded (%d): %s", len(batch), type(exc).__name__)
        finally:
            self._completing = None

    async def flush(self) -> None:
        """Wait for pending writes (at shutdown)."""
        for task in (self._claiming, self._completing):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
