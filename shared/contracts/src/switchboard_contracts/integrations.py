"""What the registry and ingress agree on about a partner integration's stored form.

The registry seals an integration's secrets with ``SecretsBox`` before they reach MongoDB or the config topic;
ingress decrypts them when it applies a config record. Both read which fields are secrets from the partner
registry (``partners.secret_fields``), so they always name the same ones.

Tokens that identify an integration by themselves (a bearer token, a Chatwoot path token) are looked up by
digest: the registry stores the digest under a unique index, ingress indexes its view by it. Both must compute
the same one, or a partner's token matches nothing.
"""

from __future__ import annotations

import hashlib


def token_digest(token: str) -> str:
    """The lookup digest of an identifying token: SHA-256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(token.encode()).hexdigest()
