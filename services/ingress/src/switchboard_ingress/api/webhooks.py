"""Native partner webhooks: ``POST /webhooks/{provider}/{integration_id}`` for Freshchat, Zendesk, Intercom and
Chatwoot (plus Chatwoot's secret-in-path form), and ``HEAD`` on the same URL for Intercom's URL check.

Order per request: the integration named in the URL → the signature over the **raw bytes** (401 before any
parsing) → JSON → the provider's normalizer → the gateway (drop, limit, dedup, publish). Answers:

- 200 ``{"status": "accepted", "event_ids": [...]}`` — the events are in Kafka;
- 200 ``{"status": "duplicate"}`` — a redelivery, acknowledged without a second event;
- 200 ``{"status": "ignored", "reason": ...}`` — loop prevention (agent, bot, private note, our own reply) or an
  event type we do not turn into events; acknowledged so the platform does not retry;
- 401 (signature), 404 (unknown integration), 400 / 422 (body), 413, 429 + Retry-After, 503 + Retry-After.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from switchboard_ingress.api.common import active_integration
from switchboard_ingress.deps import DirectoryDep, ServicesDep
from switchboard_ingress.domain import chatwoot, freshchat, intercom, zendesk
from switchboard_ingress.domain.directory import Integration
from switchboard_ingress.domain.inbound import InvalidPayload, Origin, Outcome
from switchboard_ingress.domain.signatures import (
    SignatureError,
    StaleTimestamp,
    verify_chatwoot,
    verify_freshchat,
    verify_intercom,
    verify_zendesk,
)
from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.service import Admission, Gateway, Limit, RateLimited, Unavailable
from switchboard_ingress.settings import IngressSettings
from switchboard_shared.http import ApiError, BoundedJsonRoute, parse_json_body
from switchboard_shared.signing import constant_time_equal

router = APIRouter(tags=["partner webhooks"], route_class=BoundedJsonRoute)


class NativeProvider(StrEnum):
    FRESHCHAT = "freshchat"
    ZENDESK = "zendesk"
    INTERCOM = "intercom"
    CHATWOOT = "chatwoot"


_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Signature missing, wrong or stale"},
    404: {"description": "Unknown integration"},
    413: {"description": "Body over SB_INGRESS_MAX_BODY_BYTES"},
    422: {"description": "Not the provider's documented payload"},
    429: {"description": "Over the integration's request limit; see Retry-After"},
    503: {"description": "Kafka did not acknowledge; retry after Retry-After"},
}


def _unauthorized(
    metrics: IngressMetrics, provider: str, exc: SignatureError | None, message: str = ""
) -> ApiError:
    stale = isinstance(exc, StaleTimestamp)
    reason = "stale_timestamp" if stale else "invalid_signature"
    metrics.signature_failures.labels(provider, reason).inc()
    metrics.webhooks.labels(provider, "unauthorized").inc()
    return ApiError(401, reason, message or str(exc))


def _not_configured(metrics: IngressMetrics, provider: str, field: str) -> ApiError:
    metrics.signature_failures.labels(provider, "not_configured").inc()
    return ApiError(
        401,
        "verification_not_configured",
        f"the integration has no verification.{field}; requests cannot be verified",
    )


def _verify(
    integration: Integration,
    provider: NativeProvider,
    body: bytes,
    headers: Mapping[str, str],
    settings: IngressSettings,
    metrics: IngressMetrics,
) -> None:
    if integration.broken:
        # A key that does not decrypt is an operator's problem; 503 makes the partner retry until it is fixed.
        raise ApiError(
            503,
            "integration_misconfigured",
            "the integration's verification secret is unusable",
            headers={"Retry-After": str(settings.retry_after_s * 12)},
        )
    try:
        if provider is NativeProvider.FRESHCHAT:
            if integration.public_key is None:
                raise _not_configured(metrics, provider, "public_key")
            verify_freshchat(integration.public_key, body, headers.get("x-freshchat-signature"))
        elif provider is NativeProvider.ZENDESK:
            if integration.signing_secret is None:
                raise _not_configured(metrics, provider, "signing_secret")
            verify_zendesk(
                integration.signing_secret,
                body,
                headers.get("x-zendesk-webhook-signature"),
                headers.get("x-zendesk-webhook-signature-timestamp"),
                tolerance_s=settings.signature_tolerance_s,
            )
        elif provider is NativeProvider.INTERCOM:
            if integration.client_secret is None:
                raise _not_configured(metrics, provider, "client_secret")
            verify_intercom(integration.client_secret, body, headers.get("x-hub-signature"))
        else:
            if integration.webhook_secret is None:
                raise _not_configured(metrics, provider, "webhook_secret (or use the path-token URL)")
            verify_chatwoot(
                integration.webhook_secret,
                body,
                headers.get("x-chatwoot-signature"),
                headers.get("x-chatwoot-timestamp"),
                tolerance_s=settings.signature_tolerance_s,
            )
    except SignatureError as exc:
        raise _unauthorized(metrics, provider, exc) from None


def _normalize(
    provider: NativeProvider,
    payload: dict[str, Any],
    origin: Origin,
    headers: Mapping[str, str],
    body: bytes,
) -> Outcome:
    if provider is NativeProvider.FRESHCHAT:
        return freshchat.normalize(payload, origin, headers)
    if provider is NativeProvider.ZENDESK:
        return zendesk.normalize(payload, origin, headers, body)
    if provider is NativeProvider.INTERCOM:
        return intercom.normalize(payload, origin)
    return chatwoot.normalize(payload, origin, headers)


def origin_of(integration: Integration) -> Origin:
    return Origin(
        tenant_id=integration.tenant_id,
        integration_id=integration.id,
        provider=integration.provider,
        own_ids=integration.own_ids,
        own_emails=integration.own_emails,
    )


def integration_limit(integration: Integration, settings: IngressSettings) -> Limit:
    return Limit(
        key=f"integration:{integration.id}",
        per_window=integration.rate_limit_per_minute or settings.rate_limit_per_minute,
    )


async def admit(
    gateway: Gateway, origin: Origin, outcome: Outcome, limit: Limit | None, settings: IngressSettings
) -> Admission:
    """The gateway's outcome, with its refusals as API errors (429 / 503 with Retry-After)."""
    try:
        return await gateway.admit(origin, outcome, limit)
    except RateLimited as exc:
        raise ApiError(
            429,
            "rate_limited",
            "too many requests for this integration",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except Unavailable:
        raise ApiError(
            503,
            "unavailable",
            "event store unavailable; retry later",
            headers={"Retry-After": str(settings.retry_after_s)},
        ) from None


def admission_body(admission: Admission) -> dict[str, Any]:
    if admission.status == "dropped":
        return {"status": "ignored", "reason": admission.reason}
    if admission.status == "duplicate":
        return {"status": "duplicate"}
    return {"status": "accepted", "event_ids": [event.id for event in admission.events]}


async def _receive(
    provider: NativeProvider,
    integration: Integration,
    request: Request,
    settings: IngressSettings,
    metrics: IngressMetrics,
    gateway: Gateway,
    *,
    verified: bool = False,
) -> dict[str, Any]:
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    if not verified:
        _verify(integration, provider, body, headers, settings, metrics)
    payload = parse_json_body(body, object_required=True)
    origin = origin_of(integration)
    try:
        outcome = _normalize(provider, payload, origin, headers, body)
    except InvalidPayload as exc:
        metrics.webhooks.labels(provider, "invalid").inc()
        raise ApiError(422, "validation_error", exc.message, field=exc.field) from None
    admission = await admit(gateway, origin, outcome, integration_limit(integration, settings), settings)
    return admission_body(admission)


@router.post(
    "/webhooks/{provider}/{integration_id}",
    summary="Receive a partner platform's webhook (Freshchat, Zendesk, Intercom, Chatwoot)",
    responses=_RESPONSES,
)
async def receive_webhook(
    provider: NativeProvider, integration_id: str, request: Request, services: ServicesDep
) -> dict[str, Any]:
    integration = active_integration(services.directory, integration_id, provider)
    return await _receive(
        provider, integration, request, services.settings, services.metrics, services.gateway
    )


@router.post(
    "/webhooks/chatwoot/{integration_id}/{path_token}",
    summary="Receive a Chatwoot webhook from an installation that does not sign (secret path segment)",
    responses=_RESPONSES,
)
async def receive_chatwoot_with_path_token(
    integration_id: str, path_token: str, request: Request, services: ServicesDep
) -> dict[str, Any]:
    settings, metrics, gateway = services.settings, services.metrics, services.gateway
    integration = active_integration(services.directory, integration_id, NativeProvider.CHATWOOT)
    expected = integration.path_token
    if expected is None:
        raise _not_configured(metrics, NativeProvider.CHATWOOT, "path_token")
    if not constant_time_equal(path_token, expected):
        raise _unauthorized(metrics, NativeProvider.CHATWOOT, None, "wrong path token")
    return await _receive(
        NativeProvider.CHATWOOT, integration, request, settings, metrics, gateway, verified=True
    )


@router.head(
    "/webhooks/{provider}/{integration_id}",
    summary="URL check (Intercom sends HEAD when a webhook URL is saved)",
    responses={404: {"description": "Unknown integration"}},
)
async def check_webhook_url(
    provider: NativeProvider, integration_id: str, directory: DirectoryDep
) -> Response:
    active_integration(directory, integration_id, provider)
    return Response(status_code=200)
