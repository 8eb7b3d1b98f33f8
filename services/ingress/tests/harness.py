"""In-memory fakes of ingress's ports and the registry's integration records, for unit tests.

``Harness`` is the real app with FastStream's in-memory broker standing in for Kafka (every record published to
``platform.events`` is captured as a ``CloudEvent``), an in-memory dedup store and limiter, and a replies
channel that tests (or an auto-responder) complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from switchboard_contracts import partners
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import (
    CORRELATION_EXTENSION,
    REPLY_STATUS_EXTENSION,
    REPLY_TO_EXTENSION,
    Author,
    Reply,
)
from switchboard_ingress.adapters.dedup import DedupUnavailable
from switchboard_ingress.adapters.replies import PendingReplies
from switchboard_ingress.domain.directory import Directory
from switchboard_ingress.domain.ratelimit import LocalWindows
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.secrets_box import SecretsBox
from switchboard_testing.builders import config_record


def integration_state(
    box: SecretsBox,
    tenant: str,
    provider: str,
    *,
    verification: dict[str, str] | None = None,
    reply: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An ``integration:<id>`` state the way the registry publishes it: secrets as SecretsBox ciphertext."""
    sealed = {
        name: box.encrypt(value) if name in partners.secret_fields("verification") else value
        for name, value in (verification or {}).items()
    }
    return {
        "tenant_id": tenant,
        "name": f"{provider} integration",
        "provider": provider,
        "outgoing_webhook_url": None,
        "auth_token": None,
        "custom_headers": {},
        "timeout_seconds": 30,
        "retry_attempts": 3,
        "is_active": True,
        "events": ["message.replied"],
        "verification": sealed,
        "reply": reply,
        **extra,
    }


class MemoryDedup:
    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.done: set[str] = set()
        #: When True, ``claim`` raises as the MongoDB store does while MongoDB is unreachable.
        self.unavailable = False

    async def claim(self, key: str) -> bool:
        if self.unavailable:
            raise DedupUnavailable("dedup store unreachable")
        self.claimed.add(key)
        return key not in self.done

    def complete(self, key: str) -> None:
        self.done.add(key)


def reply_to(request: CloudEvent, text: str, status: str = "answered", **fields: Any) -> CloudEvent:
    """The AI responder's side of the contract: one message.replied carrying the request's correlation id."""
    data = request.data
    reply = Reply(
        tenant_id=data["tenant_id"],
        conversation_id=data["conversation_id"],
        in_reply_to=data["message_id"],
        integration_id=data.get("integration_id"),
        author=Author(id="switchboard-ai", name="Switchboard Assistant", type="bot"),
        text=text,
        **fields,
    )
    return CloudEvent(
        source="/switchboard/ai-responder",
        type="message.replied",
        tenant=reply.tenant_id,
        partitionkey=reply.conversation_id,
        data=reply,
        extensions={
            CORRELATION_EXTENSION: request.extensions[REPLY_TO_EXTENSION],
            REPLY_STATUS_EXTENSION: status,
        },
    )


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: IngressSettings
    dedup: MemoryDedup
    limiter: LocalWindows
    replies: PendingReplies
    events: list[CloudEvent] = field(default_factory=list)
    #: When set, every request that waits for an answer gets ``responder(request)`` (None: no answer).
    responder: Callable[[CloudEvent], CloudEvent | None] | None = None

    @property
    def directory(self) -> Directory:
        directory: Directory = self.app.state.directory
        return directory

    @property
    def box(self) -> SecretsBox:
        return self.settings.secrets_box()

    def integration(
        self,
        integration_id: str,
        provider: str,
        *,
        tenant: str = "acme",
        verification: dict[str, str] | None = None,
        reply: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        state = integration_state(self.box, tenant, provider, verification=verification, reply=reply, **extra)
        self.directory.apply(
            "integration", integration_id, None, config_record("integration", integration_id, tenant, state)
        )

    def tenant(self, tenant_id: str, **state: Any) -> None:
        self.directory.apply("tenant", tenant_id, None, config_record("tenant", tenant_id, tenant_id, state))

    def captured(self, event: CloudEvent) -> None:
        self.events.append(event)
        if self.responder is not None and REPLY_TO_EXTENSION in event.extensions:
            answer = self.responder(event)
            if answer is not None:
                self.replies.resolve(event.extensions[REPLY_TO_EXTENSION], answer)

    def of_type(self, event_type: str) -> list[CloudEvent]:
        return [event for event in self.events if event.type == event_type]
