"""The responder's consumer lag, computed from what its Kafka consumer knows (no I/O: a stand-in consumer)."""

from __future__ import annotations

from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from switchboard_ai_responder.metrics import ResponderMetrics

TOPIC = "platform.events"


class Consumer:
    """What ``report_lag`` asks an aiokafka consumer: its partitions, their end and the group's commit."""

    def __init__(self, partitions: dict[int, tuple[int | None, int | None]]) -> None:
        self.partitions = {TopicPartition(TOPIC, p): offsets for p, offsets in partitions.items()}

    def assignment(self) -> set[TopicPartition]:
        return set(self.partitions)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.partitions[tp][0]

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.partitions[tp][1]


def _lags(metrics: ResponderMetrics) -> dict[str, float]:
    (family,) = [f for f in metrics.registry.collect() if f.name == "ai_responder_consumer_lag"]
    return {sample.labels["partition"]: sample.value for sample in family.samples}


@pytest.mark.unit
async def test_lag_is_the_end_of_each_assigned_partition_minus_the_committed_offset() -> None:
    metrics = ResponderMetrics()
    # 0: 6 behind; 1: nothing committed yet, all 3 behind; 2: not fetched from yet, no end known.
    consumer = Consumer({0: (10, 4), 1: (3, None), 2: (None, 7)})
    await metrics.report_lag(cast(AIOKafkaConsumer, consumer))
    assert _lags(metrics) == {"0": 6, "1": 3}


@pytest.mark.unit
async def test_partitions_lost_in_a_rebalance_are_no_longer_reported() -> None:
    metrics = ResponderMetrics()
    await metrics.report_lag(cast(AIOKafkaConsumer, Consumer({0: (10, 4), 1: (5, 5)})))
    await metrics.report_lag(cast(AIOKafkaConsumer, Consumer({1: (8, 5)})))
    assert _lags(metrics) == {"1": 3}


@pytest.mark.unit
async def test_a_subscriber_not_started_reports_nothing() -> None:
    metrics = ResponderMetrics()
    await metrics.report_lag(None)
    assert _lags(metrics) == {}
