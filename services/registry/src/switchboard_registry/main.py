"""Registry composition root: ``uvicorn --factory switchboard_registry.main:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_registry.adapters.event_log import EventLog
from switchboard_registry.api.catalog import router as catalog_router
from switchboard_registry.handlers import event_log as event_log_handlers
from switchboard_registry.metrics import RegistryMetrics
from switchboard_registry.settings import RegistrySettings
from switchboard_shared.app import Runtime, build_service_app, mongo_client
from switchboard_shared.kafka import make_broker

SERVICE = "registry"


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    metrics = RegistryMetrics()
    mongo = mongo_client(settings, SERVICE)
    database = mongo[settings.mongodb_database]
    runtime = Runtime(
        service=SERVICE,
        settings=settings,
        broker=make_broker(settings, SERVICE),
        mongo=mongo,
        metrics=metrics,
    )
    event_log = EventLog(database["events"])
    event_log_handlers.register(runtime.broker, settings, event_log, metrics)
    app = build_service_app(
        runtime,
        title="Switchboard registry",
        description="Tenants, webhook subscriptions, integrations, callbacks and the delivery log.",
        routers=[catalog_router],
        on_startup=[event_log.ensure_indexes],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.event_log = event_log
    return app
