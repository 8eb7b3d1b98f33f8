"""Dispatcher's Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiokafka import TopicPartition
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from switchboard_platform.consumers import TopicConsumer, lag
from switchboard_platform.http import Metrics

M = TypeVar("M", bound=MetricWrapperBase)


class DispatcherMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("dispatcher")
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}
        r = self.registry
        self.deliveries = Counter(
            "dispatcher_deliveries", "Attempts by endpoint kind and outcome", ["kind", "outcome"], registry=r
        )
        self.latency = Histogram(
            "dispatcher_delivery_latency_seconds",
            "Endpoint response time per attempt",
            ["kind"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.retries = Counter("dispatcher_retries_scheduled", "Retries scheduled", ["kind"], registry=r)
        self.deferred = Counter("dispatcher_deferred", "Tasks moved to the schedule", ["reason"], registry=r)
        self.skipped = Counter(
            "dispatcher_skipped", "Tasks for deleted or disabled endpoints", ["kind"], registry=r
        )
        self.disabled = Counter("dispatcher_endpoints_disabled", "Endpoints disabled", ["kind"], registry=r)
        self.in_flight = Gauge(
            "dispatcher_in_flight", "Requests in flight per endpoint", ["endpoint"], registry=r
        )
        self.consumer_lag = Gauge(
            "dispatcher_consumer_lag",
            "Records behind the end of the topic",
            ["stage", "partition"],
            registry=r,
        )
        self.fanned_out = Counter(
            "dispatcher_events_fanned_out", "Events read by the fan-out stage", ["result"], registry=r
        )
        self.tasks_created = Counter(
            "dispatcher_tasks_created", "Delivery tasks created", ["kind"], registry=r
        )
        self.retries_pending = Gauge(
            "dispatcher_retries_pending",
            "Tasks waiting in the schedule for their time (retries, rate-limit overflow), counted at scrape time",
            registry=r,
        )

    def child(self, metric: M, *labels: str) -> M:
        """``metric.labels(*labels)``, remembered: prometheus_client's ``labels()`` costs a few µs per call, and
        the hot path touches four labelled metrics per delivery."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found  # type: ignore[return-value]  # labels() returns the metric's own type

    def report_lag(
        self, stage: str, consumer: TopicConsumer, position: Callable[[TopicPartition], int | None]
    ) -> None:
        """``consumer_lag`` of ``stage`` per assigned partition: the end of the partition minus ``position``
        (the next offset the stage has yet to finish; 0 before it has finished any)."""
        for tp, behind in lag(consumer, position):
            self.child(self.consumer_lag, stage, str(tp.partition)).set(behind)
