"""Native partner webhooks: ``POST /webhooks/{provider}/{integration_id}`` for every registered partner with an
inbound webhook (Freshchat, Zendesk, Intercom, Chatwoot), plus the secret-in-path form for partners that offer it
(Chatwoot), and ``HEAD`` on the same URL for Intercom's URL check. ``build_router`` makes the routes from the
partner registry; the partner's module verifies and normalizes.

Order per request: the integration named in the URL → the signature over the **raw bytes** (401 before any
parsing) → JSON → the provider's normalizer → the gateway (drop, limit, dedup, publish). Answers:

- 200 ``{"status": "accepted", "event_ids": [...]}`` — the events are in Kafka;
- 200 ``{"status": "duplicate"}`` — a redelivery, acknowledged without a second event;
- 200 ``{"status": "ignored", "reason": ...}`` — loop prevention (agent, bot, private note, our own reply) or an
  event type we do not turn into events; acknowledged so the platform does not retry;
- 401 (signature), 404 (unknown integration), 400 / 422 (body), 413, 429 + Retry-After, 503 + Retry-After.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response

from switchboard_contracts.partners.base import (
    Inbound,
    InboundRequest,
    NotConfigured,
    Partner,
    StaleTimestamp,
)
from switchboard_contracts.partners.inbound import InvalidPayload, Origin, Outcome
from switchboard_contracts.signing import SignatureError, constant_time_equal
from switchboard_ingress.api.common import active_integration
from switchboard_ingress.deps import DirectoryDep, ServicesDep
from switchboard_ingress.domain.directory import Integration
from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.service import Admission, Gateway, Limit, RateLimited, Unavailable
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.http import ApiError, BoundedJsonRoute, parse_json_body

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


def _not_configured(metrics: IngressMetrics, provider: str, exc: NotConfigured) -> ApiError:
    metrics.signature_failures.labels(provider, "not_configured").inc()
    return ApiError(401, "verification_not_configured", str(exc))


def _verify(
    integration: Integration,
    inbound: Inbound,
    request: InboundRequest,
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
        inbound.verify(integration.verification, request, tolerance_s=settings.signature_tolerance_s)
    except NotConfigured as exc:
        raise _not_configured(metrics, integration.provider, exc) from None
    except SignatureError as exc:
        raise _unauthorized(metrics, integration.provider, exc) from None


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
    inbound: Inbound,
    integration: Integration,
    request: Request,
    settings: IngressSettings,
    metrics: IngressMetrics,
    gateway: Gateway,
    *,
    verified: bool = False,
) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in request.headers.items()}
    inbound_request = InboundRequest(await request.body(), headers)
    if not verified:
        _verify(integration, inbound, inbound_request, settings, metrics)
    payload = parse_json_body(inbound_request.body, object_required=True)
    origin = origin_of(integration)
    try:
        outcome = inbound.normalize(payload, origin, inbound_request)
    except InvalidPayload as exc:
        metrics.webhooks.labels(integration.provider, "invalid").inc()
        raise ApiError(422, "validation_error", exc.message, field=exc.field) from None
    admission = await admit(gateway, origin, outcome, integration_limit(integration, settings), settings)
    return admission_body(admission)


def build_router(registered: Sequence[Partner]) -> APIRouter:
    """The webhook routes of the partners in ``registered`` that have an inbound webhook."""
    router = APIRouter(tags=["partner webhooks"], route_class=BoundedJsonRoute)
    inbound = {partner.name: partner.inbound for partner in registered if partner.inbound is not None}
    titles = ", ".join(partner.title for partner in registered if partner.inbound is not None)
    # The path parameter's enum, so the OpenAPI document lists the partners (and FastAPI answers 422 for others).
    native = StrEnum("NativeProvider", {name.upper(): name for name in inbound})  # type: ignore[misc]

    async def receive_webhook(
        provider: StrEnum, integration_id: str, request: Request, services: ServicesDep
    ) -> dict[str, Any]:
        integration = active_integration(services.directory, integration_id, provider)
        return await _receive(
            inbound[provider], integration, request, services.settings, services.metrics, services.gateway
        )

    async def check_webhook_url(provider: StrEnum, integration_id: str, directory: DirectoryDep) -> Response:
        active_integration(directory, integration_id, provider)
        return Response(status_code=200)

    receive_webhook.__annotations__["provider"] = native
    check_webhook_url.__annotations__["provider"] = native
    router.post(
        "/webhooks/{provider}/{integration_id}",
        summary=f"Receive a partner platform's webhook ({titles})",
        responses=_RESPONSES,
    )(receive_webhook)
    for partner in registered:
        if partner.inbound is not None and partner.inbound.path_token:
            router.post(
                f"/webhooks/{partner.name}/{{integration_id}}/{{path_token}}",
                name=f"receive_{partner.name}_with_path_token",
                summary=f"Receive a {partner.title} webhook from an installation that does not sign (secret path "
                "segment)",
                responses=_RESPONSES,
            )(_path_token_receiver(partner.name, partner.inbound))
    router.head(
        "/webhooks/{provider}/{integration_id}",
        summary="URL check (Intercom sends HEAD when a webhook URL is saved)",
        responses={404: {"description": "Unknown integration"}},
    )(check_webhook_url)
    return router


def _path_token_receiver(name: str, inbound: Inbound) -> Callable[..., Any]:
    async def receive_with_path_token(
        integration_id: str, path_token: str, request: Request, services: ServicesDep
    ) -> dict[str, Any]:
        settings, metrics, gateway = services.settings, services.metrics, services.gateway
        integration = active_integration(services.directory, integration_id, name)
        expected = integration.path_token
        if expected is None:
            raise _not_configured(metrics, name, NotConfigured("path_token"))
        if not constant_time_equal(path_token, expected):
            raise _unauthorized(metrics, name, None, "wrong path token")
        return await _receive(inbound, integration, request, settings, metrics, gateway, verified=True)

    return receive_with_path_token
