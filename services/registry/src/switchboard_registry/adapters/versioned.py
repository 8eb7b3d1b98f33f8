"""Read-modify-write of one MongoDB document with optimistic concurrency (a ``version`` field).

Projections whose new state depends on the old one (a delivery's status depends on all its attempts) use this
instead of update operators: read, compute the whole next document in plain Python, and write it only if
nobody changed it in between — otherwise read again. FerretDB has no multi-document transactions and neither
needs them here: each projection's state lives in one document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

#: Rounds before giving up; the Kafka consumer then redelivers the record and the whole write is tried again.
MAX_ROUNDS = 8

Document = dict[str, Any]
Change = Callable[[Document | None], Document | None]


class ConflictingWrites(RuntimeError):
    """Other writers kept changing the document while this one tried to."""


async def compare_and_set(
    collection: AsyncCollection[Document], document_id: str, change: Change
) -> tuple[Document | None, bool]:
    """Apply ``change`` (current document or None → next document, or None for "leave it") to one document.

    Returns (the document as it now is, whether this call wrote it). ``change`` may run several times (once
    per round), so it must derive everything from its argument.
    """
    for _ in range(MAX_ROUNDS):
        current = await collection.find_one({"_id": document_id})
        proposed = change(current)
        if proposed is None:
            return current, False
        version = 0 if current is None else int(current.get("version", 0))
        document = {**proposed, "_id": document_id, "version": version + 1}
        if current is None:
            try:
                await collection.insert_one(document)
            except DuplicateKeyError:
                continue  # created concurrently: start again from theirs
            return document, True
        result = await collection.replace_one(
            {"_id": document_id, "version": current.get("version")}, document
        )
        if result.matched_count:
            return document, True
    raise ConflictingWrites(f"{collection.name} {document_id}: {MAX_ROUNDS} conflicting writes in a row")
