"""What the service layer works against: the stores, the publisher, its errors, and event data validation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from switchboard_ai_responder.adapters.articles import ArticleStore
from switchboard_ai_responder.adapters.conversations import ConversationStore
from switchboard_ai_responder.adapters.feedback import FeedbackStore
from switchboard_ai_responder.adapters.outcomes import Destination, OutcomeStore
from switchboard_ai_responder.adapters.reviews import ReviewStore
from switchboard_ai_responder.adapters.tenants import TenantSettingsStore
from switchboard_ai_responder.domain.conversation import Role
from switchboard_contracts.cloudevents import CloudEvent

log = logging.getLogger(__name__)

#: The conversation role of each message author type.
ROLES: dict[str, Role] = {"user": "user", "agent": "agent", "bot": "assistant", "system": "system"}


class Publisher(Protocol):
    async def publish(self, destination: Destination, event: CloudEvent) -> None: ...


class Conflict(Exception):
    """The action does not fit the current state (the message says why)."""


class NotFound(Exception):
    pass


@dataclass
class Stores:
    conversations: ConversationStore
    outcomes: OutcomeStore
    reviews: ReviewStore
    articles: ArticleStore
    tenants: TenantSettingsStore
    feedback: FeedbackStore


M = TypeVar("M", bound=BaseModel)


def valid(event: CloudEvent, model: type[M]) -> M | None:
    """The event's data as ``model``, or None (logged) when it does not match."""
    try:
        return event.data_as(model)
    except ValidationError as exc:
        log.warning(
            "event data does not match %s; skipped: %s",
            model.__name__,
            exc.errors()[0].get("msg"),
            extra={"event_id": event.id, "type": event.type, "tenant": event.tenant},
        )
        return None
