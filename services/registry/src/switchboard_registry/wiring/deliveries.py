"""The delivery log (seed 000's delivery logs, seed 001's metrics, seed 002's message history).

Needs the webhooks feature installed first: its routes 404 unknown or other tenants' webhooks through
``ctx.stores["webhooks"]``.
"""

from __future__ import annotations

from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.adapters.messages import MessageHistory
from switchboard_registry.api.deliveries import router as deliveries_router
from switchboard_registry.api.messages import router as messages_router
from switchboard_registry.features import Context, Feature
from switchboard_registry.handlers import deliveries as handlers


def install(ctx: Context) -> Feature:
    if "webhooks" not in ctx.stores:
        raise RuntimeError("install the webhooks feature before the delivery log")
    log = DeliveryLog(ctx.database)
    history = MessageHistory(ctx.database)
    ctx.stores["deliveries"] = log
    ctx.stores["message_history"] = history
    handlers.register(
        ctx.broker, ctx.settings, log, history, handlers.DeliveryLogMetrics.on(ctx.metrics.registry)
    )
    return Feature(
        routers=[deliveries_router, messages_router],
        on_startup=[log.ensure_indexes, history.ensure_indexes, log.rollups.start_sweeping],
        on_shutdown=[log.rollups.stop_sweeping],
        openapi_tags=[
            {
                "name": "deliveries",
                "description": "Every delivery attempt of a webhook (time, status code, latency, truncated "
                "response, error), delivery metrics, redelivery and recovery of failed deliveries.",
            },
            {
                "name": "message history",
                "description": "seed 002's /api/webhook/messages: incoming messages and outgoing replies with "
                "their delivery status.",
            },
        ],
    )
