"""The composition root every service shares: a FastAPI app owning one Kafka broker and one MongoDB client.

``build_service_app`` wires the lifespan (connect on start, drain and close on stop), the error shape,
``/healthz``, ``/readyz`` (Kafka and MongoDB answer) and ``/metrics``. Nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from switchboard_shared.http import BodySizeLimit, Metrics, Probe, health_router, install_error_handlers
from switchboard_shared.logs import configure_logging
from switchboard_shared.settings import ServiceSettings

Hook = Callable[[], Awaitable[None]]


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

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for hook in on_startup:
            await hook()
        await runtime.broker.start()
        try:
            await runtime.metrics.event_loop_lag.start()
            for hook in after_broker_start:
                await hook()
            yield
        finally:
            await runtime.metrics.event_loop_lag.stop()
            # Shutdown hooks first (they may still publish), then the broker, then MongoDB.
            for hook in on_shutdown:
                await hook()
            await runtime.broker.stop()
            await runtime.mongo.close()

    async def kafka_probe() -> bool:
        return await runtime.broker.ping(timeout=1.5)

    async def mongo_probe() -> object:
        return await runtime.mongo.admin.command("ping")

    app = FastAPI(
        title=title, description=description, version=version, lifespan=lifespan, openapi_tags=openapi_tags
    )
    app.state.runtime = runtime
    if max_body_bytes is not None:
        app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    install_error_handlers(app)
    runtime.metrics.install(app)
    probes: dict[str, Probe] = {"kafka": kafka_probe, "mongodb": mongo_probe, **(extra_probes or {})}
    app.include_router(health_router(probes, runtime.metrics))
    for router in routers:
        app.include_router(router)
    return app
