"""FastAPI dependencies: typed access to what the factory put on ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from faststream.kafka.publisher import DefaultPublisher

from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.settings import IngressSettings


def _settings(request: Request) -> IngressSettings:
    settings: IngressSettings = request.app.state.settings
    return settings


def _metrics(request: Request) -> IngressMetrics:
    metrics: IngressMetrics = request.app.state.metrics
    return metrics


def _to_platform_events(request: Request) -> DefaultPublisher:
    publisher: DefaultPublisher = request.app.state.to_platform_events
    return publisher


SettingsDep = Annotated[IngressSettings, Depends(_settings)]
MetricsDep = Annotated[IngressMetrics, Depends(_metrics)]
PlatformEventsDep = Annotated[DefaultPublisher, Depends(_to_platform_events)]
