"""How long each endpoint has been failing, to disable endpoints that fail continuously for too long.

The first failure after a success is persisted (one write per transition, not per attempt), so the clock
survives restarts; a success clears it. Svix disables after 5 days of continuous failure; so do we by default.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class EndpointHealth:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], disable_after: timedelta) -> None:
        self.collection = collection
        self.disable_after = disable_after
        self._failing_since: dict[str, datetime | None] = {}

    async def _since(self, key: str) -> datetime | None:
        if key not in self._failing_since:
            document = await self.collection.find_one({"_id": key})
            self._failing_since[key] = document["failing_since"] if document else None
        return self._failing_since[key]

    async def succeeded(self, key: str) -> None:
        if await self._since(key) is not None:
            self._failing_since[key] = None
            await self.collection.delete_one({"_id": key})

    async def failed(self, key: str, now: datetime | None = None) -> bool:
        """Record a failure; True when the endpoint has now failed continuously for ``disable_after``."""
        now = now or datetime.now(UTC)
        since = await self._since(key)
        if since is None:
            self._failing_since[key] = now
            try:
                # $setOnInsert: the first failure's time wins, whoever writes first.
                await self.collection.update_one(
                    {"_id": key}, {"$setOnInsert": {"failing_since": now}}, upsert=True
                )
            except DuplicateKeyError:
                # Two attempts of one endpoint failed at the same moment and both upserted; the other one won,
                # which records the same fact. (Left unhandled, this error made the engine repeat the attempt.)
                pass
            return self.disable_after <= timedelta(0)
        return now - since >= self.disable_after
