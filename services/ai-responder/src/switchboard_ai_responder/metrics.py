"""AI responder's Prometheus metrics."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter, Gauge, Histogram

from switchboard_platform.http import Metrics


class ResponderMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("ai-responder")
        self.events = Counter(
            "ai_responder_events",
            "platform.events records handled",
            ["type", "result"],
            registry=self.registry,
        )
        self.actions = Counter(
            "ai_responder_actions",
            "What the responder did with user messages (answer, hold, handoff, silent)",
            ["action"],
            registry=self.registry,
        )
        self.answer_latency = Histogram(
            "ai_responder_answer_seconds",
            "Time to produce an answer, by provider",
            ["provider"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.answer_confidence = Histogram(
            "ai_responder_answer_confidence",
            "How well the knowledge base covers the questions answered (0 to 1), small talk left out",
            registry=self.registry,
            buckets=(0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
        )
        self.consumer_lag = Gauge(
            "ai_responder_consumer_lag",
            "platform.events records not yet handled, per partition assigned to this replica (end of the "
            "partition minus the group's committed offset, what KEDA scales on); refreshed on every scrape",
            ["partition"],
            registry=self.registry,
        )
        self.provider_errors = Counter(
            "ai_responder_provider_errors",
            "LLM calls that failed after retries (answered from the knowledge base instead)",
            ["provider"],
            registry=self.registry,
        )

    async def report_lag(self, consumer: AIOKafkaConsumer | None) -> None:
        """``consumer_lag`` of the partitions ``consumer`` holds now; those it gave up in a rebalance are dropped
        (their new owner reports them). A partition not fetched from yet has no end offset and is left out."""
        lags: dict[str, int] = {}
        if consumer is not None:
            for tp in consumer.assignment():
                end = consumer.highwater(tp)
                if end is not None:
                    lags[str(tp.partition)] = max(end - (await consumer.committed(tp) or 0), 0)
        self.consumer_lag.clear()
        for partition, lag in lags.items():
            self.consumer_lag.labels(partition).set(lag)
