"""Partner integrations (seeds 002 and 003): what a tenant configures to bridge one support platform.

An integration says three things about one partner account:

- where Switchboard sends replies and notifications to the partner's own bridge (seed 002's
  ``outgoing_webhook_url`` with ``auth_token``, ``custom_headers``, ``timeout_seconds``, ``retry_attempts``);
- how ingress recognises the partner's inbound webhooks (``verification``: a public key or a shared secret,
  per provider — docs in shared/reference/platforms.md);
- how Switchboard answers through the partner's own API (``reply``: API tokens, ids and base URLs).

Secrets are write-only. They are sealed with the shared ``SecretsBox`` before they reach MongoDB or the config
topic (ingress and dispatcher decrypt with the same key), and the API only ever shows them masked. Custom header
values whose name marks them as credentials (``X-API-Key``, ``Authorization``…) are secrets too, the way Svix
redacts "sensitive" endpoint headers.

Everything here is pure: the routes call these functions and do the I/O (URL resolution, MongoDB) themselves.
``models`` holds the API's models, ``rules`` the checks a schema cannot state, ``storage`` sealing, revealing and
masking the secrets; this package re-exports their names (``from switchboard_registry.domain import
integrations as rules``).
"""

from switchboard_registry.domain.integrations.models import (
    MAX_HEADERS,
    SEED_002_EXAMPLE,
    IntegrationCreate,
    IntegrationModels,
    IntegrationPublic,
    IntegrationUpdate,
    create_examples,
    integration_models,
)
from switchboard_registry.domain.integrations.rules import (
    RESERVED_HEADERS,
    check,
    endpoint_urls,
    events_of,
    is_sensitive_header,
    partner_of,
    stored_endpoint_urls,
)
from switchboard_registry.domain.integrations.storage import (
    DIGEST_FIELDS,
    public,
    revealed_config,
    sealed,
    updated,
)

__all__ = [
    "DIGEST_FIELDS",
    "MAX_HEADERS",
    "RESERVED_HEADERS",
    "SEED_002_EXAMPLE",
    "IntegrationCreate",
    "IntegrationModels",
    "IntegrationPublic",
    "IntegrationUpdate",
    "check",
    "create_examples",
    "endpoint_urls",
    "events_of",
    "integration_models",
    "is_sensitive_header",
    "partner_of",
    "public",
    "revealed_config",
    "sealed",
    "stored_endpoint_urls",
    "updated",
]
