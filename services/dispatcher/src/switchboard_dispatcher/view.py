"""The dispatcher's materialized view of the registry's configuration (the compacted config topic).

Every replica reads the whole config topic from the beginning at start-up (no consumer group: each needs
all of it), keeps the highest ``version`` per entity and then follows new changes (``switchboard_platform.config_view``).
Fan-out and every attempt read this in-memory view: no MongoDB query per event, and no parsing either — the
follower parsed each record once into its model. Secrets arrive encrypted and are revealed here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import (
    ConfigRecord,
    ConversationConfig,
    Entity,
    IntegrationConfig,
    WebhookConfig,
    config_key,
)
from switchboard_contracts.delivery_defaults import retry_schedule
from switchboard_contracts.events import (
    INTEGRATION_DEFAULT_EVENTS,
    SLACK_DEFAULT_EVENTS,
    EndpointKind,
    matches,
)
from switchboard_dispatcher.domain.partners import has_reply_api
from switchboard_dispatcher.domain.targets import Target
from switchboard_platform import config_view
from switchboard_platform.config_view import Table
from switchboard_platform.secrets_box import SecretsBox, SecretsBoxError

log = logging.getLogger(__name__)


def _next_expiry(webhook: WebhookConfig, now: datetime) -> datetime | None:
    """When the set of a webhook's valid secrets next changes (its earliest previous secret still valid)."""
    return min((p.expires_at for p in webhook.previous_secrets if p.expires_at > now), default=None)


def _integration_schedule(integration: IntegrationConfig) -> tuple[int, ...]:
    """An integration's ``retry_attempts`` retries: seed 001's 4/8/10 s, then every 10 s."""
    return retry_schedule(integration.retry_attempts)


#: Record fields delivery does not depend on. A field added to a record must be read below or listed here
#: (tests/unit/test_view.py checks), so nobody adds one to the registry and forgets the dispatcher.
UNUSED_WEBHOOK_FIELDS = frozenset(
    {"name", "description", "disabled_at", "created_by", "created_at", "updated_at"}
)
UNUSED_INTEGRATION_FIELDS = frozenset({"rate_limit_per_minute", "created_by", "created_at", "updated_at"})
UNUSED_CONVERSATION_FIELDS = frozenset({"usecase", "delivery", "created_by", "created_at", "updated_at"})

DELIVERY_PREFIX = "delivery."


def _names_delivery(pattern: str) -> bool:
    """A filter that asks for ``delivery.*`` events by name (``*`` does not)."""
    return pattern.startswith(DELIVERY_PREFIX)


def _wants_delivery_events(webhook: WebhookConfig) -> bool:
    return any(_names_delivery(pattern) for pattern in webhook.events)


#: The endpoint kinds whose targets one config entity makes (the inverse of ``entity_key``).
_ENDPOINT_KINDS: dict[str, tuple[EndpointKind, ...]] = {
    "webhook": ("webhook",),
    "conversation": ("callback",),
    "integration": ("slack", "partner", "integration"),
}


def entity_key(kind: EndpointKind, endpoint_id: str) -> str:
    """The config-topic key of the entity behind an endpoint (callbacks belong to conversations)."""
    entity = {"webhook": "webhook", "callback": "conversation"}.get(kind, "integration")
    return f"{entity}:{endpoint_id}"


def conversation_id_of(event: CloudEvent) -> str | None:
    data = event.data if isinstance(event.data, dict) else {}
    value = data.get("conversation_id") or data.get("conversationId") or event.partitionkey or event.subject
    return str(value) if value else None


class ConfigView(config_view.ConfigView):
    """Webhooks, integrations and conversations (their callbacks) as the dispatcher routes to them."""

    def __init__(self, box: SecretsBox) -> None:
        self.webhooks = Table(WebhookConfig, self._webhook_changed)
        self.integrations = Table(IntegrationConfig, self._integration_changed)
        #: By conversation id: a conversation's record id is the id its message events carry.
        self.conversations = Table(ConversationConfig)
        super().__init__(self.webhooks, self.integrations, self.conversations, box=box)
        self._webhooks_of: dict[str, set[str]] = defaultdict(set)  # tenant → webhook ids
        self._integrations_of: dict[str, set[str]] = defaultdict(set)  # tenant → integration ids
        #: Endpoints disabled by this dispatcher (410, failing too long) before the registry's change arrives.
        self.locally_disabled: set[str] = set()
        #: (kind, id) → (target, valid from, valid until): every delivery resolves its target two or three
        #: times (fan-out, enqueue, attempt). A change drops only its own entity's entries (clearing them all
        #: made every endpoint's next delivery rebuild its target and decrypt its secret again: ~15 µs each,
        #: 1.5 s of CPU per change at 100k webhooks, bench/scale); a webhook's entry also expires when one of
        #: its previous secrets does.
        self._targets: dict[tuple[EndpointKind, str], tuple[Target | None, datetime, datetime | None]] = {}
        #: Per tenant, how many of its webhooks name ``delivery.*`` events in their filter. Kept up to date by
        #: every change, rather than recomputed from every state after one (O(all webhooks) per change).
        self._delivery_subscribers: dict[str, int] = defaultdict(int)

    # -- applying changes ---------------------------------------------------------------------------------------

    def apply(self, entity: Entity, entity_id: str, version: int | None, record: ConfigRecord | None) -> bool:
        """Apply one config record (None = deletion). Returns False for a stale (older) version."""
        if not super().apply(entity, entity_id, version, record):
            return False
        for kind in _ENDPOINT_KINDS.get(entity, ()):
            self._targets.pop((kind, entity_id), None)
        key = config_key(entity, entity_id)
        if record is None or (
            isinstance(record, WebhookConfig) and record.active and not record.disabled_reason
        ):
            self.locally_disabled.discard(key)
        return True

    def _webhook_changed(self, webhook_id: str, old: WebhookConfig | None, new: WebhookConfig | None) -> None:
        if old is not None:
            self._webhooks_of[old.tenant_id].discard(webhook_id)
            if _wants_delivery_events(old):
                self._delivery_subscribers[old.tenant_id] -= 1
                if not self._delivery_subscribers[old.tenant_id]:
                    del self._delivery_subscribers[old.tenant_id]
        if new is not None:
            self._webhooks_of[new.tenant_id].add(webhook_id)
            if _wants_delivery_events(new):
                self._delivery_subscribers[new.tenant_id] += 1

    def _integration_changed(
        self, integration_id: str, old: IntegrationConfig | None, new: IntegrationConfig | None
    ) -> None:
        if old is not None:
            self._integrations_of[old.tenant_id].discard(integration_id)
        if new is not None:
            self._integrations_of[new.tenant_id].add(integration_id)

    def disable_locally(self, kind: EndpointKind, endpoint_id: str) -> None:
        self.locally_disabled.add(entity_key(kind, endpoint_id))

    # -- fan-out ---------------------------------------------------------------------------------------------------

    def targets_for(self, event: CloudEvent) -> list[Target]:
        """Every endpoint ``event`` goes to: matching webhooks, the conversation's callback, integrations."""
        tenant = event.tenant
        if not tenant:
            return []
        if event.type.startswith(DELIVERY_PREFIX):
            return self._delivery_event_targets(tenant, event)
        targets: list[Target] = []
        for webhook_id in self._webhooks_of.get(tenant, ()):
            webhook = self.webhooks.records[webhook_id]
            if any(matches(pattern, event.type) for pattern in webhook.events):
                target = self.target("webhook", webhook_id)
                if target is not None:
                    targets.append(target)
        if event.type.startswith("message."):
            conversation_id = conversation_id_of(event)
            conversation = self.conversations.get(conversation_id) if conversation_id else None
            if conversation is not None and conversation.tenant_id == tenant:
                target = self.target("callback", conversation.id)
                if target is not None:
                    targets.append(target)
        data = event.data if isinstance(event.data, dict) else {}
        wanted_integration = data.get("integration_id")
        for integration_id in self._integrations_of.get(tenant, ()):
            if wanted_integration and wanted_integration != integration_id:
                continue
            integration = self.integrations.records[integration_id]
            for kind in self._integration_kinds(integration):
                defaults = SLACK_DEFAULT_EVENTS if kind == "slack" else INTEGRATION_DEFAULT_EVENTS
                patterns = integration.events or defaults
                if any(matches(pattern, event.type) for pattern in patterns):
                    target = self.target(kind, integration_id)
                    if target is not None:
                        targets.append(target)
        return targets

    def _delivery_event_targets(self, tenant: str, event: CloudEvent) -> list[Target]:
        """Webhooks for a ``delivery.*`` event (one attempt of another delivery), Svix's operational webhooks.

        Two rules keep them from feeding themselves: ``*`` does not match them (a catch-all webhook would get an
        event for each of its own deliveries, and another for that one's delivery, ...), only ``delivery.*`` or
        a ``delivery.<outcome>`` filter does; and an attempt of a delivery that itself carried a ``delivery.*``
        event is not delivered again. Other endpoint kinds never receive them.
        """
        if not self._delivery_subscribers.get(tenant):
            return []
        # The attempt record: a dict when read from Kafka, the DeliveryAttempt model when the engine hands it over.
        data = event.data
        about = data.get("event_type") if isinstance(data, dict) else getattr(data, "event_type", None)
        if str(about or "").startswith(DELIVERY_PREFIX):
            return []
        targets: list[Target] = []
        for webhook_id in self._webhooks_of.get(tenant, ()):
            patterns = self.webhooks.records[webhook_id].events
            if any(_names_delivery(p) and matches(p, event.type) for p in patterns):
                target = self.target("webhook", webhook_id)
                if target is not None:
                    targets.append(target)
        return targets

    @staticmethod
    def _integration_kinds(integration: IntegrationConfig) -> Iterable[EndpointKind]:
        reply = integration.reply or {}
        if integration.provider == "slack" and (reply.get("webhook_url") or integration.outgoing_webhook_url):
            yield "slack"
            return
        if has_reply_api(integration.provider) and reply:
            # The partner's own reply API (send the message; assign on handoff).
            yield "partner"
        if integration.outgoing_webhook_url:
            # seed 002's outgoing webhook, alongside or instead of the reply API.
            yield "integration"

    # -- targets ---------------------------------------------------------------------------------------------------

    def target(self, kind: EndpointKind, endpoint_id: str, now: datetime | None = None) -> Target | None:
        """The current, enabled target for an endpoint, or None (deleted, inactive or disabled)."""
        key = entity_key(kind, endpoint_id)
        if key in self.locally_disabled:
            return None
        now = now or datetime.now(UTC)
        cached = self._targets.get((kind, endpoint_id))
        if cached is not None and cached[1] <= now and (cached[2] is None or now < cached[2]):
            return cached[0]
        target, expires = self._build(kind, endpoint_id, now)
        self._targets[(kind, endpoint_id)] = (target, now, expires)
        return target

    def _build(
        self, kind: EndpointKind, endpoint_id: str, now: datetime
    ) -> tuple[Target | None, datetime | None]:
        """The target and when it stops being valid (None: at the next change)."""
        try:
            if kind == "webhook":
                webhook = self.webhooks.get(endpoint_id)
                if webhook is None:
                    return None, None
                return self._webhook(webhook, now), _next_expiry(webhook, now)
            if kind == "callback":
                conversation = self.conversations.get(endpoint_id)
                return (self._callback(conversation) if conversation is not None else None), None
            integration = self.integrations.get(endpoint_id)
            return (self._integration(kind, integration) if integration is not None else None), None
        except SecretsBoxError:
            log.exception("unusable configuration for %s", entity_key(kind, endpoint_id))
            return None, None

    def _webhook(self, webhook: WebhookConfig, now: datetime) -> Target | None:
        if not webhook.active or webhook.disabled_reason:
            return None
        secrets = [self.reveal(webhook.secret, sealed=True)]
        secrets += [
            self.reveal(previous.secret, sealed=True)
            for previous in webhook.previous_secrets
            if previous.expires_at > now
        ]
        delivery = webhook.delivery
        return Target(
            kind="webhook",
            id=webhook.id,
            tenant_id=webhook.tenant_id,
            url=webhook.url,
            secrets=tuple(secrets),
            timeout_s=delivery.timeout_seconds,
            retry_schedule=delivery.retry_schedule,
            max_in_flight=delivery.max_in_flight,
            rate_per_minute=delivery.rate_limit_per_minute,
            ordered=delivery.ordered,
        )

    def _callback(self, conversation: ConversationConfig) -> Target | None:
        callback = conversation.config
        if not callback.callback_url:
            return None
        return Target(
            kind="callback",
            id=conversation.id,
            tenant_id=conversation.tenant_id,
            url=callback.callback_url,
            secrets=(self.reveal(callback.secret, sealed=True),) if callback.secret else (),
            context={"conversation_id": conversation.id, "channel": conversation.channel or "API"},
        )

    def _integration(self, kind: EndpointKind, integration: IntegrationConfig) -> Target | None:
        if not integration.is_active:
            return None
        reply = integration.reply or {}
        if kind == "partner":
            credentials = {
                name: self.reveal(value) if isinstance(value, str) else value for name, value in reply.items()
            }
            return Target(
                kind="partner",
                id=integration.id,
                tenant_id=integration.tenant_id,
                url=str(
                    credentials.get("api_url") or credentials.get("base_url") or f"{integration.provider}:api"
                ),
                timeout_s=integration.timeout_seconds,
                retry_schedule=_integration_schedule(integration),
                provider=integration.provider,
                credentials=credentials,
                context={"name": integration.name},
            )
        headers: tuple[tuple[str, str], ...] = ()
        if kind == "slack":
            url = self.reveal(str(reply.get("webhook_url") or integration.outgoing_webhook_url))
        elif integration.outgoing_webhook_url is None:
            return None
        else:
            url = integration.outgoing_webhook_url
            pairs = [(name, self.reveal(value)) for name, value in integration.custom_headers.items()]
            if integration.auth_token:
                pairs.append(("Authorization", f"Bearer {self.reveal(integration.auth_token)}"))
            headers = tuple(pairs)
        # seed 003: a generic integration with a webhook secret gets X-Webhook-Signature (and Standard Webhooks).
        secret = integration.verification.get("webhook_secret") if kind == "integration" else None
        return Target(
            kind=kind,
            id=integration.id,
            tenant_id=integration.tenant_id,
            url=url,
            headers=headers,
            secrets=(self.reveal(str(secret)),) if secret else (),
            timeout_s=integration.timeout_seconds,
            retry_schedule=_integration_schedule(integration),
            provider=integration.provider,
            context={"name": integration.name},
        )
