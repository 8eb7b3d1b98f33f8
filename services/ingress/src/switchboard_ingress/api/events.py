"""``POST /v1/events``: other services publish CloudEvents over HTTP instead of Kafka.

A 202 means the event is in Kafka (acks=all). When Kafka does not acknowledge in time the answer is 503 with
``Retry-After`` so the caller retries; an accepted event is never dropped.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from switchboard_contracts.cloudevents import CloudEventError
from switchboard_contracts.signing import constant_time_equal
from switchboard_ingress.deps import services_of
from switchboard_ingress.domain.cloudevents_http import InvalidJson, parse_http_event
from switchboard_ingress.service import Unavailable
from switchboard_platform.http import ApiError, DirectRoute

# The hottest route of ingress, so a DirectRoute: the endpoint reads the request and builds its answer itself.
router = APIRouter(tags=["events"], route_class=DirectRoute)


class EventAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    id: str = Field(description="The event's id", examples=["evt-1"])
    type: str = Field(description="The event's type", examples=["message.created"])


@router.post(
    "/v1/events",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Publish a CloudEvent to platform.events",
    description="Authenticated by `Authorization: Bearer <the ingress's SB_EVENTS_TOKEN>`.",
    response_model=EventAccepted,
    responses={400: {}, 401: {}, 413: {}, 422: {}, 503: {}},
)
async def post_event(request: Request) -> Response:
    services = services_of(request)
    settings, metrics = services.settings, services.metrics
    expected = "Bearer " + settings.events_token.get_secret_value()
    authorization = request.headers.get("authorization")
    if authorization is None or not constant_time_equal(authorization, expected):
        raise ApiError(401, "unauthorized", "missing or invalid bearer token")
    body = await request.body()  # the app-wide BodySizeLimit middleware already refused bodies over the limit
    try:
        event = parse_http_event(body, request.headers)
    except InvalidJson as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None
    except CloudEventError as exc:
        raise ApiError(422, "validation_error", str(exc), field=_field_of(str(exc))) from None
    try:
        await services.gateway.sink.publish([event])
    except Unavailable as exc:
        metrics.publish_failures.inc()
        raise ApiError(
            503,
            "unavailable",
            "event store unavailable; retry later",
            headers={"Retry-After": str(settings.retry_after_s)},
        ) from exc
    metrics.events_accepted.labels(event.type).inc()
    accepted = EventAccepted(id=event.id, type=event.type)
    return Response(accepted.model_dump_json(), status.HTTP_202_ACCEPTED, media_type="application/json")


def _field_of(message: str) -> str | None:
    # CloudEventError messages read "invalid CloudEvent attribute <name>: ..." when one attribute is at fault.
    prefix = "invalid CloudEvent attribute "
    return message.removeprefix(prefix).split(":", 1)[0] if message.startswith(prefix) else None
