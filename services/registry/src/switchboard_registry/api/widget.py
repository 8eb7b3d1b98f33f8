"""``/api/widget``: a tenant manages its own chat widget policy (seed 004) with an API key.

The policy lives on the tenant record; the registry publishes the tenant on the config topic and the ingress
enforces it on ``/chat``, ``/chat/csrf-token`` and ``/contact-form`` (CORS allow-list, X-CSRFToken).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from switchboard_platform.http import ApiError, BoundedJsonRoute, success_body
from switchboard_registry.api.envelopes import errors
from switchboard_registry.deps import IntegrationsRead, IntegrationsWrite, ServicesDep
from switchboard_registry.domain.widget import WidgetPolicy

#: 403 for an API key without the integrations scope, 404 if the key's tenant is gone.
router = APIRouter(
    prefix="/api/widget", tags=["widget"], responses=errors(403, 404), route_class=BoundedJsonRoute
)


@router.get("", summary="The chat widget policy: allowed origins and CSRF")
async def get_widget(principal: IntegrationsRead, services: ServicesDep) -> dict[str, Any]:
    tenant = await services.tenants.get_tenant(principal.tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", "tenant not found")
    return success_body(WidgetPolicy.model_validate(tenant.get("widget") or {}))


@router.put("", summary="Replace the chat widget policy")
async def put_widget(
    body: WidgetPolicy, principal: IntegrationsWrite, services: ServicesDep
) -> dict[str, Any]:
    tenant = await services.tenants.update_tenant(principal.tenant_id, {"widget": body.model_dump()})
    if tenant is None:
        raise ApiError(404, "not_found", "tenant not found")
    return success_body(WidgetPolicy.model_validate(tenant["widget"]))
