"""API keys: high-entropy random tokens, shown once, stored as SHA-256 digests.

A plain SHA-256 (not a slow password hash) is the right tool for 256-bit random keys: nothing to brute-force,
and every request can be authenticated with one indexed lookup. The ``sbk_`` prefix lets secret scanners and
humans recognise a leaked key.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

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
