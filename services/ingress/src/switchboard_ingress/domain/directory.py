"""Ingress's materialized view of the registry's integrations and tenants (the compacted config topic).

``ConfigFollower`` feeds ``Directory.apply`` every ``integration:<id>`` and ``tenant:<id>`` record from the start
of the topic, then each new change; no request ever calls the registry. Records carry secrets as ``SecretsBox``
ciphertext; they are decrypted once here, when a record is applied, and values a partner parses (the Freshchat
public key) are parsed once (``CredentialField.load``), so verifying a request costs no decryption or parsing.
Which fields are secrets, which are parsed and which name our own bot come from the partner registry.

Bearer tokens (seed 002, seed 003) identify an integration by themselves, so the view indexes the SHA-256 of
each one: a lookup hashes the presented token and compares digests, never the token itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard_shared import partners
from switchboard_shared.integrations import token_digest
from switchboard_shared.secrets_box import PREFIX as ENCRYPTED_PREFIX
from switchboard_shared.secrets_box import SecretsBox, SecretsBoxError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Integration:
    """One partner integration as ingress needs it: identity, verification material (plaintext, in memory
    only), and the ids our own replies are authored as (to recognise them when the partner echoes them)."""

    id: str
    tenant_id: str
    provider: str
    name: str = ""
    is_active: bool = True
    #: The ``verification`` fields that are set: secrets decrypted, parsed fields parsed (plaintext, in memory
    #: only). The partner's verifier reads what it signs with from here.
    verification: Mapping[str, Any] = field(default_factory=dict)
    #: Partner-side ids of the bot our replies are posted as (Freshchat actor_id, Zendesk author_id, Intercom
    #: admin_id) and the Zendesk agent email: a message from one of them is our own reply coming back.
    own_ids: frozenset[str] = frozenset()
    own_emails: frozenset[str] = frozenset()
    #: Per-integration override of the request limit, if the registry ever sends one (else the setting).
    rate_limit_per_minute: int | None = None
    #: Why the configuration cannot be used (a secret that does not decrypt, a key that does not parse).
    broken: str | None = None

    def _secret(self, name: str) -> str | None:
        value = self.verification.get(name)
        return value if isinstance(value, str) else None

    @property
    def webhook_secret(self) -> str | None:
        """seed 003's ``X-Webhook-Signature`` secret (generic partners; Chatwoot signs with it too)."""
        return self._secret("webhook_secret")

    @property
    def path_token(self) -> str | None:
        return self._secret("path_token")

    @property
    def bearer_token(self) -> str | None:
        """seed 002's token, which identifies the integration by itself."""
        return self._secret("bearer_token")


@dataclass(frozen=True)
class WidgetPolicy:
    """seed 004: which web origins may call the chat widget endpoints, and whether X-CSRFToken is required."""

    allowed_origins: tuple[str, ...] = ()
    csrf: bool = False


@dataclass(frozen=True)
class Tenant:
    id: str
    development_mode: bool = False
    widget: WidgetPolicy | None = None


@dataclass
class Directory:
    box: SecretsBox
    integrations: dict[str, Integration] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    _by_bearer: dict[str, str] = field(default_factory=dict)

    # -- applying config records ------------------------------------------------------------------------------

    def apply(self, key: str, version: int | None, state: dict[str, Any] | None) -> bool:
        """Apply one config record (``state`` None = deletion); an older version than the one held is ignored
        (the registry may publish a change twice). Returns whether the record changed the view."""
        entity, _, entity_id = key.partition(":")
        if entity not in ("integration", "tenant") or not entity_id:
            return False
        if version is not None:
            if version < self.versions.get(key, 0):
                return False
            self.versions[key] = version
        if entity == "tenant":
            if state is None:
                self.tenants.pop(entity_id, None)
            else:
                self.tenants[entity_id] = _tenant(entity_id, state)
            return True
        old = self.integrations.pop(entity_id, None)
        if old is not None and old.bearer_token is not None:
            self._by_bearer.pop(token_digest(old.bearer_token), None)
        if state is None:
            return True
        integration = self._integration(entity_id, state)
        self.integrations[entity_id] = integration
        if integration.bearer_token is not None:
            self._by_bearer[token_digest(integration.bearer_token)] = entity_id
        return True

    def _integration(self, integration_id: str, state: Mapping[str, Any]) -> Integration:
        stored = state.get("verification") or {}
        reply = state.get("reply") or {}
        verification: dict[str, Any] = {}
        broken: str | None = None
        for name, spec in partners.fields("verification").items():
            try:
                value = self._reveal(stored.get(name)) if spec.secret else _plain(stored.get(name))
            except SecretsBoxError:
                broken = f"verification.{name} cannot be decrypted with this service's SB_SECRETS_KEY"
                continue
            if value is not None and spec.load is not None:
                try:
                    verification[name] = spec.load(value)
                except ValueError as exc:
                    broken = f"verification.{name}: {exc}"
            elif value is not None:
                verification[name] = value
        if broken:
            log.error(
                "integration configuration unusable",
                extra={"integration_id": integration_id, "tenant": state.get("tenant_id"), "reason": broken},
            )
        reply_fields = partners.fields("reply").values()
        own_ids = {str(reply[spec.name]) for spec in reply_fields if spec.own_id and reply.get(spec.name)}
        own_emails = {
            str(reply[spec.name]).lower() for spec in reply_fields if spec.own_email and reply.get(spec.name)
        }
        limit = state.get("rate_limit_per_minute")
        return Integration(
            id=integration_id,
            tenant_id=str(state.get("tenant_id") or ""),
            provider=str(state.get("provider") or "generic"),
            name=str(state.get("name") or ""),
            is_active=bool(state.get("is_active", True)),
            verification=verification,
            own_ids=frozenset(own_ids),
            own_emails=frozenset(own_emails),
            rate_limit_per_minute=int(limit) if isinstance(limit, int) and limit > 0 else None,
            broken=broken,
        )

    def _reveal(self, value: object) -> str | None:
        if value is None or value == "":
            return None
        text = str(value)
        return self.box.decrypt(text) if text.startswith(ENCRYPTED_PREFIX) else text

    # -- lookups ----------------------------------------------------------------------------------------------

    def integration(self, integration_id: str) -> Integration | None:
        return self.integrations.get(integration_id)

    def by_bearer(self, token: str) -> Integration | None:
        integration_id = self._by_bearer.get(token_digest(token))
        return self.integrations.get(integration_id) if integration_id else None

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def __len__(self) -> int:
        return len(self.integrations)


def _plain(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _tenant(tenant_id: str, state: Mapping[str, Any]) -> Tenant:
    widget = state.get("widget")
    policy = None
    if isinstance(widget, Mapping):
        origins = widget.get("allowed_origins") or ()
        policy = WidgetPolicy(
            allowed_origins=tuple(_origins(origins if isinstance(origins, Iterable) else ())),
            csrf=bool(widget.get("csrf")),
        )
    return Tenant(id=tenant_id, development_mode=bool(state.get("development_mode")), widget=policy)


def _origins(values: Iterable[Any]) -> Iterable[str]:
    return (str(value).rstrip("/").lower() for value in values if value)
