"""The config view's target cache: it must answer exactly what building the target afresh answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import (
    AnyConfig,
    ConfigRecord,
    ConversationConfig,
    IntegrationConfig,
    WebhookConfig,
)
from switchboard_contracts.events import DeliveryAttempt
from switchboard_dispatcher import view as view_module
from switchboard_dispatcher.view import ConfigView
from switchboard_platform.secrets_box import SecretsBox
from switchboard_testing.builders import config_record, undecided_fields

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def webhook_state(box: SecretsBox, webhook_id: str = "w1", version: int = 1, **changes: Any) -> AnyConfig:
    state: dict[str, Any] = {
        "url": "https://hooks.example/a",
        "events": ["message.*"],
        "active": True,
        "secret": box.encrypt("whsec_new"),
        "previous_secrets": [
            {"secret": box.encrypt("whsec_old"), "expires_at": (NOW + timedelta(hours=1)).isoformat()}
        ],
    }
    state.update(changes)
    return config_record("webhook", webhook_id, "t1", state, version)


def test_a_rotated_secret_stops_signing_when_its_grace_period_ends() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    view.apply("webhook", "w1", 1, webhook_state(box, version=1))

    during = view.target("webhook", "w1", NOW)
    assert during is not None
    assert during.secrets == ("whsec_new", "whsec_old")
    # Cached, and still right just before the expiry...
    assert view.target("webhook", "w1", NOW + timedelta(minutes=59)) is during
    # ...but not after it.
    after = view.target("webhook", "w1", NOW + timedelta(hours=1, seconds=1))
    assert after is not None
    assert after.secrets == ("whsec_new",)
    # A question about an earlier moment is not answered from a later entry.
    earlier = view.target("webhook", "w1", NOW)
    assert earlier is not None
    assert earlier.secrets == ("whsec_new", "whsec_old")


def test_every_change_replaces_cached_targets() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    view.apply("webhook", "w1", 1, webhook_state(box, version=1, previous_secrets=[]))
    first = view.target("webhook", "w1", NOW)
    assert first is not None
    assert first.url == "https://hooks.example/a"

    view.apply(
        "webhook", "w1", 2, webhook_state(box, version=2, previous_secrets=[], url="https://hooks.example/b")
    )
    second = view.target("webhook", "w1", NOW)
    assert second is not None
    assert second.url == "https://hooks.example/b"

    view.apply("webhook", "w1", 3, webhook_state(box, version=3, previous_secrets=[], active=False))
    assert view.target("webhook", "w1", NOW) is None

    view.apply("webhook", "w1", 4, webhook_state(box, version=4, previous_secrets=[]))
    assert view.target("webhook", "w1", NOW) is not None
    view.disable_locally("webhook", "w1")
    assert view.target("webhook", "w1", NOW) is None

    view.apply("webhook", "w1", 5, None)
    assert view.target("webhook", "w1", NOW) is None


def test_an_unusable_configuration_is_no_target() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    view.apply("webhook", "w1", 1, webhook_state(box, secret="enc:not-a-token", previous_secrets=[]))
    assert view.target("webhook", "w1", NOW) is None


def delivery_event(event_type: str = "delivery.exhausted", about: str = "message.created") -> CloudEvent:
    return CloudEvent(
        source="/switchboard/dispatcher",
        type=event_type,
        tenant="t1",
        data={"delivery_id": "msg_1", "event_type": about, "endpoint_id": "w-bad", "attempt": 4},
    )


def test_delivery_events_go_only_to_webhooks_that_name_them_and_never_about_themselves() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    for hook, events in {
        "w-all": ["*"],
        "w-ops": ["delivery.*"],
        "w-exhausted": ["delivery.exhausted", "message.*"],
        "w-messages": ["message.*"],
    }.items():
        view.apply("webhook", hook, 1, webhook_state(box, hook, events=events, previous_secrets=[]))

    def receivers(event: CloudEvent) -> set[str]:
        return {target.id for target in view.targets_for(event)}

    assert receivers(delivery_event()) == {"w-ops", "w-exhausted"}
    assert receivers(delivery_event("delivery.succeeded")) == {"w-ops"}
    # An attempt of a delivery that carried a delivery event is not delivered again (no chains), whether the
    # record is the engine's model or JSON read back from Kafka.
    assert receivers(delivery_event(about="delivery.exhausted")) == set()
    record = DeliveryAttempt(
        delivery_id="msg_2",
        event_id="e",
        event_type="delivery.succeeded",
        tenant_id="t1",
        endpoint_id="w-ops",
        endpoint_kind="webhook",
        url="https://hooks.example/a",
        attempt=1,
        outcome="succeeded",
        attempted_at=NOW,
    )
    from_engine = delivery_event("delivery.succeeded").model_copy(update={"data": record})
    assert receivers(from_engine) == set()
    about_a_message = from_engine.model_copy(
        update={"data": record.model_copy(update={"event_type": "message.x"})}
    )
    assert receivers(about_a_message) == {"w-ops"}
    # Ordinary events are unaffected.
    message = CloudEvent(source="/x", type="message.created", tenant="t1", data={})
    assert receivers(message) == {"w-all", "w-exhausted", "w-messages"}
    # Another tenant's subscriptions see nothing.
    other = delivery_event().model_copy(update={"tenant": "t2"})
    assert receivers(other) == set()
    # The subscriber list follows changes.
    view.apply(
        "webhook", "w-ops", 2, webhook_state(box, "w-ops", 2, events=["message.*"], previous_secrets=[])
    )
    assert receivers(delivery_event("delivery.succeeded")) == set()


def test_an_older_version_arriving_late_changes_nothing() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    assert view.apply("webhook", "w1", 2, webhook_state(box, version=2, url="https://hooks.example/new"))
    assert not view.apply("webhook", "w1", 1, webhook_state(box, url="https://hooks.example/old"))
    target = view.target("webhook", "w1", NOW)
    assert target is not None
    assert target.url == "https://hooks.example/new"


@pytest.mark.parametrize(
    ("model", "unused"),
    [
        (WebhookConfig, view_module.UNUSED_WEBHOOK_FIELDS),
        (IntegrationConfig, view_module.UNUSED_INTEGRATION_FIELDS),
        (ConversationConfig, view_module.UNUSED_CONVERSATION_FIELDS),
    ],
)
def test_every_field_of_a_followed_record_is_read_or_declared_unused(
    model: type[ConfigRecord], unused: frozenset[str]
) -> None:
    # A field added to a record must be a decision here: route on it, or say why delivery does not need it.
    assert not undecided_fields(model, view_module, unused), f"undecided {model.__name__} fields"


def test_a_change_rebuilds_only_the_changed_endpoints_target() -> None:
    # Rebuilding every cached target after any change cost each endpoint a decryption on its next delivery:
    # at 100k webhooks, ~1.5 s of CPU per change (bench/scale).
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    view.apply("webhook", "w1", 1, webhook_state(box, "w1", previous_secrets=[]))
    view.apply(
        "webhook", "w2", 1, webhook_state(box, "w2", previous_secrets=[], url="https://hooks.example/2")
    )
    untouched = view.target("webhook", "w2", NOW)
    assert view.target("webhook", "w1", NOW) is not None

    view.apply(
        "webhook", "w1", 2, webhook_state(box, "w1", 2, previous_secrets=[], url="https://hooks.example/b")
    )

    changed = view.target("webhook", "w1", NOW)
    assert changed is not None
    assert changed.url == "https://hooks.example/b"
    assert view.target("webhook", "w2", NOW) is untouched


def test_delivery_event_subscribers_are_counted_per_tenant_through_every_change() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    view = ConfigView(box)
    view.apply("webhook", "a", 1, webhook_state(box, "a", events=["delivery.*"], previous_secrets=[]))
    view.apply("webhook", "b", 1, webhook_state(box, "b", events=["delivery.*"], previous_secrets=[]))

    def receivers() -> set[str]:
        return {target.id for target in view.targets_for(delivery_event("delivery.succeeded"))}

    assert receivers() == {"a", "b"}
    view.apply("webhook", "a", 2, None)  # deleted: the tenant still has b
    assert receivers() == {"b"}
    view.apply("webhook", "b", 2, webhook_state(box, "b", 2, events=["*"], previous_secrets=[]))
    assert receivers() == set()
    view.apply("webhook", "a", 3, webhook_state(box, "a", 3, events=["delivery.*"], previous_secrets=[]))
    assert receivers() == {"a"}
