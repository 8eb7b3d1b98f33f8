"""``/api/tenants/{tenant_id}/settings``: which provider answers and how (review, handoff, rich responses)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from switchboard_ai_responder.adapters.tenants import masked_key
from switchboard_ai_responder.deps import TENANT_ERRORS, ReadAccess, ServicesDep, WriteAccess, envelope
from switchboard_ai_responder.domain.tenants import TenantSettings, public_settings
from switchboard_shared.http import ApiError, ApiWarning, BoundedJsonRoute
from switchboard_shared.netsafety import AddressPolicy, check_endpoint_url

router = APIRouter(
    prefix="/api/tenants/{tenant_id}/settings",
    tags=["settings"],
    responses=TENANT_ERRORS,
    route_class=BoundedJsonRoute,
)


async def _check_llm(body: TenantSettings, services: ServicesDep) -> tuple[ApiWarning, ...]:
    """Refuses what the LLM settings may not be; returns the warnings about the base URL."""
    if body.needs_llm() and body.llm is None:
        raise ApiError(422, "validation_error", f"llm: required for provider {body.provider}", field="llm")
    if body.llm is None or body.llm.base_url is None:
        return ()
    settings = services.settings
    policy = AddressPolicy(settings.allow_loopback_llm_urls, settings.allow_private_llm_urls)
    checked = await check_endpoint_url(
        body.llm.base_url,
        field="llm.base_url",
        allow_http=not settings.is_production,
        policy=policy,
        resolver=services.resolver,
        target="LLM base URLs",
    )
    return checked.warnings


@router.get("", summary="Get a tenant's responder settings (defaults when never set)")
async def get_settings(tenant_id: str, _: ReadAccess, services: ServicesDep) -> dict[str, Any]:
    settings = await services.stores.tenants.get(tenant_id)
    return envelope(public_settings(settings, masked_key(settings)))


@router.put("", summary="Replace a tenant's responder settings")
async def put_settings(
    tenant_id: str, body: TenantSettings, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    if (
        body.llm is not None
        and body.llm.api_key is not None
        and body.llm.api_key.get_secret_value().startswith("••••")
    ):
        # A masked key sent back unchanged keeps the stored key (GET → edit → PUT round trips).
        current = await services.stores.tenants.get(tenant_id)
        if current.llm is None or current.llm.api_key is None:
            raise ApiError(
                422, "validation_error", "llm.api_key: masked, but no key is stored", field="llm.api_key"
            )
        body = body.model_copy(update={"llm": body.llm.model_copy(update={"api_key": current.llm.api_key})})
    warnings = await _check_llm(body, services)
    stored = await services.stores.tenants.put(tenant_id, body)
    return envelope(public_settings(stored, masked_key(stored)), warnings)
