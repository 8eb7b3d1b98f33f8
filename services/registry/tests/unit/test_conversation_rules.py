"""Conversation callback rules (seed 001) without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from switchboard_platform.secrets_box import SecretsBox
from switchboard_registry.domain import conversations as rules
from switchboard_registry.domain.patch import InvalidConfig, validated

BOX = SecretsBox([SecretsBox.generate_key()])
NOW = datetime(2024, 3, 21, 10, 0, tzinfo=UTC)


def _document(body: dict[str, Any]) -> dict[str, Any]:
    config = validated(rules.ConversationCreate, body)
    rules.check(config)
    return {
        "_id": rules.new_conversation_id(),
        "created_by": "k",
        "created_at": NOW,
        "updated_at": NOW,
        **rules.stored(config, BOX),
    }


def test_seed_001_configuration_is_stored_with_its_extra_config_keys() -> None:
    document = _document(rules.SEED_001_EXAMPLE)
    assert document["channel"] == "API"
    assert document["usecase"] == "WORKFLOW_EXECUTION"
    assert document["config"] == {"workflow_id": "123", "callback_url": "https://your-domain.com/webhook"}


def test_callback_delivery_follows_seed_001() -> None:
    assert rules.CALLBACK_DELIVERY.timeout_seconds == 30
    assert rules.CALLBACK_DELIVERY.retry_schedule == [4, 8, 10]
    assert rules.CALLBACK_DELIVERY.max_in_flight == 10
    assert rules.CALLBACK_DELIVERY.rate_limit_per_minute == 100


def test_callback_url_is_required() -> None:
    with pytest.raises(InvalidConfig) as raised:
        validated(
            rules.ConversationCreate, {"channel": "API", "usecase": "X", "config": {"workflow_id": "1"}}
        )
    assert raised.value.field == "config.callback_url"


def test_a_channel_outside_seed_001_is_refused() -> None:
    with pytest.raises(InvalidConfig) as raised:
        validated(rules.ConversationCreate, {**rules.SEED_001_EXAMPLE, "channel": "FAX"})
    assert raised.value.field == "channel"


def test_config_keys_mongodb_would_read_as_operators_are_refused() -> None:
    body = {
        **rules.SEED_001_EXAMPLE,
        "config": {"callback_url": "https://a.example/h", "meta": {"$where": "1"}},
    }
    config = validated(rules.ConversationCreate, body)
    with pytest.raises(InvalidConfig) as raised:
        rules.check(config)
    assert raised.value.field == "config.meta.$where"


def test_an_update_merges_config_keys() -> None:
    document = _document(rules.SEED_001_EXAMPLE)
    config = rules.updated(document, {"config": {"callback_url": "https://your-domain.com/v2"}}, BOX)
    assert config.config.model_dump() == {
        "workflow_id": "123",
        "callback_url": "https://your-domain.com/v2",
        "secret": None,
    }


def test_the_callback_url_cannot_be_removed() -> None:
    with pytest.raises(InvalidConfig) as raised:
        rules.updated(_document(rules.SEED_001_EXAMPLE), {"config": {"callback_url": None}}, BOX)
    assert raised.value.field == "config.callback_url"


def test_a_signing_secret_is_stored_encrypted_and_shown_masked() -> None:
    body = {
        **rules.SEED_001_EXAMPLE,
        "config": {"callback_url": "https://a.example/h", "secret": "s3cret-s3cret-42x"},
    }
    document = _document(body)

    shown = rules.public(document, BOX)

    assert document["config"]["secret"].startswith("enc:v1:")
    assert shown.config["secret"] == "••••-42x"


def test_a_masked_secret_in_an_update_keeps_the_stored_one() -> None:
    body = {
        **rules.SEED_001_EXAMPLE,
        "config": {"callback_url": "https://a.example/h", "secret": "s3cret-s3cret-42x"},
    }
    document = _document(body)

    config = rules.updated(document, {"config": {"secret": "••••-42x", "workflow_id": "9"}}, BOX)

    assert config.config.secret is not None
    assert config.config.secret.get_secret_value() == "s3cret-s3cret-42x"


def test_conversation_ids_are_canonical_uuids() -> None:
    assert rules.is_conversation_id(rules.new_conversation_id())
    assert not rules.is_conversation_id("66a1f0c2e4b0a1b2c3d4e5f6")
    assert not rules.is_conversation_id(str(uuid.uuid4()).upper())
