"""Dispatcher composition root: ``uvicorn --factory switchboard_dispatcher.main:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_shared.app import Runtime, build_service_app, mongo_client
from switchboard_shared.http import Metrics
from switchboard_shared.kafka import make_broker

SERVICE = "dispatcher"


def create_app(settings: DispatcherSettings | None = None) -> FastAPI:
    settings = settings or DispatcherSettings()
    metrics = Metrics(SERVICE)
    runtime = Runtime(
        service=SERVICE,
        settings=settings,
        broker=make_broker(settings, SERVICE),
        mongo=mongo_client(settings, SERVICE),
        metrics=metrics,
    )
    app = build_service_app(
        runtime,
        title="Switchboard dispatcher",
        description="Fans events out to subscribed endpoints, signs them, retries durably and records every attempt.",
    )
    app.state.settings = settings
    return app
