"""How long each endpoint has been failing, to disable endpoints that fail continuously for too long.

The first failure after a success is persisted (one write per transition, not per attempt), so the clock
survives restarts; a success clears it. Svix disables after 5 days of continuous failure; so do we by default.

The memory of this replica is what counts; MongoDB only carries it across restarts. So an unreachable MongoDB
never fails (and so never repeats) a delivery attempt: a lookup that fails counts as "not failing" — the clock
then starts at this replica's first failure, which can only delay a disabling — and a write that fails is
logged, and for a cleared clock retried on the endpoint's next success, so that a restart does not find a
stale "failing since" and disable an endpoint that recovered.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

log = logging.getLogger(__name__)


class EndpointHealth:
    def __init__(
        self, collection: AsyncCollection[dict[str, Any]], disable_after: timedelta, *, timeout_s: float = 2.0
    ) -> None:
        self.collection = collection
        self.disable_after = disable_after
        #: Bound on each MongoDB call, so an outage costs an attempt this much at most, not server selection's 5 s.
        self.timeout_s = timeout_s
        self._failing_since: dict[str, datetime | None] = {}
        #: Endpoints that recovered while their persisted clock could not be cleared.
        self._uncleared: set[str] = set()

    async def _since(self, key: str) -> datetime | None:
        if key not in self._failing_since:
            try:
                with pymongo.timeout(self.timeout_s):
                    document = await self.collection.find_one({"_id": key})
            except PyMongoError as exc:
                log.warning("endpoint health not read; assuming not failing: %s", type(exc).__name__)
                document = None
            self._failing_since[key] = document["failing_since"] if document else None
        return self._failing_since[key]

    async def succeeded(self, key: str) -> None:
        if await self._since(key) is not None or key in self._uncleared:
            self._failing_since[key] = None
            try:
                with pymongo.timeout(self.timeout_s):
                    await self.collection.delete_one({"_id": key})
            except PyMongoError as exc:
                self._uncleared.add(key)
                log.warning(
                    "endpoint recovery not persisted; retried on its next success: %s", type(exc).__name__
                )
            else:
                self._uncleared.discard(key)

    async def failed(self, key: str, now: datetime | None = None) -> bool:
        """Record a failure; True when the endpoint has now failed continuously for ``disable_after``."""
        now = now or datetime.now(UTC)
        since = await self._since(key)
        if since is None:
            self._failing_since[key] = now
            # $setOnInsert: the first failure's time wins, whoever writes first — unless the stored one is
            # a clock this replica saw cleared, which must be replaced.
            operator = "$set" if key in self._uncleared else "$setOnInsert"
            self._uncleared.discard(key)
            try:
                with pymongo.timeout(self.timeout_s):
                    await self.collection.update_one(
                        {"_id": key}, {operator: {"failing_since": now}}, upsert=True
                    )
            except DuplicateKeyError:
                # Two attempts of one endpoint failed at the same moment and both upserted; the other one won,
                # which records the same fact. (Left unhandled, this error made the engine repeat the attempt.)
                pass
            except PyMongoError as exc:
                log.warning("endpoint failure not persisted: %s", type(exc).__name__)
            return self.disable_after <= timedelta(0)
        return now - since >= self.disable_after
