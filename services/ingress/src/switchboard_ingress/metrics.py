"""Ingress's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

from switchboard_shared.http import Metrics


class IngressMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("ingress")
        self.events_accepted = Counter(
            "ingress_events_accepted", "Events accepted into Kafka", ["type"], registry=self.registry
        )
        self.publish_failures = Counter(
            "ingress_publish_failures",
            "Publishes Kafka did not acknowledge (answered 503)",
            registry=self.registry,
        )
