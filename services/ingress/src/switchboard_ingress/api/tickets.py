"""seed 003: ``POST /api/webhooks/receive`` — ``{"event": "ticket.create", "data": {...}}`` becomes ``ticket.created``.

The seed does not say how a request names its tenant, so ingress decides it from the integration (a ``generic``
integration in the registry, which also holds the seed's "webhook secret"):

- ``Authorization: Bearer <verification.bearer_token>`` identifies the integration (the same token as seed 002).
  If the integration also has a ``verification.webhook_secret``, ``X-Webhook-Signature`` is then required.
- Or ``?integration=<id>``, for tools that cannot set an Authorization header: the integration must have a
  ``webhook_secret`` and the request must carry a valid ``X-Webhook-Signature`` (hex HMAC-SHA256 of the body,
  the seed's own code) — the signature is then what authenticates it.

Neither → 401: a ticket is never created anonymously. Answers: 202 ``{"success": true, "event":
"ticket.created", "ticket": {...}}`` once it is in Kafka; 200 with ``"status": "duplicate"`` for a redelivery
(same ``Idempotency-Key`` or the same body), which names the same ticket id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from switchboard_contracts.events import EventType
from switchboard_contracts.partners.inbound import Accepted, InvalidPayload
from switchboard_contracts.signing import WEBHOOK_SIGNATURE_HEADER, SignatureError, verify_hex_signature
from switchboard_ingress.api.common import active_integration, bearer_token
from switchboard_ingress.api.webhooks import admit, integration_limit, origin_of
from switchboard_ingress.deps import DirectoryDep, GatewayDep, MetricsDep, SettingsDep
from switchboard_ingress.domain.generic import parse_ticket, ticket_event, ticket_key
from switchboard_platform.http import ApiError, BoundedJsonRoute, parse_json_body

router = APIRouter(tags=["seed 003: tickets"], route_class=BoundedJsonRoute)


@router.post(
    "/api/webhooks/receive",
    status_code=202,
    summary="seed 003: create a ticket from an external system",
    responses={
        200: {"description": "Duplicate, acknowledged"},
        401: {},
        404: {},
        413: {},
        422: {},
        429: {},
        503: {},
    },
)
async def receive_ticket(
    request: Request,
    settings: SettingsDep,
    metrics: MetricsDep,
    directory: DirectoryDep,
    gateway: GatewayDep,
    integration_id: Annotated[
        str | None, Query(alias="integration", description="When no bearer token is sent")
    ] = None,
    authorization: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    token = bearer_token(authorization)
    if token is not None:
        integration = directory.by_bearer(token)
        if integration is None:
            raise ApiError(401, "unauthorized", "invalid bearer token")
        if not integration.is_active:
            raise ApiError(403, "integration_inactive", "the integration is not active")
    elif integration_id is not None:
        integration = active_integration(directory, integration_id)
        if integration.webhook_secret is None:
            raise ApiError(
                401,
                "unauthorized",
                "this integration has no webhook secret: send its bearer token, or configure "
                "verification.webhook_secret and sign with X-Webhook-Signature",
            )
    else:
        raise ApiError(
            401,
            "unauthorized",
            "send the integration's bearer token, or ?integration=<id> with X-Webhook-Signature",
        )
    body = await request.body()
    if integration.webhook_secret is not None:
        try:
            verify_hex_signature(
                [integration.webhook_secret], body, request.headers.get(WEBHOOK_SIGNATURE_HEADER)
            )
        except SignatureError as exc:
            metrics.signature_failures.labels("generic", "invalid_signature").inc()
            raise ApiError(401, "invalid_signature", str(exc)) from None
    try:
        webhook = parse_ticket(parse_json_body(body, object_required=True))
    except InvalidPayload as exc:
        raise ApiError(422, "validation_error", exc.message, field=exc.field) from None
    origin = origin_of(integration)
    key = ticket_key(body, idempotency_key)
    ticket, event = ticket_event(webhook, origin, key)
    admission = await admit(
        gateway, origin, Accepted((event,), key), integration_limit(integration, settings), settings
    )
    body_out: dict[str, Any] = {
        "success": True,
        "event": EventType.TICKET_CREATED.value,
        "ticket": ticket.model_dump(mode="json", exclude_none=True),
    }
    if admission.status == "duplicate":
        return JSONResponse({**body_out, "status": "duplicate"}, 200)
    return JSONResponse({**body_out, "status": "accepted", "event_id": event.id}, 202)
