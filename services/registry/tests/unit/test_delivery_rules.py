"""The delivery log's pure rules: attempt identity, a delivery's derived status, and the public shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt
from switchboard_registry.domain import deliveries as rules

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _attempt(**overrides: Any) -> DeliveryAttempt:
    fields: dict[str, Any] = {
        "delivery_id": "msg_1",
        "event_id": "e1",
        "event_type": "message.created",
        "tenant_id": "t1",
        "endpoint_id": "w1",
        "endpoint_kind": "webhook",
        "url": "https://hooks.example.com/h",
        "attempt": 1,
        "outcome": "succeeded",
        "status_code": 200,
        "latency_ms": 12.5,
        "attempted_at": T0,
    }
    fields.update(overrides)
    return DeliveryAttempt(**fields)


def _event(attempt: DeliveryAttempt, **overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {
        "source": "/switchboard/dispatcher",
        "type": f"delivery.{attempt.outcome}",
        "tenant": attempt.tenant_id,
        "data": attempt.model_dump(mode="json"),
    }
    fields.update(overrides)
    return CloudEvent(**fields)


def test_a_manual_attempt_does_not_share_the_key_of_the_scheduled_attempt_with_its_number() -> None:
    scheduled = rules.attempt_key(_attempt())
    manual = rules.attempt_key(_attempt(command_id="c0ffee"))

    assert scheduled == "scheduled:1"
    assert manual == "c0ffee:1"
    assert rules.attempt_token(_attempt()) != rules.attempt_token(_attempt(command_id="c0ffee"))
    assert rules.attempt_token(_attempt()) == rules.attempt_token(_attempt(latency_ms=99.0))


def test_keys_that_are_not_safe_field_names_are_digested() -> None:
    assert rules.field_key("msg_abc-1:2") == "msg_abc-1:2"
    for unsafe in ("a.b", "$where", "x" * 200):
        key = rules.field_key(unsafe)
        assert key.startswith("h_")
        assert "." not in key
        assert "$" not in key


def test_the_latest_attempt_decides_the_status_whatever_order_they_came_in() -> None:
    first = rules.attempt_record(
        _attempt(outcome="retry_scheduled", status_code=500, next_attempt_at=T0 + timedelta(seconds=4))
    )
    second = rules.attempt_record(_attempt(attempt=2, attempted_at=T0 + timedelta(seconds=5)))

    summary = rules.summarize([second, first])

    assert summary["status"] == "succeeded"
    assert summary["attempt_count"] == 2
    assert summary["created_at"] == T0
    assert summary["last_attempt_at"] == T0 + timedelta(seconds=5)
    assert summary["next_attempt_at"] is None


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("retry_scheduled", "pending"),
        ("failed", "failed"),
        ("exhausted", "failed"),
        ("succeeded", "succeeded"),
    ],
)
def test_outcomes_map_to_delivery_statuses(outcome: str, status: str) -> None:
    summary = rules.summarize([rules.attempt_record(_attempt(outcome=outcome))])
    assert summary["status"] == status
    assert summary["outcome"] == outcome


def test_a_pending_delivery_shows_when_it_is_tried_next() -> None:
    due = T0 + timedelta(seconds=8)
    summary = rules.summarize(
        [rules.attempt_record(_attempt(outcome="retry_scheduled", next_attempt_at=due))]
    )
    assert summary["next_attempt_at"] == due


def test_response_bodies_and_errors_are_cut() -> None:
    record = rules.attempt_record(_attempt(response_body="x" * 10_000, error="e" * 10_000))
    assert len(record["response_body"]) == rules.RESPONSE_BODY_LIMIT
    assert len(record["error"]) == rules.ERROR_LIMIT


def test_parsing_an_attempt_event_takes_times_without_offset_as_utc() -> None:
    attempt = _attempt()
    data = attempt.model_dump(mode="json") | {"attempted_at": "2026-11-23T12:00:00"}

    parsed = rules.parse_attempt(_event(attempt, data=data))

    assert parsed.attempted_at == T0


def test_events_that_are_not_attempts_of_the_same_tenant_are_refused() -> None:
    attempt = _attempt()
    with pytest.raises(rules.NotAnAttempt):
        rules.parse_attempt(_event(attempt, type="message.created"))
    with pytest.raises(rules.NotAnAttempt):
        rules.parse_attempt(_event(attempt, tenant="someone-else"))
    with pytest.raises(ValidationError):
        rules.parse_attempt(_event(attempt, data={"delivery_id": "msg_1"}))


def test_a_redelivery_is_numbered_after_the_highest_recorded_attempt() -> None:
    records = [rules.attempt_record(_attempt(attempt=n)) for n in (1, 3, 2)]
    assert rules.next_attempt_number(records) == 4


def test_the_public_delivery_lists_attempts_oldest_first_in_camel_case() -> None:
    first = rules.attempt_record(_attempt(outcome="retry_scheduled", status_code=503, response_body="busy"))
    second = rules.attempt_record(
        _attempt(attempt=2, attempted_at=T0 + timedelta(seconds=4), command_id="c1")
    )
    document = {
        "delivery_id": "msg_1",
        "endpoint_id": "w1",
        "event_id": "e1",
        "event_type": "message.created",
        "attempts": {"c1:2": second, "scheduled:1": first},
        **rules.summarize([first, second]),
    }

    data = rules.public(document, with_attempts=True)

    assert data["_id"] == "msg_1"
    assert data["status"] == "succeeded"
    assert data["attemptCount"] == 2
    assert data["createdAt"] == "2026-11-23T12:00:00.000Z"
    assert [a["attempt"] for a in data["attempts"]] == [1, 2]
    assert data["attempts"][0] == {
        "attempt": 1,
        "trigger": "scheduled",
        "commandId": None,
        "attemptedAt": "2026-11-23T12:00:00.000Z",
        "outcome": "retry_scheduled",
        "statusCode": 503,
        "latencyMs": 12.5,
        "responseBody": "busy",
        "errorKind": None,
        "error": None,
        "nextAttemptAt": None,
        "url": "https://hooks.example.com/h",
    }
    assert data["attempts"][1]["trigger"] == "manual"
