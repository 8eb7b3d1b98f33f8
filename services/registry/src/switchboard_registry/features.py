"""How a registry feature plugs into the composition root.

Each feature module (webhooks, integrations, conversations, deliveries) exposes ``install(ctx) -> Feature``:
it builds its stores from the context, registers its Kafka subscribers on the broker and returns its routers
and lifecycle hooks. ``main.create_app`` installs them in order, so a feature can use what an earlier one put
on ``ctx.stores`` (the delivery log looks webhooks up there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher import DefaultPublisher
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_platform.app import Hook
from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.adapters.outbox import ChangeRelay
from switchboard_registry.metrics import RegistryMetrics
from switchboard_registry.settings import RegistrySettings


@dataclass
class Context:
    settings: RegistrySettings
    database: AsyncDatabase[dict[str, Any]]
    broker: KafkaBroker
    relay: ChangeRelay
    box: SecretsBox
    metrics: RegistryMetrics
    #: Publisher of dispatcher commands (send test, redeliver, recover), keyed by endpoint id.
    commands: DefaultPublisher
    #: Stores by name ("webhooks", "integrations", …), for features that need another feature's data.
    stores: dict[str, Any] = field(default_factory=dict)


@dataclass
class Feature:
    routers: list[APIRouter] = field(default_factory=list)
    on_startup: list[Hook] = field(default_factory=list)
    after_broker_start: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)
