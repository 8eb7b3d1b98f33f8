"""Documents that expire (``expires_at``), on servers with TTL indexes (MongoDB) and without (FerretDB 1.x).

A TTL index lets the server delete expired documents itself. FerretDB 1.x refuses one ("Index option
expireAfterSeconds is not implemented yet"); there the service deletes them with ``sweep_expired`` on a timer
(see ``switchboard_shared.periodic``), or, where nothing needs pruning promptly, leaves them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure


async def ensure_expiry_index(
    collection: AsyncCollection[dict[str, Any]], field: str = "expires_at", *, plain_index: bool = True
) -> bool:
    """A TTL index on ``field``: True when the server then deletes expired documents itself. A server
    without TTL indexes gets a plain index instead (unless ``plain_index`` is False: a collection nobody
    sweeps gains nothing from it), which keeps ``sweep_expired``'s range delete cheap."""
    try:
        await collection.create_index(field, expireAfterSeconds=0)
    except OperationFailure:
        if plain_index:
            await collection.create_index(field)
        return False
    return True


async def sweep_expired(
    collection: AsyncCollection[dict[str, Any]], field: str = "expires_at", now: datetime | None = None
) -> int:
    """Delete the documents whose ``field`` is ``now`` (default: the current time) or earlier; returns how
    many were deleted."""
    result = await collection.delete_many({field: {"$lte": now or datetime.now(UTC)}})
    return int(result.deleted_count)
