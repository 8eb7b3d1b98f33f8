"""Ingress composition root: ``uvicorn --factory switchboard_ingress.main:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_ingress.api.events import router as events_router
from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.settings import IngressSettings
from switchboard_shared.app import Runtime, build_service_app, mongo_client
from switchboard_shared.kafka import make_broker

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
    app = build_service_app(
        runtime,
        title="Switchboard ingress",
        description="Receives partner webhooks and internal events, verifies them and publishes them to Kafka.",
        routers=[events_router],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app
