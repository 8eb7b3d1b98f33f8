"""API keys: digests, scopes, and the view every service authenticates with."""

from __future__ import annotations

import hashlib

from switchboard_shared.api_keys import ApiKeyView, Scope, digest, generate_key, grants


def state(
    key: str, tenant: str = "t1", scopes: list[str] | None = None, **changes: object
) -> dict[str, object]:
    return {
        "tenant_id": tenant,
        "key_hash": digest(key),
        "scopes": scopes or ["*"],
        "revoked_at": None,
        **changes,
    }


def test_keys_are_prefixed_random_and_known_by_digest() -> None:
    first, second = generate_key(), generate_key()
    assert first.startswith("sbk_")
    assert first != second
    # The registry stores and publishes exactly this (hex SHA-256); every service's view must compute the same.
    assert digest(first) == hashlib.sha256(first.encode()).hexdigest()
    assert digest(first) != digest(second)


def test_scopes_write_implies_read_and_star_grants_all() -> None:
    assert grants(["responder:write"], Scope.RESPONDER_READ)
    assert not grants(["responder:read"], Scope.RESPONDER_WRITE)
    assert not grants(["webhooks:write"], Scope.RESPONDER_READ)
    assert grants(["*"], Scope.RESPONDER_WRITE)


def test_the_view_follows_issue_revocation_deletion_and_ignores_stale_versions() -> None:
    view = ApiKeyView()
    key = generate_key()
    view.apply("api_key:k1", 1, state(key, scopes=["responder:read"]))
    view.apply("webhook:w1", 1, {"tenant_id": "t1", "key_hash": digest(key)})  # not a key: ignored
    holder = view.holder(key)
    assert holder is not None
    assert (holder.key_id, holder.tenant_id, holder.scopes) == ("k1", "t1", frozenset({"responder:read"}))
    assert view.holder("sbk_unknown") is None
    assert view.holder(digest(key)) is None  # the digest is not a key

    view.apply("api_key:k1", 3, state(key, revoked_at="2026-11-24T00:00:00Z"))
    assert view.holder(key) is None
    view.apply("api_key:k1", 2, state(key))  # an older version arriving late changes nothing
    assert view.holder(key) is None

    other = generate_key()
    view.apply("api_key:k2", 1, state(other, tenant="t2"))
    assert len(view) == 1
    view.apply("api_key:k2", None, None)  # tombstone
    assert view.holder(other) is None
    assert len(view) == 0
