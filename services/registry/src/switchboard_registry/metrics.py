"""Registry's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

from switchboard_platform.http import Metrics


class RegistryMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("registry")
        self.events_recorded = Counter(
            "registry_events_recorded",
            "Platform events projected into the event log",
            ["result"],
            registry=self.registry,
        )
