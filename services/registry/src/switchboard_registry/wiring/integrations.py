"""Partner integrations (seeds 002 and 003)."""

from __future__ import annotations

from switchboard_contracts import partners
from switchboard_registry.adapters.integrations import IntegrationStore
from switchboard_registry.api.integrations import build_router
from switchboard_registry.domain.integrations import integration_models
from switchboard_registry.features import Context, Feature


def _titles() -> str:
    """ "Freshchat, Zendesk, …, Slack and generic partners": the registered partners, for the API's tag."""
    titles = [partner.title for partner in partners.registered()]
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"


def install(ctx: Context) -> Feature:
    store = IntegrationStore(ctx.database, ctx.relay)
    ctx.stores["integrations"] = store
    return Feature(
        routers=[build_router(integration_models())],
        on_startup=[store.ensure_indexes],
        openapi_tags=[
            {
                "name": "integrations",
                "description": "Partner integrations at /api/webhook/config (seeds 002 and 003): "
                f"{_titles()} — inbound verification, reply credentials and outgoing webhooks. Secrets are "
                "write-only and encrypted at rest.",
            }
        ],
    )
