"""Ingress's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

from switchboard_platform.http import Metrics


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
        self.webhooks = Counter(
            "ingress_webhooks",
            "Partner requests by provider and outcome (published, duplicate, dropped, unauthorized, invalid, "
            "rate_limited, unavailable)",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "ingress_dropped",
            "Acknowledged requests that produced no event (loop prevention and the like), by reason",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "ingress_signature_failures",
            "Requests refused with 401, by reason",
            ["provider", "reason"],
            registry=self.registry,
        )
        self.sync_replies = Counter(
            "ingress_sync_replies",
            "Synchronous waits for an AI answer (POST /chat, ?wait=true) by outcome: answered or timeout",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "ingress_degraded",
            "Decisions taken without MongoDB: dedup (requests refused with 503), rate_limit (counted per "
            "replica)",
            ["store"],
            registry=self.registry,
        )
