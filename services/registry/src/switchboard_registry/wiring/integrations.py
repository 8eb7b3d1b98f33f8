"""Partner integrations (seeds 002 and 003)."""

from __future__ import annotations

from switchboard_registry.adapters.integrations import IntegrationStore
from switchboard_registry.api.integrations import router
from switchboard_registry.features import Context, Feature


def install(ctx: Context) -> Feature:
    store = IntegrationStore(ctx.database, ctx.relay)
    ctx.stores["integrations"] = store
    return Feature(
        routers=[router],
        on_startup=[store.ensure_indexes],
        openapi_tags=[
            {
                "name": "integrations",
                "description": "Partner integrations at /api/webhook/config (seeds 002 and 003): Freshchat, "
                "Zendesk, Intercom, Chatwoot, Slack and generic partners — inbound verification, reply "
                "credentials and outgoing webhooks. Secrets are write-only and encrypted at rest.",
            }
        ],
    )
