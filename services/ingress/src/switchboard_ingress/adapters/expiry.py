"""Documents that expire (``expires_at``), on servers with TTL indexes (MongoDB) and without (FerretDB 1.x)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure


async def ensure_expiry_index(collection: AsyncCollection[dict[str, Any]]) -> bool:
    """A TTL index on ``expires_at``: True when the server then deletes expired documents itself. A server
    without TTL indexes gets a plain index instead, which keeps ``sweep_expired``'s range delete cheap."""
    try:
        await collection.create_index("expires_at", expireAfterSeconds=0)
    except OperationFailure:
        await collection.create_index("expires_at")
        return False
    return True


async def sweep_expired(collection: AsyncCollection[dict[str, Any]]) -> int:
    result = await collection.delete_many({"expires_at": {"$lte": datetime.now(UTC)}})
    return int(result.deleted_count)
