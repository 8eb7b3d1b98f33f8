"""The delivery log in MongoDB: the projection of the dispatcher's attempt events, written a Kafka batch at a
time, read through ``_id`` lookups only.

Why ``_id`` only: FerretDB v1 (local and CI) evaluates every other filter, sort or range by decoding the whole
collection (measured on its SQLite backend: a filter on another field 90 / 1,030 / 3,130 ms at 1k / 10k / 50k
documents of ~450 B). A lookup, update or delete by ``_id`` goes through the ``_id`` index in the FerretDB that
``make up`` builds (ADR 0012; the release scans the table for those too: ``update_one`` by ``_id`` 2 / 16 / 76
ms). So every read here is a point read of a few documents, and a document holds many deliveries. Each
endpoint's log (``domain.delivery_log``) is:

``delivery_heads`` — one document per endpoint (``_id`` ``<tenant>:<kind>:<endpoint>``): the chunk being
filled — up to ``CHUNK_SIZE`` deliveries in the order their first attempts arrived, each with all its attempts
— its number, the Kafka marks of the records folded in, a ``version``, per full chunk its counts by status and
event type and its span in time (so a filtered listing reads only the chunks holding its page), and the
progress of the endpoint's latest redeliver/recover commands. Rewritten once per batch that touches the
endpoint, conditional on the version this process read (a replica that lost the partition in a rebalance
cannot overwrite what the new owner wrote: its write matches nothing and it re-reads). A chunk's deliveries
are one compressed BSON value (see ``_CODEC``).

``delivery_chunks`` — the full chunks (``_id`` ``<endpoint>:<n>``), inserted once when the head fills; only a
later attempt of one of their deliveries (a retry, a redelivery) updates one.

``delivery_locators`` — ``_id`` ``<endpoint>:<delivery_id>`` → the delivery's ordinal (chunk ``o // CHUNK_SIZE``,
index ``o % CHUNK_SIZE``), inserted once per delivery: how ``get`` finds a delivery and how a late attempt
finds its chunk.

A batch is folded per endpoint in memory (``delivery_log.fold``) from the head this process holds — read on
first touch, after a restart or a rebalance — and written in an order that heals on replay: full chunks and
locators (inserts: a copy already there is success), late attempts (read the chunk, ``$set`` its deliveries),
the stats buckets that closed, and the head last, which moves the marks. A crash before the head write leaves the old marks, so the replay folds the
same records from the same head into the same chunks. Records up to the marks are skipped: a replay.

``delivery_rollups`` — per endpoint, one counter document per minute and per hour with traffic, for the stats
(``adapters.delivery_rollups``, which owns them; ADR 0011). A bucket still open is counted in the head and written
with it, so the head's marks keep it exact; it is stored here once when closed. An attempt is counted by the Kafka
record whose copy is stored (its ``kafka`` position): another copy of the same attempt — the dispatcher
re-emitting it after a crash, under a new event id — is not counted at all.

Every document carries ``expires_at`` for a TTL index: a chunk 30 days after its latest attempt, the head
after its endpoint's latest, a locator 60 days after its delivery's first attempt (a redelivery may keep the
delivery's chunk longer). FerretDB v1 has no TTL indexes; there the log is not pruned and a warning says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import bson
from bson import Binary, CodecOptions
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from switchboard_contracts.events import DeliveryAttempt, EndpointKind
from switchboard_platform.mongo import ensure_expiry_index, insert_new
from switchboard_registry.adapters.delivery_rollups import DeliveryRollups, Late
from switchboard_registry.adapters.event_log import KafkaPosition
from switchboard_registry.adapters.versioned import MAX_ROUNDS, ConflictingWrites
from switchboard_registry.domain import deliveries as rules
from switchboard_registry.domain import delivery_log as layout
from switchboard_registry.domain import delivery_stats as stats
from switchboard_registry.domain.delivery_log import CHUNK_SIZE, Head

log = logging.getLogger(__name__)

#: A chunk's deliveries are stored as one compressed BSON value. FerretDB v1 spends ~10 µs per value decoding
#: a document it reads (a head of 150 deliveries as nested documents, ~3,000 values: 41 ms to read; as one
#: binary per delivery: 5 ms) and its writes cost by the byte (deliveries of one endpoint share most of their
#: bytes — URL, event type, field names — so zlib at its fastest level keeps a fifth of them).
_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)
_COMPRESSION = 1
#: Endpoints whose head this process keeps (it writes the endpoints of its partitions; others are re-read).
_HEADS_KEPT = 10_000
#: Ordinals of recent deliveries this process remembers, so a retry finds its chunk without a locator read.
_ORDINALS_KEPT = 200_000
#: How long a reader trusts the first chunk it found still stored (chunks before it expired).
_FLOOR_TTL_S = 60.0
#: Chunks read at once when a filtered listing reads all of an endpoint's chunks.
_READS_AT_ONCE = 16
#: A locator outlives its delivery's first attempt by this (a redelivery keeps the chunk longer).
_LOCATOR_KEPT = 2 * stats.MAX_WINDOW


class DeliveryLog:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.heads: AsyncCollection[dict[str, Any]] = database["delivery_heads"]
        self.chunks: AsyncCollection[dict[str, Any]] = database["delivery_chunks"]
        self.locators: AsyncCollection[dict[str, Any]] = database["delivery_locators"]
        self.rollups = DeliveryRollups(database, open_buckets=self.open_buckets)
        #: Per endpoint, the head as this process last wrote or read it.
        self._heads: dict[str, Head] = {}
        self._ordinals: OrderedDict[str, int] = OrderedDict()
        #: Per endpoint, the first chunk still stored (a reader's cache: chunks expire oldest first).
        self._floors: dict[str, tuple[int, float]] = {}

    async def ensure_indexes(self) -> None:
        # Every read is by _id: no secondary index, so an insert pays for the _id index alone.
        await self.rollups.ensure_indexes()
        for collection in (self.heads, self.chunks, self.locators):
            # The log is not swept, so a plain index in place of the TTL one would only cost writes.
            if not await ensure_expiry_index(collection, plain_index=False):
                log.warning(
                    "TTL indexes are not supported by this server (FerretDB v1): %s is not pruned",
                    collection.name,
                )

    # -- the projection --------------------------------------------------------------------------------------

    async def record(self, attempts: Sequence[tuple[DeliveryAttempt, KafkaPosition]]) -> int:
        """Project a batch of attempts with the Kafka records they came from. Returns how many attempts were
        new to the log (a replayed record, or another copy of an attempt stored already, is not)."""
        by_endpoint: dict[str, list[tuple[DeliveryAttempt, KafkaPosition]]] = defaultdict(list)
        for attempt, position in attempts:
            endpoint = layout.endpoint_key(attempt.tenant_id, attempt.endpoint_kind, attempt.endpoint_id)
            by_endpoint[endpoint].append((attempt, position))
        try:
            return await self._record(by_endpoint)
        except BaseException:
            # The heads in memory may hold records that were not all written: read them again next time.
            for endpoint in by_endpoint:
                self._heads.pop(endpoint, None)
            raise

    async def _record(self, by_endpoint: dict[str, list[tuple[DeliveryAttempt, KafkaPosition]]]) -> int:
        pending = dict(by_endpoint)
        stored = 0
        for _ in range(MAX_ROUNDS):
            folds = []
            for endpoint, records in pending.items():
                head, folded = await self._fold(endpoint, records)
                if folded is not None:  # None: all its records were folded in before (a replay)
                    folds.append((head, folded))
            counted, new = await self._write_chunks(folds)
            await self.rollups.store(*self._roll(counted))
            stored += new
            conflicts = []
            for head, folded in folds:
                if not await self._write_head(head):
                    conflicts.append(head.endpoint)
                    continue
                for delivery_id, ordinal, _ in folded.created:
                    self._remember(layout.locator_id(head.endpoint, delivery_id), ordinal)
            if not conflicts:
                return stored
            # Another replica wrote these endpoints' heads (a rebalance): fold again from what it wrote.
            pending = {endpoint: by_endpoint[endpoint] for endpoint in conflicts}
        raise ConflictingWrites(f"delivery heads: {MAX_ROUNDS} conflicting writes in a row")

    async def _fold(
        self, endpoint: str, records: Sequence[tuple[DeliveryAttempt, KafkaPosition]]
    ) -> tuple[Head, layout.Folded | None]:
        head = await self._head(endpoint, records[0][0])
        fresh = layout.past_marks(records, head.marks)
        if not fresh:
            return head, None
        creations, others = layout.unknown(head, fresh)
        known = await self._ordinals_of(endpoint, creations, others)
        # Only deliveries in full chunks are late; an ordinal past them is from a batch that failed.
        sealed = head.number * CHUNK_SIZE
        folded = layout.fold(head, fresh, {d: o for d, o in known.items() if o < sealed})
        return head, folded

    def _roll(
        self, counted: Sequence[tuple[Head, list[tuple[DeliveryAttempt, KafkaPosition]]]]
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[Late]]:
        """Count the attempts this batch stored in their endpoints' open rollup buckets, held in the heads and
        written with them (ADR 0011). Returns the buckets that closed, to store once, and the attempts of
        buckets closed before, to add to the stored ones."""
        sealed: list[tuple[str, dict[str, Any]]] = []
        late: list[Late] = []
        for head, attempts in counted:
            # Record order, whatever order the batch stored them in: what seals a bucket is the same on a replay.
            attempts.sort(key=lambda item: (item[1].partition, item[1].offset))
            head.rolled_to, closed = self.rollups.fold_open(
                head.buckets, head.rolled_to, attempts, maybe_stored=head.unrolled
            )
            late += closed
            sealed += self.rollups.close(head.buckets, head.rolled_to)
        return sealed, late

    async def open_buckets(self, endpoint: tuple[str, str, str]) -> dict[str, dict[str, Any]]:
        """The endpoint's rollup buckets still open, as its stored head holds them."""
        head = await self.heads.find_one({"_id": layout.endpoint_key(*endpoint)}, {"buckets": 1})
        if head is None or "buckets" not in head:
            return {}
        buckets: dict[str, dict[str, Any]] = _unpacked(head["buckets"])
        return buckets

    async def _head(self, endpoint: str, attempt: DeliveryAttempt) -> Head:
        head = self._heads.get(endpoint)
        if head is not None:
            return head
        stored = await self.heads.find_one({"_id": endpoint})
        if stored is None:
            head = Head(endpoint, layout.identity(attempt), unrolled=True)
        else:
            head = Head(
                endpoint,
                layout.identity(attempt),
                number=stored["number"],
                entries=decoded(stored["entries"]),
                summaries=_unpacked(stored["summaries"]),
                commands=_unpacked(stored["commands"]),
                marks=stored.get("marks", {}),
                version=stored["version"],
                expires_at=stored.get("expires_at"),
                # A head stored before ADR 0011 has none: its endpoint's buckets were stored the old way.
                buckets=_unpacked(stored["buckets"]) if "buckets" in stored else {},
                rolled_to=stored.get("rolled_to"),
                unrolled="buckets" not in stored,
            )
        if len(self._heads) >= _HEADS_KEPT:
            self._heads.clear()  # heads of endpoints this process no longer writes; live ones are re-read
        self._heads[endpoint] = head
        return head

    def _remember(self, locator: str, ordinal: int) -> None:
        self._ordinals[locator] = ordinal
        self._ordinals.move_to_end(locator)
        if len(self._ordinals) > _ORDINALS_KEPT:
            self._ordinals.popitem(last=False)

    async def _ordinals_of(self, endpoint: str, creations: set[str], others: set[str]) -> dict[str, int]:
        """The ordinals of older deliveries of ``endpoint``: from memory, and for ``others`` (records without
        the delivery's first attempt) from their locators; those not found are created anew."""
        known: dict[str, int] = {}
        missing = []
        for delivery_id in creations | others:
            ordinal = self._ordinals.get(layout.locator_id(endpoint, delivery_id))
            if ordinal is not None:
                known[delivery_id] = ordinal
            elif delivery_id in others:
                missing.append(delivery_id)
        found = await asyncio.gather(
            *(self.locators.find_one({"_id": layout.locator_id(endpoint, d)}) for d in missing)
        )
        for delivery_id, locator in zip(missing, found, strict=True):
            if locator is not None:
                known[delivery_id] = int(locator["o"])
                self._remember(locator["_id"], int(locator["o"]))
        return known

    async def _write_chunks(
        self, folds: Sequence[tuple[Head, layout.Folded]]
    ) -> tuple[list[tuple[Head, list[tuple[DeliveryAttempt, KafkaPosition]]]], int]:
        """Insert the full chunks and the new deliveries' locators, write the late attempts into their chunks;
        returns per head the attempts stored by this batch's records (for the rollups) and how many of them are
        new (not stored by an earlier run of the same records)."""
        chunks = [
            _chunk_document(head, number, entries)
            for head, folded in folds
            for number, entries in folded.sealed
        ]
        locators = [
            {
                "_id": layout.locator_id(head.endpoint, delivery_id),
                "o": ordinal,
                "expires_at": first_attempt + _LOCATOR_KEPT,
            }
            for head, folded in folds
            for delivery_id, ordinal, first_attempt in folded.created
        ]
        refused = {chunks[index]["_id"] for index in await insert_new(self.chunks, chunks)}
        await insert_new(self.locators, locators)
        per_head: list[tuple[Head, list[tuple[DeliveryAttempt, KafkaPosition]]]] = []
        new = 0
        for head, folded in folds:
            counted: list[tuple[DeliveryAttempt, KafkaPosition]] = []
            per_head.append((head, counted))
            late: dict[int, list[layout.Placed]] = defaultdict(list)
            for item in folded.late:
                late[item.chunk].append(item)
            in_memory = dict(folded.sealed) | {head.number: head.entries}
            stored: dict[tuple[int, int], set[str]] = defaultdict(set)
            for item in folded.stored:
                if layout.chunk_id(head.endpoint, item.chunk) in refused:
                    # The chunk was stored already: a replay after a crash before the head was written. The
                    # stored copy came from the same records up to where it filled; attempts the replay
                    # folded in after that are written like any late attempt.
                    late[item.chunk].append(item)
                else:
                    stored[(item.chunk, item.index)].add(rules.attempt_key(item.attempt))
                    counted.append((item.attempt, item.position))  # type: ignore[arg-type]
                    new += 1
            for (number, index), keys in stored.items():
                layout.tally(head, in_memory[number][index], keys)
            for number, items in late.items():
                # A chunk this fold filled was summarized from its final deliveries already.
                written, added = await self._write_late(head, number, items, summarized=number in in_memory)
                counted.extend(written)
                new += added
        return per_head, new

    async def _write_late(
        self, head: Head, number: int, items: Sequence[layout.Placed], *, summarized: bool
    ) -> tuple[list[tuple[DeliveryAttempt, KafkaPosition]], int]:
        """Write attempts into their deliveries in full chunk ``number`` (one read, one update) and move the
        chunk's status counts in ``head`` (unless ``summarized``) and its commands' progress. Returns the
        attempts stored by these records and how many of them are new."""
        document = await self.chunks.find_one({"_id": layout.chunk_id(head.endpoint, number)})
        if document is None:
            log.warning("attempts of an expired chunk skipped", extra={"chunk": number, "count": len(items)})
            return [], 0
        entries = decoded(document["entries"])
        changed: set[int] = set()
        #: Per delivery (index), the attempt keys this batch's records stored: the head does not count them yet.
        ours: dict[int, set[str]] = defaultdict(set)
        counted: list[tuple[DeliveryAttempt, KafkaPosition]] = []
        added = 0
        latest = document.get("expires_at")
        for item in items:
            if item.index >= len(entries) or entries[item.index]["delivery_id"] != item.attempt.delivery_id:
                log.warning("a locator points at another delivery", extra={"chunk": number})
                continue
            attempts = entries[item.index]["attempts"]
            key = rules.attempt_key(item.attempt)
            kafka = [item.position.partition, item.position.offset]
            if key not in attempts:
                attempts[key] = layout.stored_attempt(item.attempt, item.position)
                changed.add(item.index)
                added += 1
            elif attempts[key].get("kafka") != kafka:
                continue  # another copy of a stored attempt: the first copy wins
            ours[item.index].add(key)
            counted.append((item.attempt, item.position))  # type: ignore[arg-type]
            expires = item.attempt.attempted_at + stats.MAX_WINDOW
            latest = expires if latest is None else max(rules.utc(latest), expires)
        for index, keys in ours.items():
            entry = entries[index]
            earlier = {key: record for key, record in entry["attempts"].items() if key not in keys}
            if earlier and not summarized:
                layout.restatus(head, number, layout.status({"attempts": earlier}), layout.status(entry))
            layout.tally(head, entry, keys)
        if changed:
            await self.chunks.update_one(
                {"_id": document["_id"]}, {"$set": {"entries": _packed(entries), "expires_at": latest}}
            )
        return counted, added

    async def _write_head(self, head: Head) -> bool:
        """Store ``head`` if the stored one is still the version this process read; False when another replica
        wrote it since (this process's copy is dropped, to be re-read)."""
        fields = {
            **head.identity,
            "number": head.number,
            "entries": _packed(head.entries),
            "summaries": _packed(head.summaries),
            "commands": _packed(head.commands),
            "buckets": _packed(head.buckets),
            "rolled_to": head.rolled_to,
            "marks": head.marks,
            "version": head.version + 1,
            "expires_at": head.expires_at,
        }
        try:
            if head.version == 0:
                await self.heads.insert_one({"_id": head.endpoint, **fields})
                written = True
            else:
                # $set rather than a replacement: FerretDB v1 finds an update's document by _id, but decoded
                # the whole collection for a replace_one (measured before ADR 0012: 5 vs 80 ms at 500
                # chunk-sized documents).
                result = await self.heads.update_one(
                    {"_id": head.endpoint, "version": head.version}, {"$set": fields}
                )
                written = result.matched_count == 1
        except DuplicateKeyError:
            written = False
        if written:
            head.version += 1
            head.unrolled = False
        else:
            self._heads.pop(head.endpoint, None)
        return written

    # -- queries ---------------------------------------------------------------------------------------------

    async def get(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, delivery_id: str
    ) -> dict[str, Any] | None:
        """The endpoint's delivery, or None — also for another tenant's or another endpoint's delivery (its
        locator is under that endpoint). The head, then for an older delivery its locator and chunk."""
        endpoint = layout.endpoint_key(tenant_id, kind, endpoint_id)
        head = await self._stored_head(endpoint)
        if head is None:
            return None
        for entry in head["entries"]:
            if entry["delivery_id"] == delivery_id:
                return layout.delivery(head, entry)
        locator = await self.locators.find_one({"_id": layout.locator_id(endpoint, delivery_id)})
        if locator is None:
            return None
        ordinal = int(locator["o"])
        entries = await self._entries(endpoint, head, ordinal // CHUNK_SIZE)
        index = ordinal % CHUNK_SIZE
        if entries is None or index >= len(entries) or entries[index]["delivery_id"] != delivery_id:
            return None
        return layout.delivery(head, entries[index])

    async def command_progress(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, command_id: str
    ) -> dict[str, int] | None:
        """How many deliveries of the endpoint a redeliver/recover command attempted again, and their status by
        its attempts so far; None before its first attempt reached the log (or after 20 newer commands)."""
        endpoint = layout.endpoint_key(tenant_id, kind, endpoint_id)
        head = await self.heads.find_one({"_id": endpoint}, {"commands": 1})
        if head is None:
            return None
        progress: dict[str, int] | None = _unpacked(head["commands"]).get(command_id)
        return progress

    async def _stored_head(self, endpoint: str) -> dict[str, Any] | None:
        head = await self.heads.find_one({"_id": endpoint}, {"marks": 0, "commands": 0, "buckets": 0})
        if head is not None:
            head["entries"] = decoded(head["entries"])
        return head

    async def _entries(self, endpoint: str, head: dict[str, Any], number: int) -> list[dict[str, Any]] | None:
        """Chunk ``number``'s entries (the head's when it is the open one), None when it expired. The head is
        read first: a chunk is stored before the head that moved past it."""
        if number == head["number"]:
            entries: list[dict[str, Any]] = head["entries"]
            return entries
        if number > head["number"]:
            return None
        chunk = await self.chunks.find_one({"_id": layout.chunk_id(endpoint, number)}, {"entries": 1})
        return None if chunk is None else decoded(chunk["entries"])

    async def page(
        self,
        tenant_id: str,
        kind: EndpointKind,
        endpoint_id: str,
        *,
        page: int,
        per_page: int,
        status: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the endpoint's deliveries, newest first (in the order the log received their first
        attempts), and how many match. Unfiltered: the head and at most two chunks. Filtered: every chunk of
        the endpoint, read in parallel and filtered here."""
        endpoint = layout.endpoint_key(tenant_id, kind, endpoint_id)
        head = await self._stored_head(endpoint)
        if head is None:
            return [], 0
        floor = await self._floor(endpoint, int(head["number"]))
        newest = int(head["number"]) * CHUNK_SIZE + len(head["entries"]) - 1
        oldest = floor * CHUNK_SIZE
        if all(value is None for value in (status, event_type, event_id, since, until)):
            count = newest - oldest + 1
            ordinals = [oldest + ordinal for ordinal in layout.page_ordinals(count, page, per_page)]
            numbers = sorted({ordinal // CHUNK_SIZE for ordinal in ordinals})
            read = dict(zip(numbers, await self._read_chunks(endpoint, head, numbers), strict=True))
            items = []
            for ordinal in ordinals:
                entries = read[ordinal // CHUNK_SIZE]
                if entries is not None and ordinal % CHUNK_SIZE < len(entries):
                    items.append(layout.delivery(head, entries[ordinal % CHUNK_SIZE]))
            return items, count
        summaries: list[dict[str, Any]] = _unpacked(head["summaries"])
        numbers = [
            n
            for n in range(int(head["number"]) - 1, floor - 1, -1)
            if _may_hold(summaries[n] if n < len(summaries) else {}, since, until)
        ]
        if event_id is None and since is None and until is None and (status is None or event_type is None):
            return await self._page_counted(
                endpoint, head, summaries, numbers, status, event_type, page, per_page
            )
        deliveries = []
        for entries in [head["entries"], *await self._read_chunks(endpoint, head, numbers)]:
            for entry in reversed(entries or []):
                # A delivery's event is the same in all its attempts: these need no summary.
                if event_type is not None and entry["event_type"] != event_type:
                    continue
                if event_id is not None and entry["event_id"] != event_id:
                    continue
                delivery = layout.delivery(head, entry)
                if status is not None and delivery["status"] != status:
                    continue
                # A delivery is placed in time by its first attempt (``createdAt``).
                if since is not None and delivery["created_at"] < since:
                    continue
                if until is not None and delivery["created_at"] >= until:
                    continue
                deliveries.append(delivery)
                if event_id is not None:
                    # An event has one delivery per endpoint (its id derives from the event's source and id
                    # and the endpoint): the newest match ends the search.
                    break
            if event_id is not None and deliveries:
                break
        first = (page - 1) * per_page
        return deliveries[first : first + per_page], len(deliveries)

    async def _page_counted(
        self,
        endpoint: str,
        head: dict[str, Any],
        summaries: list[dict[str, Any]],
        numbers: Sequence[int],
        status: str | None,
        event_type: str | None,
        page: int,
        per_page: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the deliveries in ``status`` or of ``event_type``: the full chunks' counts say which
        chunks hold it, and only those are read."""

        def matches(entry: dict[str, Any]) -> bool:
            if event_type is not None:
                return bool(entry["event_type"] == event_type)
            return layout.status(entry) == status

        def count(number: int) -> int:
            summary = summaries[number] if number < len(summaries) else {}
            if event_type is not None:
                return int(summary.get("types", {}).get(event_type, 0))
            return int(summary.get(status or "", 0))

        first, end = (page - 1) * per_page, page * per_page
        in_head = [entry for entry in reversed(head["entries"]) if matches(entry)]
        counts = [count(number) for number in numbers]
        selected = in_head[first:end]
        position = len(in_head)
        for number, counted in zip(numbers, counts, strict=True):
            if position >= end:
                break
            if counted and position + counted > first:
                entries = await self._entries(endpoint, head, number) or []
                matching = [entry for entry in reversed(entries) if matches(entry)]
                selected.extend(matching[max(first - position, 0) : end - position])
            position += counted
        return [layout.delivery(head, entry) for entry in selected], len(in_head) + sum(counts)

    async def _read_chunks(
        self, endpoint: str, head: dict[str, Any], numbers: Sequence[int]
    ) -> list[list[dict[str, Any]] | None]:
        """The entries of chunks ``numbers``, in that order, read ``_READS_AT_ONCE`` at a time."""
        read: list[list[dict[str, Any]] | None] = []
        for first in range(0, len(numbers), _READS_AT_ONCE):
            group = numbers[first : first + _READS_AT_ONCE]
            read.extend(await asyncio.gather(*(self._entries(endpoint, head, n) for n in group)))
        return read

    async def _floor(self, endpoint: str, number: int) -> int:
        """The endpoint's first chunk still stored. Chunks expire oldest first (a TTL index on MongoDB), so the
        chunks before it are gone; a reader remembers it for a minute and then checks it is still there."""
        now = time.monotonic()
        cached, checked = self._floors.get(endpoint, (0, -_FLOOR_TTL_S))
        if now - checked < _FLOOR_TTL_S or cached >= number:
            return min(cached, number)
        low, high = cached, number  # the head (chunk ``number``) is always there
        while low < high:
            middle = (low + high) // 2
            if await self.chunks.find_one({"_id": layout.chunk_id(endpoint, middle)}, {"_id": 1}):
                high = middle
            else:
                low = middle + 1
        self._floors[endpoint] = (low, now)
        return low

    async def counters(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[str, Any]:
        """The endpoint's rollups over the minute-aligned ``[since, until)``, merged (``DeliveryRollups``)."""
        return await self.rollups.counters(tenant_id, kind, endpoint_id, since, until)

    async def hourly(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[datetime, dict[str, Any]]:
        """The endpoint's hour buckets starting in ``[since, until)`` by start (``DeliveryRollups``)."""
        return await self.rollups.hourly(tenant_id, kind, endpoint_id, since, until)


def _chunk_document(head: Head, number: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    latest = max(record["attempted_at"] for entry in entries for record in entry["attempts"].values())
    return {
        "_id": layout.chunk_id(head.endpoint, number),
        **head.identity,
        "number": number,
        "entries": _packed(entries),
        "expires_at": latest + stats.MAX_WINDOW,
    }


def _may_hold(summary: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    """Whether a full chunk may hold deliveries first attempted in ``[since, until)``."""
    if not summary:
        return True
    return (since is None or rules.utc(summary["last"]) >= since) and (
        until is None or rules.utc(summary["first"]) < until
    )


def _packed(value: Any) -> Binary:
    return Binary(zlib.compress(bson.encode({"v": value}), _COMPRESSION))


def _unpacked(raw: bytes) -> Any:
    return bson.decode(zlib.decompress(raw), codec_options=_CODEC)["v"]


def decoded(entries: bytes) -> list[dict[str, Any]]:
    """The deliveries of a head or chunk document's ``entries``."""
    unpacked: list[dict[str, Any]] = _unpacked(entries)
    return unpacked
