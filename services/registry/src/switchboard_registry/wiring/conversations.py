"""Conversation callbacks (seed 001)."""

from __future__ import annotations

from switchboard_registry.adapters.conversations import ConversationStore
from switchboard_registry.api.conversations import router
from switchboard_registry.features import Context, Feature


def install(ctx: Context) -> Feature:
    store = ConversationStore(ctx.database, ctx.relay)
    ctx.stores["conversations"] = store
    return Feature(
        routers=[router],
        on_startup=[store.ensure_indexes],
        openapi_tags=[
            {
                "name": "conversations",
                "description": "Conversations with a callback URL (seed 001): their message events are "
                "delivered to config.callback_url.",
            }
        ],
    )
