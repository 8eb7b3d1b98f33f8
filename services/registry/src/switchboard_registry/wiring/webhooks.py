"""Webhook subscriptions (seed 000)."""

from __future__ import annotations

from switchboard_registry.adapters.webhooks import WebhookStore
from switchboard_registry.api.webhooks import router
from switchboard_registry.features import Context, Feature
from switchboard_registry.handlers import webhook_health


def install(ctx: Context) -> Feature:
    store = WebhookStore(ctx.database, ctx.relay)
    ctx.stores["webhooks"] = store
    webhook_health.register(ctx.broker, ctx.settings, store)
    return Feature(
        routers=[router],
        on_startup=[store.ensure_indexes],
        openapi_tags=[{"name": "webhooks", "description": "Webhook subscriptions (seed 000)."}],
    )
