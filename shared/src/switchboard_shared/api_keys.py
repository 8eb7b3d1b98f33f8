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
from typing import Any

KEY_PREFIX = "sbk_"
ENTITY = "api_key"


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


class ApiKeyView:
    """The live keys from the config topic (``apply`` is a ``ConfigFollower`` callback): revoked and deleted keys
    drop out as their change arrives."""

    def __init__(self) -> None:
        self._by_digest: dict[str, KeyHolder] = {}
        self._digest_of: dict[str, str] = {}  # config key → digest
        self._versions: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._by_digest)

    def apply(self, key: str, version: int | None, state: dict[str, Any] | None) -> None:
        if not key.startswith(ENTITY + ":"):
            return
        if version is not None:
            if version < self._versions.get(key, 0):
                return
            self._versions[key] = version
        old = self._digest_of.pop(key, None)
        if old is not None:
            self._by_digest.pop(old, None)
        if (
            state is None
            or state.get("revoked_at")
            or not state.get("key_hash")
            or not state.get("tenant_id")
        ):
            return
        self._digest_of[key] = state["key_hash"]
        self._by_digest[state["key_hash"]] = KeyHolder(
            key_id=key.partition(":")[2],
            tenant_id=str(state["tenant_id"]),
            scopes=frozenset(str(scope) for scope in state.get("scopes") or ()),
        )

    def holder(self, token: str) -> KeyHolder | None:
        """The holder of ``token`` if it is a live key, else None."""
        if not token.startswith(KEY_PREFIX):
            return None
        return self._by_digest.get(digest(token))
