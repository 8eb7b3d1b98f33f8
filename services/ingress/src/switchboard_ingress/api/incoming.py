"""seed 002: ``POST /api/webhook/incoming`` — a partner's own bridge sends its users' messages.

``Authorization: Bearer <token>`` names the integration (its ``verification.bearer_token``); bodies over 10 KB get
413 and each integration may send 100 requests a minute (429 + Retry-After beyond). The message becomes a
``message.received`` on Kafka.

- Default: **202** once the message is in Kafka; the AI answer goes out to the integration's
  ``outgoing_webhook_url`` (dispatcher). Body: ``{"success": true, "status": "accepted", "message_id", "response":
  null}``.
- ``?wait=true``: the request waits (at most ``SB_INGRESS_REPLY_TIMEOUT_S``, or ``?timeout=`` seconds if shorter)
  for the AI responder's answer over Kafka request/reply and returns the seed's **200** shape
  ``{"success": true, "response": {"answer", "response_type", "user_info"}, "message_id", "response_id"}``; if no
  answer comes in time, the 202 above (the answer then arrives by outgoing webhook).
- A redelivery (same ``Idempotency-Key``, ``metadata.message_id``, or conversation + user + timestamp + text)
  gets **200** ``{"success": true, "status": "duplicate", ...}`` and no second event.

Errors keep the shared error shape with seed 002's ``"success": false`` added.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import REPLY_STATUS_EXTENSION, REPLY_TO_EXTENSION, Reply
from switchboard_contracts.partners.inbound import Accepted, InvalidPayload
from switchboard_ingress.api.common import bearer_token, read_limited_body
from switchboard_ingress.api.webhooks import admit, integration_limit, origin_of
from switchboard_ingress.deps import ServicesDep
from switchboard_ingress.domain.generic import incoming_event, incoming_key, parse_incoming
from switchboard_platform.http import ApiError, BoundedJsonRoute, error_body, parse_json_body

router = APIRouter(tags=["seed 002: incoming messages"], route_class=BoundedJsonRoute)

HEADER_PARAMETERS = [
    {
        "name": "Authorization",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Bearer <the integration's verification.bearer_token>",
    },
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": 200},
        "description": "Deduplicates redeliveries of this message",
    },
]

#: replystatus → seed 002's ``response_type``. An answer found in the knowledge base is seed 002's
#: ``rag_knowledge_base``; the others name what happened instead of an answer.
RESPONSE_TYPES = {
    "answered": "rag_knowledge_base",
    "handoff": "live_chat_transfer",
    "held": "pending_review",
    "silent": "live_chat",
}


def _failure(exc: ApiError) -> JSONResponse:
    return JSONResponse(
        {"success": False, **error_body(exc.code, exc.message, exc.field)},
        exc.status_code,
        headers=exc.headers,
    )


def _answer(reply_event: CloudEvent, message: Any, message_id: str) -> dict[str, Any]:
    reply = reply_event.data_as(Reply)
    status = reply_event.extensions.get(REPLY_STATUS_EXTENSION, "answered")
    response: dict[str, Any] = {
        "answer": reply.text,
        "response_type": reply_event.extensions.get("responsetype") or RESPONSE_TYPES.get(status, status),
        "user_info": {"user_id": message.user_id, "username": message.username, "platform": message.platform},
    }
    if reply.content_type != "text":
        response["content_type"] = reply.content_type
        response["content_attributes"] = reply.content_attributes
    return {"success": True, "response": response, "message_id": message_id, "response_id": reply_event.id}


@router.post(
    "/api/webhook/incoming",
    status_code=202,
    summary="seed 002: receive a message from a partner platform's bridge",
    openapi_extra={"parameters": HEADER_PARAMETERS},
    responses={
        200: {"description": "The AI answer (?wait=true), or a duplicate acknowledged"},
        401: {},
        403: {},
        413: {},
        422: {},
        429: {},
        503: {},
    },
)
async def incoming(
    request: Request,
    services: ServicesDep,
    wait: Annotated[bool, Query(description="Wait for the AI answer and return it")] = False,
    wait_s: Annotated[
        float | None, Query(alias="timeout", gt=0, le=120, description="Seconds to wait (capped)")
    ] = None,
) -> Any:
    settings, metrics, directory = services.settings, services.metrics, services.directory
    gateway, replies = services.gateway, services.replies
    # Read here rather than as Header() parameters: each declared parameter costs the hot path a DI step.
    idempotency_key = request.headers.get("idempotency-key")
    try:
        if idempotency_key is not None and len(idempotency_key) > 200:
            raise ApiError(
                422, "validation_error", "Idempotency-Key: at most 200 characters", field="Idempotency-Key"
            )
        token = bearer_token(request.headers.get("authorization"))
        integration = directory.by_bearer(token) if token else None
        if integration is None:
            metrics.webhooks.labels("generic", "unauthorized").inc()
            raise ApiError(401, "unauthorized", "missing or invalid bearer token")
        if not integration.is_active:
            raise ApiError(403, "integration_inactive", "the integration is not active")
        body = await read_limited_body(request, min(settings.max_message_bytes, settings.max_body_bytes))
        payload = parse_json_body(body, object_required=True)
        try:
            message = parse_incoming(payload)
        except InvalidPayload as exc:
            raise ApiError(422, "validation_error", exc.message, field=exc.field) from None
        origin = origin_of(integration)
        raw_timestamp = payload.get("timestamp")
        key = incoming_key(message, raw_timestamp, idempotency_key)
        received, event = incoming_event(message, origin, key)
        correlation_id = uuid.uuid4().hex if wait else None
        if correlation_id is not None:
            event = event.model_copy(
                update={"extensions": {**event.extensions, REPLY_TO_EXTENSION: correlation_id}}
            )
            pending = replies.expect(correlation_id)
        try:
            admission = await admit(
                gateway, origin, Accepted((event,), key), integration_limit(integration, settings), settings
            )
            if admission.status == "duplicate":
                return JSONResponse(
                    {
                        "success": True,
                        "status": "duplicate",
                        "message_id": received.message_id,
                        "response": None,
                    },
                    200,
                )
            accepted = {
                "success": True,
                "status": "accepted",
                "message_id": received.message_id,
                "response": None,
            }
            if correlation_id is None:
                return JSONResponse(accepted, 202)
            wait_s = min(wait_s or settings.reply_timeout_s, settings.reply_timeout_s)
            try:
                reply_event = await asyncio.wait_for(pending, wait_s)
            except TimeoutError:
                metrics.sync_replies.labels("incoming", "timeout").inc()
                return JSONResponse(
                    {
                        **accepted,
                        "detail": f"no answer within {wait_s:g} s; it will be sent to the integration's outgoing webhook",
                    },
                    202,
                )
            metrics.sync_replies.labels("incoming", "answered").inc()
            return JSONResponse(_answer(reply_event, message, received.message_id), 200)
        finally:
            if correlation_id is not None:
                replies.forget(correlation_id)
    except ApiError as exc:
        return _failure(exc)
