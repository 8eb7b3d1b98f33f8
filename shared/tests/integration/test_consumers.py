"""The consumer lifecycle's contract, run twice: over the real broker (``KafkaTopicConsumer``) and in memory
(``MemoryConsumer``), so tests that use the in-memory twin rely on what Kafka really does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from switchboard_contracts.topics import TOPIC_SPECS, Topic, topic_name
from switchboard_platform.consumers import (
    KafkaTopicConsumer,
    Records,
    StartAt,
    TopicConsumer,
    lag,
    reached_end,
)
from switchboard_testing.infra import Infrastructure
from switchboard_testing.memory_kafka import MemoryConsumer, MemoryTopic
from switchboard_testing.waiting import eventually

#: A topic of the contract that no stage reads in these tests (each test has its own namespace anyway).
TOPIC = Topic.DELIVERY_DEAD_LETTER
PARTITIONS = next(spec.partitions for spec in TOPIC_SPECS if spec.topic is TOPIC)


@dataclass
class Side:
    """One implementation: how to write a record to a partition and how to make a consumer."""

    topic: str
    append: Callable[[bytes, int], Awaitable[None]]
    consumer: Callable[[str | None, StartAt], TopicConsumer]


@pytest.fixture(params=["kafka", "memory"])
async def side(
    request: pytest.FixtureRequest, infra: Infrastructure, kafka_topics: str
) -> AsyncIterator[Side]:
    if request.param == "memory":
        memory = MemoryTopic("records", PARTITIONS)

        async def append_memory(value: bytes, partition: int) -> None:
            memory.append(value, partition=partition)

        yield Side(
            memory.name,
            append_memory,
            lambda group, start_at: MemoryConsumer(memory, group_id=group, start_at=start_at),
        )
        return
    topic = topic_name(TOPIC, kafka_topics)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()

    async def append_kafka(value: bytes, partition: int) -> None:
        await producer.send_and_wait(topic, value, partition=partition)

    def kafka_consumer(group: str | None, start_at: StartAt) -> TopicConsumer:
        return KafkaTopicConsumer(
            bootstrap=infra.kafka_bootstrap,
            topic=topic,
            group_id=f"{topic}.{group}" if group else None,
            client_id="shared-consumers-test",
            start_at=start_at,
        )

    try:
        yield Side(topic, append_kafka, kafka_consumer)
    finally:
        await producer.stop()


async def read(consumer: TopicConsumer, count: int) -> Records:
    """At least ``count`` records, by partition."""
    found: Records = {}

    async def enough() -> bool:
        for tp, records in (await consumer.getmany(timeout_ms=200, max_records=100)).items():
            found.setdefault(tp, []).extend(records)
        return sum(len(records) for records in found.values()) >= count

    await eventually(enough, timeout_s=30)
    return found


def values(records: Records) -> list[bytes | None]:
    return sorted(record.value for batch in records.values() for record in batch)


async def test_a_group_member_resumes_after_the_offset_its_group_committed(side: Side) -> None:
    for value in (b"r0", b"r1", b"r2"):
        await side.append(value, 0)
    first = side.consumer("g", "earliest")
    await first.start()
    try:
        records = await read(first, 3)
        assert values(records) == [b"r0", b"r1", b"r2"]
        await first.commit({TopicPartition(side.topic, 0): 2})  # r0 and r1 done, r2 not
    finally:
        await first.stop()

    again = side.consumer("g", "earliest")
    await again.start()
    try:
        assert values(await read(again, 1)) == [b"r2"]
    finally:
        await again.stop()


async def test_without_a_group_every_partition_is_read_from_the_beginning_to_its_end(side: Side) -> None:
    for partition in range(PARTITIONS):
        await side.append(f"p{partition}".encode(), partition)
    reader = side.consumer(None, "earliest")
    await reader.start()
    try:
        await eventually(lambda: _assigned(reader), timeout_s=30)
        assert reader.assignment() == {TopicPartition(side.topic, p) for p in range(PARTITIONS)}
        end = await reader.end_offsets(reader.assignment())
        assert not await reached_end(reader, end)

        records = await read(reader, PARTITIONS)

        assert values(records) == [f"p{partition}".encode() for partition in range(PARTITIONS)]
        assert await reached_end(reader, end)
    finally:
        await reader.stop()


async def test_latest_reads_only_records_written_after_its_positions_are_taken(side: Side) -> None:
    await side.append(b"before", 0)
    reader = side.consumer(None, "latest")
    await reader.start()
    try:
        await eventually(lambda: _assigned(reader), timeout_s=30)
        for tp in reader.assignment():
            await reader.position(tp)  # resolves "latest" now, as ingress's reply reader does
        await side.append(b"after", 0)

        assert values(await read(reader, 1)) == [b"after"]
    finally:
        await reader.stop()


async def test_lag_is_the_highwater_minus_what_the_stage_finished(side: Side) -> None:
    for value in (b"r0", b"r1", b"r2"):
        await side.append(value, 1)
    consumer = side.consumer("lag", "earliest")
    await consumer.start()
    try:
        await read(consumer, 3)
        p1 = TopicPartition(side.topic, 1)
        assert consumer.highwater(p1) == 3

        behind = dict(lag(consumer, {p1: 1}.get))

        assert behind[p1] == 2
        assert dict(lag(consumer, {}.get))[p1] == 0  # nothing finished there yet: reported as 0
    finally:
        await consumer.stop()


async def _assigned(consumer: TopicConsumer) -> bool:
    return bool(consumer.assignment())
