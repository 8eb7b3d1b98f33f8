"""Documents that expire (``expires_at``), on servers with TTL indexes (MongoDB) and without (FerretDB 1.x).

A TTL index lets the server delete expired documents itself. FerretDB 1.x refuses one ("Index option
expireAfterSeconds is not implemented yet"); there the service deletes them with ``sweep_expired`` on a timer
(see ``switchboard_platform.periodic``), or, where nothing needs pruning promptly, leaves them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure

#: The server's error code for a write refused by a unique index (``_id`` or any other).
DUPLICATE_KEY = 11000


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


async def insert_new(
    collection: AsyncCollection[dict[str, Any]], documents: list[dict[str, Any]]
) -> set[int]:
    """Insert ``documents`` in one unordered bulk write; the indexes (into ``documents``) of those a unique
    index refused as already stored. Append-only projections use this instead of a lookup before each write:
    the unique index is the idempotency check, and it costs the same at 1k or 1M documents. Any other write
    error raises (``BulkWriteError``), so the caller's consumer does not commit the batch."""
    if not documents:
        return set()
    try:
        await collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if exc.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {int(error["index"]) for error in errors}
    return set()
