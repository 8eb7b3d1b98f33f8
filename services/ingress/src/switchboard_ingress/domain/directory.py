"""Ingress's materialized view of the registry's integrations and tenants (the compacted config topic).

``ConfigFollower`` feeds this ``ConfigView`` every ``integration:<id>`` and ``tenant:<id>`` record from the start
of the topic, parsed into ``IntegrationConfig`` and ``TenantConfig``, then each new change; no request ever calls
the registry. Records carry secrets as ``SecretsBox`` ciphertext; they are revealed once here, when a record is
applied, and values a partner parses (the Freshchat public key) are parsed once (``CredentialField.load``), so
verifying a request costs no decryption or parsing. Which fields are secrets, which are parsed and which name our
own bot come from the partner registry.

Bearer tokens (seed 002, seed 003) identify an integration by themselves, so the view indexes the SHA-256 of
each one: a lookup hashes the presented token and compares digests, never the token itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard_contracts import partners
from switchboard_contracts.config_records import IntegrationConfig, TenantConfig
from switchboard_contracts.integrations import token_digest
from switchboard_platform.config_view import ConfigView, Table
from switchboard_platform.secrets_box import SecretsBox, SecretsBoxError

log = logging.getLogger(__name__)

#: Record fields ingress does not check requests against. A field added to a record must be read below or listed
#: here (tests/unit/test_domain.py checks).
UNUSED_INTEGRATION_FIELDS = frozenset(
    {
        "outgoing_webhook_url",
        "auth_token",
        "custom_headers",
        "timeout_seconds",
        "retry_attempts",
        "events",
        "created_by",
        "created_at",
        "updated_at",
    }
)
UNUSED_TENANT_FIELDS = frozenset({"name", "created_at", "updated_at"})


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


class Directory(ConfigView):
    """Integrations (by id and by bearer-token digest) and tenants, as ingress checks requests against them."""

    def __init__(self, box: SecretsBox) -> None:
        super().__init__(
            Table(IntegrationConfig, self._integration_changed),
            Table(TenantConfig, self._tenant_changed),
            box=box,
        )
        self.integrations: dict[str, Integration] = {}
        self.tenants: dict[str, Tenant] = {}
        self._by_bearer: dict[str, str] = {}

    # -- applying config records ------------------------------------------------------------------------------

    def _tenant_changed(self, tenant_id: str, old: TenantConfig | None, new: TenantConfig | None) -> None:
        if new is None:
            self.tenants.pop(tenant_id, None)
        else:
            self.tenants[tenant_id] = _tenant(new)

    def _integration_changed(
        self, integration_id: str, old: IntegrationConfig | None, new: IntegrationConfig | None
    ) -> None:
        previous = self.integrations.pop(integration_id, None)
        if previous is not None and previous.bearer_token is not None:
            self._by_bearer.pop(token_digest(previous.bearer_token), None)
        if new is None:
            return
        integration = self._integration(new)
        self.integrations[integration_id] = integration
        if integration.bearer_token is not None:
            self._by_bearer[token_digest(integration.bearer_token)] = integration_id

    def _integration(self, record: IntegrationConfig) -> Integration:
        stored, reply = record.verification, record.reply or {}
        verification: dict[str, Any] = {}
        broken: str | None = None
        for name, spec in partners.fields("verification").items():
            raw = stored.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = self.reveal(str(raw)) if spec.secret else str(raw)
            except SecretsBoxError:
                broken = f"verification.{name} cannot be decrypted with this service's SB_SECRETS_KEY"
                continue
            if spec.load is not None:
                try:
                    verification[name] = spec.load(value)
                except ValueError as exc:
                    broken = f"verification.{name}: {exc}"
            else:
                verification[name] = value
        if broken:
            log.error(
                "integration configuration unusable",
                extra={"integration_id": record.id, "tenant": record.tenant_id, "reason": broken},
            )
        reply_fields = partners.fields("reply").values()
        own_ids = {str(reply[spec.name]) for spec in reply_fields if spec.own_id and reply.get(spec.name)}
        own_emails = {
            str(reply[spec.name]).lower() for spec in reply_fields if spec.own_email and reply.get(spec.name)
        }
        limit = record.rate_limit_per_minute
        return Integration(
            id=record.id,
            tenant_id=record.tenant_id,
            provider=record.provider or "generic",
            name=record.name,
            is_active=record.is_active,
            verification=verification,
            own_ids=frozenset(own_ids),
            own_emails=frozenset(own_emails),
            rate_limit_per_minute=limit if limit is not None and limit > 0 else None,
            broken=broken,
        )

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


def _tenant(record: TenantConfig) -> Tenant:
    widget = record.widget
    policy = None
    if widget is not None:
        policy = WidgetPolicy(
            allowed_origins=tuple(origin.rstrip("/").lower() for origin in widget.allowed_origins if origin),
            csrf=widget.csrf,
        )
    return Tenant(id=record.id, development_mode=record.development_mode, widget=policy)
