"""The delivery log's stats rollups in MongoDB: per endpoint, one counter document per minute and per hour with
traffic (see ``domain.delivery_stats`` for why), written from the attempts the delivery log counts, a Kafka
batch at a time, and read back merged over a window.

**Writes (ADR 0011).** A bucket is *open* while attempts can still arrive for it: open buckets are counted in
memory and kept in the endpoint's delivery-log head, written with it (``fold_open``; the head's marks and version
make that count exact). A bucket is *sealed* once the latest attempt counted for its endpoint is
``stats.SEAL_AFTER`` past its end (attempt times in record order, so a replay seals the same buckets) and is then
inserted here once (``close``, ``store``). An attempt of a bucket sealed already takes the old path (``add``): the
batch's attempts summed in memory and one guarded ``$inc`` per bucket. ``$inc`` is not idempotent by itself, so
the bucket keeps, per Kafka partition, the offset of the last record folded in (``hw.p<partition>``): a write
folds only the records past those marks and is guarded on them, in the same document. A partition's records are
consumed in offset order, so the records counted in a bucket are always exactly its records up to that mark,
whatever batches a replay after a crash cuts the partition into. Which copy of an attempt is counted is the
delivery log's decision (``DeliveryLog.record``): the one whose Kafka record is stored. Every bucket keeps its
earliest and latest attempt time (``first``/``last``).

**Reads by ``_id``.** FerretDB v1 (local dev, CI, ``make up``) pushes down only ``_id`` equality: a range on
``start``, an ``_id`` ``$in`` or range scans and decodes every tenant's rollups, and it never prunes them (no
TTL). So a window is read as the ``_id``s of its buckets (``bucket_key``): one round of point reads for the
hour buckets — the whole hours, and the hour of each ragged edge — then the minute buckets of an edge only
where its hour bucket holds attempts outside it (``stats.covers``; a window ending now is covered by its
current hour, an hour without a bucket had no traffic). On FerretDB v1 these are ``find_one``s, 8 in flight;
elsewhere one ``_id`` ``$in`` per round (MongoDB's ``_id`` index).

**Settled buckets in memory.** A bucket whose period ended more than ``SettledBuckets.SETTLE`` (5 min) ago gets
no more attempts in normal operation (the projection is seconds behind the dispatcher), so it is kept after a
read (LRU, ``KEPT`` buckets, ``TTL_S`` = 10 min) and a page or ``/stats`` reread reads only the open hour,
the minutes of the last 5 and the few new edge minutes. Open buckets are read from the endpoint's head first,
then the stored ones, and never kept. Staleness, bounded: an attempt counted after its bucket
settled (a registry backlog, a replay after an outage, a dispatcher clock behind) drops the bucket from this
process's memory as it is written, so one registry replica is exact; with several, another replica's late
attempt shows after at most ``TTL_S``.

Measured (``tests/perf/rollup_costs.py``, private FerretDB v1, a day of one-a-minute history at the endpoint
read, N buckets of other endpoints beside it; a shared 2-core machine):

    other buckets          1k          10k         100k
    counters 24 h before   817 ms      4,017 ms    36,372 ms    (range queries: a scan per span)
    counters after         145 / 15    145 / 15    128 / 14 ms  (cold / warm)
    hourly 24 h before     264 ms      1,304 ms    11,920 ms
    hourly after           112 / 14    113 / 14    106 / 13 ms
    FerretDB CPU per projected attempt (rollup writes), before / after: 12.1 / 12.7 ms at 1k, 51.1 / 53.7 at 10k

Every bucket carries ``expires_at`` (30 days after its bucket) for a TTL index. FerretDB v1 has no TTL
indexes; there ``sweep`` deletes expired buckets every hour (``start_sweeping``), which bounds what every
update still scans there (see docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from switchboard_contracts.events import DeliveryAttempt, EndpointKind
from switchboard_platform.mongo import ensure_expiry_index, insert_new, sweep_expired
from switchboard_platform.periodic import Periodic
from switchboard_registry.adapters.event_log import KafkaPosition
from switchboard_registry.adapters.versioned import MAX_ROUNDS, ConflictingWrites
from switchboard_registry.domain import delivery_log as layout
from switchboard_registry.domain import delivery_stats as stats

log = logging.getLogger(__name__)

#: The attempt times a bucket keeps for ``stats.covers``; not counters, so not in what ``hourly`` returns.
_SPAN = frozenset(stats.SPAN_FIELDS)
#: What a stats read needs from a rollup (never the replay marks).
_COUNTERS = dict.fromkeys((*stats.COUNTER_FIELDS, *stats.SPAN_FIELDS), 1)
#: What an open bucket holds that its stored copy does not: the first offsets counted (the guard of a merge) and
#: whether a part of it may have been stored the old way.
_HELD_ONLY = frozenset({"lo", "stored"})
#: Reads an endpoint's open buckets (``DeliveryLog.open_buckets``).
OpenBuckets = Callable[[tuple[str, str, str]], Awaitable[dict[str, dict[str, Any]]]]
#: An attempt of a bucket sealed before it was projected, and which of its buckets (minute or hour) that is.
Late = tuple[DeliveryAttempt, KafkaPosition, stats.BucketSize]
#: Point reads in flight at once on FerretDB v1 (more only queue there: measured no faster at 16 than at 8).
_CONCURRENT_READS = 8
#: Rollup buckets whose marks are remembered (a minute and an hour bucket per endpoint with traffic).
_MARKS_KEPT = 10_000


class DeliveryRollups:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        *,
        open_buckets: OpenBuckets | None = None,
        sweep_interval_s: float = 3600.0,
    ) -> None:
        self.collection: AsyncCollection[dict[str, Any]] = database["delivery_rollups"]
        #: An endpoint's buckets still open (in its delivery-log head), by ``(tenant, kind, endpoint)``.
        self.open_buckets = open_buckets
        #: Per rollup bucket, the marks this process last wrote there (saves a read per bucket per batch).
        self._marks: dict[str, dict[str, int]] = {}
        self.settled = SettledBuckets()
        #: Whether the server pushes down only ``_id`` lookups (learnt on the first read).
        self._point_reads: bool | None = None
        #: Whether the server deletes expired buckets itself (learnt by ``ensure_indexes``).
        self.ttl_index = True
        self._sweeper = Periodic(
            self.sweep, sweep_interval_s, name="rollups-sweeper", failure="rollups sweep failed", logger=log
        )

    async def ensure_indexes(self) -> None:
        # Reads go by _id alone, so no other index: the one on (endpoint, size, start) the range reads used is
        # no longer created (an installation that has it can drop it; every write pays for it).
        # FerretDB v1 sweeps with a scan, which a plain index on expires_at would not spare.
        self.ttl_index = await ensure_expiry_index(self.collection, plain_index=False)
        if not self.ttl_index:
            log.warning(
                "TTL indexes are not supported by this server (FerretDB v1): %s is swept every %.0f s instead",
                self.collection.name,
                self._sweeper.interval_s,
            )

    async def start_sweeping(self) -> None:
        """Delete expired buckets on a timer where the server has no TTL index (after ``ensure_indexes``)."""
        if not self.ttl_index:
            await self._sweeper.start()

    async def stop_sweeping(self) -> None:
        await self._sweeper.stop()

    async def sweep(self) -> int:
        """Delete the buckets past ``expires_at``; how many. On FerretDB v1 one scan of the collection — what
        each bucket update costs there anyway, so an hourly sweep is noise beside the writes, and it keeps the
        collection (and so every update's scan) to the 30 days read."""
        return await sweep_expired(self.collection)

    # -- the projection --------------------------------------------------------------------------------------

    def fold_open(
        self,
        buckets: dict[str, dict[str, Any]],
        latest: datetime | None,
        attempts: Sequence[tuple[DeliveryAttempt, KafkaPosition]],
        *,
        maybe_stored: bool = False,
    ) -> tuple[datetime | None, list[Late]]:
        """Count one endpoint's ``attempts``, in record order, in its open ``buckets`` (held in its delivery-log
        head, so counted exactly once with the head's replay marks and version). Returns the latest attempt time
        now counted and the attempts of buckets sealed before them, for ``store``. ``maybe_stored``: buckets opened
        now may also have been stored the old way (before ADR 0011); reads then add the two."""
        late: list[Late] = []
        now = datetime.now(UTC)
        #: This batch's contributions per open bucket, added once each (a bucket is a tree of counters).
        parts: dict[str, list[stats.Contribution]] = defaultdict(list)
        #: The bucket ids met so far, by size and start (the attempts are all this endpoint's).
        ids: dict[tuple[stats.BucketSize, datetime], str] = {}
        for attempt, position in attempts:
            part = stats.contribution(attempt)
            mark = stats.mark_key(position.partition)
            for size, step in stats.STEPS.items():
                start = stats.floor_to(attempt.attempted_at, step)
                if stats.sealed(start, size, latest):
                    late.append((attempt, position, size))
                    continue
                document_id = ids.get((size, start))
                if document_id is None:
                    document_id = ids[size, start] = bucket_id(attempt, size)
                bucket = buckets.get(document_id)
                if bucket is None:
                    bucket = buckets[document_id] = {**_identity(attempt, size, start), "hw": {}, "lo": {}}
                    if maybe_stored:
                        bucket["stored"] = True
                    # A reader may have kept "no traffic" for this period (the registry was behind).
                    self.settled.forget(document_id, late=self.settled.is_settled(start, size, now))
                parts[document_id].append(part)
                bucket["hw"][mark] = max(position.offset, bucket["hw"].get(mark, -1))
                bucket["lo"].setdefault(mark, position.offset)
            latest = attempt.attempted_at if latest is None else max(latest, attempt.attempted_at)
        for document_id, added in parts.items():
            stats.add_to(buckets[document_id], stats.fold(added))
        return latest, late

    @staticmethod
    def close(
        buckets: dict[str, dict[str, Any]], latest: datetime | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Take the buckets ``latest`` seals out of ``buckets``: what ``store`` inserts."""
        ripe = [
            document_id
            for document_id, bucket in buckets.items()
            if stats.sealed(bucket["start"], bucket["size"], latest)
        ]
        return [(document_id, buckets.pop(document_id)) for document_id in ripe]

    async def store(self, sealed: Sequence[tuple[str, dict[str, Any]]], late: Sequence[Late]) -> None:
        """Store the buckets a batch sealed, once each, then count the attempts of buckets sealed before (in that
        order: a late attempt of a bucket sealed by the same batch finds it stored)."""
        documents = [
            {"_id": document_id, **{key: value for key, value in bucket.items() if key not in _HELD_ONLY}}
            for document_id, bucket in sealed
        ]
        for index in sorted(await insert_new(self.collection, documents)):
            # Stored already: by the run of these records that crashed before its head was written (the marks
            # refuse this), or the old way, before the bucket's open part began (the marks let it in).
            await self._merge_sealed(*sealed[index])
        await self._add_late(late)

    async def _merge_sealed(self, document_id: str, bucket: dict[str, Any]) -> None:
        delta = stats.delta_of(bucket)
        guards = [_not_counted(mark, lowest) for mark, lowest in bucket["lo"].items()]
        update: dict[str, Any] = {
            "$inc": delta.inc,
            "$min": {**delta.minimum, "first": delta.first},
            "$max": {**delta.maximum, "last": delta.last, **{f"hw.{m}": o for m, o in bucket["hw"].items()}},
        }
        await self.collection.update_one({"_id": document_id, "$and": guards}, update)
        self._marks.pop(document_id, None)

    async def add(self, attempts: Sequence[tuple[DeliveryAttempt, KafkaPosition]]) -> None:
        """Count ``attempts`` (each with the Kafka record it came from) in their stored minute and hour buckets:
        one write per bucket touched, records already counted (a replay) skipped."""
        await self._add_late(
            [(attempt, position, size) for attempt, position in attempts for size in stats.STEPS]
        )

    async def _add_late(self, items: Sequence[Late]) -> None:
        parts: dict[str, dict[int, list[tuple[int, stats.Contribution]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        identities: dict[str, dict[str, Any]] = {}
        for attempt, position, size in items:
            part = stats.contribution(attempt)
            document_id = bucket_id(attempt, size)
            parts[document_id][position.partition].append((position.offset, part))
            if document_id not in identities:
                identities[document_id] = _identity(
                    attempt, size, stats.floor_to(attempt.attempted_at, stats.STEPS[size])
                )
        now = datetime.now(UTC)
        for document_id, by_partition in parts.items():
            identity = identities[document_id]
            # A late attempt (a backlog, a replay after an outage) changes a bucket readers may have cached.
            self.settled.forget(
                document_id, late=self.settled.is_settled(identity["start"], identity["size"], now)
            )
            await self._fold_into(document_id, by_partition, identity)

    async def _fold_into(
        self,
        document_id: str,
        parts: dict[int, list[tuple[int, stats.Contribution]]],
        identity: dict[str, Any],
    ) -> None:
        """Add the records past the bucket's mark of their partition, and move the marks, in one write."""
        # Optimistic: the marks this process last wrote (or none). Where the stored marks are further on — a
        # replay, another replica before a rebalance — the guard refuses the write, and the marks are read.
        marks = self._marks.get(document_id, {})
        for _ in range(MAX_ROUNDS):
            fresh = stats.past_marks(parts, marks)
            if not fresh:
                return  # all counted already: a replay
            delta = stats.fold(part for records in fresh.values() for _, part in records)
            guards: list[dict[str, Any]] = []
            moved: dict[str, int] = {}
            for partition, records in fresh.items():
                mark = stats.mark_key(partition)
                first = min(offset for offset, _ in records)
                guards.append(_not_counted(mark, first))
                moved[mark] = max(offset for offset, _ in records)
            update: dict[str, Any] = {
                "$inc": delta.inc,
                "$min": {**delta.minimum, "first": delta.first},
                "$max": {
                    **delta.maximum,
                    "last": delta.last,
                    **{f"hw.{mark}": offset for mark, offset in moved.items()},
                },
                "$setOnInsert": identity,
            }
            try:
                await self.collection.update_one({"_id": document_id, "$and": guards}, update, upsert=True)
            except DuplicateKeyError:
                # A guard refused (the upsert then collides with the existing bucket): read the real marks.
                # A lookup by _id alone is the one read FerretDB v1 answers without decoding every document.
                current = await self.collection.find_one({"_id": document_id}, {"hw": 1})
                marks = {} if current is None else current.get("hw", {})
                continue
            if len(self._marks) >= _MARKS_KEPT:
                self._marks.clear()  # old buckets get no more attempts; the next write of a live one re-reads
            self._marks[document_id] = {**marks, **moved}
            return
        raise ConflictingWrites(f"rollup {document_id}: {MAX_ROUNDS} conflicting writes in a row")

    # -- queries ---------------------------------------------------------------------------------------------

    async def counters(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[str, Any]:
        """The endpoint's rollups over the minute-aligned ``[since, until)``, merged. Whole hours are read as
        hour buckets; a ragged edge (a piece of an hour) from its hour bucket when every attempt in it lies
        inside the edge (``stats.covers``: the window's end is usually now), from nothing when the hour has
        no bucket, and else from its minute buckets — at most two rounds of point reads."""
        endpoint = self._open_once((tenant_id, kind, endpoint_id))
        whole: list[datetime] = []
        edges: list[stats.Span] = []
        for span in stats.plan(since, until):
            if span.size == "h":
                whole += stats.starts(span)
            else:
                edges += stats.within_hours(span)
        hours = await self._buckets(
            endpoint, "h", [*whole, *(stats.floor_to(edge.start, stats.HOUR) for edge in edges)]
        )
        total: dict[str, Any] = {}
        for start in whole:
            stats.merge(total, hours.get(start) or {})
        minutes: list[datetime] = []
        for edge in edges:
            hour = hours.get(stats.floor_to(edge.start, stats.HOUR))
            if hour is None:
                continue  # no attempt in that hour at all
            if stats.covers(hour, edge.start, edge.end):
                stats.merge(total, hour)
            else:
                minutes += stats.starts(edge)
        for bucket in (await self._buckets(endpoint, "m", minutes)).values():
            stats.merge(total, bucket or {})
        return total

    async def hourly(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[datetime, dict[str, Any]]:
        """The endpoint's hour buckets starting in ``[since, until)`` by start (hours without traffic have none):
        the console's charts, one round of point reads for the whole window."""
        starts = stats.starts(stats.Span("h", stats.ceil_to(since, stats.HOUR), until))
        found = await self._buckets(self._open_once((tenant_id, kind, endpoint_id)), "h", starts)
        return {
            start: {key: value for key, value in bucket.items() if key not in _SPAN}
            for start, bucket in found.items()
            if bucket is not None
        }

    def _open_once(self, endpoint: tuple[str, str, str]) -> _OpenOnce:
        return _OpenOnce(endpoint, self.open_buckets)

    async def _buckets(
        self, endpoint: _OpenOnce, size: stats.BucketSize, starts: Sequence[datetime]
    ) -> dict[datetime, dict[str, Any] | None]:
        """The endpoint's ``size`` buckets at ``starts`` (None: no traffic then), from the settled ones this
        process has read lately and, for the rest, by their ``_id``s."""
        now = datetime.now(UTC)
        ids = {bucket_key(*endpoint.key, size, start): start for start in dict.fromkeys(starts)}
        found: dict[datetime, dict[str, Any] | None] = {}
        missing = []
        for document_id, start in ids.items():
            hit, cached = self.settled.get(document_id)
            if hit:
                found[start] = cached
            else:
                missing.append(document_id)
        if not missing:
            return found
        late_writes = self.settled.late_writes
        # The open buckets first: one sealed meanwhile was stored before its head was written without it.
        opened = await endpoint.buckets()
        # An open bucket is not stored, so it is not looked for (a read saved; on the FerretDB v1 release one that
        # finds nothing scans the collection), unless it may have a part stored the old way.
        fetched = await self._fetch(
            [
                document_id
                for document_id in missing
                if document_id not in opened or opened[document_id].get("stored")
            ]
        )
        for document_id in missing:
            bucket = fetched.get(document_id)
            start = ids[document_id]
            if document_id in opened:
                found[start] = stats.combine(bucket, opened[document_id])
                continue
            found[start] = bucket
            # Only a settled bucket, and not when a late attempt was counted meanwhile (it may be in or not).
            if self.settled.is_settled(start, size, now) and self.settled.late_writes == late_writes:
                self.settled.put(document_id, bucket)
        return found

    async def _fetch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if self._point_reads is None:
            self._point_reads = await _only_id_lookups(self.collection)
        if not self._point_reads:
            cursor = self.collection.find({"_id": {"$in": ids}}, _COUNTERS)
            return {bucket.pop("_id"): bucket async for bucket in cursor}
        # FerretDB v1 pushes down a lookup by _id (through the _id index in the build ``make up`` makes, ADR
        # 0012), and nothing else (an ``$in`` decodes the whole collection): one find_one per bucket, a few at a
        # time (the server serializes most of the work).
        limit = asyncio.Semaphore(_CONCURRENT_READS)

        async def one(document_id: str) -> dict[str, Any] | None:
            async with limit:
                return await self.collection.find_one({"_id": document_id}, _COUNTERS)

        buckets = await asyncio.gather(*(one(document_id) for document_id in ids))
        return {bucket.pop("_id"): bucket for bucket in buckets if bucket is not None}


class _OpenOnce:
    """An endpoint of a stats read, and its open buckets, read from its head at most once per read (``counters``
    reads hour buckets, then minute buckets)."""

    def __init__(self, key: tuple[str, str, str], read: OpenBuckets | None) -> None:
        self.key = key
        self._read = read
        self._buckets: dict[str, dict[str, Any]] | None = None

    async def buckets(self) -> dict[str, dict[str, Any]]:
        if self._buckets is None:
            self._buckets = await self._read(self.key) if self._read is not None else {}
        return self._buckets


class SettledBuckets:
    """Rollup buckets read lately whose period is over, by ``_id`` (None: no traffic then) — bounded, LRU.

    A bucket is *settled* once ``SETTLE`` has passed since its period ended: the projection writes an attempt
    seconds after it is made, so a settled bucket no longer changes, and reading it again would cost a point
    read for nothing. An attempt counted later than that (a registry backlog, a replay after an outage, a
    dispatcher clock behind) is a *late write*: this process's own late writes drop the bucket here (so one
    registry replica is never stale), another replica's show after at most ``TTL``."""

    SETTLE = timedelta(minutes=5)
    TTL_S = 600.0
    #: ~2 KB per cached bucket with traffic: ~40 MB at most.
    KEPT = 20_000

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float, dict[str, Any] | None]] = OrderedDict()
        #: How many times a settled bucket was written by this process (a read that straddles one caches nothing).
        self.late_writes = 0

    def is_settled(self, start: datetime, size: stats.BucketSize, now: datetime) -> bool:
        return start + stats.STEPS[size] + self.SETTLE <= now

    def get(self, document_id: str) -> tuple[bool, dict[str, Any] | None]:
        """Whether the bucket is cached (and fresh), and what it holds (None: no bucket)."""
        entry = self._entries.get(document_id)
        if entry is None or time.monotonic() - entry[0] > self.TTL_S:
            return False, None
        self._entries.move_to_end(document_id)
        return True, entry[1]

    def put(self, document_id: str, bucket: dict[str, Any] | None) -> None:
        self._entries[document_id] = (time.monotonic(), bucket)
        self._entries.move_to_end(document_id)
        while len(self._entries) > self.KEPT:
            self._entries.popitem(last=False)

    def forget(self, document_id: str, *, late: bool) -> None:
        if late:
            self.late_writes += 1
        self._entries.pop(document_id, None)


async def _only_id_lookups(collection: AsyncCollection[dict[str, Any]]) -> bool:
    """Whether the server is FerretDB v1, which pushes down only ``_id`` equality (every other filter scans)."""
    info = await collection.database.client.admin.command("buildInfo")
    return str(info.get("ferretdbVersion", "")).lstrip("v").startswith("1.")


def _not_counted(mark: str, first: int) -> dict[str, Any]:
    """A bucket's guard: its mark of a partition is still before ``first``, so the records from there on are
    not in it yet."""
    return {"$or": [{f"hw.{mark}": {"$lt": first}}, {f"hw.{mark}": {"$exists": False}}]}


def _identity(attempt: DeliveryAttempt, size: stats.BucketSize, start: datetime) -> dict[str, Any]:
    return {
        **layout.identity(attempt),
        "size": size,
        "start": start,
        "expires_at": start + stats.STEPS[size] + stats.MAX_WINDOW,
    }


def bucket_key(tenant_id: str, kind: str, endpoint_id: str, size: stats.BucketSize, start: datetime) -> str:
    """The ``_id`` of an endpoint's minute or hour bucket starting at ``start``."""
    return ":".join((tenant_id, kind, endpoint_id, size, start.strftime("%Y%m%d%H%M")))


def bucket_id(attempt: DeliveryAttempt, size: stats.BucketSize) -> str:
    """The rollup document of ``attempt``'s minute or hour."""
    start = stats.floor_to(attempt.attempted_at, stats.STEPS[size])
    return bucket_key(attempt.tenant_id, attempt.endpoint_kind, attempt.endpoint_id, size, start)
