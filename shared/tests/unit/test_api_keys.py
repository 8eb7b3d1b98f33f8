"""API keys: digests, scopes, and the view every service authenticates with."""

from __future__ import annotations

import hashlib
from typing import Any

from switchboard_contracts.config_records import ApiKeyConfig
from switchboard_platform.api_keys import ApiKeyView, Scope, digest, generate_key, grants
from switchboard_testing.builders import config_record


def state(
    key: str, tenant: str = "t1", scopes: list[str] | None = None, version: int = 1, **changes: Any
) -> ApiKeyConfig:
    record = config_record(
        "api_key",
        "k1",
        tenant,
        {"key_hash": digest(key), "prefix": key[:8], "scopes": scopes or ["*"], **changes},
        version,
    )
    assert isinstance(record, ApiKeyConfig)
    return record


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
    view.apply("api_key", "k1", 1, state(key, scopes=["responder:read"]))
    assert not view.apply("webhook", "w1", 1, None)  # not a key: ignored
    holder = view.holder(key)
    assert holder is not None
    assert (holder.key_id, holder.tenant_id, holder.scopes) == ("k1", "t1", frozenset({"responder:read"}))
    assert view.holder("sbk_unknown") is None
    assert view.holder(digest(key)) is None  # the digest is not a key

    view.apply("api_key", "k1", 3, state(key, version=3, revoked_at="2026-11-24T00:00:00Z"))
    assert view.holder(key) is None
    assert not view.apply("api_key", "k1", 2, state(key, version=2))  # an older version arriving late
    assert view.holder(key) is None

    other = generate_key()
    view.apply("api_key", "k2", 1, state(other, tenant="t2"))
    assert len(view) == 1
    view.apply("api_key", "k2", None, None)  # tombstone
    assert view.holder(other) is None
    assert len(view) == 0
