"""Conversation memory: the conversation as it stands (expired ones forgotten) and the turns appended to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from switchboard_ai_responder.domain.conversation import Conversation, Turn, event_key, expiry
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.service.ports import ROLES, Stores, valid
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import Reply


class Memory:
    def __init__(self, stores: Stores, clock: Callable[[], datetime], default_idle_s: int) -> None:
        self.stores = stores
        self.clock = clock
        self.default_idle_s = default_idle_s

    async def load(self, tenant_id: str, conversation_id: str) -> Conversation:
        """The conversation as it stands; an expired one is forgotten first (seed 004's idle expiry)."""
        conversation = await self.stores.conversations.get(tenant_id, conversation_id)
        if conversation is None:
            conversation = Conversation(tenant_id=tenant_id, conversation_id=conversation_id)
            await self.stores.conversations.ensure(conversation)
        elif conversation.expired(self.clock()):
            await self.stores.conversations.reset(conversation)
            conversation = conversation.fresh()
        return conversation

    async def remember(
        self, conversation: Conversation, turn: Turn, settings: TenantSettings, **identity: str | None
    ) -> Conversation:
        now = self.clock()
        fields: dict[str, Any] = {
            "last_activity_at": now,
            "expires_at": expiry(now, settings, self.default_idle_s),
            **{name: value for name, value in identity.items() if value is not None},
        }
        await self.stores.conversations.append(conversation, turn, fields)
        return replace(conversation, history=(*conversation.history, turn), **fields)

    async def remember_reply(self, event: CloudEvent) -> bool:
        """A ``message.replied`` event as a turn of its conversation; False when its data is invalid."""
        reply = valid(event, Reply)
        if reply is None:
            return False
        settings = await self.stores.tenants.get(reply.tenant_id)
        conversation = await self.load(reply.tenant_id, reply.conversation_id)
        turn = Turn(
            event_id=event_key(event.source, event.id),
            role=ROLES[reply.author.type],
            text=reply.text,
            at=event.time,
        )
        await self.remember(conversation, turn, settings)
        return True
