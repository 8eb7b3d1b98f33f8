"""Delivery targets: a subscribed endpoint as the dispatcher needs it (decrypted, with its delivery policy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchboard_contracts import delivery_defaults as defaults
from switchboard_contracts.events import EndpointKind

#: seed 001: three retries after 4, 8 and 10 seconds (``switchboard_contracts.delivery_defaults``).
DEFAULT_SCHEDULE = defaults.RETRY_SCHEDULE


@dataclass(frozen=True)
class Target:
    kind: EndpointKind
    id: str
    tenant_id: str
    url: str
    #: Signing secrets, newest first; several during a rotation's grace period (each one signs).
    secrets: tuple[str, ...] = ()
    #: Extra request headers (integration custom headers, Authorization).
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = defaults.TIMEOUT_S
    retry_schedule: tuple[int, ...] = defaults.RETRY_SCHEDULE
    max_in_flight: int = defaults.MAX_IN_FLIGHT
    rate_per_minute: int = defaults.RATE_PER_MINUTE
    ordered: bool = False
    provider: str | None = None
    #: Context the payload builder may use (a conversation's channel, an integration's name).
    context: dict[str, str] = field(default_factory=dict)
    #: A partner target's decrypted reply-API credentials (Freshchat, Zendesk, Intercom, Chatwoot).
    credentials: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"
