"""Ingress composition root: ``uvicorn --factory switchboard_ingress.main:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_ingress.api.events import router as events_router
from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.settings import IngressSettings
from switchboard_shared.app import Runtime, build_service_app, mongo_client
from switchboard_shared.kafka import event_publisher, make_broker
from switchboard_shared.topics import Topic

SERVICE = "ingress"


def create_app(settings: IngressSettings | None = None) -> FastAPI:
    settings = settings or IngressSettings()
    metrics = IngressMetrics()
    runtime = Runtime(
        service=SERVICE,
        settings=settings,
        broker=make_broker(settings, SERVICE, request_timeout_ms=int(settings.publish_timeout_s * 1000)),
        mongo=mongo_client(settings, SERVICE),
        metrics=metrics,
    )
    to_platform_events = event_publisher(
        runtime.broker,
        settings,
        Topic.PLATFORM_EVENTS,
        title="ingress.platform-events",
        description="Events accepted by ingress (POST /v1/events and, later, partner webhooks).",
    )
    app = build_service_app(
        runtime,
        title="Switchboard ingress",
        description="Receives partner webhooks and internal events, verifies them and publishes them to Kafka.",
        routers=[events_router],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.to_platform_events = to_platform_events
    return app
