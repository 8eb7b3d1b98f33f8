"""``/api/webhooks``: webhook subscriptions, exactly at seed 000's paths and in its response envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, status

from switchboard_contracts.events import CommandType, EventType, SendTestEvent
from switchboard_platform.http import ApiError, ApiWarning, BoundedJsonRoute, success_body
from switchboard_platform.netsafety import CheckedUrl
from switchboard_platform.openapi import error_responses
from switchboard_registry.adapters.tenants import Principal
from switchboard_registry.adapters.webhooks import WebhookStore
from switchboard_registry.api.envelopes import PageNumber, Pagination, PerPage, errors
from switchboard_registry.commands import send_command
from switchboard_registry.deps import CommandsDep, ServicesDep, WebhooksDep, WebhooksRead, WebhooksWrite
from switchboard_registry.domain import webhooks as rules
from switchboard_registry.domain.timestamps import iso_seconds
from switchboard_registry.domain.urls import check_endpoint_url

#: An API key without the webhooks scope gets 403 on every route.
router = APIRouter(
    prefix="/api/webhooks", tags=["webhooks"], responses=errors(403), route_class=BoundedJsonRoute
)

NOT_FOUND = error_responses({404: "No such webhook for this tenant"})


def _missing() -> ApiError:
    return ApiError(404, "not_found", "webhook not found")


async def _checked_url(url: str, principal: Principal, services: ServicesDep) -> CheckedUrl:
    return await check_endpoint_url(
        url,
        field="url",
        development_mode=principal.development_mode,
        policy=services.address_policy(principal.development_mode),
        resolver=services.resolver,
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a webhook")
async def create_webhook(
    body: rules.WebhookCreate, principal: WebhooksWrite, services: ServicesDep, store: WebhooksDep
) -> dict[str, Any]:
    checked = await _checked_url(body.url, principal, services)
    secret = rules.new_secret(body.secret)
    document = await store.create(
        principal.tenant_id,
        principal.key_id,
        {
            "name": body.name,
            "url": checked.url,
            "description": body.description,
            "events": body.events,
            "active": body.active,
            "secret": services.box.encrypt(secret),
            "delivery": body.delivery.model_dump(),
        },
    )
    return success_body(rules.public(document, services.box), warnings=checked.warnings)


@router.get("", summary="List webhooks (paginated)")
async def list_webhooks(
    principal: WebhooksRead,
    services: ServicesDep,
    store: WebhooksDep,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> dict[str, Any]:
    items, total = await store.page(principal.tenant_id, page, per_page)
    return success_body(
        [rules.public(document, services.box, with_secret=False) for document in items],
        pagination=Pagination.of(page, per_page, total).model_dump(),
    )


@router.get("/{webhook_id}", summary="Get a webhook", responses=NOT_FOUND)
async def get_webhook(
    webhook_id: str, principal: WebhooksRead, services: ServicesDep, store: WebhooksDep
) -> dict[str, Any]:
    document = await store.get(principal.tenant_id, webhook_id)
    if document is None:
        raise _missing()
    return success_body(rules.public(document, services.box))


async def _update(
    webhook_id: str,
    body: rules.WebhookUpdate,
    principal: Principal,
    services: ServicesDep,
    store: WebhookStore,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    warnings: tuple[ApiWarning, ...] = ()
    if changes.get("url") is not None:
        checked = await _checked_url(changes["url"], principal, services)
        changes["url"], warnings = checked.url, checked.warnings
    for name in ("name", "url", "events", "active", "delivery"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "validation_error", f"{name}: may not be null", field=name)
    if changes.get("active") is True:
        # Re-enabling clears an automatic disable (410 Gone, failing too long).
        changes.update({"disabledReason": None, "disabledAt": None})
    document = await store.update(principal.tenant_id, webhook_id, changes)
    if document is None:
        raise _missing()
    return success_body(rules.public(document, services.box), warnings=warnings)


@router.put(
    "/{webhook_id}", summary="Update a webhook (seed 000: send the fields to change)", responses=NOT_FOUND
)
async def put_webhook(
    webhook_id: str,
    body: rules.WebhookUpdate,
    principal: WebhooksWrite,
    services: ServicesDep,
    store: WebhooksDep,
) -> dict[str, Any]:
    return await _update(webhook_id, body, principal, services, store)


@router.patch("/{webhook_id}", summary="Update some fields of a webhook", responses=NOT_FOUND)
async def patch_webhook(
    webhook_id: str,
    body: rules.WebhookUpdate,
    principal: WebhooksWrite,
    services: ServicesDep,
    store: WebhooksDep,
) -> dict[str, Any]:
    return await _update(webhook_id, body, principal, services, store)


@router.delete("/{webhook_id}", summary="Delete a webhook", responses=NOT_FOUND)
async def delete_webhook(webhook_id: str, principal: WebhooksWrite, store: WebhooksDep) -> dict[str, Any]:
    if not await store.delete(principal.tenant_id, webhook_id):
        raise _missing()
    return success_body({"_id": webhook_id, "deleted": True})


@router.post("/{webhook_id}/regenerate-secret", summary="Regenerate the signing secret", responses=NOT_FOUND)
async def regenerate_secret(
    webhook_id: str, principal: WebhooksWrite, services: ServicesDep, store: WebhooksDep
) -> dict[str, Any]:
    document = await store.get(principal.tenant_id, webhook_id)
    if document is None:
        raise _missing()
    grace = timedelta(seconds=services.settings.secret_rotation_grace_s)
    changes = rules.rotate(document, services.box, grace)
    updated = await store.update(principal.tenant_id, webhook_id, changes)
    if updated is None:
        raise _missing()
    return success_body(rules.public(updated, services.box))


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a test event",
    responses=NOT_FOUND,
)
async def test_webhook(
    webhook_id: str, principal: WebhooksWrite, store: WebhooksDep, commands: CommandsDep
) -> dict[str, Any]:
    document = await store.get(principal.tenant_id, webhook_id)
    if document is None:
        raise _missing()
    event_id = uuid.uuid4().hex
    data = {
        "webhookId": webhook_id,
        "message": "This is a test event from Switchboard",
        "sentAt": iso_seconds(datetime.now(UTC)),
    }
    await send_command(
        commands,
        CommandType.SEND_TEST,
        principal.tenant_id,
        webhook_id,
        SendTestEvent(
            tenant_id=principal.tenant_id,
            endpoint_id=webhook_id,
            event_id=event_id,
            data=data,
            requested_by=principal.key_id,
        ),
    )
    return success_body(
        {
            "event": EventType.WEBHOOK_TEST.value,
            "eventId": event_id,
            "message": "test event queued for delivery",
        }
    )
