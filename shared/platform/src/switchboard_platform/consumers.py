"""One Kafka consumer's lifecycle — start, assignment, fetch, pause, commit, lag, stop — behind one small interface.

Every stage that reads Kafka with its own loop rather than a FastStream subscriber (the dispatcher's fan-out
and delivery engine, which commit offsets themselves; the config followers and ingress's reply reader, which
read every partition without a group; the dispatcher's recover command, which reads a topic to its end) takes
a ``TopicConsumer``. ``KafkaTopicConsumer`` is the real one, ``switchboard_testing.memory_kafka`` the
in-memory twin, so a stage's logic is tested without a broker and, separately, over real Kafka.

The interface speaks aiokafka's vocabulary (``getmany``, ``ConsumerRecord``, ``TopicPartition``) so records pass
through untouched: the hot path pays one extra call per batch, nothing per record. Offsets are committed only
when a stage says so (auto-commit is always off): what "done" means is the stage's delivery semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Literal, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

Records = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
#: Where a partition without a committed offset (or any partition, without a group) starts.
StartAt = Literal["earliest", "latest"]


class TopicConsumer(Protocol):
    """A consumer of one topic: a group member (offsets committed by the stage) or, without a group, a reader
    of every partition."""

    async def start(self) -> None:
        """Connect and subscribe; partitions are assigned afterwards (see ``assignment``)."""
        ...

    async def stop(self) -> None:
        """Leave the group and disconnect (nothing is committed here: commit first)."""
        ...

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Records:
        """The next records of the assigned, unpaused partitions; waits up to ``timeout_ms`` for some."""
        ...

    def assignment(self) -> set[TopicPartition]: ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit, per partition, the offset of the next record to read (the last one done + 1)."""
        ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    def highwater(self, partition: TopicPartition) -> int | None:
        """The offset the partition's next record will get, as of the last fetch (None before one)."""
        ...

    async def position(self, partition: TopicPartition) -> int:
        """The offset of the next record this consumer will read from ``partition``."""
        ...

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]: ...


class KafkaTopicConsumer:
    """``TopicConsumer`` over aiokafka, auto-commit off."""

    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        group_id: str | None,
        client_id: str,
        start_at: StartAt = "earliest",
        max_poll_records: int | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.client_id = client_id
        self.start_at = start_at
        self.max_poll_records = max_poll_records
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError(f"the consumer of {self.topic} is not started")
        return self._consumer

    async def start(self) -> None:
        # Subscribing without a group assigns every partition of the topic.
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset=self.start_at,
            max_poll_records=self.max_poll_records,
            client_id=self.client_id,
        )
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def getmany(self, *, timeout_ms: int, max_records: int) -> Records:
        records: Records = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return records

    def assignment(self) -> set[TopicPartition]:
        assigned: set[TopicPartition] = self.consumer.assignment()
        return assigned

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        await self.consumer.commit(dict(offsets))

    def pause(self, *partitions: TopicPartition) -> None:
        self.consumer.pause(*partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.consumer.resume(*partitions)

    def highwater(self, partition: TopicPartition) -> int | None:
        offset: int | None = self.consumer.highwater(partition)
        return offset

    async def position(self, partition: TopicPartition) -> int:
        offset: int = await self.consumer.position(partition)
        return offset

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        offsets: dict[TopicPartition, int] = await self.consumer.end_offsets(list(partitions))
        return offsets


async def reached_end(consumer: TopicConsumer, end: Mapping[TopicPartition, int]) -> bool:
    """Whether ``consumer`` has read every partition up to the ``end`` offsets taken earlier."""
    for tp, offset in end.items():
        if await consumer.position(tp) < offset:
            return False
    return True


def lag(
    consumer: TopicConsumer, done: Callable[[TopicPartition], int | None]
) -> Iterator[tuple[TopicPartition, int]]:
    """Records behind the end of each assigned partition (as of the last fetch), given the next offset the stage
    has yet to finish there (``done``; None before it has finished any, which reports 0)."""
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue
        position = done(tp)
        yield tp, max(highwater - position, 0) if position is not None else 0
