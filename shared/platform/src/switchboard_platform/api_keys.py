"""Tenant API keys as every service checks them: ``sbk_`` tokens, known only by their SHA-256 digests, with scopes.

The registry issues keys and publishes each key's digest, tenant and scopes on the config topic (entity
``api_key``); a service that serves tenants follows that topic into an ``ApiKeyView`` and authenticates a
request with one dictionary lookup, with no call to the registry. A plain SHA-256 (not a slow password hash) is
the right tool for 256-bit random keys: nothing to brute-force, and the digest is useless without the key. The
``sbk_`` prefix lets secret scanners and humans recognise a leaked key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from switchboard_contracts.config_records import ApiKeyConfig
from switchboard_platform.config_view import ConfigView, Table

KEY_PREFIX = "sbk_"


class Scope(StrEnum):
    ALL = "*"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    INTEGRATIONS_READ = "integrations:read"
    INTEGRATIONS_WRITE = "integrations:write"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    DELIVERIES_READ = "deliveries:read"
    DELIVERIES_WRITE = "deliveries:write"
    #: The AI responder's management API: settings, knowledge base, reviews, live chat, feedback.
    RESPONDER_READ = "responder:read"
    RESPONDER_WRITE = "responder:write"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def grants(scopes: list[str] | frozenset[str], needed: Scope) -> bool:
    """``*`` grants everything; ``x:write`` implies ``x:read``."""
    if Scope.ALL in scopes or needed in scopes:
        return True
    resource, _, action = needed.value.partition(":")
    return action == "read" and f"{resource}:write" in scopes


@dataclass(frozen=True)
class KeyHolder:
    """Who a valid key belongs to and what it may do."""

    key_id: str
    tenant_id: str
    scopes: frozenset[str]


class ApiKeyView(ConfigView):
    """The live keys from the config topic (a ``ConfigFollower`` feeds it): revoked and deleted keys drop out as
    their change arrives."""

    def __init__(self) -> None:
        self.keys = Table(ApiKeyConfig, self._changed)
        super().__init__(self.keys)
        self._by_digest: dict[str, KeyHolder] = {}

    def __len__(self) -> int:
        return len(self._by_digest)

    def _changed(self, key_id: str, old: ApiKeyConfig | None, new: ApiKeyConfig | None) -> None:
        if old is not None:
            self._by_digest.pop(old.key_hash, None)
        if new is None or new.revoked_at is not None or not new.key_hash or not new.tenant_id:
            return
        self._by_digest[new.key_hash] = KeyHolder(
            key_id=key_id, tenant_id=new.tenant_id, scopes=frozenset(new.scopes)
        )

    def holder(self, token: str) -> KeyHolder | None:
        """The holder of ``token`` if it is a live key, else None."""
        if not token.startswith(KEY_PREFIX):
            return None
        return self._by_digest.get(digest(token))
