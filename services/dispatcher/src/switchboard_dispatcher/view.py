"""The dispatcher's materialized view of the registry's configuration (the compacted config topic).

Every replica reads the whole config topic from the beginning at start-up (no consumer group: each needs
all of it), keeps the highest ``version`` per entity and then follows new changes. Fan-out and every attempt
read this in-memory view: no MongoDB query per event. Secrets arrive encrypted and are decrypted here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from switchboard_dispatcher.domain.partners import has_reply_api
from switchboard_dispatcher.domain.targets import DEFAULT_SCHEDULE, Target
from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.events import INTEGRATION_DEFAULT_EVENTS, SLACK_DEFAULT_EVENTS, EndpointKind, matches
from switchboard_shared.secrets_box import SecretsBox, SecretsBoxError

log = logging.getLogger(__name__)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _next_expiry(state: dict[str, Any], now: datetime) -> datetime | None:
    """When the set of a webhook's valid secrets next changes (its earliest previous secret still valid)."""
    previous_secrets = state.get("previous_secrets") or ()
    expiries = [_parse_time(item.get("expires_at")) for item in previous_secrets if isinstance(item, dict)]
    future = [expires for expires in expiries if expires is not None and expires > now]
    return min(future, default=None)


def _integration_schedule(state: dict[str, Any]) -> tuple[int, ...]:
    """An integration's ``retry_attempts`` retries: seed 001's 4/8/10 s, then every 10 s."""
    return (DEFAULT_SCHEDULE + (10,) * 10)[: int(state.get("retry_attempts", 3))]


DELIVERY_PREFIX = "delivery."


def _names_delivery(pattern: str) -> bool:
    """A filter that asks for ``delivery.*`` events by name (``*`` does not)."""
    return pattern.startswith(DELIVERY_PREFIX)


#: The fields of a webhook's state that the dispatcher reads. The registry publishes its whole document (name,
#: description, timestamps, who created it); keeping only these saves ~1.3 KB of the ~3 KB a parsed webhook
#: state takes (measured at 10k webhooks), in every replica, which each holds every webhook (bench/scale). A
#: field the dispatcher starts reading must be added here.
_WEBHOOK_FIELDS = (
    "tenant_id",
    "url",
    "events",
    "active",
    "disabledReason",
    "secret",
    "previous_secrets",
    "delivery",
)


def _wants_delivery_events(state: dict[str, Any]) -> bool:
    return any(_names_delivery(pattern) for pattern in state.get("events", ()))


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


class ConfigView:
    def __init__(self, box: SecretsBox) -> None:
        self.box = box
        self.versions: dict[str, int] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self._by_tenant: dict[tuple[str, str], set[str]] = defaultdict(set)  # (tenant, entity) → keys
        self._conversations: dict[tuple[str, str], str] = {}  # (tenant, conversation id) → key
        #: Endpoints disabled by this dispatcher (410, failing too long) before the registry's change arrives.
        self.locally_disabled: set[str] = set()
        #: ciphertext → plaintext, so an attempt does not pay for Fernet decryption; cleared on every change.
        self._plain: dict[str, str] = {}
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

    def apply(self, key: str, version: int | None, state: dict[str, Any] | None) -> bool:
        """Apply one config record (``state`` None = deletion). Returns False for a stale (older) version."""
        if version is not None and version < self.versions.get(key, 0):
            return False
        entity, _, entity_id = key.partition(":")
        self._plain.clear()
        for kind in _ENDPOINT_KINDS.get(entity, ()):
            self._targets.pop((kind, entity_id), None)
        old = self.states.pop(key, None)
        if old is not None:
            self._unindex(key, entity, old)
        if state is None:
            self.versions[key] = version or self.versions.get(key, 0)
            self.locally_disabled.discard(key)
            return True
        if entity == "webhook":
            # The keys are this module's constants, shared by every state instead of one string per record.
            state = {name: state[name] for name in _WEBHOOK_FIELDS if name in state}
        self.states[key] = state
        if version is not None:
            self.versions[key] = version
        self._index(key, entity, state)
        if (
            entity == "webhook"
            and state.get("active")
            and key in self.locally_disabled
            and not state.get("disabledReason")
        ):
            self.locally_disabled.discard(key)
        return True

    def _index(self, key: str, entity: str, state: dict[str, Any]) -> None:
        tenant = str(state.get("tenant_id") or "")
        self._by_tenant[(tenant, entity)].add(key)
        if entity == "webhook" and _wants_delivery_events(state):
            self._delivery_subscribers[tenant] += 1
        if entity == "conversation":
            conversation = self._conversation_key(state)
            if conversation:
                self._conversations[(tenant, conversation)] = key

    def _unindex(self, key: str, entity: str, state: dict[str, Any]) -> None:
        tenant = str(state.get("tenant_id") or "")
        self._by_tenant[(tenant, entity)].discard(key)
        if entity == "webhook" and _wants_delivery_events(state):
            self._delivery_subscribers[tenant] -= 1
            if not self._delivery_subscribers[tenant]:
                del self._delivery_subscribers[tenant]
        if entity == "conversation":
            conversation = self._conversation_key(state)
            if conversation and self._conversations.get((tenant, conversation)) == key:
                del self._conversations[(tenant, conversation)]

    @staticmethod
    def _conversation_key(state: dict[str, Any]) -> str | None:
        value = state.get("conversation_id") or state.get("id")
        return str(value) if value else None

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
        for key in self._by_tenant.get((tenant, "webhook"), ()):
            state = self.states[key]
            if any(matches(pattern, event.type) for pattern in state.get("events", ())):
                target = self.target("webhook", key.split(":", 1)[1])
                if target is not None:
                    targets.append(target)
        if event.type.startswith("message."):
            conversation = conversation_id_of(event)
            callback_key = self._conversations.get((tenant, conversation)) if conversation else None
            if callback_key is not None:
                target = self.target("callback", callback_key.split(":", 1)[1])
                if target is not None:
                    targets.append(target)
        for key in self._by_tenant.get((tenant, "integration"), ()):
            state = self.states[key]
            data = event.data if isinstance(event.data, dict) else {}
            wanted_integration = data.get("integration_id")
            if wanted_integration and wanted_integration != key.split(":", 1)[1]:
                continue
            for kind in self._integration_kinds(state):
                defaults = SLACK_DEFAULT_EVENTS if kind == "slack" else INTEGRATION_DEFAULT_EVENTS
                patterns = state.get("events") or defaults
                if any(matches(pattern, event.type) for pattern in patterns):
                    target = self.target(kind, key.split(":", 1)[1])
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
        for key in self._by_tenant.get((tenant, "webhook"), ()):
            patterns = self.states[key].get("events", ())
            if any(_names_delivery(p) and matches(p, event.type) for p in patterns):
                target = self.target("webhook", key.split(":", 1)[1])
                if target is not None:
                    targets.append(target)
        return targets

    @staticmethod
    def _integration_kinds(state: dict[str, Any]) -> Iterable[EndpointKind]:
        reply = state.get("reply") or {}
        if state.get("provider") == "slack" and (
            reply.get("webhook_url") or state.get("outgoing_webhook_url")
        ):
            yield "slack"
            return
        if has_reply_api(state.get("provider")) and reply:
            # The partner's own reply API (send the message; assign on handoff).
            yield "partner"
        if state.get("outgoing_webhook_url"):
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
        state = self.states.get(key)
        if state is None:
            return None
        target = self._build(kind, endpoint_id, state, now)
        self._targets[(kind, endpoint_id)] = (
            target,
            now,
            _next_expiry(state, now) if kind == "webhook" else None,
        )
        return target

    def _build(
        self, kind: EndpointKind, endpoint_id: str, state: dict[str, Any], now: datetime
    ) -> Target | None:
        try:
            if kind == "webhook":
                return self._webhook(endpoint_id, state, now)
            if kind == "callback":
                return self._callback(endpoint_id, state)
            return self._integration(kind, endpoint_id, state)
        except (SecretsBoxError, KeyError, TypeError, ValueError):
            log.exception("unusable configuration for %s", entity_key(kind, endpoint_id))
            return None

    def _webhook(self, endpoint_id: str, state: dict[str, Any], now: datetime) -> Target | None:
        if not state.get("active", True) or state.get("disabledReason"):
            return None
        secrets = [self._decrypt(state["secret"])]
        for previous in state.get("previous_secrets", ()):
            expires = _parse_time(previous.get("expires_at"))
            if expires is not None and expires > now:
                secrets.append(self._decrypt(previous["secret"]))
        delivery = state.get("delivery") or {}
        return Target(
            kind="webhook",
            id=endpoint_id,
            tenant_id=state["tenant_id"],
            url=state["url"],
            secrets=tuple(secrets),
            timeout_s=float(delivery.get("timeout_seconds", 30)),
            retry_schedule=tuple(delivery.get("retry_schedule", DEFAULT_SCHEDULE)),
            max_in_flight=int(delivery.get("max_in_flight", 10)),
            rate_per_minute=int(delivery.get("rate_limit_per_minute", 100)),
            ordered=bool(delivery.get("ordered", False)),
        )

    def _callback(self, endpoint_id: str, state: dict[str, Any]) -> Target | None:
        config = state.get("config") or {}
        url = config.get("callback_url")
        if not url or state.get("active") is False:
            return None
        secret = config.get("secret") or state.get("secret")
        return Target(
            kind="callback",
            id=endpoint_id,
            tenant_id=state["tenant_id"],
            url=url,
            secrets=(self._decrypt(secret),) if secret else (),
            context={
                "conversation_id": self._conversation_key(state) or endpoint_id,
                "channel": str(state.get("channel") or "API"),
            },
        )

    def _integration(self, kind: EndpointKind, endpoint_id: str, state: dict[str, Any]) -> Target | None:
        if not state.get("is_active", True):
            return None
        reply = state.get("reply") or {}
        if kind == "partner":
            credentials = {
                name: self._reveal(value) if isinstance(value, str) else value
                for name, value in reply.items()
            }
            return Target(
                kind="partner",
                id=endpoint_id,
                tenant_id=state["tenant_id"],
                url=str(
                    credentials.get("api_url")
                    or credentials.get("base_url")
                    or f"{state.get('provider')}:api"
                ),
                timeout_s=float(state.get("timeout_seconds", 30)),
                retry_schedule=_integration_schedule(state),
                provider=state.get("provider"),
                credentials=credentials,
                context={"name": str(state.get("name", ""))},
            )
        if kind == "slack":
            url = self._reveal(reply.get("webhook_url") or state.get("outgoing_webhook_url"))
            headers: tuple[tuple[str, str], ...] = ()
        else:
            url = state["outgoing_webhook_url"]
            pairs = [(str(k), self._reveal(v)) for k, v in (state.get("custom_headers") or {}).items()]
            token = state.get("auth_token")
            if token:
                pairs.append(("Authorization", f"Bearer {self._reveal(token)}"))
            headers = tuple(pairs)
        # seed 003: a generic integration with a webhook secret gets X-Webhook-Signature (and Standard Webhooks).
        verification = state.get("verification") or {}
        secret = verification.get("webhook_secret") if kind == "integration" else None
        return Target(
            kind=kind,
            id=endpoint_id,
            tenant_id=state["tenant_id"],
            url=str(url),
            headers=headers,
            secrets=(self._reveal(secret),) if secret else (),
            timeout_s=float(state.get("timeout_seconds", 30)),
            retry_schedule=_integration_schedule(state),
            provider=state.get("provider"),
            context={"name": str(state.get("name", ""))},
        )

    def _decrypt(self, ciphertext: str) -> str:
        plain = self._plain.get(ciphertext)
        if plain is None:
            plain = self._plain[ciphertext] = self.box.decrypt(ciphertext)
        return plain

    def _reveal(self, value: Any) -> str:
        text = str(value)
        return self._decrypt(text) if text.startswith("enc:") else text
