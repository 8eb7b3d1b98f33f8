"""The in-memory twin of ``switchboard_platform.consumers.KafkaTopicConsumer``: a topic as lists of records and a
consumer that reads them, for testing a stage's logic without a broker.

Committed offsets live on the topic per group, like Kafka's, so a test can stop a consumer without committing
(a crash), start another one of the same group and see what it reads again.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence

from aiokafka import ConsumerRecord, TopicPartition

from switchboard_platform.consumers import Records, StartAt


class MemoryTopic:
    def __init__(self, name: str, partitions: int = 1) -> None:
        self.name = name
        self.partitions = [TopicPartition(name, index) for index in range(partitions)]
        self.logs: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {
            tp: [] for tp in self.partitions
        }
        #: Committed offsets per group (the next offset to read), as Kafka keeps them.
        self.committed: dict[str, dict[TopicPartition, int]] = {}
        self._appended = asyncio.Event()

    def append(
        self,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        partition: int | None = None,
    ) -> ConsumerRecord[bytes, bytes]:
        """Add a record: to ``partition``, else by a hash of its key (else to partition 0)."""
        if partition is None:
            partition = zlib.crc32(key) % len(self.partitions) if key is not None else 0
        tp = self.partitions[partition]
        log = self.logs[tp]
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            topic=self.name,
            partition=partition,
            offset=len(log),
            timestamp=int(time.time() * 1000),
            timestamp_type=0,
            key=key,
            value=value,
            checksum=None,
            serialized_key_size=len(key) if key is not None else -1,
            serialized_value_size=len(value) if value is not None else -1,
            headers=tuple(headers),
        )
        log.append(record)
        appended, self._appended = self._appended, asyncio.Event()
        appended.set()
        return record

    async def appended(self, timeout_s: float) -> None:
        """Return when a record is appended, or after ``timeout_s``."""
        try:
            await asyncio.wait_for(self._appended.wait(), timeout_s)
        except TimeoutError:
            return


class MemoryConsumer:
    """A ``TopicConsumer`` of a ``MemoryTopic``: every partition is assigned to it (``group_id`` None reads them
    without a group, and cannot commit). ``commits`` keeps every commit, in order; ``fetches`` counts the
    ``getmany`` calls (a stage's loop iterations)."""

    def __init__(
        self, topic: MemoryTopic, *, group_id: str | None = "group", start_at: StartAt = "earliest"
    ) -> None:
        self.topic = topic
        self.group_id = group_id
        self.start_at = start_at
        self.commits: list[dict[TopicPartition, int]] = []
        self.paused: set[TopicPartition] = set()
        self.started = False
        self.fetches = 0
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        committed = self.topic.committed.get(self.group_id, {}) if self.group_id is not None else {}
        for tp in self.topic.partitions:
            fallback = 0 if self.start_at == "earliest" else len(self.topic.logs[tp])
            self._positions[tp] = committed.get(tp, fallback)
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Records:
        self._check_started()
        self.fetches += 1
        records = self._take(max_records)
        if not records and timeout_ms > 0:
            await self.topic.appended(timeout_ms / 1000)
            records = self._take(max_records)
        return records

    def _take(self, max_records: int) -> Records:
        taken: Records = {}
        room = max_records
        for tp in self.topic.partitions:
            if room <= 0:
                break
            if tp in self.paused:
                continue
            position = self._positions[tp]
            batch = self.topic.logs[tp][position : position + room]
            if batch:
                taken[tp] = batch
                self._positions[tp] = position + len(batch)
                room -= len(batch)
        return taken

    def assignment(self) -> set[TopicPartition]:
        return set(self.topic.partitions) if self.started else set()

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self._check_started()
        if self.group_id is None:
            raise RuntimeError("a consumer without a group cannot commit")
        self.topic.committed.setdefault(self.group_id, {}).update(offsets)
        self.commits.append(dict(offsets))

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)

    def highwater(self, partition: TopicPartition) -> int | None:
        return len(self.topic.logs[partition])

    async def position(self, partition: TopicPartition) -> int:
        return self._positions[partition]

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.topic.logs[tp]) for tp in partitions}

    def committed(self, partition: int = 0) -> int | None:
        """The group's committed offset of ``partition`` (None before any commit)."""
        if self.group_id is None:
            return None
        return self.topic.committed.get(self.group_id, {}).get(self.topic.partitions[partition])

    def _check_started(self) -> None:
        if not self.started:
            raise RuntimeError(f"the consumer of {self.topic.name} is not started")
