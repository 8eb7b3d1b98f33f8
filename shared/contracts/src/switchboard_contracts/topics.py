"""Every Kafka topic Switchboard reads or writes, with the shape the contract declares for it.

Services never spell a topic name: they ask their settings for ``settings.topic(Topic.X)``, which applies the
deployment's namespace (empty in production, unique per test run) so parallel tests and tenants of a shared
cluster never see each other's records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Topic(StrEnum):
    """Logical topic names. The value is the name on the broker (before any namespace prefix)."""

    #: Domain events from any producer (ours or other teams'): conversation.*, message.*, ticket.*, ...
    #: Key: the aggregate id (conversation id), so one conversation's events stay in order.
    PLATFORM_EVENTS = "platform.events"
    #: Registry configuration changes: full new state keyed by entity id, tombstone on delete. Compacted, so a
    #: consumer that reads it from the beginning rebuilds the current configuration.
    CONFIG = "switchboard.config"
    #: One record per delivery attempt, typed by its outcome: delivery.succeeded|failed|retry_scheduled|exhausted.
    DELIVERY_ATTEMPTS = "switchboard.delivery.attempts"
    #: Delivery tasks (first attempts, due retries, redeliveries, tests), keyed by endpoint so one endpoint's
    #: tasks share a partition (FIFO endpoints rely on it). Internal to the dispatcher.
    DELIVERIES = "switchboard.deliveries"
    #: Deliveries that exhausted their schedule; recoverable from the registry.
    DELIVERY_DEAD_LETTER = "switchboard.delivery.dlq"
    #: Commands for the dispatcher (redeliver one delivery, recover an endpoint since a time).
    DISPATCH_COMMANDS = "switchboard.dispatch.commands"
    #: Replies produced by the AI responder or routed from live agents, on their way to partners.
    REPLIES = "switchboard.replies"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """How a topic is created. Partition counts are sized for a small cluster; raise them, never lower them."""

    topic: Topic
    partitions: int
    compacted: bool = False
    retention_ms: int | None = None
    configs: dict[str, str] = field(default_factory=dict)

    def broker_configs(self) -> dict[str, str]:
        configs = dict(self.configs)
        if self.compacted:
            configs["cleanup.policy"] = "compact"
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


_DAY_MS = 24 * 60 * 60 * 1000

TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(Topic.PLATFORM_EVENTS, partitions=6, retention_ms=7 * _DAY_MS),
    TopicSpec(Topic.CONFIG, partitions=3, compacted=True),
    TopicSpec(Topic.DELIVERY_ATTEMPTS, partitions=6, retention_ms=7 * _DAY_MS),
    TopicSpec(Topic.DELIVERIES, partitions=6, retention_ms=7 * _DAY_MS),
    TopicSpec(Topic.DELIVERY_DEAD_LETTER, partitions=3, retention_ms=30 * _DAY_MS),
    TopicSpec(Topic.DISPATCH_COMMANDS, partitions=3, retention_ms=7 * _DAY_MS),
    TopicSpec(Topic.REPLIES, partitions=6, retention_ms=7 * _DAY_MS),
)


def topic_name(topic: Topic, namespace: str = "") -> str:
    """The broker-side name of ``topic`` under ``namespace`` (a prefix such as ``"test-3f2a."``)."""
    return f"{namespace}{topic.value}"
