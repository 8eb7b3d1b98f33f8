"""AiResponder composition root: ``uvicorn --factory switchboard_ai_responder.main:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_shared.app import Runtime, build_service_app, mongo_client
from switchboard_shared.http import Metrics
from switchboard_shared.kafka import make_broker

SERVICE = "ai-responder"


def create_app(settings: AiResponderSettings | None = None) -> FastAPI:
    settings = settings or AiResponderSettings()
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
        title="Switchboard ai-responder",
        description="Conversation memory, AI replies, live-agent handoff and review of AI answers.",
    )
    app.state.settings = settings
    return app
