"""The delivery log's records: attempts as stored, a delivery's derived status, and the public shapes.

A *delivery* is one (event, endpoint) pair — the dispatcher's deterministic ``delivery_id`` — and an *attempt*
one HTTP request of it. Attempts are identified by ``(delivery_id, command_id, attempt)``: the Svix/Outpost
``event_id:endpoint_id:attempt`` key, plus the redeliver/recover command that caused a manual attempt, so a
manual redelivery never overwrites the scheduled attempt with the same number.

A delivery's status is its latest attempt's outcome: ``succeeded``; ``pending`` while a retry is scheduled;
``failed`` once the dispatcher gave up (``failed``: not retryable, e.g. a 4xx or 410; ``exhausted``: the
retry schedule ran out — ``outcome`` keeps the difference).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, overload

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt, EventType
from switchboard_registry.domain.timestamps import iso

#: Stored and shown response bodies and error texts are cut to these lengths (the dispatcher truncates too).
RESPONSE_BODY_LIMIT = 4096
ERROR_LIMIT = 2048

DeliveryStatus = Literal["pending", "succeeded", "failed"]
STATUS_OF_OUTCOME: dict[str, DeliveryStatus] = {
    "succeeded": "succeeded",
    "retry_scheduled": "pending",
    "failed": "failed",
    "exhausted": "failed",
}
#: CloudEvent types the attempts topic carries; the payload's ``outcome`` is what counts.
ATTEMPT_TYPES = frozenset(
    {
        EventType.DELIVERY_ATTEMPTED,
        EventType.DELIVERY_SUCCEEDED,
        EventType.DELIVERY_FAILED,
        EventType.DELIVERY_RETRY_SCHEDULED,
        EventType.DELIVERY_EXHAUSTED,
    }
)
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_\-:]{1,128}$")


class NotAnAttempt(ValueError):
    """A record on the attempts topic that is not a delivery attempt this projection can store."""


def parse_attempt(event: CloudEvent) -> DeliveryAttempt:
    """The ``DeliveryAttempt`` an attempts-topic event carries (pydantic's ValidationError for bad data)."""
    if event.type not in ATTEMPT_TYPES:
        raise NotAnAttempt(f"event type {event.type!r} is not a delivery attempt")
    attempt = event.data_as(DeliveryAttempt)
    if event.tenant is not None and event.tenant != attempt.tenant_id:
        raise NotAnAttempt("the event's tenant attribute and the attempt's tenant_id differ")
    # Times without an offset are taken as UTC, so bucketing never depends on the registry's local zone.
    return attempt.model_copy(
        update={"attempted_at": utc(attempt.attempted_at), "next_attempt_at": utc(attempt.next_attempt_at)}
    )


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def field_key(text: str) -> str:
    """``text`` usable as a MongoDB field name (no ``.``/``$``): itself when plainly safe, else a digest."""
    if _SAFE_KEY.match(text):
        return text
    return "h_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def attempt_key(attempt: DeliveryAttempt) -> str:
    """The attempt's key within its delivery document."""
    run = field_key(attempt.command_id) if attempt.command_id else "scheduled"
    return f"{run}:{attempt.attempt}"


def attempt_token(attempt: DeliveryAttempt) -> str:
    """A short, globally unique token of the attempt, for the rollups' applied-once guards."""
    identity = f"{attempt.tenant_id}|{attempt.delivery_id}|{attempt.command_id or ''}|{attempt.attempt}"
    return base64.urlsafe_b64encode(hashlib.blake2b(identity.encode(), digest_size=9).digest()).decode()


def _cut(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[:limit]


def attempt_record(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "command_id": attempt.command_id,
        "outcome": attempt.outcome,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "response_body": _cut(attempt.response_body, RESPONSE_BODY_LIMIT),
        "error_kind": attempt.error_kind,
        "error": _cut(attempt.error, ERROR_LIMIT),
        "url": attempt.url,
        "attempted_at": utc(attempt.attempted_at),
        "next_attempt_at": utc(attempt.next_attempt_at),
    }


#: The fields of a stored attempt that ``attempt_record`` produces (the rest identify its delivery).
RECORD_FIELDS = (
    "attempt",
    "command_id",
    "outcome",
    "status_code",
    "latency_ms",
    "response_body",
    "error_kind",
    "error",
    "url",
    "attempted_at",
    "next_attempt_at",
)


def ordered(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(records, key=lambda record: (record["attempted_at"], record["attempt"]))


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The delivery's derived fields from all its attempt records (order-independent, so replays agree)."""
    attempts = ordered(records)
    if not attempts:
        raise ValueError("a delivery has at least one attempt")
    last = attempts[-1]
    return {
        "status": STATUS_OF_OUTCOME[last["outcome"]],
        "outcome": last["outcome"],
        "attempt_count": len(attempts),
        "created_at": attempts[0]["attempted_at"],
        "last_attempt_at": last["attempted_at"],
        "next_attempt_at": last["next_attempt_at"] if last["outcome"] == "retry_scheduled" else None,
        "last_status_code": last["status_code"],
        "last_error_kind": last["error_kind"],
        "last_error": last["error"],
        "url": last["url"],
    }


def next_attempt_number(records: Iterable[Mapping[str, Any]]) -> int:
    """The number a redelivery's attempt gets: one past the highest recorded, so its key is new."""
    return max((int(record["attempt"]) for record in records), default=0) + 1


def _public_attempt(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "attempt": record["attempt"],
        "trigger": "manual" if record.get("command_id") else "scheduled",
        "commandId": record.get("command_id"),
        "attemptedAt": iso(record["attempted_at"]),
        "outcome": record["outcome"],
        "statusCode": record["status_code"],
        "latencyMs": record["latency_ms"],
        "responseBody": record["response_body"],
        "errorKind": record["error_kind"],
        "error": record["error"],
        "nextAttemptAt": iso(record["next_attempt_at"]),
        "url": record["url"],
    }


def public(document: Mapping[str, Any], *, with_attempts: bool = False) -> dict[str, Any]:
    """A delivery as ``/api/webhooks/{id}/deliveries`` shows it (camelCase like seed 000's resources)."""
    data: dict[str, Any] = {
        "_id": document["delivery_id"],
        "webhookId": document["endpoint_id"],
        "eventId": document["event_id"],
        "eventType": document["event_type"],
        "url": document["url"],
        "status": document["status"],
        "outcome": document["outcome"],
        "attemptCount": document["attempt_count"],
        "lastStatusCode": document["last_status_code"],
        "lastErrorKind": document["last_error_kind"],
        "lastError": document["last_error"],
        "lastAttemptAt": iso(document["last_attempt_at"]),
        "nextAttemptAt": iso(document["next_attempt_at"]),
        "createdAt": iso(document["created_at"]),
    }
    if with_attempts:
        data["attempts"] = [_public_attempt(record) for record in ordered(document["attempts"].values())]
    return data
