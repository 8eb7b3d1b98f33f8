"""The delivery log of one webhook: ``/api/webhooks/{id}/deliveries…``, ``/stats`` and ``/recover``.

Reads come from the projection of the dispatcher's attempt events; redeliver and recover publish commands the
dispatcher obeys (202: queued, not yet done — the attempts they cause appear in the log as they happen, marked
``trigger: manual``). An unknown webhook, another tenant's, or a delivery of another webhook is 404.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CommandType, EndpointKind, RecoverEndpoint, RedeliverDelivery
from switchboard_contracts.fields import ClientDatetime
from switchboard_platform.http import ApiError, BoundedJsonRoute, success_body
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.adapters.event_log import EventLog
from switchboard_registry.adapters.tenants import Principal
from switchboard_registry.adapters.webhooks import WebhookStore
from switchboard_registry.api.envelopes import Envelope, Page, PageNumber, Pagination, PerPage, errors
from switchboard_registry.commands import send_command
from switchboard_registry.deps import CommandsDep, DeliveriesRead, DeliveriesWrite, WebhooksDep
from switchboard_registry.domain import deliveries as rules
from switchboard_registry.domain import delivery_stats as stats
from switchboard_registry.domain.delivery_log import no_progress
from switchboard_registry.domain.timestamps import iso

router = APIRouter(prefix="/api/webhooks", tags=["deliveries"], route_class=BoundedJsonRoute)
KIND: EndpointKind = "webhook"


def _log(request: Request) -> DeliveryLog:
    store: DeliveryLog = request.app.state.deliveries
    return store


def _event_log(request: Request) -> EventLog:
    store: EventLog = request.app.state.event_log
    return store


LogDep = Annotated[DeliveryLog, Depends(_log)]
EventLogDep = Annotated[EventLog, Depends(_event_log)]
WebhookId = Annotated[str, Path(description="The webhook id (24 hex characters)")]
DeliveryId = Annotated[
    str, Path(max_length=200, description="The delivery id (msg_…), stable across retries")
]


# -- response shapes (for the OpenAPI document; routes return the domain's dicts) --------------------------------


class AttemptPublic(BaseModel):
    attempt: int
    trigger: Literal["scheduled", "manual"]
    commandId: str | None = Field(description="The redeliver/recover command a manual attempt answers")
    attemptedAt: str
    outcome: Literal["succeeded", "failed", "retry_scheduled", "exhausted"]
    statusCode: int | None
    latencyMs: float | None
    responseBody: str | None = Field(
        description=f"The response body, cut to {rules.RESPONSE_BODY_LIMIT} chars"
    )
    errorKind: str | None
    error: str | None
    nextAttemptAt: str | None
    url: str


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id", description="The delivery id")
    webhookId: str
    eventId: str
    eventType: str
    url: str
    status: rules.DeliveryStatus = Field(description="pending while a retry is scheduled")
    outcome: str = Field(description="The latest attempt's outcome (failed vs exhausted)")
    attemptCount: int
    lastStatusCode: int | None
    lastErrorKind: str | None
    lastError: str | None
    lastAttemptAt: str
    nextAttemptAt: str | None
    createdAt: str = Field(description="When the first attempt was made")


class DeliveryDetail(DeliveryPublic):
    attempts: list[AttemptPublic] = Field(description="Every attempt, oldest first")


class Window(BaseModel):
    since: str
    until: str
    seconds: int


class Stats(BaseModel):
    webhookId: str
    window: Window
    successRate: float | None = Field(description="Succeeded / completed deliveries in the window")
    deliveries: dict[str, Any]
    attempts: dict[str, Any]
    responseTime: dict[str, Any] = Field(
        description="Over attempts that got a response; percentiles within 1 %"
    )
    retries: dict[str, Any]
    errors: dict[str, Any]


class CommandAccepted(BaseModel):
    command: str = Field(description="The dispatcher command published")
    commandId: str = Field(description="Its id; the attempts it causes carry it as commandId")
    webhookId: str
    deliveryId: str | None = None
    attempt: int | None = Field(default=None, description="The new attempt's number (redeliver)")
    since: str | None = None
    until: str | None = Field(default=None, description="null: up to when the dispatcher obeys (recover)")
    progress: str | None = Field(default=None, description="Where the recover's progress is (recover)")
    message: str


class RecoverProgress(BaseModel):
    commandId: str
    webhookId: str
    attempted: int = Field(description="Deliveries the command attempted again so far")
    succeeded: int = Field(description="… whose latest attempt by the command succeeded")
    failed: int = Field(description="… failed for good")
    pending: int = Field(description="… with a retry scheduled")


class RecoverWindow(BaseModel):
    """Optional JSON body of ``/recover`` (Svix's shape); the same fields may be sent as query parameters."""

    model_config = ConfigDict(extra="forbid")

    since: ClientDatetime | None = None
    until: ClientDatetime | None = None


# -- routes --------------------------------------------------------------------------------------------------


def _missing(what: str = "webhook") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


async def _webhook(webhooks: WebhookStore, principal: Principal, webhook_id: str) -> dict[str, Any]:
    document = await webhooks.get(principal.tenant_id, webhook_id)
    if document is None:
        raise _missing()
    return document


@router.get(
    "/{webhook_id}/deliveries",
    summary="List a webhook's deliveries (newest first)",
    response_model=Page[DeliveryPublic],
    responses=errors(401, 403, 404, 422),
)
async def list_deliveries(
    webhook_id: WebhookId,
    principal: DeliveriesRead,
    webhooks: WebhooksDep,
    deliveries: LogDep,
    status: Annotated[
        rules.DeliveryStatus | None, Query(description="Only deliveries in this status")
    ] = None,
    event_type: Annotated[str | None, Query(max_length=200, description="Only this event type")] = None,
    event_id: Annotated[str | None, Query(max_length=200, description="Only this event's delivery")] = None,
    page: PageNumber = 1,
    per_page: PerPage = 20,
    since: Annotated[
        ClientDatetime | None, Query(description="Only deliveries first attempted at or after this time")
    ] = None,
    until: Annotated[ClientDatetime | None, Query(description="… and before this time")] = None,
) -> dict[str, Any]:
    await _webhook(webhooks, principal, webhook_id)
    items, total = await deliveries.page(
        principal.tenant_id,
        KIND,
        webhook_id,
        page=page,
        per_page=per_page,
        status=status,
        event_type=event_type,
        event_id=event_id,
        since=None if since is None else since.astimezone(UTC),
        until=None if until is None else until.astimezone(UTC),
    )
    return success_body(
        [rules.public(document) for document in items],
        pagination=Pagination.of(page, per_page, total).model_dump(),
    )


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    summary="Get a delivery with every attempt",
    response_model=Envelope[DeliveryDetail],
    responses=errors(401, 403, 404),
)
async def get_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    principal: DeliveriesRead,
    webhooks: WebhooksDep,
    deliveries: LogDep,
) -> dict[str, Any]:
    await _webhook(webhooks, principal, webhook_id)
    document = await deliveries.get(principal.tenant_id, KIND, webhook_id, delivery_id)
    if document is None:
        raise _missing("delivery")
    return success_body(rules.public(document, with_attempts=True))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Attempt a delivery again",
    description="Publishes a redeliver command carrying the event (from the registry's event log): the "
    "dispatcher makes one new attempt, whatever the delivery's status, numbered after the last one. 409 when "
    "the event is not in the event log (which keeps what came through platform.events).",
    response_model=Envelope[CommandAccepted],
    responses=errors(401, 403, 404, 409),
)
async def redeliver(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    principal: DeliveriesWrite,
    webhooks: WebhooksDep,
    deliveries: LogDep,
    event_log: EventLogDep,
    commands: CommandsDep,
) -> dict[str, Any]:
    await _webhook(webhooks, principal, webhook_id)
    delivery = await deliveries.get(principal.tenant_id, KIND, webhook_id, delivery_id)
    if delivery is None:
        raise _missing("delivery")
    event = await _logged_event(event_log, principal.tenant_id, delivery["event_id"])
    if event is None:
        raise ApiError(
            409,
            "event_unavailable",
            "the event of this delivery is not in the event log, so it cannot be sent again",
        )
    attempt = rules.next_attempt_number(delivery["attempts"].values())
    command = await send_command(
        commands,
        CommandType.REDELIVER,
        principal.tenant_id,
        webhook_id,
        RedeliverDelivery(
            tenant_id=principal.tenant_id,
            endpoint_id=webhook_id,
            endpoint_kind=KIND,
            delivery_id=delivery_id,
            event=event.structured(),
            attempt=attempt,
            requested_by=principal.key_id,
        ),
    )
    return success_body(
        {
            "command": CommandType.REDELIVER.value,
            "commandId": command.id,
            "webhookId": webhook_id,
            "deliveryId": delivery_id,
            "attempt": attempt,
            "message": "redelivery queued",
        },
    )


#: How long a redelivery waits for its event to reach the event log. The event log and the delivery log are
#: separate projections, each waiting at the broker for a batch (up to 250 ms, ADR 0008): a delivery can be
#: listed a moment before its event is logged, and "redeliver" clicked right then should not fail for it.
EVENT_LOG_WAIT_S = 3.0
EVENT_LOG_POLL_S = 0.25


async def _logged_event(event_log: EventLog, tenant_id: str, event_id: str) -> CloudEvent | None:
    """The delivery's event from the event log, waiting up to ``EVENT_LOG_WAIT_S`` for the projection to catch
    up; None when it is not there by then (expired from the log, or never projected)."""
    deadline = time.monotonic() + EVENT_LOG_WAIT_S
    while True:
        event = await event_log.find(tenant_id, event_id)
        if event is not None or time.monotonic() >= deadline:
            return event
        await asyncio.sleep(EVENT_LOG_POLL_S)


@router.get(
    "/{webhook_id}/stats",
    summary="Delivery metrics over a window (seed 001)",
    description="Success rate, average and p50/p95/p99 response time, retry counts and error rates by kind "
    "over `window` back from now (e.g. 15m, 24h, 7d; default 24h) or over `since`..`until`, aligned to whole "
    "minutes, at most the last 30 days.",
    response_model=Envelope[Stats],
    responses=errors(401, 403, 404, 422),
)
async def webhook_stats(
    webhook_id: WebhookId,
    principal: DeliveriesRead,
    webhooks: WebhooksDep,
    deliveries: LogDep,
    window: Annotated[str | None, Query(max_length=10, description="15m, 24h, 7d … (default 24h)")] = None,
    since: Annotated[ClientDatetime | None, Query(description="Window start (RFC 3339 with offset)")] = None,
    until: Annotated[ClientDatetime | None, Query(description="Window end (default now)")] = None,
) -> dict[str, Any]:
    await _webhook(webhooks, principal, webhook_id)
    try:
        start, end = stats.resolve_window(window, since, until, datetime.now(UTC))
    except stats.InvalidWindow as exc:
        raise ApiError(422, "validation_error", str(exc), field=exc.field) from None
    counters = await deliveries.counters(principal.tenant_id, KIND, webhook_id, start, end)
    return success_body(
        {
            "webhookId": webhook_id,
            "window": {
                "since": iso(start),
                "until": iso(end),
                "seconds": int((end - start).total_seconds()),
            },
            **stats.summarize(counters),
        },
    )


def _recover_window(
    query_since: datetime | None, query_until: datetime | None, body: RecoverWindow | None, now: datetime
) -> tuple[datetime, datetime | None]:
    since, until = query_since, query_until
    if body is not None:
        for name, sent, value in (("since", query_since, body.since), ("until", query_until, body.until)):
            if sent is not None and value is not None:
                raise ApiError(
                    422, "validation_error", f"{name}: send it in the query or the body, not both", field=name
                )
        since, until = since or body.since, until or body.until
    if since is None:
        raise ApiError(
            422, "validation_error", "since: required (RFC 3339, e.g. 2026-01-01T00:00:00Z)", "since"
        )
    try:
        # The stats window's rules: offsets required, since before until, at most 30 days back.
        stats.resolve_window(None, since, until or now, now)
    except stats.InvalidWindow as exc:
        raise ApiError(422, "validation_error", str(exc), field=exc.field) from None
    return since.astimezone(UTC), None if until is None else until.astimezone(UTC)


@router.post(
    "/{webhook_id}/recover",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Replay every failed delivery since a time",
    description="Publishes a recover command: the dispatcher attempts again every delivery of this webhook "
    "that it gave up on (failed, exhausted, or skipped while the webhook was disabled) for events that "
    "happened in `since`..`until` (until: when the command is obeyed; at most 30 days back, the dead-letter "
    "topic's retention). `since`/`until` go in the query string or in a JSON body.",
    response_model=Envelope[CommandAccepted],
    responses=errors(400, 401, 403, 404, 413, 422),
)
async def recover(
    webhook_id: WebhookId,
    principal: DeliveriesWrite,
    webhooks: WebhooksDep,
    commands: CommandsDep,
    since: Annotated[
        ClientDatetime | None, Query(description="Replay failures from this time (required)")
    ] = None,
    until: Annotated[ClientDatetime | None, Query(description="… up to this time (default: now)")] = None,
    body: RecoverWindow | None = None,
) -> dict[str, Any]:
    await _webhook(webhooks, principal, webhook_id)
    start, end = _recover_window(since, until, body, datetime.now(UTC))
    command = await send_command(
        commands,
        CommandType.RECOVER,
        principal.tenant_id,
        webhook_id,
        RecoverEndpoint(
            tenant_id=principal.tenant_id,
            endpoint_id=webhook_id,
            since=start,
            until=end,
            requested_by=principal.key_id,
        ),
    )
    return success_body(
        {
            "command": CommandType.RECOVER.value,
            "commandId": command.id,
            "webhookId": webhook_id,
            "since": iso(start),
            "until": iso(end),
            "progress": f"/api/webhooks/{webhook_id}/recover/{command.id}",
            "message": "recovery queued: deliveries the dispatcher gave up on in the window will be attempted again",
        },
    )


CommandId = Annotated[str, Path(max_length=200, description="The commandId a recover answered with")]


@router.get(
    "/{webhook_id}/recover/{command_id}",
    summary="A recover's progress",
    description="How many deliveries the recover command attempted again so far, and how many of them "
    "succeeded, failed for good or wait for a retry (by the command's own attempts). All zero until its first "
    "attempt reaches the delivery log; kept for the webhook's 20 latest redeliver and recover commands.",
    response_model=Envelope[RecoverProgress],
    responses=errors(401, 403, 404),
)
async def recover_progress(
    webhook_id: WebhookId,
    command_id: CommandId,
    principal: DeliveriesRead,
    webhooks: WebhooksDep,
    deliveries: LogDep,
) -> dict[str, Any]:
    await _webhook(webhooks, principal, webhook_id)
    counts = await deliveries.command_progress(principal.tenant_id, KIND, webhook_id, command_id)
    return success_body(
        {
            "commandId": command_id,
            "webhookId": webhook_id,
            **(counts or no_progress()),
        }
    )
