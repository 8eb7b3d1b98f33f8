"""Registry composition root: ``uvicorn --factory switchboard_registry.main:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_contracts.config_records import ConfigChanged
from switchboard_contracts.topics import Topic
from switchboard_platform.app import Runtime, build_service_app, mongo_client
from switchboard_platform.kafka import event_publisher, make_broker
from switchboard_platform.netsafety import overriding_resolver
from switchboard_registry.adapters.event_log import EventLog
from switchboard_registry.adapters.outbox import ChangeRelay
from switchboard_registry.adapters.tenants import TenantStore
from switchboard_registry.api.admin import router as admin_router
from switchboard_registry.api.catalog import router as catalog_router
from switchboard_registry.api.widget import router as widget_router
from switchboard_registry.deps import Services
from switchboard_registry.features import Context, Feature
from switchboard_registry.handlers import event_log as event_log_handlers
from switchboard_registry.metrics import RegistryMetrics
from switchboard_registry.settings import RegistrySettings
from switchboard_registry.wiring import console, conversations, deliveries, integrations, webhooks

SERVICE = "registry"

#: Installed in this order; a later feature may use an earlier one's stores.
FEATURES = (webhooks, integrations, conversations, deliveries, console)

OPENAPI_TAGS = [
    {"name": "admin", "description": "Operator endpoints (admin token): tenants and API keys."},
    {"name": "event types", "description": "The event catalog webhook subscriptions choose from."},
    {"name": "operations", "description": "Liveness, readiness and Prometheus metrics."},
]


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    settings.partners()  # registers SB_EXTRA_PARTNERS before anything reads the partner registry
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
    relay = ChangeRelay(
        event_publisher(
            runtime.broker,
            settings,
            Topic.CONFIG,
            title="registry.config",
            description="Every configuration change: full new state keyed <entity>:<id>, null value on delete.",
            schema=ConfigChanged,
        ),
        sweep_interval_s=settings.outbox_sweep_interval_s,
    )
    commands = event_publisher(
        runtime.broker,
        settings,
        Topic.DISPATCH_COMMANDS,
        title="registry.dispatch-commands",
        description="Commands for the dispatcher: send a test event, redeliver a delivery, recover an endpoint.",
    )
    box = settings.secrets_box()
    tenants = TenantStore(database, relay)
    services = Services(
        settings=settings, tenants=tenants, box=box, resolver=overriding_resolver(settings.resolve_overrides)
    )
    event_log = EventLog(database["events"])
    event_log_handlers.register(runtime.broker, settings, event_log, metrics)

    ctx = Context(
        settings=settings,
        database=database,
        broker=runtime.broker,
        relay=relay,
        box=box,
        metrics=metrics,
        commands=commands,
        stores={"tenants": tenants, "event_log": event_log},
    )
    parts = Feature(
        routers=[admin_router, catalog_router, widget_router],
        on_startup=[event_log.ensure_indexes, tenants.ensure_indexes],
        after_broker_start=[relay.start],
        on_shutdown=[relay.stop],
        openapi_tags=list(OPENAPI_TAGS),
    )
    for feature in FEATURES:
        part = feature.install(ctx)
        parts.routers += part.routers
        parts.on_startup += part.on_startup
        parts.after_broker_start += part.after_broker_start
        parts.on_shutdown = part.on_shutdown + parts.on_shutdown
        parts.openapi_tags += part.openapi_tags

    app = build_service_app(
        runtime,
        title="Switchboard registry",
        description="Tenants, webhook subscriptions, integrations, callbacks and the delivery log.",
        routers=parts.routers,
        on_startup=parts.on_startup,
        after_broker_start=parts.after_broker_start,
        on_shutdown=parts.on_shutdown,
        openapi_tags=parts.openapi_tags,
        max_body_bytes=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.services = services
    app.state.relay = relay
    app.state.commands = commands
    for name, store in ctx.stores.items():
        setattr(app.state, name, store)
    return app
