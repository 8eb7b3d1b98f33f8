"""What the registry and ingress agree on about a partner integration's stored form.

The registry seals an integration's secrets with ``SecretsBox`` before they reach MongoDB or the config topic;
ingress decrypts them when it applies a config record. Both sides must name the same fields, or a secret is
either published in plaintext or never decrypted.
"""

from __future__ import annotations

#: The ``verification`` fields that are secrets: sealed by the registry, decrypted by ingress (in this order).
#: ``public_key`` is not among them: a public key is stored and published as pasted.
VERIFICATION_SECRETS: tuple[str, ...] = (
    "signing_secret",
    "client_secret",
    "webhook_secret",
    "path_token",
    "bearer_token",
)
