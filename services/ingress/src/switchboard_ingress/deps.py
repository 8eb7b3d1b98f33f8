"""FastAPI dependencies: typed access to what the factory put on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from faststream.kafka import KafkaBroker

from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.settings import IngressSettings


def _settings(request: Request) -> IngressSettings:
    settings: IngressSettings = request.app.state.settings
    return settings


def _metrics(request: Request) -> IngressMetrics:
    metrics: IngressMetrics = request.app.state.metrics
    return metrics


def _broker(request: Request) -> KafkaBroker:
    broker: KafkaBroker = request.app.state.runtime.broker
    return broker


SettingsDep = Annotated[IngressSettings, Depends(_settings)]
MetricsDep = Annotated[IngressMetrics, Depends(_metrics)]
BrokerDep = Annotated[KafkaBroker, Depends(_broker)]
