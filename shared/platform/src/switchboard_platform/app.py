"""The composition root every service shares: a FastAPI app owning one Kafka broker and one MongoDB client.

``build_service_app`` wires the lifespan (connect on start, drain and close on stop), the error shape (and its
place in the OpenAPI document), ``/healthz``, ``/readyz`` (Kafka and MongoDB answer) and ``/metrics``. Nothing
connects at import time.

While MongoDB is unreachable, ``/readyz`` answers 503 and a request that needed MongoDB gets 503
``database_unavailable`` with ``Retry-After`` (not a 500: nothing is wrong with the request).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure

from switchboard_platform.http import (
    BodySizeLimit,
    BoundedJsonRoute,
    Metrics,
    Probe,
    error_body,
    health_router,
    install_error_handlers,
)
from switchboard_platform.logs import configure_logging
from switchboard_platform.openapi import document_errors
from switchboard_platform.routing import ExactPaths, include_routes
from switchboard_platform.settings import ServiceSettings
from switchboard_platform.telemetry import TracingMiddleware, configure_tracing
from switchboard_platform.telemetry import flush as flush_spans

Hook = Callable[[], Awaitable[None]]
log = logging.getLogger("switchboard.http")
#: Seconds a client is asked to wait when MongoDB is unreachable (a restart or failover takes about that long).
DATABASE_RETRY_AFTER_S = 5


@dataclass
class Runtime:
    """What a service's handlers and routes share; stored on ``app.state.runtime``."""

    service: str
    settings: ServiceSettings
    broker: KafkaBroker
    mongo: AsyncMongoClient[dict[str, Any]]
    metrics: Metrics


def mongo_client(settings: ServiceSettings, service: str) -> AsyncMongoClient[dict[str, Any]]:
    # The async client connects lazily, so building it here opens no socket.
    return AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=f"switchboard-{service}",
        serverSelectionTimeoutMS=5_000,
        tz_aware=True,
    )


def install_database_unavailable_handler(app: FastAPI) -> None:
    """503 + Retry-After for requests that failed because MongoDB could not be reached."""

    @app.exception_handler(ConnectionFailure)
    async def _database_unavailable(request: Request, exc: ConnectionFailure) -> JSONResponse:
        log.warning("MongoDB unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse(
            error_body("database_unavailable", "the database is unavailable; retry later"),
            503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )


def settle_garbage_collector() -> None:
    """Once a service has started: move everything built so far (settings, views, clients, routes) out of the
    cyclic collector's sight, and collect the young generation every 20,000 allocations instead of 700.

    Every request, record or delivery allocates a few hundred short-lived objects, so the default threshold ran
    a collection every couple of them, and full collections walked the whole start-up heap (50-78 ms pauses
    measured in the dispatcher under load). The dispatcher, first to do this, spent ~10 % less CPU per delivery
    (288-308 -> 261-263 µs in its throughput benchmark; a threshold of 100,000 measured no better)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def build_service_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    on_startup: Sequence[Hook] = (),
    after_broker_start: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    extra_probes: dict[str, Probe] | None = None,
    openapi_tags: list[dict[str, Any]] | None = None,
    max_body_bytes: int | None = None,
) -> FastAPI:
    configure_logging(runtime.service, runtime.settings.log_level)
    tracing = configure_tracing(runtime.service)
    for router in routers:
        # One JSON decoder per service: a router built without it would let FastAPI's json.loads take
        # unbounded nesting again.
        if not issubclass(router.route_class, BoundedJsonRoute):
            raise TypeError(
                f"router {router.prefix or router.tags!r} must be APIRouter(route_class=BoundedJsonRoute)"
            )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for hook in on_startup:
            await hook()
        await runtime.broker.start()
        try:
            await runtime.metrics.event_loop_lag.start()
            for hook in after_broker_start:
                await hook()
            settle_garbage_collector()
            yield
        finally:
            await runtime.metrics.event_loop_lag.stop()
            # Shutdown hooks first (they may still publish), then the broker, then MongoDB.
            for hook in on_shutdown:
                await hook()
            await runtime.broker.stop()
            await runtime.mongo.close()
            flush_spans()

    async def kafka_probe() -> bool:
        return await runtime.broker.ping(timeout=1.5)

    async def mongo_probe() -> object:
        return await runtime.mongo.admin.command("ping")

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # FastAPI's own OpenTelemetry (0.165+) is off: the services trace with TracingMiddleware below, into a
        # provider of their own, and count with Prometheus. Left on, it asked OpenTelemetry's global tracer,
        # meter and logger providers on every request whether to run (~3 % of ingress's CPU in the pipeline
        # bench's profile), and would trace a second time should anything set a global provider.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    if max_body_bytes is not None:
        app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    install_error_handlers(app)
    install_database_unavailable_handler(app)
    document_errors(app, body_limit=max_body_bytes is not None)
    runtime.metrics.install(app)
    if tracing:
        # Outermost, so the span covers the whole request; probes and scrapes would only be noise.
        app.add_middleware(TracingMiddleware, skip=frozenset({"/healthz", "/readyz", "/metrics"}))
    probes: dict[str, Probe] = {"kafka": kafka_probe, "mongodb": mongo_probe, **(extra_probes or {})}
    # Flat, with fixed paths indexed: FastAPI's walk through included routers cost ingress a third of a
    # request's CPU (switchboard_platform.routing).
    ExactPaths.install(app)
    include_routes(app, health_router(probes, runtime.metrics))
    for router in routers:
        include_routes(app, router)
    return app
