"""The rules every follower of the config topic shares: versions, tombstones, reveal; and the records' wire."""

from __future__ import annotations

import json

import pytest

from switchboard_contracts.config_records import (
    ConfigChanged,
    ConversationConfig,
    TenantConfig,
    WebhookConfig,
)
from switchboard_platform.config_view import ConfigView, Table
from switchboard_platform.secrets_box import SecretsBox, SecretsBoxError
from switchboard_testing.builders import config_record


def tenant(version: int, name: str) -> TenantConfig:
    record = config_record("tenant", "t1", "t1", {"name": name}, version)
    assert isinstance(record, TenantConfig)
    return record


def test_the_highest_version_wins_and_a_tombstone_removes() -> None:
    changes: list[tuple[str, str | None, str | None]] = []
    tenants = Table(
        TenantConfig,
        lambda tenant_id, old, new: changes.append(
            (tenant_id, old.name if old else None, new.name if new else None)
        ),
    )
    view = ConfigView(tenants)
    assert view.apply("tenant", "t1", 2, tenant(2, "two"))
    assert not view.apply("tenant", "t1", 1, tenant(1, "one"))  # published twice, the older one late
    assert view.apply("tenant", "t1", 3, None)
    assert not view.apply("webhook", "w1", 1, None)  # not followed
    assert changes == [("t1", None, "two"), ("t1", "two", None)]
    assert tenants.get("t1") is None


def test_a_record_of_another_entity_is_refused() -> None:
    view = ConfigView(Table(TenantConfig))
    webhook = config_record("webhook", "w1", "t1", {"url": "https://x", "events": ["*"], "secret": "s"})
    with pytest.raises(TypeError):
        view.apply("tenant", "w1", 1, webhook)


def test_reveal_decrypts_sealed_values_once_until_the_next_change() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(Table(TenantConfig), box=box)
    sealed = box.encrypt("s3cret")
    assert view.reveal(sealed) == "s3cret"
    assert view._plain == {sealed: "s3cret"}  # cached: the hot path pays no Fernet decryption
    view.apply("tenant", "t1", 1, tenant(1, "one"))
    assert view._plain == {}
    assert view.reveal("plain header value") == "plain header value"
    with pytest.raises(SecretsBoxError):
        view.reveal("plain", sealed=True)  # a field that must be sealed
    with pytest.raises(SecretsBoxError):
        view.reveal("enc:looks-sealed-but-is-not")
    other = SecretsBox([SecretsBox.generate_key()])
    with pytest.raises(SecretsBoxError):
        view.reveal(other.encrypt("under another key"))


def test_a_record_is_written_with_the_wire_names_it_always_had() -> None:
    webhook = config_record(
        "webhook",
        "w1",
        "t1",
        {"url": "https://x", "events": ["*"], "secret": "enc:v1:s", "disabledReason": "410 Gone"},
    )
    assert isinstance(webhook, WebhookConfig)
    assert webhook.disabled_reason == "410 Gone"
    wire = json.loads(webhook.model_dump_json(by_alias=True))
    assert {"createdBy", "createdAt", "updatedAt", "disabledReason", "tenant_id", "previous_secrets"} <= set(
        wire
    )
    assert "disabled_reason" not in wire


def test_a_change_parses_its_state_as_the_model_of_its_entity() -> None:
    state = config_record(
        "conversation",
        "c1",
        "t1",
        {"channel": "API", "usecase": "X", "config": {"callback_url": "https://x", "workflow_id": "123"}},
    ).model_dump(mode="json", by_alias=True)
    body = {"entity": "conversation", "entity_id": "c1", "tenant_id": "t1", "version": 1, "state": state}
    change = ConfigChanged.model_validate(body)
    assert isinstance(change.state, ConversationConfig)
    assert change.state.config.model_extra == {
        "workflow_id": "123"
    }  # the caller's own keys, carried as given
    # The same fields under another entity are not silently read as a conversation.
    with pytest.raises(ValueError, match="name"):  # a tenant has a name; a conversation has none
        ConfigChanged.model_validate({**body, "entity": "tenant"})
